"""Running derivations off the event loop, bounded in time and number.

A derivation is CPU work; it runs in a small pool of worker threads so the server keeps
answering while it runs. Each request waits at most `timeout_s` (queueing included) and
then gets a LimitError. Python cannot stop a thread, so a derivation that overran keeps
its worker until it finishes; it still counts as in flight, and once `max_pending`
distinct derivations are in flight new ones are refused as busy instead of queueing
without end. The input bounds (length, depth) keep any single derivation short.

Results are cached by their inputs (a derivation and its numeric check are
deterministic), and identical requests that arrive together share one computation.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from ..errors import LimitError, MatgradError
from .limits import Limits
from .service import InputError, Unavailable, error_payload

log = logging.getLogger("matgrad.web")


class Busy(Exception):
    """Too many derivations in flight."""


class Runner:
    """Runs `fn()` in a worker thread; answers (HTTP status, JSON body)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._pool = ThreadPoolExecutor(limits.workers, thread_name_prefix="matgrad-derive")
        self._cache: OrderedDict = OrderedDict()
        self._inflight: dict = {}

    async def run(self, key, fn) -> tuple[int, dict]:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        fut = self._inflight.get(key)
        if fut is None:
            if len(self._inflight) >= self.limits.max_pending:
                return 503, {"error": {
                    "kind": "Busy", "message": "the server is busy with other derivations; "
                    "try again in a moment"}}
            fut = asyncio.wrap_future(self._pool.submit(_answer, fn))
            self._inflight[key] = fut
            fut.add_done_callback(lambda f, key=key: self._settle(key, f))
        try:
            # shield: one waiter timing out must not cancel the others' computation
            return await asyncio.wait_for(asyncio.shield(fut), self.limits.timeout_s)
        except asyncio.TimeoutError:
            err = LimitError(f"the derivation took longer than {self.limits.timeout_s:g} s, "
                             "the limit on this server; try a smaller expression")
            return 400, {"error": error_payload(err, "expr")}

    def _settle(self, key, fut) -> None:
        self._inflight.pop(key, None)
        if fut.cancelled() or fut.exception() is not None:
            return
        status, body = fut.result()
        if status in (200, 400):  # deterministic answers only
            self._cache[key] = (status, body)
            while len(self._cache) > self.limits.cache_size:
                self._cache.popitem(last=False)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _answer(fn) -> tuple[int, dict]:
    """(status, body) for fn(): its result, or the error it raised, as JSON."""
    try:
        return 200, fn()
    except InputError as err:
        return 400, {"error": err.payload()}
    except Unavailable as err:
        return 501, {"error": err.payload()}
    except MatgradError as err:  # raised outside a field's scope: no field to mark
        return 400, {"error": error_payload(err, None)}
    except RecursionError:
        err = LimitError("the expression is too deeply nested to derive")
        return 400, {"error": error_payload(err, "expr")}
    except Exception as err:  # a bug in matgrad, not bad input: say so, log the details
        log.error("internal error\n%s", traceback.format_exc())
        return 500, {"error": {"kind": "InternalError",
                               "message": f"matgrad failed on this input ({type(err).__name__}"
                                          f": {err}); this is a bug in matgrad"}}
