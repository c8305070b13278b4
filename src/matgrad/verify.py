"""Numeric checks that ship with the library: finite differences at random points.

A gradient G of a scalar L at X is checked along random directions V:
    (L(X + hV) − L(X − hV)) / 2h  ≈  G : V

Random points honour the expression's domain (`sample`):

* Sizes. Distinct dimensions get distinct sizes, so that a misplaced transpose cannot
  hide. Several assignments of the sizes 3, 4, 5, ... to the dimensions are tried in a
  fixed order, and the first is kept at which the expressions are defined: every node
  evaluates to finite numbers and no argument of inv, det or logdet is singular or badly
  conditioned (condition number above MAX_CONDITION). So X: m,n in logdet(XᵀX) gets
  m > n, and W: n,k in inv(Wᵀ B W) gets n > k. Sizes the caller gives are kept exactly;
  then only the values are drawn again.
* Values. Square matrices are drawn near 2I (a positive determinant, well conditioned;
  symmetric ones positive definite, so that Wᵀ B W and xᵀ A x are too), a structured
  variable in its structure (symmetric, triangular, diagonal; spd ones with their
  eigenvalues in [1, 3]), and directions are drawn in the structure too; variables under
  log, sqrt, a fractional or negative power or a divisor get positive entries; every
  other entry is standard normal. A point where the expressions are not defined is
  drawn again, every other time with all entries positive.

Tolerances are scaled to the magnitudes involved. `rounding_scale` propagates, through
the expression, how large the numbers are whose rounding can move a computed value (the
terms of a sum, the factors of a product, the conditioning of an inverse), so a result
computed with cancellation is judged against eps times its largest term, not against
its own tiny size; finite differences are judged against their rounding (eps·|L|/h) and
their truncation error (estimated from a second step, 2h). Nothing is absolute: a loss
scaled by 10⁻³⁰ or 10³⁰ is judged exactly as the loss itself. A relu kink is hit with
probability zero.
"""
from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import budget, registry
from .dims import Dim, concrete
from .elementwise import table
from .errors import DomainError, LimitError, MatgradError, ParseError, ShapeError
from .expr import Expr, dimensions, variables, walk
from .numeric import dense, evaluate_2d
from .structure import of as structure_of
from .structure import parse as parse_structure
from .structure import project

DEFAULT_SIZES = (3, 4, 5, 6, 7, 2, 8, 9, 10, 11)
TOLERANCE = 1e-5
EPS = float(np.finfo(float).eps)
MAX_CONDITION = 1e6      # an inv, det or logdet argument beyond this counts as singular
MAX_SIZE = 1000          # the largest size a dimension may be given for a check
MAX_CANDIDATES = 24      # size assignments tried when the sizes are not given
PROBES = 4               # draws per size assignment while choosing the sizes
FD_SAFETY = 10.0         # finite differences: allowed multiple of their error estimate
ROUND_SAFETY = 100.0       # evaluation: allowed multiple of eps times the rounding scale
_SEARCH_SEED = 20_240_601


# ---- sizes ---------------------------------------------------------------------------------


def _pool(count: int) -> list:
    """The first `count` default sizes: 3, 4, 5, 6, 7, 2, 8, ..., then 13, 14, ..."""
    n = len(DEFAULT_SIZES)
    return [DEFAULT_SIZES[i % n] + n * (i // n) for i in range(count)]


def default_sizes(exprs) -> dict:
    """Distinct small sizes, one per named dimension, in order of appearance."""
    dims = _dims_of(exprs)
    return dict(zip(dims, _pool(len(dims))))


def _dims_of(exprs) -> list:
    out: list = []
    for e in exprs:
        for d in dimensions(e):
            if d not in out:
                out.append(d)
    return out


def _size_value(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ShapeError(f"the size of {name} must be a positive whole number, not "
                         f"{value!r}")
    value = int(value)
    if value < 1:
        raise ShapeError(f"the size of {name} must be positive, not {value}")
    return value


def normalise_sizes(sizes) -> dict:
    """{Dim: int} from a mapping with Dim or str keys (None: no sizes)."""
    if sizes is None:
        return {}
    if not isinstance(sizes, Mapping):
        raise ShapeError("sizes must be a mapping such as {'m': 7, 'n': 5} or text such "
                         "as 'm=7, n=5'")
    out: dict = {}
    for key, value in sizes.items():
        if isinstance(key, Dim):
            d = key
        elif isinstance(key, str) and key.isidentifier():
            d = Dim(key)
        else:
            raise ShapeError(f"{key!r} is not a dimension name")
        out[d] = _size_value(d.name, value)
    return out


def _known_text(known: list) -> str:
    return (f"its dimensions are {', '.join(known)}" if known
            else "it has no named dimensions")


def parse_sizes(spec, dims=None, *, max_size: int = MAX_SIZE) -> dict:
    """{Dim: int} from text such as "m=7, n=5" or a mapping with str or Dim keys.

    `dims`, when given, are the dimensions of the expression: a name outside them is an
    error. Text errors are ParseErrors pointing at the column; a size above `max_size`
    is a LimitError.

    >>> parse_sizes("m=7, n = 5")
    {m: 7, n: 5}
    """
    known = None if dims is None else [d.name if isinstance(d, Dim) else str(d)
                                        for d in dims]
    if spec is None:
        return {}
    if not isinstance(spec, str):
        out = normalise_sizes(spec)
        for d, v in out.items():
            if known is not None and d.name not in known:
                raise ShapeError(f"sizes names {d.name}, which is not a dimension of the "
                                 f"expression; {_known_text(known)}")
            if v > max_size:
                raise LimitError(f"the size of {d.name} is {v}; at most {max_size} is "
                                 "allowed")
        return out
    out = {}
    for m in re.finditer(r"[^,;\n]+", spec):
        chunk = m.group()
        if not chunk.strip():
            continue
        col = m.start() + len(chunk) - len(chunk.lstrip())
        body = chunk.strip()
        if "=" not in body:
            raise ParseError("a size needs the form name=size, e.g. m=7 (several are "
                             "separated by commas)", source=spec, column=col,
                             width=len(body))
        left, right = body.split("=", 1)
        name = left.strip()
        name_col = col + len(left) - len(left.lstrip())
        value = right.strip()
        value_col = col + len(left) + 1 + len(right) - len(right.lstrip())
        if not name.isidentifier():
            raise ParseError(f"{name!r} is not a dimension name" if name else
                             "a size needs a dimension name before '='", source=spec,
                             column=name_col if name else col, width=max(1, len(name)))
        if known is not None and name not in known:
            raise ParseError(f"the expression has no dimension {name}; "
                             f"{_known_text(known)}", source=spec, column=name_col,
                             width=len(name))
        if Dim(name) in out:
            raise ParseError(f"the size of {name} is given twice", source=spec,
                             column=name_col, width=len(name))
        where = {"source": spec, "column": value_col if value else col,
                 "width": max(1, len(value) if value else len(body))}
        if not re.fullmatch(r"[+-]?\d+", value):
            raise ParseError(f"the size of {name} must be a positive whole number, not "
                             f"{value!r}" + ("; separate sizes with commas"
                                             if re.search(r"\s", value) else ""), **where)
        digits = value.lstrip("+-").lstrip("0")
        if value.startswith("-") or not digits:
            raise ParseError(f"the size of {name} must be positive, not {value}", **where)
        if len(digits) > len(str(max_size)) or int(digits) > max_size:
            shown = digits if len(digits) <= 20 else f"a {len(digits)}-digit number"
            raise LimitError(f"the size of {name} is {shown}; at most {max_size} is "
                             "allowed", **where)
        out[Dim(name)] = int(digits)
    return out


def format_sizes(sizes: dict) -> str:
    """'m = 4, n = 3' for {m: 4, n: 3}."""
    return ", ".join(f"{d} = {v}" for d, v in sizes.items())


# ---- what the expressions need of a point ---------------------------------------------------


# nodes whose value is positive (or non-negative) whatever their arguments (and the
# elementwise functions whose row says so): positivity asked of them asks nothing of the
# variables below
_POSITIVE_OPS = tuple(name for name, op in registry.operations().items()
                      if "positive" in op.facts)
# operations whose argument must be well conditioned where they are checked
_CONDITIONED_OPS = tuple(name for name, op in registry.operations().items()
                         if "conditioned" in op.facts)


def _positive_names(exprs) -> set:
    """Variables that feed log, sqrt, a fractional or negative power, or a divisor,
    other than through a function whose value is positive anyway (exp, σ, softplus,
    |·|, an even power, ...): positive values for them make the argument positive."""
    rows = table()
    roots = []
    for e in exprs:
        for node in walk(e):
            if node.op == "fn" and node.params[0] in rows and \
                    rows[node.params[0]].domain == "positive":
                roots.append(node.children[0])
            elif node.op == "pow":
                p = float(node.params[0])
                if p < 0 or p != int(p):
                    roots.append(node.children[0])
            elif node.op == "div":
                roots.append(node.children[1])
    names: set = set()
    seen: set = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.op == "var":
            names.add(node.params[0])
        elif node.op in _POSITIVE_OPS or (node.op == "fn" and
                                          rows[node.params[0]].nonnegative):
            continue
        elif node.op == "pow" and float(node.params[0]) % 2 == 0:
            continue
        else:
            stack.extend(node.children)
    return names


def _small_names(exprs) -> set:
    """Variables below an argument of a function defined on (−1, 1) only (arcsin,
    arctanh, ...): small values for them keep the argument inside."""
    rows = table()
    stack = [node.children[0] for e in exprs for node in walk(e)
             if node.op == "fn" and rows[node.params[0]].domain == "unit"]
    names: set = set()
    seen: set = set()
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            if node.op == "var":
                names.add(node.params[0])
            stack.extend(node.children)
    return names


def _concrete(shape, sizes) -> tuple:
    return tuple(concrete(s, sizes) for s in shape)


def random_point(exprs, sizes: dict, rng: np.random.Generator, positive: bool = False,
                 positive_names=()) -> dict:
    """Random 2-D values for every variable. Square matrices are kept well-conditioned
    with a positive determinant (for inv, det, logdet); with positive=True every entry
    is positive (for log, sqrt), otherwise the entries of the variables in
    `positive_names` are; variables feeding a function defined on (−1, 1) only (arcsin,
    arctanh) get small entries."""
    values: dict = {}
    small = _small_names(exprs)
    for e in exprs:
        for v in variables(e):
            name = v.params[0]
            if name in values:
                continue
            r, c = _concrete(v.shape, sizes)
            budget.require(name, (r, c))
            pos = positive or name in positive_names
            kind = structure_of(v)
            if name in small:  # |entries| < 1/(2 max(r, c)): products and sums stay small
                a = rng.uniform(0.1 if pos else -0.5, 0.5, size=(r, c)) / max(r, c, 2)
                if kind == "spd":  # a positive definite draw, scaled down as far
                    p = _positive_definite(a + 2.0 * np.eye(r), r)
                    a = p * (0.45 / (max(r, 2) * float(np.max(np.abs(p)))))
                values[name] = project(kind, a)
                continue
            if pos:
                a = rng.uniform(0.5, 1.5, size=(r, c))
            else:
                a = rng.standard_normal((r, c))
            if r == c and r > 1:
                a = a * (0.5 / np.sqrt(r)) + (r if pos else 2.0) * np.eye(r)
            if kind == "spd":
                a = _positive_definite(a, r)
            values[name] = project(kind, a)
    return values


def _positive_definite(a: np.ndarray, r: int) -> np.ndarray:
    """a made symmetric with its eigenvalues kept in [1, 3] around 2 (positive definite
    and well conditioned, as the other square draws are), whatever its entries."""
    if r == 1:
        return np.abs(a) + 1.0
    s = (a + a.T) / 2
    centre = float(np.mean(np.diag(s)))
    noise = s - centre * np.eye(r)
    spread = float(np.max(np.abs(np.linalg.eigvalsh(noise))))
    return 2.0 * np.eye(r) + noise * min(1.0, 1.0 / max(spread, 1e-300))


def direction(shape, rng, structure="") -> np.ndarray:
    """A random direction in which a variable of this structure may move (a symmetric
    one for symmetric and spd, a lower-triangular one for lower, ...); `structure` may
    also be True (symmetric) or False (none), as a variable's old flag was."""
    v = rng.standard_normal(shape)
    return project(parse_structure(structure), v)


def _short(e: Expr, limit: int = 60) -> str:
    from .printing.text import to_text
    try:
        text = to_text(e)
    except MatgradError:  # pragma: no cover - too deep to print
        return f"an {e.op} node"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _finite(a) -> bool:
    a = a if isinstance(a, np.ndarray) else getattr(a, "d", a)  # a diagonal: its entries
    return bool(np.all(np.isfinite(a)))


def _condition(a: np.ndarray) -> float:
    if a.size == 0:
        return 1.0
    if not np.all(np.isfinite(a)):
        return float("inf")
    with np.errstate(all="ignore"):
        try:
            c = float(np.linalg.cond(a))
        except np.linalg.LinAlgError:
            return float("inf")
    return c if np.isfinite(c) else float("inf")


def defined_at(exprs, values: dict, sizes: dict, cache: dict | None = None):
    """(True, "") where every node of the expressions is finite and every argument of
    inv, det and logdet is well conditioned at this point; else (False, the reason).
    The expressions are taken in order, so the reason names the first that fails."""
    cache = {} if cache is None else cache
    seen: set = set()
    for e in exprs:
        try:
            evaluate_2d(e, values, sizes, cache)
        except DomainError as err:
            # an inverse that could not be computed: say which, and how singular
            for node in walk(e, skip=seen):
                if node.op in _CONDITIONED_OPS and node not in cache and \
                        node.children[0] in cache:
                    k = _condition(dense(cache[node.children[0]]))
                    return False, (f"the argument of {node.op}, {_short(node.children[0])}, is "
                                   f"singular (condition number {k:.1e})")
            return False, err.message
        for node in walk(e, skip=seen):
            seen.add(node)
            if node.op in _CONDITIONED_OPS and node.children[0].shape != (1, 1):
                k = _condition(dense(cache[node.children[0]]))
                if not k <= MAX_CONDITION:
                    what = "singular" if k > 1e14 else "nearly singular"
                    return False, (f"the argument of {node.op}, {_short(node.children[0])}"
                                   f", is {what} (condition number {k:.1e})")
            if not _finite(cache[node]):
                return False, f"{_short(node)} is not finite"
    return True, ""


class NoRandomPoint(DomainError):
    """No random point was found where the expressions are defined; `reason` says what
    failed (at which sizes)."""

    def __init__(self, reason: str):
        super().__init__("could not find a random point where the expression is defined: "
                         + reason)
        self.reason = reason

    def at(self, source: str, column: int, width: int = 1):  # never located in text
        return self

    def __reduce__(self):
        return (type(self), (self.reason,))


# ---- the points ------------------------------------------------------------------------------


_search_cache: "OrderedDict[tuple, tuple]" = OrderedDict()
_search_lock = threading.Lock()
_SEARCH_CACHE_SIZE = 256


def _assignments(free: list, taken: set):
    """Distinct sizes for the free dimensions, avoiding the given ones: the default
    order first, then the reverse, then other orders."""
    pool: list = []
    k = 0
    while len(pool) < len(free):
        k += 1
        pool = [s for s in _pool(len(free) + len(taken) + k) if s not in taken][:len(free)]
    n = len(free)
    orders = [tuple(range(n)), tuple(reversed(range(n)))]
    if n <= 4:
        orders += list(itertools.permutations(range(n)))
    else:
        prng = np.random.default_rng(n)
        orders += [tuple(int(i) for i in prng.permutation(n))
                   for _ in range(4 * MAX_CANDIDATES)]
    seen: set = set()
    for order in orders:
        if order in seen:
            continue
        seen.add(order)
        if len(seen) > MAX_CANDIDATES:
            return
        yield {d: pool[i] for d, i in zip(free, order)}


def _choose_sizes(exprs: tuple, fixed: dict, free: list, positive: set):
    """(sizes, "") for the first assignment where a point is found, or (None, why).
    Deterministic (its own generator) and remembered."""
    key = (exprs, tuple(sorted((d.name, v) for d, v in fixed.items())))
    with _search_lock:
        hit = _search_cache.get(key)
        if hit is not None:
            _search_cache.move_to_end(key)
            return hit
    rng = np.random.default_rng(_SEARCH_SEED)
    first_reason, tried = "", 0
    answer = None
    for candidate in _assignments(free, set(fixed.values())):
        sizes = {**fixed, **candidate}
        tried += 1
        for attempt in range(PROBES):
            values = random_point(exprs, sizes, rng, positive=attempt % 2 == 1,
                                  positive_names=positive)
            ok, reason = defined_at(exprs, values, sizes)
            if ok:
                answer = (sizes, "")
                break
            if not first_reason:
                first_reason = f"at {format_sizes(sizes)}, {reason}"
        if answer:
            break
    if answer is None:
        others = ("" if tried == 1 else " (and at the other size assignment tried)"
                  if tried == 2 else f" (and at the {tried - 1} other size assignments "
                  "tried)")
        answer = (None, first_reason + others)
    with _search_lock:
        _search_cache[key] = answer
        while len(_search_cache) > _SEARCH_CACHE_SIZE:
            _search_cache.popitem(last=False)
    return answer


def sample(exprs, rng, sizes=None, tries: int = 12):
    """A random point where every expression is defined: (values by name, sizes by Dim).

    `sizes` (Dim or name -> int) fixes dimensions; the others get distinct sizes chosen
    so that the expressions are defined (see the module's docstring). Values are drawn
    from `rng` up to `tries` times. Raises DomainError, with the reason, where no point
    is found."""
    exprs = tuple(exprs)
    fixed = normalise_sizes(sizes)
    dims = _dims_of(exprs)
    free = [d for d in dims if d not in fixed]
    positive = _positive_names(exprs)
    if free:
        chosen, why = _choose_sizes(exprs, fixed, free, positive)
        if chosen is None:
            raise NoRandomPoint(why)
    else:
        chosen = fixed
    # in the order the dimensions appear (then any others given)
    chosen = {**{d: chosen[d] for d in dims}, **chosen}
    reason = ""
    for attempt in range(max(1, tries)):
        values = random_point(exprs, chosen, rng, positive=attempt % 2 == 1,
                              positive_names=positive)
        ok, reason = defined_at(exprs, values, chosen)
        if ok:
            return values, chosen
    at = f"at {format_sizes(chosen)}, " if chosen else ""
    raise NoRandomPoint(f"{at}{reason} at each of the {max(1, tries)} points drawn")


# ---- how far rounding can move a computed value ----------------------------------------------


def _sum(a, axis):
    if axis is None:
        return np.reshape(np.sum(a), (1, 1))
    return np.sum(a, axis=axis, keepdims=True)


def _times(slope, scale):
    """slope · scale, where an exact input (scale 0) contributes nothing even where the
    slope is infinite."""
    return np.where(scale > 0, slope * scale, 0.0)


def rounding_scale(e: Expr, values: dict, sizes: dict, cache: dict | None = None,
                   scales: dict | None = None) -> np.ndarray:
    """An array S, broadcastable to e's value, such that rounding moves the computed
    value by about eps·S at most (times a modest factor for the depth).

    S is the magnitude of the numbers the value is made of: for a sum, the sum of its
    terms' magnitudes (so S is large where terms cancel), for a product the product's,
    and for an inverse or a determinant its conditioning on top; through a function it
    follows the function's slope. S ≥ |value| everywhere."""
    vals = cache if cache is not None else {}
    evaluate_2d(e, values, sizes, vals)
    S = scales if scales is not None else {}
    with np.errstate(all="ignore"):
        for node in walk(e, skip=S):
            v = dense(vals[node])
            av = np.abs(v)
            cv = [dense(vals[c]) for c in node.children]
            cs = [S[c] for c in node.children]
            op = node.op
            if op == "add":
                s = cs[0] + cs[1]
            elif op == "neg":
                s = cs[0]
            elif op == "transpose":
                s = cs[0].T
            elif op == "broadcast":
                s = np.broadcast_to(cs[0], av.shape)
            elif op == "mul":
                s = cs[0] * np.abs(cv[1]) + np.abs(cv[0]) * cs[1]
            elif op == "div":
                b = np.abs(cv[1])
                s = cs[0] / b + np.abs(cv[0]) * cs[1] / b ** 2
            elif op == "matmul":
                s = np.broadcast_to(cs[0], cv[0].shape) @ np.abs(cv[1]) + \
                    np.abs(cv[0]) @ np.broadcast_to(cs[1], cv[1].shape)
            elif op == "sum":
                s = _sum(np.broadcast_to(cs[0], cv[0].shape), node.params[0])
            elif op == "pow":
                p = float(node.params[0])
                slope = np.abs(p) * np.abs(cv[0]) ** (p - 1) if p != 0 else 0.0
                s = av + _times(slope, cs[0])
            elif op == "fn":
                slope = table()[node.params[0]].slope(cv[0], av, *node.params[1:])
                s = av + _times(np.abs(slope), cs[0])
            elif registry.get(op) is not None and registry.get(op).scale is not None:
                s = registry.get(op).scale(node, cv, cs, av, _condition)
            elif not node.children:
                s = av
            else:  # an operation without a rule: its size, and its arguments' at most
                s = av + max((float(np.max(c)) for c in cs), default=0.0)
            s = np.nan_to_num(np.asarray(s, dtype=float), nan=np.inf, posinf=np.inf)
            S[node] = np.maximum(s, av) if s.shape == av.shape else s
    return S[e]


# ---- checking gradients -------------------------------------------------------------------


@dataclass
class GradientCheck:
    """The outcome of checking gradients numerically."""

    errors: dict = field(default_factory=dict)  # variable name -> largest relative error
    points: int = 0
    tolerance: float = TOLERANCE
    sizes: dict = field(default_factory=dict)  # dimension name -> size, of the points

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def ok(self) -> bool:
        return all(err <= self.tolerance for err in self.errors.values())

    def __str__(self) -> str:
        n = len(self.errors)
        what = f"{n} gradient{'s' if n != 1 else ''}"
        if self.ok:
            verb = "matches" if n == 1 else "match"
            return (f"verified numerically: {what} {verb} central finite differences at "
                    f"{self.points} random points (largest relative error "
                    f"{self.max_error:.1e})")
        bad = ", ".join(k for k, v in self.errors.items() if v > self.tolerance)
        return (f"VERIFICATION FAILED for {bad}: largest relative error "
                f"{self.max_error:.1e} exceeds {self.tolerance:.0e}")


def relative_error(a: float, b: float, floor: float = 0.0) -> float:
    """|a − b| relative to the larger, with a floor for values near zero."""
    return abs(a - b) / max(abs(a), abs(b), 1e-6, floor)


def scaled_error(a: float, b: float, allowed: float, tolerance: float = TOLERANCE) -> float:
    """|a − b| relative to the larger of |a| and |b|, where a difference within
    `allowed` (the error the numbers themselves may carry) counts as no more than
    `tolerance`. No absolute floor: the measure does not change when a and b are
    scaled together."""
    diff = abs(a - b)
    if diff == 0.0:
        return 0.0
    denominator = max(abs(a), abs(b), allowed / tolerance)
    if not denominator > 0 or not np.isfinite(diff):
        return float("inf")
    err = diff / denominator
    return err if np.isfinite(err) else float("inf")


class _Undefined(Exception):
    """L cannot be evaluated along the direction at this point."""


def _loss_at(L, values, sizes, name, X, step, fixed) -> float:
    point = dict(values)
    point[name] = X + step
    try:
        out = float(evaluate_2d(L, point, sizes, dict(fixed))[0, 0])
    except DomainError as err:
        raise _Undefined(err.message) from None
    if not np.isfinite(out):
        raise _Undefined("the loss is not finite next to the point")
    return out


def independent_of(L: Expr, name: str, cache: dict) -> dict:
    """The values in `cache` of the nodes of L that do not depend on the variable
    `name`: they stay as they are when only that variable moves."""
    moving: set = set()
    out: dict = {}
    for node in walk(L):
        if (node.op == "var" and node.params[0] == name) or \
                any(c in moving for c in node.children):
            moving.add(node)
        elif node in cache:
            out[node] = cache[node]
    return out


def central_difference(value_at, h: float):
    """The central difference quotient (f(h) − f(−h)) / 2h of f along a line, from
    value_at(k) = f(k·h): every numeric check's derivative along a direction."""
    return (value_at(1) - value_at(-1)) / (2 * h)


def central_differences(value_at, h: float) -> tuple:
    """(D(h), D(2h), {k: f(k·h)}) for the central difference quotients D of f along a
    line, from value_at(k) = f(k·h): D(2h) − D(h) estimates D(h)'s truncation error
    (Richardson: about |D(2h) − D(h)| / 3)."""
    f = {k: value_at(k) for k in (1, -1, 2, -2)}
    return (f[1] - f[-1]) / (2 * h), (f[2] - f[-2]) / (4 * h), f


def directional_difference(L, values, sizes, name, V, h,
                           fixed: dict | None = None) -> tuple[float, float, float]:
    """(central difference of L along V at step h, its truncation error estimated from
    the step 2h, the largest |L| seen). `fixed`: values of nodes that do not move."""
    X = values[name]
    fixed = fixed or {}
    fd, fd2, f = central_differences(
        lambda k: _loss_at(L, values, sizes, name, X, k * h * V, fixed), h)
    return fd, abs(fd2 - fd) / 3, max(abs(x) for x in f.values())


def check_gradients(L: Expr, wrt: list, grads: list, *, points: int = 3,
                    directions: int = 2, h: float = 1e-6, seed: int | None = 0,
                    sizes: dict | None = None) -> GradientCheck:
    """Compare symbolic gradients with central finite differences of L.

    A point where L is not defined next to the sample (a domain boundary within a few
    steps) is replaced by another; DomainError where no point is found."""
    rng = np.random.default_rng(seed)
    fixed = normalise_sizes(sizes)
    report = GradientCheck(points=points)
    done = attempts = 0
    while done < points:
        # wrt too: a variable L does not depend on still gets a value (its gradient is 0)
        values, sz = sample([L, *grads, *wrt], rng, fixed)
        attempts += 1
        try:
            errs = _point_errors(L, wrt, grads, values, sz, rng, directions, h)
        except _Undefined as why:
            if attempts >= 3 * points + 3:
                raise NoRandomPoint(f"{why} at every point drawn (a domain boundary "
                                    f"within a step of {2 * h:g})") from None
            continue
        for name, err in errs.items():
            report.errors[name] = max(report.errors.get(name, 0.0), err)
        report.sizes = {d.name: v for d, v in sz.items()}
        done += 1
    return report


def _point_errors(L, wrt, grads, values, sz, rng, directions, h) -> dict:
    cache: dict = {}
    scales: dict = {}
    scale_L = float(np.max(rounding_scale(L, values, sz, cache, scales)))
    if not np.isfinite(scale_L):
        raise _Undefined("the rounding error of the loss cannot be bounded")
    out: dict = {}
    for x, g in zip(wrt, grads):
        name = x.params[0]
        shape = values[name].shape
        G = np.broadcast_to(evaluate_2d(g, values, sz, cache), shape)
        SG = np.broadcast_to(rounding_scale(g, values, sz, cache, scales), shape)
        fixed = independent_of(L, name, cache)
        for _ in range(directions):
            V = direction(shape, rng, x.params[1])
            claimed = float(np.sum(G * V))
            rounding = ROUND_SAFETY * EPS * float(np.sum(SG * np.abs(V)))
            if not np.isfinite(rounding):
                raise _Undefined(f"the rounding error of ∂L/∂{name} cannot be bounded")
            err = _directional_error(L, values, sz, name, V, h, claimed, rounding, scale_L,
                                     fixed)
            out[name] = max(out.get(name, 0.0), err)
    return out


def _directional_error(L, values, sz, name, V, h, claimed, rounding, scale_L,
                       fixed) -> float:
    """The error of G : V against the difference quotient, at the step h or, where the
    difference quotient's own error there is too large to resolve the tolerance (L much
    larger than its change, or strongly curved), at the step among h·100, h·10⁴ and
    h/100 whose estimated error is smallest."""
    best = None
    for step in (h, 100 * h, 1e4 * h, h / 100):
        try:
            fd, truncation, top = directional_difference(L, values, sz, name, V, step,
                                                         fixed)
        except _Undefined:
            if best is None and step == h:
                raise
            continue
        # what the difference quotient may carry: rounding in L magnified by 1/step,
        # and its truncation error
        estimate = EPS * max(top, scale_L) / step + truncation
        if best is None or estimate < best[1]:
            best = (fd, estimate)
        need = 0.1 * TOLERANCE * max(abs(fd), abs(claimed))
        if FD_SAFETY * best[1] <= need:
            break
    fd, estimate = best
    return scaled_error(fd, claimed, FD_SAFETY * estimate + rounding)


def _resolve_sizes(L: Expr, wrt, grads, sizes) -> dict:
    if sizes is None:
        return {}
    known = _dims_of([L, *wrt, *(grads or [])])
    return parse_sizes(sizes, known)


def verify(L: Expr, wrt, grads=None, **kw) -> GradientCheck:
    """Check ∂L/∂x for each x in wrt (derived here unless given) by finite differences.

    `sizes` ({"m": 7} or "m=7, n=5") fixes the sizes of dimensions; by default they are
    chosen so that L is defined. DomainError where no random point is found.

    >>> import matgrad as mg
    >>> A, x = mg.matrix("A", 3, 3), mg.vector("x", 3)
    >>> mg.verify(x.T @ A @ x, [x]).ok
    True
    """
    from .differentiate import gradients, resolve
    if isinstance(wrt, (Expr, str)):
        wrt = [wrt]
    xs = [resolve(L, x) for x in wrt]
    if grads is None:
        grads = gradients(L, xs)
    grads = list(grads)
    if "sizes" in kw:
        kw["sizes"] = _resolve_sizes(L, xs, grads, kw["sizes"])
    return check_gradients(L, xs, grads, **kw)
