"""The softmax family: logsumexp, softmax and log_softmax, of a vector or along an axis.

Without an axis each takes a vector (a column, n×1), as before; a matrix needs its axis
named, axis=0 for each column, axis=1 for each row (the usual layout of a batch of
logits, one row per example). A softmax over all entries of a matrix is rarely what is
meant, so the language does not guess it: logsumexp(X) of a matrix is a shape error
that asks for the axis. Along an axis the shapes are those of sum: logsumexp(Z, axis=1)
is a column of the rows' values, softmax and log_softmax keep Z's shape.

Also here: `softmax_ratio`, the simplifier's rewrite exp(Z) / sum(exp(Z), axis) =
softmax(Z, axis).
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..registry import Keyword, Operation, declare, short
from ..dims import fmt_shape
from .base import constructor

AXIS = Keyword("axis", (None, 0, 1), None)
_KEEP = {None: "n,1 -> n,1", 0: "m,n -> m,n", 1: "m,n -> m,n"}
_REDUCED = {None: "n,1 -> 1,1", 0: "m,n -> 1,n", 1: "m,n -> m,1"}


def _along(params):
    """The NumPy axis a node reduces along (a vector's: its rows)."""
    (axis,) = params
    return 0 if axis is None else axis


def _logsumexp_value(params, z):
    axis = _along(params)
    top = np.max(z, axis=axis, keepdims=True)
    return top + np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))


def _softmax_value(params, z):
    axis = _along(params)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax_value(params, z):
    return z - _logsumexp_value(params, z)


def _stretch(x, shape):
    return x if x.shape == shape else ops.broadcast(x, shape)


def _weighted(p, dz, axis):
    """sum(p ⊙ dz, axis): the p-weighted average of dz along the axis."""
    return ops.sum(ops.mul(p, dz), axis)


def _logsumexp(node, d):
    """d lse(v) = softmax(v)ᵀ dv; along an axis, d lse(Z) = sum(softmax(Z) ⊙ dZ, axis)."""
    (z,) = node.children
    (axis,) = node.params
    if axis is None:
        return ops.matmul(ops.transpose(softmax(z)), d[0])
    return _weighted(softmax(z, axis=axis), d[0], axis)


def _softmax(node, d):
    """d softmax(v) = p ⊙ dv − p (pᵀ dv),  p = softmax(v); along an axis,
    d softmax(Z) = P ⊙ (dZ − sum(P ⊙ dZ, axis)),  P = softmax(Z, axis)."""
    p = node
    (axis,) = node.params
    if axis is None:
        return ops.sub(ops.mul(p, d[0]), ops.matmul(p, ops.matmul(ops.transpose(p), d[0])))
    return ops.mul(p, ops.sub(d[0], _stretch(_weighted(p, d[0], axis), p.shape)))


def _log_softmax(node, d):
    """d log_softmax(v) = dv − softmax(v)ᵀ dv; along an axis,
    d log_softmax(Z) = dZ − sum(softmax(Z, axis) ⊙ dZ, axis)."""
    (z,) = node.children
    (axis,) = node.params
    if axis is None:
        return ops.sub(d[0], ops.matmul(ops.transpose(softmax(z)), d[0]))
    return ops.sub(d[0], _stretch(_weighted(softmax(z, axis=axis), d[0], axis), z.shape))


def _top(node, z, t):
    """max(Z) of a vector, or max(Z, axis) along an axis, stretched over Z."""
    (axis,) = node.params
    return t.max(z) if axis is None else t.max(z, axis)


def _logsumexp_lowering(node, kids, t):
    """max(v) + log Σ exp(v − max(v)) (along the axis): never overflows."""
    (z,) = kids
    top = _top(node, z, t)
    return ops.add(top, ops.log(ops.sum(ops.exp(ops.sub(z, top)), node.params[0])))


def _softmax_lowering(node, kids, t):
    """exp(v − max(v)) / Σ exp(v − max(v)) (along the axis): never overflows."""
    (z,) = kids
    e = ops.exp(ops.sub(z, _top(node, z, t)))
    return ops.div(e, ops.sum(e, node.params[0]))


def _log_softmax_lowering(node, kids, t):
    """(v − max(v)) − log Σ exp(v − max(v)) (along the axis): never overflows, and never
    takes the log of an underflowed softmax."""
    (z,) = kids
    shifted = ops.sub(z, _top(node, z, t))
    return ops.sub(shifted, ops.log(ops.sum(ops.exp(shifted), node.params[0])))


def _matrix_arg(p, x) -> str:
    """x as a 2-D array: a 1×1 argument is a 0-d array (or a number) in generated code,
    which has no axis 0 or 1 to work along."""
    if x.shape != (1, 1):
        return p.arg(x)
    return p.call(p.fn("reshape"), p.array_arg(x), "(1, 1)")[0]


def _code(function: str, keyword: str):
    """A backend's kernel called with its axis (a vector's: axis 0)."""
    def code(p, e):
        (x,) = e.children
        text, prec = p.call(function, _matrix_arg(p, x), f"{keyword}={_along(e.params)}")
        return p.to_scalar(text) if e.shape == (1, 1) else (text, prec)
    return code


def _logsumexp_code(function: str, keyword: str, keep: str):
    def code(p, e):
        (x,), (axis,) = e.children, e.params
        if axis is None or x.shape == (1, 1):
            if keyword == "dim":  # torch: both axes of the 2-D array
                return p.call(function, _matrix_arg(p, x), "dim=(0, 1)")
            return p.call(function, p.array_arg(x))
        return p.call(function, p.arg(x), f"{keyword}={axis}", keep)
    return code


_logsumexp_jax = _logsumexp_code("jax.scipy.special.logsumexp", "axis", "keepdims=True")
_logsumexp_torch = _logsumexp_code("torch.logsumexp", "dim", "keepdim=True")


def _lse_scale(node, cv, cs, av, condition):
    axis = _along(node.params)
    return av + np.max(np.broadcast_to(cs[0], cv[0].shape), axis=axis, keepdims=True)


def _softmax_scale(node, cv, cs, av, condition):
    axis = _along(node.params)
    return av * (1.0 + 2.0 * np.max(np.broadcast_to(cs[0], cv[0].shape), axis=axis,
                                    keepdims=True))


def _log_softmax_scale(node, cv, cs, av, condition):
    axis = _along(node.params)
    big = np.max(np.broadcast_to(cs[0], cv[0].shape), axis=axis, keepdims=True)
    return np.abs(cv[0]) + np.abs(cv[0] - av) + 2.0 * big + av


LOGSUMEXP = declare(Operation(
    name="logsumexp", call="logsumexp", signature=lambda axis: _REDUCED[axis],
    keywords=(AXIS,),
    kernel=_logsumexp_value, differential=_logsumexp,
    text=("logsumexp", "logsumexp"), latex=r"\operatorname{logsumexp}",
    code={"jax": _logsumexp_jax, "torch": _logsumexp_torch},
    lowering=_logsumexp_lowering,
    scale=_lse_scale,
))

SOFTMAX = declare(Operation(
    name="softmax", call="softmax", signature=lambda axis: _KEEP[axis], keywords=(AXIS,),
    kernel=_softmax_value, differential=_softmax,
    text=("softmax", "softmax"), latex=r"\operatorname{softmax}",
    code={"jax": _code("jax.nn.softmax", "axis"), "torch": _code("torch.softmax", "dim")},
    lowering=_softmax_lowering,
    scale=_softmax_scale,
    facts=frozenset({"positive"}),
))

LOG_SOFTMAX = declare(Operation(
    name="log_softmax", call="log_softmax", signature=lambda axis: _KEEP[axis],
    keywords=(AXIS,),
    kernel=_log_softmax_value, differential=_log_softmax,
    text=("log_softmax", "log_softmax"), latex=r"\operatorname{log\_softmax}",
    code={"jax": _code("jax.nn.log_softmax", "axis"),
          "torch": _code("torch.log_softmax", "dim")},
    lowering=_log_softmax_lowering,
    scale=_log_softmax_scale,
))


def _vector_or_axis(operation):
    """A column with axis=0 is the vector form (one node for one value); a matrix
    without an axis is refused with the axes it may take."""
    def prepare(args, params):
        (z,) = args
        if params == (0,) and z.shape[1] == 1 and z.shape[0] != 1:
            return args, (None,)
        if params == (None,) and z.shape[1] != 1:
            call = f"{operation.call}({short(z)})"
            raise ShapeError(f"{call}: {short(z)} is {fmt_shape(z.shape)}, not a column "
                             f"vector; name the axis: {operation.call}({short(z)}, axis=1) "
                             f"along each row, axis=0 along each column")
        return args, params
    return prepare


logsumexp = constructor(LOGSUMEXP, """log Σ exp(vᵢ) of a column vector (n×1): a scalar;
    along an axis of a matrix Z, as sum: a row (axis=0) or a column (axis=1).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> v, Z = mg.vector("v", n), mg.matrix("Z", m, n)
    >>> mg.logsumexp(v), mg.logsumexp(v).shape, mg.logsumexp(Z, axis=1).shape
    (logsumexp(v), (1, 1), (m, 1))
    """, __name__, prepare=_vector_or_axis(LOGSUMEXP))

softmax = constructor(SOFTMAX, """exp(v) / Σ exp(vᵢ) of a column vector: the shape of v (n×1);
    along an axis of a matrix Z (axis=1: each row sums to 1), the shape of Z.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> v = mg.vector("v", n)
    >>> mg.softmax(v), mg.softmax(v).shape
    (softmax(v), (n, 1))
    >>> mg.softmax(mg.matrix("X", m, n), axis=1)
    softmax(X, axis=1)
    >>> mg.softmax(mg.matrix("X", m, n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: softmax(X): X is m×n, not a column vector; name the axis: \
softmax(X, axis=1) along each row, axis=0 along each column
    """, __name__, prepare=_vector_or_axis(SOFTMAX))

log_softmax = constructor(LOG_SOFTMAX, """log softmax: v − logsumexp(v) of a column vector
    (n×1), or Z − logsumexp(Z, axis) along an axis of a matrix, computed without the
    log of a small softmax: the shape of its argument.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> Z = mg.matrix("Z", m, n)
    >>> mg.log_softmax(Z, axis=1), mg.log_softmax(Z, axis=1).shape
    (log_softmax(Z, axis=1), (m, n))
    """, __name__, prepare=_vector_or_axis(LOG_SOFTMAX))


# ---- the simplifier's rewrite --------------------------------------------------------------


def softmax_ratio(factors: dict):
    """exp(Z) ⊙ sum(exp(Z), axis)⁻¹ = softmax(Z, axis): in a Hadamard product given as
    {factor: exponent}, a factor exp(Z) with exponent 1 and the (broadcast) sum of the
    same exp(Z) along the axis with exponent −1 become the one factor softmax(Z, axis);
    so does a broadcast quotient c / sum(exp(Z), axis) (the gradient of a written-out
    log-sum-exp), leaving the broadcast c. A vector's sum of all entries is its own
    axis: exp(v) / sum(exp(v)) = softmax(v). Returns the new factors, or None where no
    such pair is there.

    >>> import matgrad as mg
    >>> Z = mg.matrix("Z", 3, 4)
    >>> s = mg.broadcast(mg.sum(mg.exp(Z), axis=1), (3, 4))
    >>> softmax_ratio({mg.exp(Z): 1, s: -1})
    {softmax(Z, axis=1): 1}
    """
    for bottom, k in factors.items():
        inner = bottom.children[0] if bottom.op == "broadcast" else bottom
        rest = None  # c of a broadcast quotient c / sum(exp(Z), axis)
        if k == 1 and inner.op == "div":
            rest, total = inner.children
        elif k == -1:
            total = inner
        else:
            continue
        if total.op != "sum" or total.children[0].op != "fn" or \
                total.children[0].params[0] != "exp" or factors.get(total.children[0]) != 1:
            continue
        top = total.children[0]
        z = top.children[0]
        axis = total.params[0]
        if axis is None and z.shape[1] == 1:
            axis = 0  # a column's entries: its axis 0
        elif axis is None and z.shape[0] == 1:
            axis = 1
        elif axis is None:
            continue  # all entries of a matrix: no softmax of the language
        out = {f: e for f, e in factors.items() if f is not top and f is not bottom}
        named = softmax(z, axis=axis)
        out[named] = out.get(named, 0) + 1
        if rest is not None and not (rest.op == "const" and rest.params[0] == 1):
            kept = rest if rest.shape == (1, 1) else ops.broadcast(rest, z.shape)
            out[kept] = out.get(kept, 0) + 1
        return out
    return None
