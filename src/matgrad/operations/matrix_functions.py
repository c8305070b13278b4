"""Matrix functions of a square matrix: solve, matrix_power, adj, cholesky (and the
linear map Φ its differential needs, tril_half).

Conventions, each stated where it is declared:

* solve(A, B) is A⁻¹B, computed (and compiled) as a solve, never through an inverse.
* matrix_power(A, k) is Aᵏ for a whole k with |k| ≤ MAX_POWER: A⁰ = I, a negative k is
  a power of A⁻¹. In mathematical text a whole superscript on a square matrix is the
  matrix power (A³, A⁻²; A⁻¹ is the inverse); the elementwise power of a square matrix
  is written with ∘ (A^∘(2)), in LaTeX too (A^{\\circ 2}).
* adj(A) is the adjugate, defined here as det(A) A⁻¹: its argument must be invertible.
* cholesky(A) is the lower factor L of the symmetric part S = (A + Aᵀ)/2, S = L Lᵀ, for
  an S that is positive definite: for a symmetric A it is A's own factor, and for any A
  its derivative is defined in every direction (the symmetric gradient for a symmetric
  variable).
* tril_half(X) = Φ(X): the strictly lower triangle of X with half its diagonal.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from .. import registry
from ..errors import DomainError, MatgradError
from ..registry import Helper, Keyword, Operation, declare, publish
from .base import constructor
from .linalg import det, inv, trace

MAX_POWER = 1024  # the largest |k| of matrix_power(A, k): the derivative has |k| terms,
# and the simplifier folds chains of up to this many equal factors into one power


def abs_inverse(a):
    """|A⁻¹| entrywise, for rounding scales; infinite where A is singular."""
    try:
        return np.abs(np.linalg.inv(a))
    except np.linalg.LinAlgError:
        return np.full(a.shape, np.inf)


def _scalar_case(scalar, general):
    """Code that is `scalar(p, x...)` where the (first) argument is 1×1 (a number in the
    generated code) and `general(p, e)` otherwise."""
    def code(p, e):
        if e.children[0].shape == (1, 1):
            return scalar(p, *e.children)
        return general(p, e)
    return code


# ---- solve ---------------------------------------------------------------------------------


def _solve_value(params, a, b):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise DomainError("solve: the matrix is singular at this point") from None


def _solve(node, d):
    """d solve(A, B) = solve(A, dB − dA solve(A, B))   (d(A⁻¹B) = A⁻¹ dB − A⁻¹ dA A⁻¹B,
    Matrix Cookbook eq. 40 and the product rule)."""
    a, _ = node.children
    da, db = d
    rhs = db
    if da is not None:
        back = ops.matmul(da, node)
        rhs = ops.neg(back) if rhs is None else ops.sub(rhs, back)
    return solve(a, rhs)


def _solve_text(p, e):
    return p.call("solve", *e.children)


def _solve_code(p, e):
    a, b = e.children
    if a.shape == (1, 1):
        return f"{p.wrap(b, p.MUL + 1)} / {p.wrap(a, p.UNARY)}", p.MUL
    return p.call(p.qualified("linalg.solve"), p.array_arg(a), p.array_arg(b))


def _solve_scale(node, cv, cs, av, condition):
    a = cv[0]
    k = condition(a)
    ai = abs_inverse(a)
    sa = np.broadcast_to(cs[0], a.shape)
    sb = np.broadcast_to(cs[1], cv[1].shape)
    return ai @ (sa @ av + sb) + k * av


def _solve_index(node, lin, r, c, t):
    """solve(A, dB)_rc = Σ_t (A⁻¹)_rt dB_tc."""
    a, b = node.children
    i = t.axis_index(a.shape[0])
    inverse = [t.Term(1, (t.Factor(inv(a), r, i),))]
    return t.sum_over(t.multiply(inverse, lin(b, i, c)), [i])


SOLVE = declare(Operation(
    name="solve", call="solve", signature="n,n; n,k -> n,k",
    kernel=_solve_value, differential=_solve,
    # G : solve(A, dB) = G : A⁻¹ dB = A⁻ᵀ G : dB = solve(Aᵀ, G) : dB
    linear_in=1, adjoint=lambda node, g: solve(ops.transpose(node.children[0]), g),
    identity=("solve", "G : solve(A, dB) = solve(Aᵀ, G) : dB"),
    index=_solve_index,
    # \operatorname{solve}(A, B) reads back as the solve; A^{-1} B would read back as
    # the product with the inverse (an equal value, but compiled through an inverse)
    text=_solve_text, latex=r"\operatorname{solve}",
    code={"numpy": _solve_code},
    scale=_solve_scale, facts=frozenset({"conditioned"}),
    convention=("defined for an invertible A (checked at well-conditioned points); compiled as a "
                "solve, never an inverse"),
))

solve = constructor(SOLVE, """solve(A, B) = A⁻¹B, the solution X of A X = B: A square
    (n×n), B n×k; compiled as a solve (linalg.solve), never through an inverse.

    >>> import matgrad as mg
    >>> n, k = mg.dims("n k")
    >>> A, B, b = mg.matrix("A", n, n), mg.matrix("B", n, k), mg.vector("b", n)
    >>> mg.solve(A, B).shape, mg.solve(A, b)
    ((n, k), solve(A, b))
    >>> mg.solve(A, mg.vector("c", k))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: solve(A, c): A is n×n and c is k×1; solve takes n×n and n×k
    """, __name__)


# ---- matrix power --------------------------------------------------------------------------


def _power_value(params, a):
    (k,) = params
    try:
        return np.linalg.matrix_power(a, k)
    except np.linalg.LinAlgError:
        raise DomainError("matrix_power: the matrix is singular at this point, so it has "
                          "no negative power") from None


def _matrix_power(node, d):
    """d Aᵏ = Σ_{i=0}^{k−1} Aⁱ dA Aᵏ⁻¹⁻ⁱ for k > 0 (the product rule); for k < 0,
    Aᵏ = Bᵐ with B = A⁻¹, m = −k and dB = −A⁻¹ dA A⁻¹ (Matrix Cookbook eq. 40)."""
    (a,), (k,) = node.children, node.params
    step = d[0] if k > 0 else ops.neg(ops.matmul(ops.matmul(inv(a), d[0]), inv(a)))
    m = abs(k)
    sign = 1 if k > 0 else -1
    out = None
    for i in range(m):
        left = matrix_power(a, sign * i)
        right = matrix_power(a, sign * (m - 1 - i))
        term = step
        if i:
            term = ops.matmul(left, term)
        if m - 1 - i:
            term = ops.matmul(term, right)
        out = term if out is None else ops.add(out, term)
    return out


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_text(p, e):
    (x,), (k,) = e.children, e.params
    if not p.unicode:
        return f"matrix_power({p.visit(x)[0]}, {k})", p.ATOM
    return p.wrap(x, p.ATOM) + str(k).translate(_SUPERSCRIPT), p.POSTFIX


def _power_latex(p, e):
    (x,), (k,) = e.children, e.params
    return "{" + p.wrap(x, p.ATOM) + "}^{" + str(k) + "}", p.POSTFIX


def _power_code(p, e):
    (x,), (k,) = e.children, e.params
    if x.shape == (1, 1):
        return f"{p.wrap(x, p.POW + 1)} ** {k if k >= 0 else f'({k})'}", p.POW
    return p.call(p.qualified("linalg.matrix_power"), p.array_arg(x), str(k))


def _power_scale(node, cv, cs, av, condition):
    (k,) = node.params
    a = cv[0]
    if k == 0:
        return np.zeros(a.shape)
    sa = np.broadcast_to(cs[0], a.shape)
    if k > 0:
        b, sb = np.abs(a), sa
    else:  # the inverse's scale, as for inv
        b = abs_inverse(a)
        sb = b @ sa @ b + condition(a) * b
    power, scale = b, sb
    for _ in range(abs(k) - 1):  # the product rule's scale, factor by factor
        scale = scale @ b + power @ sb
        power = power @ b
    return scale


MATRIX_POWER = declare(Operation(
    name="matrix_power", call="matrix_power", signature="n,n -> n,n",
    kernel=_power_value, differential=_matrix_power,
    keywords=(Keyword("k", tuple(range(-MAX_POWER, MAX_POWER + 1)), 3, positional=True),),
    text=_power_text, latex=_power_latex,
    code={"numpy": _power_code},
    scale=_power_scale,
    convention="a whole k with |k| ≤ 1024; a negative k needs an invertible A",
))


@publish
def matrix_power(a, k):
    """The matrix power Aᵏ of a square matrix A for a whole k, |k| ≤ 1024: A⁰ = I, A¹ = A,
    A⁻¹ = inv(A) and a negative k a power of the inverse. Printed Aᵏ (a whole
    superscript on a square matrix is the matrix power; the elementwise power prints
    with ∘, A^∘(2)).

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> A = mg.matrix("A", n, n)
    >>> mg.matrix_power(A, 3), mg.matrix_power(A, -2), mg.matrix_power(A, 0)
    (A³, A⁻², I)
    >>> mg.matrix_power(A, 0.5)
    Traceback (most recent call last):
        ...
    matgrad.errors.MatgradError: matrix_power(A, k): k must be a whole number, not 0.5
    """
    a = ops.to_expr(a)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise MatgradError(f"matrix_power({registry.short(a)}, k): k must be a whole "
                           f"number, not {k!r}")
    k = int(k)
    if abs(k) > MAX_POWER:
        raise MatgradError(f"matrix_power({registry.short(a)}, {k}): the exponent is "
                           f"limited to {MAX_POWER} in size (the derivative has |k| terms)")
    node = registry.build(MATRIX_POWER, (a,), (k,))  # checks that A is square
    if k == 0:
        return ops.eye(a.shape[0])
    if k == 1:
        return a
    if k == -1:
        return inv(a)
    return node


# ---- adjugate ------------------------------------------------------------------------------


def _adj_value(params, a):
    try:
        return np.linalg.det(a) * np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise DomainError("adj: the matrix is singular at this point (adj is defined "
                          "here as det(A) A⁻¹)") from None


def _adj(node, d):
    """d adj(A) = tr(A⁻¹ dA) adj(A) − A⁻¹ dA adj(A)   (adj(A) = det(A) A⁻¹ and the
    product rule, with Matrix Cookbook eqs. 46 and 40)."""
    (a,) = node.children
    ai_da = ops.matmul(inv(a), d[0])
    return ops.sub(ops.mul(trace(ai_da), node), ops.matmul(ai_da, node))


def _adj_scale(node, cv, cs, av, condition):
    a = cv[0]
    n = a.shape[0]
    k = condition(a)
    ai = abs_inverse(a)
    sa = np.broadcast_to(cs[0], a.shape)
    det_abs = abs(float(np.linalg.det(a)))
    det_scale = det_abs * (1.0 + float(np.sum(ai.T * sa)) + n * k)
    return det_abs * (ai @ sa @ ai + k * ai) + det_scale * ai


ADJ = declare(Operation(
    name="adj", call="adj", signature="n,n -> n,n",
    kernel=_adj_value, differential=_adj,
    text=("adj", "adj"), latex=r"\operatorname{adj}",
    lowering=lambda node, kids, t: ops.mul(det(kids[0]), inv(kids[0])),
    scale=_adj_scale, facts=frozenset({"conditioned"}),
    convention="defined as det(A) A⁻¹, so A must be invertible where it is evaluated",
))

adj = constructor(ADJ, """The adjugate adj(A) = det(A) A⁻¹ of a square matrix (n×n): defined
    through det and inv, so A must be invertible where it is evaluated.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> A = mg.matrix("A", n, n)
    >>> mg.adj(A), mg.adj(A).shape
    (adj(A), (n, n))
    >>> mg.adj(mg.matrix("X", m, n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: adj(X): X is m×n, not square
    """, __name__)


# ---- Φ: the lower triangle with half the diagonal ------------------------------------------


def _tril_half_value(params, a):
    return np.tril(a, -1) + np.diag(np.diag(a)) / 2


_TRIL_HALF = {
    "numpy": Helper("tril_half", '''def tril_half(xp, a):
    """The strictly lower triangle of a with half its diagonal."""
    return (xp.tril(a) + xp.tril(a, k=-1)) / 2
'''),
    "jax": Helper("tril_half", '''def tril_half(a):
    """The strictly lower triangle of a with half its diagonal."""
    return (jnp.tril(a) + jnp.tril(a, k=-1)) / 2
'''),
    "torch": Helper("tril_half", '''def tril_half(a):
    """The strictly lower triangle of a with half its diagonal."""
    return (torch.tril(a) + torch.tril(a, diagonal=-1)) / 2
'''),
}


def _tril_half_code(p, e):
    (x,) = e.children
    if x.shape == (1, 1):
        return f"{p.wrap(x, p.MUL)} / 2", p.MUL
    return p.call(p.helper(_TRIL_HALF[p.backend]), *p.helper_args(), p.arg(x))


def _tril_half_index(node, lin, r, c, t):
    """Φ(X)_rc = M_rc X_rc with M = Φ(1): 1 below the diagonal, ½ on it, 0 above."""
    (x,) = node.children
    mask = tril_half(ops.ones(*x.shape))
    return t.multiply([t.Term(1, (t.Factor(mask, r, c),))], lin(x, r, c))


TRIL_HALF = declare(Operation(
    name="tril_half", call="tril_half", signature="n,n -> n,n",
    kernel=_tril_half_value,
    linear=True,
    # Φ(X) = M ⊙ X for a fixed mask M, so Φ is its own adjoint: G : Φ(dX) = Φ(G) : dX
    adjoint=lambda node, g: tril_half(g),
    identity=("tril_half", "G : Φ(dX) = Φ(G) : dX"),
    text=("tril_half", "tril_half"), latex=r"\operatorname{tril\_half}",
    code={b: _tril_half_code for b in _TRIL_HALF}, helpers=tuple(_TRIL_HALF.values()),
    index=_tril_half_index,
    scale=lambda node, cv, cs, av, condition: _tril_half_value(
        (), np.broadcast_to(cs[0], cv[0].shape)),
))

tril_half = constructor(TRIL_HALF, """Φ(X): the strictly lower triangle of a square X with
    half its diagonal (the map in the differential of the Cholesky factor).

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> X = mg.matrix("X", n, n)
    >>> mg.tril_half(X), mg.evaluate(mg.tril_half(X), {"X": [[2.0, 3.0], [4.0, 6.0]]})
    (tril_half(X), array([[1., 0.],
           [4., 3.]]))
    """, __name__)


# ---- Cholesky factor -----------------------------------------------------------------------


def _cholesky_value(params, a):
    try:
        return np.linalg.cholesky((a + a.T) / 2)
    except np.linalg.LinAlgError:
        raise DomainError("cholesky: the matrix (its symmetric part) is not positive "
                          "definite at this point") from None


def _cholesky(node, d):
    """dL = L Φ(L⁻¹ dS L⁻ᵀ), dS = (dA + dAᵀ)/2, L = cholesky(A)   (the differential of
    S = L Lᵀ solved for a lower-triangular dL: Murray 2016, "Differentiation of the
    Cholesky decomposition", eq. 8)."""
    ds = ops.div(ops.add(d[0], ops.transpose(d[0])), 2)
    li = inv(node)
    return ops.matmul(node, tril_half(ops.matmul(ops.matmul(li, ds), ops.transpose(li))))


_CHOLESKY = {
    "numpy": Helper("cholesky", '''def cholesky(xp, a):
    """The lower Cholesky factor of the symmetric part of a."""
    return xp.linalg.cholesky((a + a.T) / 2)
'''),
    "jax": Helper("cholesky", '''def cholesky(a):
    """The lower Cholesky factor of the symmetric part of a."""
    return jnp.linalg.cholesky((a + a.T) / 2)
'''),
    "torch": Helper("cholesky", '''def cholesky(a):
    """The lower Cholesky factor of the symmetric part of a."""
    return torch.linalg.cholesky((a + a.T) / 2)
'''),
}


def _cholesky_code(p, e):
    (x,) = e.children
    if x.shape == (1, 1):
        return p.call(p.qualified("sqrt"), p.array_arg(x))
    return p.call(p.helper(_CHOLESKY[p.backend]), *p.helper_args(), p.arg(x))


def _cholesky_scale(node, cv, cs, av, condition):
    k = condition(cv[0])
    li = abs_inverse(av) if np.all(np.isfinite(av)) else np.full(av.shape, np.inf)
    sa = np.broadcast_to(cs[0], cv[0].shape)
    return av @ (li @ sa @ li.T) + (1.0 + k) * av


CHOLESKY = declare(Operation(
    name="cholesky", call="cholesky", signature="n,n -> n,n",
    kernel=_cholesky_value, differential=_cholesky,
    text=("cholesky", "cholesky"), latex=r"\operatorname{cholesky}",
    code={b: _cholesky_code for b in _CHOLESKY}, helpers=tuple(_CHOLESKY.values()),
    scale=_cholesky_scale, facts=frozenset({"conditioned"}),
    convention="the factor of the symmetric part (A + Aᵀ)/2, which must be positive definite",
))

cholesky = constructor(CHOLESKY, """The lower Cholesky factor L of a square A's symmetric
    part (A + Aᵀ)/2 = L Lᵀ, which must be positive definite; for a symmetric A, its own.

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> S = mg.matrix("S", n, n, symmetric=True)
    >>> mg.cholesky(S), mg.evaluate(mg.cholesky(S), {"S": [[4.0, 2.0], [2.0, 2.0]]})
    (cholesky(S), array([[2., 0.],
           [1., 1.]]))
    """, __name__)
