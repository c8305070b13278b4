"""logsumexp and softmax of a vector."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..registry import Operation, declare
from .base import constructor


def _logsumexp_value(params, v):
    top = np.max(v)
    return np.reshape(top + np.log(np.sum(np.exp(v - top))), (1, 1))


def _softmax_value(params, v):
    e = np.exp(v - np.max(v))
    return e / np.sum(e)


def _logsumexp(node, d):
    """d lse(v) = softmax(v)ᵀ dv."""
    (v,) = node.children
    return ops.matmul(ops.transpose(softmax(v)), d[0])


def _softmax(node, d):
    """d softmax(v) = p ⊙ dv − p (pᵀ dv),  p = softmax(v)."""
    p = node
    return ops.sub(ops.mul(p, d[0]), ops.matmul(p, ops.matmul(ops.transpose(p), d[0])))


def _logsumexp_lowering(node, kids, t):
    """max(v) + log Σ exp(v − max(v)): never overflows."""
    (v,) = kids
    top = t.max(v)
    return ops.add(top, ops.log(ops.sum(ops.exp(ops.sub(v, top)))))


def _softmax_lowering(node, kids, t):
    """exp(v − max(v)) / Σ exp(v − max(v)): never overflows."""
    (v,) = kids
    e = ops.exp(ops.sub(v, t.max(v)))
    return ops.div(e, ops.sum(e))


LOGSUMEXP = declare(Operation(
    name="logsumexp", call="logsumexp", signature="n,1 -> 1,1",
    kernel=_logsumexp_value, differential=_logsumexp,
    text=("logsumexp", "logsumexp"), latex=r"\operatorname{logsumexp}",
    code={"jax": lambda p, e: p.call("jax.scipy.special.logsumexp", p.arg(e.children[0])),
          "torch": lambda p, e: p.call("torch.logsumexp", p.arg(e.children[0]),
                                       "dim=(0, 1)")},
    lowering=_logsumexp_lowering,
    scale=lambda node, cv, cs, av, condition: av + np.max(cs[0]),
))

SOFTMAX = declare(Operation(
    name="softmax", call="softmax", signature="n,1 -> n,1",
    kernel=_softmax_value, differential=_softmax,
    text=("softmax", "softmax"), latex=r"\operatorname{softmax}",
    code={"jax": lambda p, e: p.call("jax.nn.softmax", p.arg(e.children[0]), "axis=0"),
          "torch": lambda p, e: p.call("torch.softmax", p.arg(e.children[0]), "dim=0")},
    lowering=_softmax_lowering,
    scale=lambda node, cv, cs, av, condition: av * (1.0 + 2.0 * np.max(cs[0])),
    facts=frozenset({"positive"}),
))

logsumexp = constructor(LOGSUMEXP, """log Σ exp(vᵢ) of a column vector (n×1): a scalar.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> v = mg.vector("v", n)
    >>> mg.logsumexp(v), mg.logsumexp(v).shape
    (logsumexp(v), (1, 1))
    """, __name__)

softmax = constructor(SOFTMAX, """exp(v) / Σ exp(vᵢ) of a column vector: the shape of v (n×1).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> v = mg.vector("v", n)
    >>> mg.softmax(v), mg.softmax(v).shape
    (softmax(v), (n, 1))
    >>> mg.softmax(mg.matrix("X", m, n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: softmax(X): X is m×n, not a column vector
    """, __name__)
