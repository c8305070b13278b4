"""How much memory numeric work may take: one budget, checked before an array is made.

An expression can ask for arrays of any size with literal sizes (`ones(100000000)`,
shapes `X: 3000000,3000000`, `sizes={"n": 10**12}`). Evaluation, the numeric checks and
compiled functions refuse, with a `LimitError` naming the array and the limit, any array
of more than `max_elements()` entries (by default 2**24, 128 MiB of float64), before
allocating it. The limit is raised or lowered for a block of code, and only for the
thread or task that runs it (the web server sets its own per request):

>>> import matgrad as mg
>>> from matgrad import budget
>>> x = mg.vector("x", 3)
>>> with budget.elements(2):
...     mg.evaluate(mg.sum(mg.exp(x)), {"x": [1.0, 2.0, 3.0]})
Traceback (most recent call last):
    ...
matgrad.errors.LimitError: exp(x) (3×1) has 3 entries, more than the 2 allowed (matgrad.budget.elements)
"""
from __future__ import annotations

import contextlib
import contextvars
import math

from .dims import Dim, DimProduct, concrete
from .errors import LimitError

DEFAULT_ELEMENTS = 2 ** 24

_elements: contextvars.ContextVar[int] = contextvars.ContextVar(
    "matgrad_max_elements", default=DEFAULT_ELEMENTS)


def max_elements() -> int:
    """The most entries one array may have here."""
    return _elements.get()


@contextlib.contextmanager
def elements(limit: int):
    """Allow arrays of at most `limit` entries inside the block."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise LimitError(f"the element budget must be a positive integer, not {limit!r}")
    token = _elements.set(limit)
    try:
        yield
    finally:
        _elements.reset(token)


def _size_text(shape) -> str:
    return "×".join(str(s) for s in shape)


def _name(what) -> str:
    if isinstance(what, str):
        return what
    from .printing.text import to_text  # only on refusal: printing needs the whole language
    try:
        text = to_text(what)
    except Exception:  # noqa: BLE001 - a name for the message only; too deep to print
        return f"an {what.op} node"
    return text if len(text) <= 60 else text[:59] + "…"


def _known(s, sizes):
    """The number a size stands for where its dimensions are bound, else the size."""
    if isinstance(s, (Dim, DimProduct)):
        try:
            return concrete(s, sizes or {})
        except ValueError:  # a dimension not bound yet: skipped
            return s
    return s


def require(what, shape, sizes: dict | None = None) -> None:
    """Refuse an array of `shape` (Dims resolved through `sizes`; unknown ones are
    skipped) with more entries than the budget allows. `what` names it: text, or the
    expression whose value it is (printed only when refused)."""
    known = tuple(_known(s, sizes) for s in shape)
    count = math.prod(s for s in known if isinstance(s, int))
    limit = _elements.get()
    if count > limit:
        raise LimitError(f"{_name(what)} ({_size_text(known)}) has {count} entries, more than the "
                         f"{limit} allowed (matgrad.budget.elements)")
