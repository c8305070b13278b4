"""Room on the interpreter's stack for the recursive walks (the parser's tree builder,
the printers, the index-notation reading of a differential).

Their depth is bounded by the input's (the parser's and the printer's depth limits), so
they raise Python's recursion limit to what that depth needs. The limit is one number
for the whole interpreter, shared by every thread (the web server runs derivations in
threads): so it is raised to the largest need of the walks in progress, and set back
only when the last of them ends, never lowered under a walk that is still running. And
Python's own `ast.parse` fails (a SystemError, "AST constructor recursion depth
mismatch") if the limit changes while it runs in another thread, so the parser runs it
inside `steady()`, during which no walk changes the limit.

>>> import sys
>>> before = sys.getrecursionlimit()
>>> with room(before + 1000):
...     sys.getrecursionlimit() >= before + 1000
True
>>> sys.getrecursionlimit() == before
True
"""
from __future__ import annotations

import contextlib
import sys
import threading

_lock = threading.Lock()
_needs: list[int] = []  # of the walks in progress, in any thread
_original: list[int] = []  # the limit before the first of them began


@contextlib.contextmanager
def steady():
    """Run the block while the recursion limit does not change."""
    with _lock:
        yield


@contextlib.contextmanager
def room(need: int):
    """Run the block with a recursion limit of at least `need`."""
    with _lock:
        if not _needs:
            _original[:] = [sys.getrecursionlimit()]
        _needs.append(need)
        if need > sys.getrecursionlimit():
            sys.setrecursionlimit(need)
    try:
        yield
    finally:
        with _lock:
            _needs.remove(need)
            target = max(_needs, default=_original[0])
            target = max(target, _original[0])
            if sys.getrecursionlimit() != target:
                sys.setrecursionlimit(target)
