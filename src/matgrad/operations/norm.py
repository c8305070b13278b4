"""The norm: the 2-norm of a vector, the Frobenius norm of a matrix."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..registry import Operation, declare
from .base import constructor


def _norm(node, d):
    """d‖A‖ = (A / ‖A‖) : dA   (Frobenius norm; the 2-norm for a vector; at A = 0 the
    subgradient 0, see `rules.reciprocal_of_norm`)."""
    (a,) = node.children
    return ops.sum(ops.mul(ops.div(a, node), d[0]))


def _norm_text(p, e):
    if p.unicode:
        return "‖" + p.visit(e.children[0])[0] + "‖", p.ATOM
    return p.call("norm", e.children[0])


NORM = declare(Operation(
    name="norm", call="norm", signature="m,n -> 1,1",
    kernel=lambda params, a: np.reshape(np.linalg.norm(a), (1, 1)),
    differential=_norm,
    text=_norm_text,
    latex=lambda p, e: (r"\left\|" + p.visit(e.children[0])[0] + r"\right\|", p.ATOM),
    code={"numpy": lambda p, e: p.call(p.qualified("linalg.vector_norm"),
                                       p.array_arg(e.children[0])),
          "jax": lambda p, e: p.call("jnp.linalg.norm", p.array_arg(e.children[0]))},
    scale=lambda node, cv, cs, av, condition: av + np.linalg.norm(
        np.broadcast_to(cs[0], cv[0].shape)),
    facts=frozenset({"positive"}),
    convention="not differentiable at A = 0, where the subgradient 0 is taken (as "
               "PyTorch does): A / ‖A‖ there is 0, in evaluation and in the code",
))

norm = constructor(NORM, """The 2-norm of a vector, or the Frobenius norm of a matrix: a scalar.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.norm(X), mg.norm(X).shape
    (‖X‖, (1, 1))
    """, __name__)
