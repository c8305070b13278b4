"""The principal square root and logarithm of a square matrix, their derivatives of every
order (the block operation of `block_functions`), the NumPy kernels and the helpers
written out next to generated code.

    sqrtm(A)         A^{1/2}, the square root whose eigenvalues have positive real part
    logm(A)          log A, the logarithm whose eigenvalues have imaginary part in (−π, π)
    sqrtm_block, sqrtm_frechet, sqrtm_jacobian, and the logm_ ones, as expm's

Both exist (and are real for a real A) when no eigenvalue of A lies on the closed negative
real axis; elsewhere the kernels return NaN. They are applied to block upper-triangular
matrices such as [[A, E], [0, A]], whose (0, 1) block is the Fréchet derivative
(Higham, "Functions of Matrices", 2008, Theorem 3.6), so neither uses an
eigendecomposition, which loses that block on a defective or non-normal matrix; the
eigenvalues (of the diagonal blocks) serve only the domain check.

* The square root is the scaled product form of the Denman–Beavers iteration (Higham 2008,
  eq. 6.17, with the determinant scaling μ = |det M|^{−1/(2n)}):
  M₀ = Y₀ = A, Y ← μ Y (I + μ⁻² M⁻¹)/2, M ← (I + (μ² M + μ⁻² M⁻¹)/2)/2, so that Y → A^{1/2}
  and M → I quadratically; the scaling is dropped once M is close to I.
* The logarithm is inverse scaling and squaring (Cheng, Higham, Kenney and Laub,
  "Approximating the logarithm of a matrix to specified accuracy", SIAM J. Matrix Anal.
  Appl. 22, 2001): s square roots bring R = A^{1/2^s} to ‖R − I‖₁ ≤ THETA, then
  log A = 2^s log(I + X), X = R − I, with log(I + X) = ∫₀¹ X (I + tX)⁻¹ dt by the
  PADE_POINTS-point Gauss–Legendre rule, which is the [m/m] Padé approximant (Dieci,
  Morini and Papini, "Computational techniques for real logarithms of matrices", SIAM J.
  Matrix Anal. Appl. 17, 1996). In any subordinate norm its error is at most that of the
  scalar approximant at −‖X‖ (Kenney and Laub, "Padé error estimates for the logarithm
  of a matrix", 1989); for m = 12 that relative error stays below the unit roundoff 2⁻⁵³
  up to ‖X‖ = 0.578 (evaluated in extended precision) and is 6·10⁻¹⁹ at THETA = 0.5,
  which leaves a margin. A larger m would save a square root at most and cost a solve
  a point (cf. the θ_m of Al-Mohy and Higham, "Improved inverse scaling and squaring
  algorithms for the matrix logarithm", SIAM J. Sci. Comput. 34, 2012, whose bounds
  are backward ones).

The generated code does the same: the array-API helpers ("numpy") in Python loops, the
JAX ones with jax.lax.while_loop so that they trace under jax.jit, the PyTorch ones on
the argument's dtype and device, their tolerances from that dtype's eps. They check no
eigenvalues (the array API has no eigenvalue function, JAX's runs on the CPU only): an
iteration that does not converge, as on a negative real eigenvalue, or whose Y² is not
A returns NaN. A singular A is then caught where its determinant is 0 exactly; a nearly
singular one (an eigenvalue 0 within rounding) gets the iteration's limit.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..registry import Helper
from .block_functions import MatrixFunction, declare_family, norm_1
from .linalg import inv
from .matrix_functions import abs_inverse

EPS = float(np.finfo(float).eps)
MAX_STEPS = 100     # Denman–Beavers steps before the square root is given up (NaN)
SCALED_ABOVE = 1e-2  # the determinant scaling is used while ‖M − I‖₁ exceeds this
SMALL = 1e-6        # below this, an ‖M − I‖₁ that no longer halves is rounding: stop
TOLERANCE = 4.0     # converged when ‖M − I‖₁ ≤ TOLERANCE·n·eps
# and the root is taken when ‖Y² − A‖₁ ≤ RESIDUAL·‖Y‖₁² (a rounding error of the size of
# 0 can carry the iteration across the negative axis to the root of another matrix)
RESIDUAL = math.sqrt(EPS)
MAX_ROOTS = 64      # square roots the logarithm takes before it is given up (NaN)
PADE_POINTS = 12    # the Gauss–Legendre points of log(I + X): the [12/12] Padé approximant
THETA = 0.5         # ‖R − I‖₁ at most this before the quadrature (see the docstring)
# an eigenvalue λ is on the closed negative real axis when Re λ ≤ 0 and |Im λ| ≤ AXIS·|λ|
# (the eigenvalue of a Jordan block of two is computed only to about √eps, so a wider
# margin than eps), or when |λ| ≤ ZERO·n·eps·‖D‖₁ (0 within rounding)
AXIS = 1e-6
ZERO = 100.0

_x, _w = np.polynomial.legendre.leggauss(PADE_POINTS)
NODES = tuple(float(t) for t in (_x + 1.0) / 2.0)  # mapped to [0, 1]
WEIGHTS = tuple(float(w) for w in _w / 2.0)
del _x, _w


def _outside_domain(blocks) -> bool:
    """Whether some block is not finite or has an eigenvalue on the closed negative real
    axis, within rounding."""
    for d in blocks:
        d = np.asarray(d, dtype=float)
        if not np.all(np.isfinite(d)):
            return True
        if d.size == 0:
            continue
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise ValueError(f"a diagonal block must be square, not of shape {d.shape}")
        lam = np.linalg.eigvals(d)
        size = np.abs(lam)
        zero = size <= ZERO * d.shape[0] * EPS * norm_1(d)
        axis = (lam.real <= 0) & (np.abs(lam.imag) <= AXIS * size)
        if np.any(zero | axis):
            return True
    return False


def _checked(a, diagonal):
    """A as a float array, and whether it is outside the domain."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"a square matrix is needed, not one of shape {a.shape}")
    if not np.all(np.isfinite(a)):
        return a, True
    return a, _outside_domain([a] if diagonal is None else diagonal)


def _denman_beavers(a: np.ndarray) -> np.ndarray | None:
    """A^{1/2} by the scaled product form of the Denman–Beavers iteration, or None where it
    does not converge."""
    n = a.shape[0]
    eye = np.eye(n)
    y, m = a, a
    res = norm_1(a - eye)
    tol = TOLERANCE * n * EPS
    for _ in range(MAX_STEPS):
        mu = 1.0
        if res > SCALED_ABOVE:  # determinant scaling while far from convergence
            sign, logdet = np.linalg.slogdet(m)
            if sign == 0 or not np.isfinite(logdet):  # an eigenvalue 0 or, earlier, −1
                return None
            mu = math.exp(-logdet / (2 * n))
        try:
            minv = np.linalg.inv(m)
        except np.linalg.LinAlgError:
            return None
        y = (mu * y + (y @ minv) / mu) / 2
        m = (eye + (mu * mu * m + minv / (mu * mu)) / 2) / 2
        new = norm_1(m - eye)
        if not math.isfinite(new):
            return None
        if new <= tol or (new <= SMALL and new >= res / 2):
            if not np.all(np.isfinite(y)):
                return None
            return y if norm_1(y @ y - a) <= RESIDUAL * norm_1(y) ** 2 else None
        res = new
    return None


def sqrtm_value(a, diagonal=None) -> np.ndarray:
    """The principal square root A^{1/2} by the scaled Denman–Beavers iteration (Higham
    2008, eq. 6.17). `diagonal`: square arrays whose eigenvalues are those of A (the
    diagonal blocks of a block-triangular A), by default [A]. All NaN where one of them
    lies on the closed negative real axis (0 included), where A is not finite or where the
    iteration does not converge."""
    a, outside = _checked(a, diagonal)
    if outside:
        return np.full(a.shape, np.nan)
    if a.shape[0] == 0:
        return a.copy()
    if a.shape[0] == 1:
        return np.sqrt(a)
    y = _denman_beavers(a)
    return np.full(a.shape, np.nan) if y is None else y


def _log_near_identity(x: np.ndarray) -> np.ndarray:
    """log(I + X) = ∫₀¹ X (I + tX)⁻¹ dt by the Gauss–Legendre rule: the [m/m] Padé
    approximant, for ‖X‖₁ ≤ THETA."""
    eye = np.eye(x.shape[0])
    out = np.zeros_like(x)
    for t, w in zip(NODES, WEIGHTS):
        out = out + w * np.linalg.solve(eye + t * x, x)
    return out


def logm_value(a, diagonal=None) -> np.ndarray:
    """The principal logarithm log A by inverse scaling and squaring: square roots until
    ‖R − I‖₁ ≤ THETA, then log R by the [12/12] Padé approximant (Gauss–Legendre
    quadrature), times 2^s. `diagonal` and the NaN as for sqrtm_value (also NaN after
    MAX_ROOTS square roots)."""
    a, outside = _checked(a, diagonal)
    if outside:
        return np.full(a.shape, np.nan)
    n = a.shape[0]
    if n == 0:
        return a.copy()
    if n == 1:
        return np.log(a)
    eye = np.eye(n)
    r, s = a, 0
    while norm_1(r - eye) > THETA:
        if s == MAX_ROOTS:
            return np.full(a.shape, np.nan)
        r = _denman_beavers(r)
        if r is None:
            return np.full(a.shape, np.nan)
        s += 1
    return 2.0 ** s * _log_near_identity(r - eye)


# ---- generated code ------------------------------------------------------------------------

def _numbers(values, indent: int) -> str:
    """A tuple literal of the numbers, three a line, continued at `indent` spaces."""
    lines = [", ".join(repr(v) for v in values[i:i + 3]) for i in range(0, len(values), 3)]
    return "(" + (",\n" + " " * indent).join(lines) + ")"


# the constants above, written into the helpers' sources where they say @NAME@ (there the
# tolerance, the rounding floor and the residual's bound follow the argument's dtype)
_NUMBERS = {"MAX_STEPS": repr(MAX_STEPS), "SCALED": repr(SCALED_ABOVE), "SMALL": repr(SMALL),
            "TOL": repr(TOLERANCE), "THETA": repr(THETA),
            "ROOTS": repr(MAX_ROOTS),
            "NODES": _numbers(NODES, 13),  # continued after "    nodes = ("
            "WEIGHTS": _numbers(WEIGHTS, 15)}  # after "    weights = ("


def _fill(source: str) -> str:
    for key, value in _NUMBERS.items():
        source = source.replace("@" + key + "@", value)
    return source


_SQRTM_NUMPY = _fill('''def sqrtm(xp, a):
    """The principal square root of a by the scaled product form of the Denman-Beavers
    iteration (Higham, Functions of Matrices, 2008, eq. 6.17); NaN where it does not
    converge."""
    import math
    n = a.shape[0]
    eye = xp.eye(n, dtype=a.dtype)
    eps = float(xp.finfo(a.dtype).eps)
    tol, small, residual = @TOL@ * n * eps, max(@SMALL@, math.sqrt(eps)), math.sqrt(eps)
    y, m = a, a
    res = float(xp.max(xp.sum(xp.abs(a - eye), axis=0)))
    for _ in range(@MAX_STEPS@):
        mu = 1.0
        if res > @SCALED@:  # determinant scaling while far from convergence
            sign, logdet = xp.linalg.slogdet(m)
            if float(sign) == 0.0:  # singular: an eigenvalue 0 or, earlier, -1
                break
            mu = math.exp(-float(logdet) / (2 * n))
        minv = xp.linalg.inv(m)
        y = (mu * y + (y @ minv) / mu) / 2
        m = (eye + (mu * mu * m + minv / (mu * mu)) / 2) / 2
        new = float(xp.max(xp.sum(xp.abs(m - eye), axis=0)))
        if not math.isfinite(new):
            break
        if new <= tol or (new <= small and new >= res / 2):
            # the root of a, not of another matrix reached across the negative axis
            size = float(xp.max(xp.sum(xp.abs(y), axis=0)))
            if float(xp.max(xp.sum(xp.abs(y @ y - a), axis=0))) <= residual * size ** 2:
                return y
            break
        res = new
    return xp.full(a.shape, xp.nan, dtype=a.dtype)
''')

_SQRTM_JAX = _fill('''def sqrtm(a):
    """The principal square root of a by the scaled product form of the Denman-Beavers
    iteration (Higham, Functions of Matrices, 2008, eq. 6.17); NaN where it does not
    converge."""
    import math
    import jax
    n = a.shape[0]
    eye = jnp.eye(n, dtype=a.dtype)
    eps = float(jnp.finfo(a.dtype).eps)
    tol, small, residual = @TOL@ * n * eps, max(@SMALL@, math.sqrt(eps)), math.sqrt(eps)

    def norm(x):
        return jnp.max(jnp.sum(jnp.abs(x), axis=0))

    def going(carry):
        k, y, m, res, done = carry
        return (k < @MAX_STEPS@) & ~done

    def step(carry):
        k, y, m, res, done = carry
        minv = jnp.linalg.inv(m)
        mu = jnp.where(res > @SCALED@,  # determinant scaling while far from convergence
                       jnp.exp(-jnp.linalg.slogdet(m)[1] / (2 * n)), 1.0).astype(a.dtype)
        y = (mu * y + (y @ minv) / mu) / 2
        m = (eye + (mu * mu * m + minv / (mu * mu)) / 2) / 2
        new = norm(m - eye)
        done = (new <= tol) | ((new <= small) & (new >= res / 2)) | ~jnp.isfinite(new)
        return k + 1, y, m, new, done

    start = (0, a, a, norm(a - eye), jnp.asarray(False))
    _, y, _, res, done = jax.lax.while_loop(going, step, start)
    # the root of a, not of another matrix reached across the negative axis
    ok = done & jnp.isfinite(res) & (norm(y @ y - a) <= residual * norm(y) ** 2)
    return jnp.where(ok, y, jnp.nan)
''')

_SQRTM_TORCH = _fill('''def sqrtm(a):
    """The principal square root of a by the scaled product form of the Denman-Beavers
    iteration (Higham, Functions of Matrices, 2008, eq. 6.17); NaN where it does not
    converge."""
    import math
    n = a.shape[0]
    eye = torch.eye(n, dtype=a.dtype, device=a.device)
    eps = float(torch.finfo(a.dtype).eps)
    tol, small, residual = @TOL@ * n * eps, max(@SMALL@, math.sqrt(eps)), math.sqrt(eps)
    y, m = a, a
    res = float(torch.linalg.matrix_norm(a - eye, ord=1))
    for _ in range(@MAX_STEPS@):
        mu = 1.0
        if res > @SCALED@:  # determinant scaling while far from convergence
            sign, logdet = torch.linalg.slogdet(m)
            if float(sign) == 0.0:  # singular: an eigenvalue 0 or, earlier, -1
                break
            mu = math.exp(-float(logdet) / (2 * n))
        minv = torch.linalg.inv_ex(m).inverse
        y = (mu * y + (y @ minv) / mu) / 2
        m = (eye + (mu * mu * m + minv / (mu * mu)) / 2) / 2
        new = float(torch.linalg.matrix_norm(m - eye, ord=1))
        if not math.isfinite(new):
            break
        if new <= tol or (new <= small and new >= res / 2):
            # the root of a, not of another matrix reached across the negative axis
            size = float(torch.linalg.matrix_norm(y, ord=1))
            if float(torch.linalg.matrix_norm(y @ y - a, ord=1)) <= residual * size ** 2:
                return y
            break
        res = new
    return torch.full_like(a, float("nan"))
''')

SQRTM_CODE = {
    "numpy": Helper("sqrtm", _SQRTM_NUMPY),
    "jax": Helper("sqrtm", _SQRTM_JAX),
    "torch": Helper("sqrtm", _SQRTM_TORCH),
}

_LOGM_NUMPY = _fill('''def logm(xp, a):
    """The principal logarithm of a by inverse scaling and squaring: square roots until
    |r - I|_1 <= theta, then the [12/12] Pade approximant of log r as the Gauss-Legendre
    rule for the integral of x (I + t x)^-1 over [0, 1], times 2^s."""
    n = a.shape[0]
    eye = xp.eye(n, dtype=a.dtype)
    r, scale, roots = a, 1.0, 0
    norm = float(xp.max(xp.sum(xp.abs(r - eye), axis=0)))
    while norm > @THETA@ and roots < @ROOTS@:  # False once NaN
        r, scale, roots = sqrtm(xp, r), 2.0 * scale, roots + 1
        norm = float(xp.max(xp.sum(xp.abs(r - eye), axis=0)))
    if not norm <= @THETA@:  # too many square roots, or one failed
        return xp.full(a.shape, xp.nan, dtype=a.dtype)
    x = r - eye
    nodes = @NODES@
    weights = @WEIGHTS@
    out = xp.zeros_like(x)
    for t, w in zip(nodes, weights):
        out = out + w * xp.linalg.solve(eye + t * x, x)
    return scale * out
''')

_LOGM_JAX = _fill('''def logm(a):
    """The principal logarithm of a by inverse scaling and squaring: square roots until
    |r - I|_1 <= theta, then the [12/12] Pade approximant of log r as the Gauss-Legendre
    rule for the integral of x (I + t x)^-1 over [0, 1], times 2^s."""
    import jax
    n = a.shape[0]
    eye = jnp.eye(n, dtype=a.dtype)

    def norm(x):
        return jnp.max(jnp.sum(jnp.abs(x), axis=0))

    def going(carry):
        k, r, scale = carry
        return (k < @ROOTS@) & (norm(r - eye) > @THETA@)  # False once NaN

    def root(carry):
        k, r, scale = carry
        return k + 1, sqrtm(r), 2.0 * scale

    _, r, scale = jax.lax.while_loop(going, root, (0, a, jnp.asarray(1.0, dtype=a.dtype)))
    x = r - eye
    nodes = @NODES@
    weights = @WEIGHTS@
    out = jnp.zeros_like(x)
    for t, w in zip(nodes, weights):
        out = out + w * jnp.linalg.solve(eye + t * x, x)
    return jnp.where(norm(x) <= @THETA@, scale * out, jnp.nan)
''')

_LOGM_TORCH = _fill('''def logm(a):
    """The principal logarithm of a by inverse scaling and squaring: square roots until
    |r - I|_1 <= theta, then the [12/12] Pade approximant of log r as the Gauss-Legendre
    rule for the integral of x (I + t x)^-1 over [0, 1], times 2^s."""
    n = a.shape[0]
    eye = torch.eye(n, dtype=a.dtype, device=a.device)
    r, scale, roots = a, 1.0, 0
    norm = float(torch.linalg.matrix_norm(r - eye, ord=1))
    while norm > @THETA@ and roots < @ROOTS@:  # False once NaN
        r, scale, roots = sqrtm(r), 2.0 * scale, roots + 1
        norm = float(torch.linalg.matrix_norm(r - eye, ord=1))
    if not norm <= @THETA@:  # too many square roots, or one failed
        return torch.full_like(a, float("nan"))
    x = r - eye
    nodes = @NODES@
    weights = @WEIGHTS@
    out = torch.zeros_like(x)
    for t, w in zip(nodes, weights):
        out = out + w * torch.linalg.solve(eye + t * x, x)
    return scale * out
''')

LOGM_CODE = {
    "numpy": Helper("logm", _LOGM_NUMPY),
    "jax": Helper("logm", _LOGM_JAX),
    "torch": Helper("logm", _LOGM_TORCH),
}


# ---- rounding scales (verify) ----------------------------------------------------------------


def _root_scale(node, cv, cs, av, condition):
    """The iteration's rounding grows with A's conditioning, times the root's largest
    entry; an input's rounding δA moves the root by L(A, δA), at most about
    n ‖A^{−1/2}‖ δA."""
    a = cv[0]
    n = a.shape[0]
    s = float(np.max(np.broadcast_to(cs[0], a.shape), initial=0.0))
    big = float(np.max(np.abs(av), initial=0.0))
    return np.full(av.shape, (n + condition(a)) * big
                   + n * s * float(np.max(abs_inverse(av), initial=0.0)))


def _log_scale(node, cv, cs, av, condition):
    """The square roots' rounding, amplified by the 2ˢ of the scaling (about ‖log A‖)
    and by A's conditioning, against the logarithm's largest entry or 1 (log A near
    0 is computed with A's rounding, not its own); an input's rounding δA moves it by
    L(A, δA), at most about n ‖A⁻¹‖ δA."""
    a = cv[0]
    n = a.shape[0]
    s = float(np.max(np.broadcast_to(cs[0], a.shape), initial=0.0))
    big = float(np.max(np.abs(av), initial=0.0))
    return np.full(av.shape, (n + condition(a) + norm_1(av)) * (big + 1.0)
                   + n * s * float(np.max(abs_inverse(a), initial=0.0)))


# ---- the families ----------------------------------------------------------------------------

_DOMAIN = ("A has no eigenvalue on the closed negative real axis (elsewhere the value is "
           "NaN: no real principal {what} exists or it is not differentiable)")

_LOGM_DOC = """The principal matrix logarithm log A of a square A (n×n) with no
    eigenvalue on the closed negative real axis: the X with e^X = A whose eigenvalues
    have imaginary parts in (−π, π); not the elementwise log. Its derivative is the
    Fréchet derivative, d logm(A) = logm_frechet(A, dA), and ∂ tr(log X)/∂X = X⁻ᵀ
    (tr log X = log det X).

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> X = mg.matrix("X", n, n)
    >>> mg.logm(X), mg.grad(mg.trace(mg.logm(X)), X)
    (logm(X), X⁻ᵀ)
    >>> mg.evaluate(mg.logm(X), {"X": [[1.0, 1.0], [0.0, 1.0]]})
    array([[0., 1.],
           [0., 0.]])
    """

_SQRTM_DOC = """The principal matrix square root A^{1/2} of a square A (n×n) with no
    eigenvalue on the closed negative real axis: the X with X X = A whose eigenvalues
    have positive real parts; not the elementwise sqrt. Its derivative is the Fréchet
    derivative, d sqrtm(A) = sqrtm_frechet(A, dA), the X of the Sylvester equation
    A^{1/2} X + X A^{1/2} = dA, and ∂ tr(A^{1/2})/∂A = ½ A^{−ᵀ/2}.

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> X = mg.matrix("X", n, n)
    >>> mg.sqrtm(X), mg.grad(mg.trace(mg.sqrtm(X)), X)
    (sqrtm(X), 1/2 · sqrtm(X)⁻ᵀ)
    >>> mg.evaluate(mg.sqrtm(X), {"X": [[4.0, 0.0], [0.0, 9.0]]})
    array([[2., 0.],
           [0., 3.]])
    """

LOGM_FAMILY = declare_family(MatrixFunction(
    name="logm", title="matrix logarithm", value=logm_value, code=LOGM_CODE,
    requires={b: (SQRTM_CODE[b],) for b in SQRTM_CODE},
    scalar="log", derivative=lambda a: inv(a), derivative_text="A⁻¹",
    frechet_form=" = ∫₀¹ (t(A − I) + I)⁻¹ dA (t(A − I) + I)⁻¹ dt",
    scale=_log_scale, doc=_LOGM_DOC, facts=frozenset({"conditioned"}),
    convention="the principal logarithm; " + _DOMAIN.format(what="logarithm"),
), __name__)

SQRTM_FAMILY = declare_family(MatrixFunction(
    name="sqrtm", title="matrix square root", value=sqrtm_value, code=SQRTM_CODE,
    scalar="sqrt", derivative=lambda a: ops.div(inv(sqrtm(a)), 2),
    derivative_text="½ A^{−1/2}",
    frechet_form=" = ∫₀^∞ e^{−t A^{1/2}} dA e^{−t A^{1/2}} dt",
    scale=_root_scale, doc=_SQRTM_DOC, facts=frozenset({"conditioned"}),
    convention="the principal square root; " + _DOMAIN.format(what="square root"),
), __name__)

# one name a line: the API reference reads these assignments
LOGM = LOGM_FAMILY.operation
LOGM_BLOCK = LOGM_FAMILY.block_operation
SQRTM = SQRTM_FAMILY.operation
SQRTM_BLOCK = SQRTM_FAMILY.block_operation
logm = LOGM_FAMILY.function
logm_block = LOGM_FAMILY.block
logm_frechet = LOGM_FAMILY.frechet
logm_jacobian = LOGM_FAMILY.jacobian
sqrtm = SQRTM_FAMILY.function
sqrtm_block = SQRTM_FAMILY.block
sqrtm_frechet = SQRTM_FAMILY.frechet
sqrtm_jacobian = SQRTM_FAMILY.jacobian
