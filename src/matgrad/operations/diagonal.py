"""diag: a vector's diagonal matrix, and a square matrix's diagonal as a vector.

The language's one `diag` has two readings, chosen by the argument's shape; each is an
operation of its own (diagmat, diagvec), since each has its own rules.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..expr import make
from ..dims import fmt_shape, is_scalar
from ..registry import Operation, declare, publish, short


def _diagvec_code(function: str):
    def code(p, e):
        text, _ = p.call(p.qualified(function), p.arg(e.children[0]))
        return f"{text}[:, None]", p.ATOM
    return code


def _diagmat_code(p, e):
    (v,) = e.children
    eye, _ = p.call(p.qualified("eye"), p.size(e.shape[0]), *p.creation_kw())
    return f"{p.wrap(v, p.MUL)} * {eye}", p.MUL


DIAGMAT = declare(Operation(
    name="diagmat", call="diag", signature="n,1 -> n,n",
    kernel=lambda params, a: np.diag(a[:, 0]),
    linear=True,
    adjoint=lambda node, g: diag(g),
    identity=("diagmat", "A : diag(b) = diag(A) : b"),
    text=("diag", "diag"), latex=r"\operatorname{diag}",
    code={"numpy": _diagmat_code},
    index=lambda node, lin, r, c, t: t.multiply(lin(node.children[0], r, None),
                                                 [t.Term(1, (t.Delta(r, c),))]),
    scale=lambda node, cv, cs, av, condition: np.diag(
        np.broadcast_to(cs[0], cv[0].shape)[:, 0]),
    facts=frozenset({"symmetric"}),
))

DIAGVEC = declare(Operation(
    name="diagvec", call="diag", signature="n,n -> n,1",
    kernel=lambda params, a: np.diag(a).reshape(-1, 1).copy(),
    linear=True,
    # the adjoint builds diag(G) as a matrix even where G is 1×1 (a 1×1 A's diagonal)
    adjoint=lambda node, g: make("diagmat", (g,), (), node.children[0].shape),
    identity=("diagvec", "A : diag(B) = diag(A) : B"),
    text=("diag", "diag"), latex=r"\operatorname{diag}",
    code={"numpy": _diagvec_code("linalg.diagonal"), "jax": _diagvec_code("diagonal"),
          "torch": _diagvec_code("diagonal")},
    index=lambda node, lin, r, c, t: lin(node.children[0], r, r),
    scale=lambda node, cv, cs, av, condition: np.diag(
        np.broadcast_to(cs[0], cv[0].shape)).reshape(-1, 1),
))


@publish
def diag(a):
    """Vector → diagonal matrix (n×1 → n×n); square matrix → vector of its diagonal
    (n×n → n×1).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> x, A = mg.vector("x", n), mg.matrix("A", n, n)
    >>> mg.diag(x).shape, mg.diag(A).shape
    ((n, n), (n, 1))
    """
    a = ops.to_expr(a)
    if a.shape[1] == 1 and a.shape[0] != 1:
        return make(DIAGMAT.name, (a,), (), (a.shape[0], a.shape[0]))
    if a.shape[0] == a.shape[1]:
        if is_scalar(a.shape):
            return a
        return make(DIAGVEC.name, (a,), (), (a.shape[0], 1))
    raise ShapeError(f"diag({short(a)}): {short(a)} is {fmt_shape(a.shape)}; diag "
                     "takes a column vector or a square matrix")
