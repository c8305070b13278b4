"""The matrix exponential and its Fréchet derivative.

    expm(A)              e^A = Σₖ Aᵏ/k! of a square A (n×n)
    expm_frechet(A, E)   L(A, E) = ∫₀¹ e^{sA} E e^{(1−s)A} ds, the Fréchet derivative of
                         expm at A in the direction E: d expm(A) = expm_frechet(A, dA)
    expm_jacobian(A)     K(A), the n²×n² matrix with vec L(A, E) = K(A) vec E: the
                         Jacobian ∂vec(e^A)/∂vec(A), K(A) = ∫₀¹ e^{(1−s)Aᵀ} ⊗ e^{sA} ds

The Fréchet derivative is linear in E, and its adjoint in the Frobenius product is the
Fréchet derivative at Aᵀ (e^A is a power series with real coefficients):
G : L(A, E) = L(Aᵀ, G) : E. Where E commutes with A (E = I, E = c I), L(A, E) = e^A E,
so ∂ tr(e^X)/∂X = L(Xᵀ, I) = e^{Xᵀ} = (e^X)ᵀ.

Values, by the block-triangular form (Higham, "Functions of Matrices", 2008, eq. 3.16
and Theorem 3.6; Mathias 1996):

    expm([[A, E], [0, A]]) = [[e^A, L(A, E)], [0, e^A]]
    expm([[P, C], [0, Q]])  = [[e^P, ∫₀¹ e^{(1−s)P} C e^{sQ} ds], [0, e^Q]]

the second with P = Aᵀ ⊗ I, C = I and Q = I ⊗ A giving K(A). e^A itself is computed by
scaling and squaring with the [13/13] Padé approximant (Higham, "The scaling and squaring
method for the matrix exponential revisited", SIAM J. Matrix Anal. Appl. 26, 2005), the
method of scipy.linalg.expm, in NumPy and in the generated array-API code; JAX and
PyTorch call their own (jax.scipy.linalg.expm, torch.linalg.matrix_exp).

What is not supported yet: derivatives of expm_frechet with respect to A and of
expm_jacobian (the second Fréchet derivative), so a Hessian whose gradient still holds
L(A, ·) with A depending on the variable is refused with a message that says so. A
gradient of expm is always available, and so are the Jacobian of expm and the Hessians
whose gradients close to e^X (of tr e^X, for instance).
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..dims import product
from ..errors import MatgradError
from ..registry import Helper, Operation, declare
from .base import constructor

# The [13/13] Padé approximant's coefficients and the 1-norm below which it is accurate
# to double precision (Higham 2005, Table 2.3 and eq. 2.3).
PADE_13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
           1187353796428800.0, 129060195264000.0, 10559470521600.0, 670442572800.0,
           33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
THETA_13 = 5.371920351148152
# beyond this 1-norm e^A overflows double precision in some entry (e^709 ≈ 8·10³⁰⁷)
MAX_NORM = 700.0

SECOND_DERIVATIVE = ("the second derivative of the matrix exponential (of expm_frechet "
                     "with respect to its first argument, or of expm_jacobian) is not "
                     "supported yet")


def _squarings(norm: float) -> int:
    """How often to halve A so that its 1-norm is at most THETA_13."""
    if not norm > THETA_13:
        return 0
    return int(math.ceil(math.log2(norm / THETA_13)))


def expm_value(a: np.ndarray) -> np.ndarray:
    """e^A by scaling and squaring with the [13/13] Padé approximant."""
    a = np.asarray(a, dtype=float)
    n = a.shape[0]
    if not np.all(np.isfinite(a)):
        return np.full(a.shape, np.nan)
    norm = float(np.max(np.sum(np.abs(a), axis=0), initial=0.0))
    if norm > MAX_NORM:
        return np.full(a.shape, np.inf)
    s = _squarings(norm)
    a = a / 2.0 ** s
    b = PADE_13
    eye = np.eye(n)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
             + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \
        + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r


def frechet_value(a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """L(A, E): the upper right block of expm([[A, E], [0, A]])."""
    n = a.shape[0]
    block = np.block([[a, e], [np.zeros_like(a), a]])
    return expm_value(block)[:n, n:]


def jacobian_value(a: np.ndarray) -> np.ndarray:
    """K(A) = ∫₀¹ e^{(1−s)Aᵀ} ⊗ e^{sA} ds: the upper right block of
    expm([[Aᵀ ⊗ I, I], [0, I ⊗ A]])."""
    n = a.shape[0]
    eye = np.eye(n)
    big = n * n
    block = np.block([[np.kron(a.T, eye), np.eye(big)],
                      [np.zeros((big, big)), np.kron(eye, a)]])
    return expm_value(block)[:big, big:]


# ---- generated code ------------------------------------------------------------------------

_EXPM_SOURCE = '''def expm(xp, a):
    """e^a by scaling and squaring with the [13/13] Pade approximant (Higham 2005)."""
    b = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
         1187353796428800.0, 129060195264000.0, 10559470521600.0, 670442572800.0,
         33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
    n = a.shape[0]
    norm = float(xp.max(xp.sum(xp.abs(a), axis=0)))
    s = 0
    while norm > 5.371920351148152 * 2.0 ** s:  # halvings that bring the 1-norm to theta_13
        s += 1
    a = a / 2.0 ** s
    eye = xp.eye(n, dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
             + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \\
        + b[0] * eye
    r = xp.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r
'''

_EXPM = {
    "numpy": Helper("expm", _EXPM_SOURCE),
    "jax": Helper("expm", '''def expm(a):
    """e^a (jax.scipy.linalg.expm)."""
    import jax.scipy.linalg
    return jax.scipy.linalg.expm(a)
'''),
    "torch": "linalg.matrix_exp",
}

_FRECHET = {
    "numpy": Helper("expm_frechet", '''def expm_frechet(xp, a, e):
    """The Frechet derivative of expm at a in the direction e: the upper right block
    of expm([[a, e], [0, a]])."""
    n = a.shape[0]
    zero = xp.zeros_like(a)
    block = xp.concat([xp.concat([a, e], axis=1), xp.concat([zero, a], axis=1)], axis=0)
    return expm(xp, block)[:n, n:]
'''),
    "jax": Helper("expm_frechet", '''def expm_frechet(a, e):
    """The Frechet derivative of expm at a in the direction e."""
    import jax.scipy.linalg
    return jax.scipy.linalg.expm_frechet(a, e, compute_expm=False)
'''),
    "torch": Helper("expm_frechet", '''def expm_frechet(a, e):
    """The Frechet derivative of expm at a in the direction e: the upper right block
    of matrix_exp([[a, e], [0, a]])."""
    n = a.shape[0]
    block = torch.cat([torch.cat([a, e], dim=1),
                       torch.cat([torch.zeros_like(a), a], dim=1)], dim=0)
    return torch.linalg.matrix_exp(block)[:n, n:]
'''),
}

_JACOBIAN = {
    "numpy": Helper("expm_jacobian", '''def expm_jacobian(xp, a):
    """K(a), the matrix with vec(expm_frechet(a, e)) = K(a) vec(e) (columns stacked):
    the upper right block of expm([[a.T kron I, I], [0, I kron a]])."""
    n = a.shape[0]
    big = n * n
    eye = xp.eye(n, dtype=a.dtype)
    left = xp.reshape(xp.reshape(a.T, (n, 1, n, 1)) * xp.reshape(eye, (1, n, 1, n)), (big, big))
    right = xp.reshape(xp.reshape(eye, (n, 1, n, 1)) * xp.reshape(a, (1, n, 1, n)), (big, big))
    zero = xp.zeros((big, big), dtype=a.dtype)
    block = xp.concat([xp.concat([left, xp.eye(big, dtype=a.dtype)], axis=1),
                       xp.concat([zero, right], axis=1)], axis=0)
    return expm(xp, block)[:big, big:]
'''),
    "jax": Helper("expm_jacobian", '''def expm_jacobian(a):
    """K(a), the matrix with vec(expm_frechet(a, e)) = K(a) vec(e) (columns stacked)."""
    n = a.shape[0]
    eye, big = jnp.eye(n, dtype=a.dtype), n * n
    block = jnp.block([[jnp.kron(a.T, eye), jnp.eye(big, dtype=a.dtype)],
                       [jnp.zeros((big, big), dtype=a.dtype), jnp.kron(eye, a)]])
    import jax.scipy.linalg
    return jax.scipy.linalg.expm(block)[:big, big:]
'''),
    "torch": Helper("expm_jacobian", '''def expm_jacobian(a):
    """K(a), the matrix with vec(expm_frechet(a, e)) = K(a) vec(e) (columns stacked)."""
    n = a.shape[0]
    eye, big = torch.eye(n, dtype=a.dtype), n * n
    top = torch.cat([torch.kron(a.T.contiguous(), eye), torch.eye(big, dtype=a.dtype)], dim=1)
    bottom = torch.cat([torch.zeros((big, big), dtype=a.dtype),
                        torch.kron(eye, a.contiguous())], dim=1)
    return torch.linalg.matrix_exp(torch.cat([top, bottom], dim=0))[:big, big:]
'''),
}


def _code(spellings: dict, backend: str, scalar):
    """Code for `backend`: `scalar(p, args)` where the matrix is 1×1 (a number in the
    generated code), else the backend's function or helper (with the expm helper it
    calls, on the array-API backend)."""
    spelling = spellings[backend]

    def code(p, e):
        if e.children[0].shape == (1, 1):
            return scalar(p, e.children)
        if backend == "numpy" and spellings is not _EXPM:
            p.helper(_EXPM["numpy"])
        args = [p.arg(c) for c in e.children]
        if isinstance(spelling, Helper):
            return p.call(p.helper(spelling), *p.helper_args(), *args)
        return p.call(p.qualified(spelling), *args)
    return code


def _exp_of(p, x) -> str:
    return p.call(p.qualified("exp"), p.array_arg(x))[0]


def _scalar_expm(p, args):
    return p.call(p.qualified("exp"), p.array_arg(args[0]))


def _scalar_frechet(p, args):  # L(a, e) = e^a e for numbers
    a, e = args
    return f"{_exp_of(p, a)} * {p.wrap(e, p.MUL + 1)}", p.MUL


def _scalar_jacobian(p, args):
    return p.call(p.qualified("exp"), p.array_arg(args[0]))


def _helpers(spellings: dict) -> tuple:
    return tuple(s for s in spellings.values() if isinstance(s, Helper))


# ---- rounding scales (verify) ----------------------------------------------------------------


def _norm_1(a) -> float:
    return float(np.max(np.sum(np.abs(a), axis=0), initial=0.0))


def _expm_scale(node, cv, cs, av, condition):
    a = np.abs(cv[0])
    n = a.shape[0]
    sa = np.broadcast_to(cs[0], a.shape)
    # |d e^A| ≤ L(|A|, |dA|), and the method's own rounding grows with ‖A‖ (the squarings)
    return frechet_value(a, sa) + (n + _norm_1(a)) * expm_value(a)


def _frechet_scale(node, cv, cs, av, condition):
    a, e = np.abs(cv[0]), np.abs(cv[1])
    n = a.shape[0]
    sa = float(np.max(np.broadcast_to(cs[0], a.shape), initial=0.0))
    se = np.broadcast_to(cs[1], e.shape)
    own = (n + _norm_1(a)) * frechet_value(a, e)
    through_a = sa * (1.0 + _norm_1(e)) * expm_value(a) * (1.0 + _norm_1(a))
    return frechet_value(a, se) + own + through_a


def _jacobian_scale(node, cv, cs, av, condition):
    a = np.abs(cv[0])
    n = a.shape[0]
    sa = float(np.max(np.broadcast_to(cs[0], a.shape), initial=0.0))
    return (n + _norm_1(a)) * jacobian_value(a) * (1.0 + sa * (1.0 + _norm_1(a)))


# ---- expm ------------------------------------------------------------------------------------


def _expm(node, d):
    """d e^A = L(A, dA) = ∫₀¹ e^{sA} dA e^{(1−s)A} ds, the Fréchet derivative
    (Higham, "Functions of Matrices", 2008, eq. 10.15)."""
    (a,) = node.children
    return expm_frechet(a, d[0])


def _expm_text(p, e):
    return p.call("expm", e.children[0])


EXPM = declare(Operation(
    name="expm", call="expm", signature="n,n -> n,n",
    kernel=lambda params, a: expm_value(a), differential=_expm,
    text=_expm_text, latex=r"\operatorname{expm}",
    code={b: _code(_EXPM, b, _scalar_expm) for b in _EXPM}, helpers=_helpers(_EXPM),
    scale=_expm_scale, unsupported=SECOND_DERIVATIVE,
    convention=("differentiable everywhere; its derivative is the Fréchet derivative "
                "expm_frechet. The 1-norm of A must be at most 700 (beyond, e^A "
                "overflows)"),
))

expm = constructor(EXPM, """The matrix exponential e^A = I + A + A²/2! + … of a square
    A (n×n); not the elementwise exp. Its derivative is the Fréchet derivative,
    d expm(A) = expm_frechet(A, dA), and ∂ tr(e^X)/∂X = (e^X)ᵀ.

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> X = mg.matrix("X", n, n)
    >>> mg.expm(X), mg.grad(mg.trace(mg.expm(X)), X)
    (expm(X), expm(X)ᵀ)
    >>> mg.evaluate(mg.expm(X), {"X": [[0.0, 1.0], [0.0, 0.0]]})
    array([[1., 1.],
           [0., 1.]])
    """, __name__)


# ---- the Fréchet derivative --------------------------------------------------------------------


def _frechet(node, d):
    """d L(A, E) = L(A, dE) in E (L is linear in E); in A it is the second Fréchet
    derivative, not supported yet."""
    a, e = node.children
    if d[0] is not None:
        raise MatgradError(SECOND_DERIVATIVE)
    return expm_frechet(a, d[1])


def _frechet_index(node, lin, r, c, t):
    """L(A, E)_rc = Σ_ij K(A)_{r+nc, i+nj} E_ij, K(A) = expm_jacobian(A)."""
    a, e = node.children
    n = a.shape[0]
    k = expm_jacobian(a)
    row, col = t.axis_index(product(n, n)), t.axis_index(product(n, n))
    r0, c0, row_pair = t.split(row, n, n)
    row_pair = [f.renamed({r0: r, c0: c}) for f in row_pair]
    i, j, col_pair = t.split(col, n, n)
    terms = t.multiply([t.Term(1, (t.Factor(k, row, col), *row_pair, *col_pair))],
                       lin(e, i, j))
    return t.sum_over(terms, [row, col, i, j])


EXPM_FRECHET = declare(Operation(
    name="expm_frechet", call="expm_frechet", signature="n,n; n,n -> n,n",
    kernel=lambda params, a, e: frechet_value(a, e), differential=_frechet,
    # G : L(A, dE) = L(Aᵀ, G) : dE (e^A has real Taylor coefficients)
    linear_in=1, adjoint=lambda node, g: expm_frechet(ops.transpose(node.children[0]), g),
    identity=("expm_frechet", "G : expm_frechet(A, dE) = expm_frechet(Aᵀ, G) : dE"),
    index=_frechet_index,
    text=lambda p, e: p.call("expm_frechet", *e.children),
    latex=r"\operatorname{expm\_frechet}",
    code={b: _code(_FRECHET, b, _scalar_frechet) for b in _FRECHET},
    helpers=_helpers(_FRECHET) + _helpers(_EXPM),
    scale=_frechet_scale, unsupported=SECOND_DERIVATIVE,
    convention=("L(A, E) = ∫₀¹ e^{sA} E e^{(1−s)A} ds, linear in E; its derivative in A "
                "(the second Fréchet derivative) is not supported yet"),
))

expm_frechet = constructor(EXPM_FRECHET, """The Fréchet derivative of the matrix
    exponential at A in the direction E (both n×n): L(A, E) = ∫₀¹ e^{sA} E e^{(1−s)A} ds,
    so that d expm(A) = expm_frechet(A, dA) (scipy.linalg.expm_frechet). Linear in E;
    where E commutes with A it is e^A E.

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> A, E = mg.matrix("A", n, n), mg.matrix("E", n, n)
    >>> mg.expm_frechet(A, E), mg.simplify(mg.expm_frechet(A, mg.eye(n)))
    (expm_frechet(A, E), expm(A))
    """, __name__)


# ---- its Kronecker form: the Jacobian of vec e^A ------------------------------------------------


def _jacobian_differential(node, d):
    """d K(A): the second Fréchet derivative of the exponential, not supported yet."""
    raise MatgradError(SECOND_DERIVATIVE)


EXPM_JACOBIAN = declare(Operation(
    name="expm_jacobian", call="expm_jacobian", signature="n,n -> n*n,n*n",
    kernel=lambda params, a: jacobian_value(a), differential=_jacobian_differential,
    text=lambda p, e: p.call("expm_jacobian", *e.children),
    latex=r"\operatorname{expm\_jacobian}",
    code={b: _code(_JACOBIAN, b, _scalar_jacobian) for b in _JACOBIAN},
    helpers=_helpers(_JACOBIAN) + _helpers(_EXPM),
    scale=_jacobian_scale, unsupported=SECOND_DERIVATIVE,
    convention=("K(A) = ∫₀¹ e^{(1−s)Aᵀ} ⊗ e^{sA} ds, so vec expm_frechet(A, E) = "
                "K(A) vec E; its own derivative is not supported yet"),
))

expm_jacobian = constructor(EXPM_JACOBIAN, """The Jacobian of the matrix exponential in
    vec form: the n²×n² matrix K(A) = ∂vec(e^A)/∂vec(A) = ∫₀¹ e^{(1−s)Aᵀ} ⊗ e^{sA} ds,
    so that vec(expm_frechet(A, E)) = K(A) vec(E) (columns stacked).

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> mg.expm_jacobian(mg.matrix("A", n, n)).shape
    (n·n, n·n)
    """, __name__)
