"""tril and triu: the lower and upper triangles of a square matrix.

Each is the projection onto triangular matrices — the gradient of a variable declared
"lower" or "upper" (see `matgrad.structure`) — so each is linear and its own adjoint.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..registry import Helper, Operation, declare
from .base import constructor

# tril and triu are not in the array API standard: a mask of row ≥ column indices
_TRIANGLE = Helper("triangle", '''def triangle(xp, a, lower):
    """tril(a) for lower=True, else triu(a): a where the row index is at least (at
    most) the column index, 0 elsewhere."""
    i = xp.arange(a.shape[0], device=array_api_compat.device(a))
    keep = i[:, None] >= i[None, :] if lower else i[:, None] <= i[None, :]
    return xp.where(keep, a, xp.zeros_like(a))
''')


def _code(lower: bool):
    def array_api(p, e):
        return p.call(p.helper(_TRIANGLE), *p.helper_args(), p.array_arg(e.children[0]),
                      str(lower))
    return array_api


def _native(p, e):
    return p.call(p.qualified(e.op), p.array_arg(e.children[0]))


def _index(node, lin, r, c, t):
    """tril(A)_rc = M_rc A_rc, the mask M = tril(1) as a Hadamard factor (likewise triu)."""
    mask = registry_functions[node.op](ops.ones(*node.shape))
    return t.multiply(t.constant(mask, r, c), lin(node.children[0], r, c))


def _declare(name: str, kernel) -> Operation:
    return declare(Operation(
        name=name, call=name, signature="n,n -> n,n",
        kernel=lambda params, a: kernel(a),
        linear=True,
        adjoint=lambda node, g: registry_functions[name](g),
        identity=(name, f"A : {name}(B) = {name}(A) : B"),
        text=(name, name), latex=rf"\operatorname{{{name}}}",
        code={"numpy": _code(kernel is np.tril), "jax": _native, "torch": _native},
        helpers=(_TRIANGLE,),
        index=_index,
        scale=lambda node, cv, cs, av, condition: kernel(
            np.broadcast_to(cs[0], cv[0].shape)),
        facts=frozenset(),
    ))


TRIL = _declare("tril", np.tril)
TRIU = _declare("triu", np.triu)

tril = constructor(TRIL, """The lower triangle of a square matrix: the entries on and below
    the diagonal, zeros above (the projection onto lower-triangular matrices, the gradient of a
    variable declared "lower").

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> A = mg.matrix("A", n, n)
    >>> mg.tril(A), mg.tril(A).shape
    (tril(A), (n, n))
    """, __name__)

triu = constructor(TRIU, """The upper triangle of a square matrix: the entries on and above
    the diagonal, zeros below (the gradient of a variable declared "upper").

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> mg.triu(mg.matrix("A", n, n)).shape
    (n, n)
    """, __name__)

# the constructors by operation, for the adjoint and the index reading above
registry_functions = {"tril": tril, "triu": triu}
