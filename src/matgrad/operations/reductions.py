"""Reductions and selections: max and min (of all entries, or along an axis), the
elementwise maximum and minimum, and clip.

None of them is differentiable where two candidates tie; there each takes the same
subgradient convention, the one JAX and PyTorch take for amax and maximum: the
derivative is split *equally* between the tied candidates. Split that way it is a
convex combination of the tied candidates' derivatives, hence a valid subgradient
(for max, the Clarke subdifferential of a maximum is the hull of its active pieces),
and away from ties it is the derivative itself, which finite differences check.
relu(x) keeps its own convention, relu′(0) = 0 (the elementwise table's), so
max(0, x) read as relu and maximum(0, x) differ only at x = 0, in the derivative.

The indicators: ismax(A) (ismin(A)) is 1 where A attains its largest (smallest) entry,
along the axis if one is given, computed from A's value in one kernel, so that no
rewriting of the arithmetic around it can move a tie; ½(1 + sign(a − b)) is 1, ½ or 0
as a >, = or < b. Their derivatives are 0, so Hessians through them are right away from
ties.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..registry import Helper, Keyword, Operation, declare
from .base import constructor

AXIS = Keyword("axis", (None, 0, 1), None)
_REDUCED = {None: "m,n -> 1,1", 0: "m,n -> 1,n", 1: "m,n -> m,1"}
_SAME = "m,n; m,n -> m,n"


def _reduce_value(f):
    def kernel(params, a):
        (axis,) = params
        return np.reshape(f(a, axis=axis, keepdims=True), (1, 1) if axis is None else
                          (1, a.shape[1]) if axis == 0 else (a.shape[0], 1))
    return kernel


def _stretched(node, a):
    """The reduction `node` broadcast back over its argument `a`."""
    return ops.broadcast(node, a.shape) if node.shape != a.shape else node


def _shares(node, a, lowest: bool):
    """E = ismax(A) / sum(ismax(A), axis) (ismin for min): 1 / (the number of entries that
    attain the extreme) on those entries, 0 elsewhere, per reduced slice: the weights of
    the equal split."""
    (axis,) = node.params
    hits = (ismin if lowest else ismax)(a, axis=axis)
    return ops.div(hits, ops.sum(hits, axis))


def _max(node, d):
    """d max(A) = E : dA (along an axis: sum(E ⊙ dA, axis)), E = 1[A = max A] / #ties:
    at a tie the derivative is split equally between the tied entries (a subgradient;
    away from ties E is the indicator of the largest entry, the derivative)."""
    (a,) = node.children
    return ops.sum(ops.mul(_shares(node, a, lowest=False), d[0]), node.params[0])


def _min(node, d):
    """d min(A) = E : dA (along an axis: sum(E ⊙ dA, axis)), E = 1[A = min A] / #ties:
    at a tie the derivative is split equally between the tied entries (a subgradient;
    away from ties E is the indicator of the smallest entry, the derivative)."""
    (a,) = node.children
    return ops.sum(ops.mul(_shares(node, a, lowest=True), d[0]), node.params[0])


def _reduce_code(function: str, torch_function: str):
    # a 1×1 argument is a 0-d array in generated code: no axis to reduce along
    def numpy(p, e):
        (x,), (axis,) = e.children, e.params
        if axis is None or x.shape == (1, 1):
            return p.call(p.fn(function), p.array_arg(x))
        return p.call(p.fn(function), p.array_arg(x), *p.sum_kw(axis))

    def torch(p, e):
        (x,), (axis,) = e.children, e.params
        if axis is None or x.shape == (1, 1):
            return p.call(torch_function, p.array_arg(x))
        return p.call(torch_function, p.array_arg(x), *p.sum_kw(axis))
    return {"numpy": numpy, "torch": torch}


def _reduce_scale(f):
    def scale(node, cv, cs, av, condition):
        (axis,) = node.params
        return av + f(np.broadcast_to(cs[0], cv[0].shape), axis=axis, keepdims=True)
    return scale


# ---- the indicators of the extreme entries ------------------------------------------------


def _attains_value(f):
    def kernel(params, a):
        (axis,) = params
        return (a == f(a, axis=axis, keepdims=True)).astype(float)
    return kernel


def _constant(node, d):
    """d ismax(A) = 0 (and d ismin(A) = 0): the indicator is piecewise constant, its
    derivative zero wherever it is differentiable (away from ties)."""
    return ops.mul(ops.zeros(*node.shape), d[0])


def _attains_helpers(name: str, function: str):
    return {
        "numpy": Helper(name, f'''def {name}(xp, a, axis):
    """1.0 where a attains its {function} (along axis), else 0.0."""
    return xp.astype(a == xp.{function}(a, axis=axis, keepdims=True), a.dtype)
'''),
        "jax": Helper(name, f'''def {name}(a, axis):
    """1.0 where a attains its {function} (along axis), else 0.0."""
    return (a == jnp.{function}(a, axis=axis, keepdims=True)).astype(a.dtype)
'''),
        "torch": Helper(name, f'''def {name}(a, axis):
    """1.0 where a attains its {function} (along axis), else 0.0."""
    top = torch.a{function}(a) if axis is None else torch.a{function}(a, dim=axis, keepdim=True)
    return (a == top).to(a.dtype)
'''),
    }


def _attains_code(helpers):
    def code(p, e):
        (x,), (axis,) = e.children, e.params
        axis = None if x.shape == (1, 1) else axis  # a 0-d array in generated code
        return p.call(p.helper(helpers[p.backend]), *p.helper_args(), p.array_arg(x),
                      repr(axis))
    return code


_ISMAX = _attains_helpers("ismax", "max")
_ISMIN = _attains_helpers("ismin", "min")

ISMAX = declare(Operation(
    name="ismax", call="ismax", signature="m,n -> m,n", keywords=(AXIS,),
    kernel=_attains_value(np.max), differential=_constant,
    text=("ismax", "ismax"), latex=r"\operatorname{ismax}",
    code={b: _attains_code(_ISMAX) for b in _ISMAX}, helpers=tuple(_ISMAX.values()),
    scale=lambda node, cv, cs, av, condition: av,
    convention=("piecewise constant: its derivative is taken as 0 everywhere, ties included (1 on"
                " every tied entry)"),
))

ISMIN = declare(Operation(
    name="ismin", call="ismin", signature="m,n -> m,n", keywords=(AXIS,),
    kernel=_attains_value(np.min), differential=_constant,
    text=("ismin", "ismin"), latex=r"\operatorname{ismin}",
    code={b: _attains_code(_ISMIN) for b in _ISMIN}, helpers=tuple(_ISMIN.values()),
    scale=lambda node, cv, cs, av, condition: av,
    convention=("piecewise constant: its derivative is taken as 0 everywhere, ties included (1 on"
                " every tied entry)"),
))

_INDICATOR_DOC = """1 where A attains its {word} entry (of all entries, or with axis=0 of its
    column, with axis=1 of its row), 0 elsewhere: the shape of A. ∂{name}(A)/∂A is
    {call}(A) / sum({call}(A)) (along the axis), the tied entries sharing equally.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.{call}(X, axis=1), mg.{call}(X, axis=1).shape
    ({call}(X, axis=1), (m, n))
    """

ismax = constructor(ISMAX, _INDICATOR_DOC.format(word="largest", name="max", call="ismax"),
                    __name__)
ismin = constructor(ISMIN, _INDICATOR_DOC.format(word="smallest", name="min", call="ismin"),
                    __name__)


# ---- max and min ---------------------------------------------------------------------------


MAX = declare(Operation(
    name="max", call="max", signature=lambda axis: _REDUCED[axis], keywords=(AXIS,),
    kernel=_reduce_value(np.max), differential=_max,
    text=("max", "max"), latex=r"\max",
    code=_reduce_code("max", "torch.amax"),
    scale=_reduce_scale(np.max),
    convention=("at a tie the derivative is split equally between the tied entries (as JAX's max "
                "and PyTorch's amax): a subgradient"),
))

MIN = declare(Operation(
    name="min", call="min", signature=lambda axis: _REDUCED[axis], keywords=(AXIS,),
    kernel=_reduce_value(np.min), differential=_min,
    text=("min", "min"), latex=r"\min",
    code=_reduce_code("min", "torch.amin"),
    scale=_reduce_scale(np.max),
    convention=("at a tie the derivative is split equally between the tied entries: a "
                "supergradient of the concave min"),
))

_REDUCTION_DOC = """The {word} entry of A: of all entries (a scalar), or with axis=0 the
    {word} of each column (a row, 1×n), with axis=1 of each row (a column, m×1), as for
    sum. At a tie the derivative is split equally between the tied entries.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.{name}(X), mg.{name}(X).shape, mg.{name}(X, axis=0).shape
    ({name}(X), (1, 1), (1, n))
    >>> mg.{name}(X, axis=2)
    Traceback (most recent call last):
        ...
    matgrad.errors.MatgradError: {name}: axis must be one of None, 0, 1, not 2
    """

max = constructor(MAX, _REDUCTION_DOC.format(word="largest", name="max"),  # noqa: A001
                  __name__)
min = constructor(MIN, _REDUCTION_DOC.format(word="smallest", name="min"),  # noqa: A001
                  __name__)


# ---- the elementwise maximum and minimum -------------------------------------------------


def shown(e) -> list:
    """(argument, written as itself?) for each argument of an elementwise operation: a
    broadcast argument (or a ones or zeros) is written as its unstretched value where
    the other arguments still give the result's shape, as the operands of + are."""
    kids = e.children
    implicit = [i for i, c in enumerate(kids) if c.op in ("broadcast", "ones", "zeros")]

    def inner(i):
        c = kids[i]
        if i not in implicit:
            return c.shape
        return c.children[0].shape if c.op == "broadcast" else (1, 1)

    def covered() -> bool:
        return all(any(inner(i)[axis] == e.shape[axis] for i in range(len(kids)))
                   for axis in (0, 1))

    while implicit and not covered():
        implicit.pop(0)
    return [(c, i in implicit) for i, c in enumerate(kids)]


def elementwise_text(name: str):
    """The text spelling of an elementwise operation of several arguments."""
    def text(p, e):
        inner = ", ".join(p.operand(c, p.SUM, bare) for c, bare in shown(e))
        return f"{name}({inner})", p.ATOM
    return text


def elementwise_latex(command: str):
    """The LaTeX spelling of an elementwise operation of several arguments."""
    def latex(p, e):
        inner = ", ".join(p.operand(c, p.SUM, bare) for c, bare in shown(e))
        return rf"{command}\left({inner}\right)", p.ATOM
    return latex



def half_step(x):
    """½(1 + sign(x)): 1 where x > 0, ½ where x = 0, 0 where x < 0."""
    return ops.mul(ops.const(0.5), ops.add(1, ops.sign(x)))


def _maximum(node, d):
    """d maximum(A, B) = s ⊙ dA + (1 − s) ⊙ dB,  s = ½(1 + sign(A − B)): 1 where A > B,
    0 where A < B and ½ at a tie, where the derivative is split equally (a subgradient,
    as JAX and PyTorch split it)."""
    a, b = node.children
    return _select(half_step(ops.sub(a, b)), d)


def _minimum(node, d):
    """d minimum(A, B) = s ⊙ dA + (1 − s) ⊙ dB,  s = ½(1 + sign(B − A)): 1 where A < B,
    0 where A > B and ½ at a tie, where the derivative is split equally (a subgradient,
    as JAX and PyTorch split it)."""
    a, b = node.children
    return _select(half_step(ops.sub(b, a)), d)


def _select(s, d):
    """s ⊙ dA + (1 − s) ⊙ dB, leaving out a constant argument's term."""
    terms = []
    if d[0] is not None:
        terms.append(ops.mul(s, d[0]))
    if d[1] is not None:
        terms.append(ops.mul(ops.sub(1, s), d[1]))
    out = terms[0]
    for t in terms[1:]:
        out = ops.add(out, t)
    return out


def _pairwise_code(function: str):
    def code(p, e):
        return p.call(p.qualified(function), *(p.array_arg(c) for c in p.operands(e)))
    return code


def _pairwise_scale(node, cv, cs, av, condition):
    shape = av.shape
    return av + np.maximum(np.broadcast_to(cs[0], shape), np.broadcast_to(cs[1], shape))


MAXIMUM = declare(Operation(
    name="maximum", call="maximum", signature=_SAME,
    kernel=lambda params, a, b: np.maximum(a, b), differential=_maximum,
    text=elementwise_text("maximum"), latex=elementwise_latex(r"\operatorname{maximum}"),
    code={"numpy": _pairwise_code("maximum")},
    scale=_pairwise_scale, facts=frozenset({"broadcasting"}),
    convention="where A = B, ½ to each argument (as JAX and PyTorch split it)",
))

MINIMUM = declare(Operation(
    name="minimum", call="minimum", signature=_SAME,
    kernel=lambda params, a, b: np.minimum(a, b), differential=_minimum,
    text=elementwise_text("minimum"), latex=elementwise_latex(r"\operatorname{minimum}"),
    code={"numpy": _pairwise_code("minimum")},
    scale=_pairwise_scale, facts=frozenset({"broadcasting"}),
    convention="where A = B, ½ to each argument",
))

_PAIRWISE_DOC = """The elementwise {word} of A and B, which broadcast as for + (a scalar,
    a row or a column stretches); at a tie the derivative is split equally.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, b = mg.matrix("X", m, n), mg.scalar("b")
    >>> mg.{name}(X, b), mg.{name}(X, b).shape
    ({name}(X, b), (m, n))
    >>> mg.{name}(X, mg.vector("v", n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: {name}(X, v): X is m×n, v is n×1; the rows differ and \
neither is 1, so they cannot be broadcast
    """

maximum = constructor(MAXIMUM, _PAIRWISE_DOC.format(word="maximum", name="maximum"),
                      __name__)
minimum = constructor(MINIMUM, _PAIRWISE_DOC.format(word="minimum", name="minimum"),
                      __name__)


# ---- clip ----------------------------------------------------------------------------------


def _clip(node, d):
    """d clip(A, lo, hi) = t ⊙ (s ⊙ dA + (1 − s) ⊙ dlo) + (1 − t) ⊙ dhi, where
    clip(A, lo, hi) = minimum(maximum(A, lo), hi) (NumPy's definition, also for lo > hi),
    s = ½(1 + sign(A − lo)) and t = ½(1 + sign(hi − maximum(A, lo))): at A = lo or
    A = hi the derivative is split equally, as for maximum and minimum."""
    a, lo, hi = node.children
    s = half_step(ops.sub(a, lo))
    t = half_step(ops.sub(hi, maximum(a, lo)))
    inner = [x for x in (_scaled(s, d[0]), _scaled(ops.sub(1, s), d[1])) if x is not None]
    out = []
    if inner:
        total = inner[0] if len(inner) == 1 else ops.add(*inner)
        out.append(ops.mul(t, total))
    if d[2] is not None:
        out.append(ops.mul(ops.sub(1, t), d[2]))
    return out[0] if len(out) == 1 else ops.add(*out)


def _scaled(s, dx):
    return None if dx is None else ops.mul(s, dx)


def _clip_code(p, e):
    a, lo, hi = (p.array_arg(c) for c in p.operands(e))
    inner, _ = p.call(p.qualified("maximum"), a, lo)
    return p.call(p.qualified("minimum"), inner, hi)


def _clip_scale(node, cv, cs, av, condition):
    shape = av.shape
    return av + np.max([np.broadcast_to(c, shape) for c in cs], axis=0)


CLIP = declare(Operation(
    name="clip", call="clip", signature="m,n; m,n; m,n -> m,n",
    kernel=lambda params, a, lo, hi: np.minimum(np.maximum(a, lo), hi), differential=_clip,
    text=elementwise_text("clip"), latex=elementwise_latex(r"\operatorname{clip}"),
    code={"numpy": _clip_code},
    scale=_clip_scale, facts=frozenset({"broadcasting"}),
    convention=("NumPy's minimum(maximum(A, lo), hi), so hi wins where lo > hi; at A = lo or A = "
                "hi, ½ to each side"),
))

clip = constructor(CLIP, """A with each entry limited to [lo, hi]: minimum(maximum(A, lo), hi),
    as NumPy defines it (so hi wins where lo > hi). lo and hi are scalars or broadcast
    against A as for +; at A = lo or A = hi the derivative is split equally.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.clip(X, -1, 1), mg.clip(X, 0, mg.vector("u", m)).shape
    (clip(X, −1, 1), (m, n))
    >>> mg.clip(X, 0, mg.vector("v", n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: clip(X, 0, v): X is m×n, 0 is 1×1, v is n×1; the rows \
differ and neither is 1, so they cannot be broadcast
    """, __name__)
