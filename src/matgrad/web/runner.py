"""Running derivations off the event loop, bounded in time, memory and number.

A derivation is CPU work; it runs in one of a few worker processes
(`matgrad.isolation.Pool`), so the server keeps answering while it runs, and a
derivation that runs past `timeout_s` is stopped for good: its process is killed (its
CPU freed at once) and a fresh one takes its place. Each worker's address space is
limited to `memory_bytes`. A request waits at most `timeout_s` for its answer, queueing
included; once `max_pending` distinct derivations are in flight, new ones are refused as
busy instead of queueing without end.

Results are cached by their inputs (a derivation and its numeric check are
deterministic), and identical requests that arrive together share one computation.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from ..errors import LimitError, MatgradError
from ..isolation import Overrun, Pool
from . import service
from .limits import Limits
from .service import InputError, Unavailable, error_payload

log = logging.getLogger("matgrad.web")


class Busy(Exception):
    """Too many derivations in flight."""


class Runner:
    """Runs `service.<name>(**args)` in a worker process; answers (HTTP status, JSON)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        # one thread per worker process, each waiting on its process's answer
        self._threads = ThreadPoolExecutor(limits.workers, thread_name_prefix="matgrad-wait")
        self._pool: Pool | None = None
        self._pool_lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        self._inflight: dict = {}

    def _workers(self) -> Pool:
        # started on the first derivation: an app that only serves the page starts none
        with self._pool_lock:
            if self._pool is None:
                self._pool = Pool(self.limits.workers, memory=self.limits.memory_bytes)
            return self._pool

    async def run(self, key, name: str, args: dict) -> tuple[int, dict]:
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
            deadline = time.monotonic() + self.limits.timeout_s
            fut = asyncio.wrap_future(self._threads.submit(self._call, name, args, deadline))
            self._inflight[key] = fut
            fut.add_done_callback(lambda f, key=key: self._settle(key, f))
        try:
            # shield: one waiter timing out must not cancel the others' computation
            return await asyncio.wait_for(asyncio.shield(fut), self.limits.timeout_s + 1)
        except asyncio.TimeoutError:
            return _too_long(self.limits)

    def _call(self, name: str, args: dict, deadline: float) -> tuple[int, dict]:
        left = deadline - time.monotonic()
        if left <= 0:  # waited its whole time for a worker
            return _too_long(self.limits)
        if self.limits.in_process:
            return _answer_for(name, args, self.limits)
        try:
            return self._workers().call(_answer_for, name, args, self.limits, timeout=left)
        except Overrun:  # stopped at the time limit
            return _too_long(self.limits)
        except LimitError as err:  # e.g. its memory
            return 400, {"error": error_payload(err, "expr")}
        except MatgradError as err:
            return 400, {"error": error_payload(err, None)}

    def _settle(self, key, fut) -> None:
        self._inflight.pop(key, None)
        if fut.cancelled() or fut.exception() is not None:
            return
        status, body = fut.result()
        if status in (200, 400) and not _timed_out(body):  # deterministic answers only
            self._cache[key] = (status, body)
            while len(self._cache) > self.limits.cache_size:
                self._cache.popitem(last=False)

    def close(self) -> None:
        """Stop every worker process, busy or not, and the threads waiting on them."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self._threads.shutdown(wait=False, cancel_futures=True)


def _too_long(limits: Limits) -> tuple[int, dict]:
    err = LimitError(f"the derivation took longer than {limits.timeout_s:g} s, the limit "
                     "on this server, and was stopped; try a smaller expression")
    return 400, {"error": {**error_payload(err, "expr"), "timeout": True}}


def _timed_out(body: dict) -> bool:
    return bool(body.get("error", {}).get("timeout")) if isinstance(body, dict) else False


def _answer_for(name: str, args: dict, limits: Limits) -> tuple[int, dict]:
    """In a worker process: (status, body) for service.<name>(**args)."""
    fn = getattr(service, name)
    return _answer(lambda: fn(**args, limits=limits))


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
