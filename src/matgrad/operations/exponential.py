"""The matrix exponential and its derivatives of every order.

    expm(A)                    e^A = Σₖ Aᵏ/k! of a square A (n×n)
    expm_block(D₀, C₁, D₁, …, C_k, D_k)
                               the (0, k) block of the exponential of the block-
                               bidiagonal matrix with diagonal D₀ … D_k and
                               superdiagonal C₁ … C_k:
                               ∫ e^{t₀D₀} C₁ e^{t₁D₁} ⋯ C_k e^{t_kD_k} over t ≥ 0, Σt = 1
    expm_frechet(A, E)         L(A, E) = expm_block(A, E, A) = ∫₀¹ e^{sA} E e^{(1−s)A} ds,
                               the Fréchet derivative: d expm(A) = expm_frechet(A, dA)
    expm_jacobian(A)           K(A) = expm_block(Aᵀ ⊗ I, I, I ⊗ A), the n²×n² matrix with
                               vec L(A, E) = K(A) vec E: ∂vec(e^A)/∂vec(A)

The block operation and why it carries every derivative are common to the primary
matrix functions (`block_functions`; for the exponential, Najfeld and Havel,
"Derivatives of the matrix exponential and their computation", 1995). Here: e^A itself,
by scaling and squaring with the [13/13] Padé approximant (Higham, "The scaling and
squaring method for the matrix exponential revisited", SIAM J. Matrix Anal. Appl. 26,
2005), the method of scipy.linalg.expm, in NumPy and in the generated array-API code;
JAX and PyTorch call their own (jax.scipy.linalg.expm, torch.linalg.matrix_exp).
"""
from __future__ import annotations

import math

import numpy as np

from ..registry import Helper
from .block_functions import MAX_ORDER, MatrixFunction, declare_family, norm_1

# The [13/13] Padé approximant's coefficients and the 1-norm below which it is accurate
# to double precision (Higham 2005, Table 2.3 and eq. 2.3).
PADE_13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
           1187353796428800.0, 129060195264000.0, 10559470521600.0, 670442572800.0,
           33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
THETA_13 = 5.371920351148152
# beyond this 1-norm e^A overflows double precision in some entry (e^709 ≈ 8·10³⁰⁷)
MAX_NORM = 700.0



def _squarings(norm: float) -> int:
    """How often to halve A so that its 1-norm is at most THETA_13."""
    if not norm > THETA_13:
        return 0
    return int(math.ceil(math.log2(norm / THETA_13)))


def expm_value(a: np.ndarray, diagonal=None) -> np.ndarray:
    """e^A by scaling and squaring with the [13/13] Padé approximant (defined for every
    A: `diagonal`, the blocks whose eigenvalues are A's, is not needed)."""
    a = np.asarray(a, dtype=float)
    n = a.shape[0]
    if not np.all(np.isfinite(a)):
        return np.full(a.shape, np.nan)
    norm = norm_1(a)
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

# ---- rounding scales (verify) ----------------------------------------------------------------


def _expm_scale(node, cv, cs, av, condition):
    a = np.abs(cv[0])
    n = a.shape[0]
    sa = np.broadcast_to(cs[0], a.shape)
    # |d e^A| ≤ L(|A|, |dA|), and the method's own rounding grows with ‖A‖ (the squarings)
    return frechet_value(a, sa) + (n + norm_1(a)) * expm_value(a)


def _block_scale(node, cv, cs, av, condition):
    absolute = [np.abs(v) for v in cv]
    total = sum(v.shape[0] for v in absolute[0::2])
    norm = max(norm_1(v) for v in absolute)
    own = block_value(absolute)
    out = (total + len(absolute) * norm) * own
    for i in range(1, len(cv), 2):  # rounding in a Cᵢ, carried linearly
        out = out + block_value(absolute[:i] + [np.broadcast_to(cs[i], cv[i].shape)]
                                + absolute[i + 1:])
    for i in range(0, len(cv), 2):  # in a Dᵢ, through the next order's block
        s = float(np.max(np.broadcast_to(cs[i], cv[i].shape), initial=0.0))
        if s > 0:
            out = out + s * (1.0 + norm) * block_value(
                absolute[:i + 1] + [np.ones(cv[i].shape), absolute[i]] + absolute[i + 1:])
    return out


# ---- the family ------------------------------------------------------------------------------

_DOC = """The matrix exponential e^A = I + A + A²/2! + … of a square
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
    """

FAMILY = declare_family(MatrixFunction(
    name="expm", title="matrix exponential", value=expm_value, code=_EXPM, scalar="exp",
    derivative=lambda a: expm(a), derivative_text="e^A",
    frechet_form=" = ∫₀¹ e^{sA} dA e^{(1−s)A} ds",
    scale=_expm_scale, doc=_DOC,
    convention=("differentiable everywhere; its derivative is the Fréchet derivative "
                "expm_frechet. The 1-norm of A must be at most 700 (beyond, e^A "
                "overflows)"),
), __name__, block_scale=_block_scale)

# one name a line: the API reference reads these assignments
EXPM = FAMILY.operation
EXPM_BLOCK = FAMILY.block_operation
expm = FAMILY.function
expm_block = FAMILY.block
expm_frechet = FAMILY.frechet
expm_jacobian = FAMILY.jacobian
block_value = FAMILY.block_value
frechet_value = FAMILY.frechet_value
jacobian_value = FAMILY.jacobian_value
kronecker_form = FAMILY.kronecker_form
BEYOND_ORDER = FAMILY.beyond
__all__ = ["MAX_ORDER", "BEYOND_ORDER", "expm_value", "block_value", "frechet_value",
           "jacobian_value", "kronecker_form", "expm", "expm_block", "expm_frechet",
           "expm_jacobian", "EXPM", "EXPM_BLOCK", "FAMILY"]
