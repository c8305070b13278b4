"""Work in a separate process, stopped for good at a time or memory limit.

Python cannot stop a thread: a derivation that runs past its time keeps its thread and
its CPU until it ends. A process can be stopped. `call` runs one function in a worker
process and kills the process when the time is up (`timeout`, seconds) and limits its
address space (`memory`, bytes; POSIX only), so that a runaway costs nothing once its
limit is reached; `Pool` keeps several workers warm for a server, and starts a fresh one
in place of each worker it had to stop.

The function and its arguments travel to the worker, and the result back, by pickling:
the function must be importable (a module-level function such as `matgrad.grad`, not a
lambda). A `MatgradError` raised in the worker is raised again here; running out of the
time or the memory is a `LimitError`, and any other exception a `MatgradError` naming it.

>>> import matgrad as mg
>>> from matgrad import isolation
>>> L = mg.parse("sum((X @ w - y)**2)", "X: m,n; w: n; y: m")
>>> isolation.call(mg.grad, L, "w", timeout=60)
2 · Xᵀ (X w − y)
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading

from .errors import LimitError, MatgradError

DEFAULT_MEMORY = 4 * 2**30  # bytes of address space for one worker


class Overrun(LimitError):
    """The work ran past its time limit and its process was stopped."""


def _context():
    # forkserver: workers are forked from a small server that has imported matgrad once,
    # not from the caller (which may hold threads and locks, as a web server does)
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["matgrad"])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not POSIX


def _limit_memory(memory: int | None) -> None:
    if memory is None:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def _serve(conn, memory: int | None) -> None:
    """A worker's loop: run what arrives, send back ("ok", value) or ("error", error)."""
    # Ctrl+C reaches the whole process group: the caller decides, and stops the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_memory(memory)
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("ok", fn(*args, **kwargs))
        except MatgradError as err:
            answer = ("error", err)
        except MemoryError:
            answer = ("error", LimitError(
                f"the work needed more memory than the {_mib(memory)} allowed"))
        except RecursionError:
            answer = ("error", LimitError("the expression is too deeply nested"))
        except Exception as err:  # noqa: BLE001 - reported to the caller, named
            answer = ("error", MatgradError(f"internal error: {type(err).__name__}: {err}"))
        try:
            conn.send(answer)
        except Exception as err:  # noqa: BLE001 - e.g. a result that cannot be pickled
            conn.send(("error", MatgradError(
                f"the result cannot be sent back from the worker process: {err}")))


def _mib(memory: int | None) -> str:
    return "unlimited" if memory is None else f"{memory / 2**20:.0f} MiB"


class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, memory: int | None = DEFAULT_MEMORY):
        self.memory = memory
        ctx = _context()
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, memory), daemon=True,
                                   name="matgrad-worker")
        self.process.start()
        child.close()

    def run(self, fn, args=(), kwargs=None, timeout: float | None = None):
        """fn(*args, **kwargs) in the worker; LimitError (and the worker stopped) when
        it takes longer than `timeout` seconds."""
        try:
            self._conn.send((fn, tuple(args), dict(kwargs or {})))
        except (AttributeError, TypeError, ValueError) as err:  # not picklable
            raise MatgradError(f"cannot send this work to a worker process: {err}") \
                from None
        except (BrokenPipeError, OSError):
            self.stop()
            raise LimitError("the worker process had ended") from None
        if not self._conn.poll(timeout):
            self.stop()
            raise Overrun(f"the work took longer than {timeout:g} s and was stopped")
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            self.stop()
            raise LimitError("the worker process ended before answering (it may have run "
                             f"out of its {_mib(self.memory)} of memory)") from None
        if status == "error":
            raise value
        return value

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Kill the process now (it may be in the middle of a computation)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self._conn.close()


class Pool:
    """`size` warm workers; each call takes an idle one (waiting for one if all are
    busy), and a worker stopped at a limit is replaced by a fresh one."""

    def __init__(self, size: int = 1, *, memory: int | None = DEFAULT_MEMORY):
        if size < 1:
            raise LimitError(f"a pool needs at least one worker, not {size}")
        self.memory = memory
        self._idle: queue.Queue = queue.Queue()
        self._all: set = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._add()

    def _add(self) -> None:
        worker = Worker(self.memory)
        with self._lock:
            self._all.add(worker)
        self._idle.put(worker)

    def call(self, fn, *args, timeout: float | None = None, **kwargs):
        """fn(*args, **kwargs) in one of the workers, stopped after `timeout` seconds."""
        if self._closed:
            raise LimitError("the worker pool is closed")
        worker = self._idle.get()
        try:
            return worker.run(fn, args, kwargs, timeout)
        finally:
            if worker.alive:
                self._idle.put(worker)
            else:
                with self._lock:
                    self._all.discard(worker)
                if not self._closed:
                    self._add()

    def close(self) -> None:
        """Stop every worker, busy or not."""
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop()


_pools: dict = {}
_pools_lock = threading.Lock()


def call(fn, *args, timeout: float | None = None, memory: int | None = DEFAULT_MEMORY,
         **kwargs):
    """fn(*args, **kwargs) in a worker process, stopped after `timeout` seconds and
    limited to `memory` bytes of address space (None: no limit). Workers are kept warm
    between calls, one per memory limit and process."""
    key = (os.getpid(), memory)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = Pool(1, memory=memory)
    return pool.call(fn, *args, timeout=timeout, **kwargs)
