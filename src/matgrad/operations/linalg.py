"""Square-matrix operations: trace, determinant, log-determinant, inverse."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import DomainError
from ..registry import Helper, Operation, declare
from .base import constructor


def _scalar_is_itself(name: str):
    """Code for an operation that is the identity on a 1×1 argument (tr a = det a = a)."""
    def code(p, e):
        (x,) = e.children
        if x.shape == (1, 1):
            return p.visit(x)
        return p.call(p.qualified(name), p.arg(x))
    return code


# ---- trace -------------------------------------------------------------------------------


def _trace_scale(node, cv, cs, av, condition):
    return np.reshape(np.trace(np.broadcast_to(cs[0], cv[0].shape)), (1, 1))


TRACE = declare(Operation(
    name="trace", call="trace", signature="n,n -> 1,1",
    kernel=lambda params, a: np.reshape(np.trace(a), (1, 1)),
    linear=True,
    adjoint=lambda node, g: ops.mul(g, ops.eye(node.children[0].shape[0])),
    identity=("trace", "a : tr(B) = a I : B"),
    text=("tr", "trace"), latex=r"\operatorname{tr}",
    code={"numpy": _scalar_is_itself("linalg.trace"), "jax": _scalar_is_itself("trace"),
          "torch": _scalar_is_itself("trace")},
    index=lambda node, lin, r, c, t: _trace_index(node, lin, t),
    scale=_trace_scale,
))


def _trace_index(node, lin, t):
    """tr(A) = Σ_a A_aa."""
    a = t.axis_index(node.children[0].shape[0])
    return t.sum_over(lin(node.children[0], a, a), [a])


trace = constructor(TRACE, """The trace tr(A), the sum of the diagonal: A must be square
    (n×n); a scalar.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> A = mg.matrix("A", n, n)
    >>> mg.trace(A), mg.trace(A).shape
    (tr(A), (1, 1))
    >>> mg.trace(mg.matrix("X", m, n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: trace(X): X is m×n, not square
    """, __name__)


# ---- determinant and log-determinant -------------------------------------------------------


def _det_scale(log: bool):
    def scale(node, cv, cs, av, condition):
        k = condition(cv[0])
        n = cv[0].shape[0]
        try:
            ai = np.abs(np.linalg.inv(cv[0])).T
        except np.linalg.LinAlgError:
            ai = np.full(cv[0].shape, np.inf)
        inner = float(np.sum(ai * cs[0])) + n * k
        return av + inner if log else av * (1.0 + inner)
    return scale


def _det(node, d):
    """d det A = det A · tr(A⁻¹ dA)   (Matrix Cookbook eq. 46)."""
    (a,) = node.children
    return ops.mul(node, trace(ops.matmul(inv(a), d[0])))


DET = declare(Operation(
    name="det", call="det", signature="n,n -> 1,1",
    kernel=lambda params, a: np.reshape(np.linalg.det(a), (1, 1)),
    differential=_det,
    text=("det", "det"), latex=r"\det",
    code={"numpy": _scalar_is_itself("linalg.det"), "jax": _scalar_is_itself("linalg.det"),
          "torch": _scalar_is_itself("linalg.det")},
    scale=_det_scale(log=False), facts=frozenset({"conditioned"}),
    convention="differentiable everywhere; its rule is written with A⁻¹, so the checks "
               "draw an invertible A",
))

det = constructor(DET, """The determinant det(A): A must be square (n×n); a scalar.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> A = mg.matrix("A", n, n)
    >>> mg.det(A), mg.det(A).shape
    (det(A), (1, 1))
    >>> mg.det(mg.matrix("X", m, n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: det(X): X is m×n, not square
    """, __name__)


def _logdet_value(params, a):
    sign, value = np.linalg.slogdet(a)
    return np.reshape(value if sign > 0 else np.nan, (1, 1))


def _logdet(node, d):
    """d log det A = tr(A⁻¹ dA)   (Matrix Cookbook eq. 51)."""
    (a,) = node.children
    return trace(ops.matmul(inv(a), d[0]))


def _logdet_code(p, e):
    (x,) = e.children
    if x.shape == (1, 1):
        return p.call(p.qualified("log"), p.array_arg(x))
    return p.call(p.helper(_LOGDET[p.backend]), *p.helper_args(), p.arg(x))


_LOGDET = {
    "numpy": Helper("logdet", '''def logdet(xp, a):
    """log det a; NaN where det a <= 0, where it is undefined."""
    sign, value = xp.linalg.slogdet(a)
    return xp.where(sign > 0, value, xp.nan)
'''),
    "jax": Helper("logdet", '''def logdet(a):
    """log det a; NaN where det a <= 0, where it is undefined."""
    sign, value = jnp.linalg.slogdet(a)
    return jnp.where(sign > 0, value, jnp.nan)
'''),
    "torch": Helper("logdet", '''def logdet(a):
    """log det a; NaN where det a <= 0, where it is undefined."""
    sign, value = torch.linalg.slogdet(a)
    return torch.where(sign > 0, value, torch.nan)
'''),
}

LOGDET = declare(Operation(
    name="logdet", call="logdet", signature="n,n -> 1,1",
    kernel=_logdet_value, differential=_logdet,
    text=("log det", "logdet"), latex=r"\log\det",
    code={b: _logdet_code for b in _LOGDET}, helpers=tuple(_LOGDET.values()),
    scale=_det_scale(log=True), facts=frozenset({"conditioned"}),
    convention="defined where det A > 0; NaN elsewhere (in evaluation and in the code)",
))

logdet = constructor(LOGDET, """log det A (for det A > 0): A must be square (n×n); a scalar.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> A = mg.matrix("A", n, n)
    >>> mg.logdet(A), mg.logdet(A).shape
    (log det(A), (1, 1))
    """, __name__)


# ---- inverse ---------------------------------------------------------------------------------


def _inv_value(params, a):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise DomainError("inv: the matrix is singular at this point") from None


def _inv(node, d):
    """d A⁻¹ = −A⁻¹ dA A⁻¹   (Matrix Cookbook eq. 40)."""
    return ops.neg(ops.matmul(ops.matmul(node, d[0]), node))


def _inv_text(p, e):
    (x,) = e.children
    if not p.unicode:
        return p.call("inv", x)
    if x.op == "transpose" and x not in p.names:  # (Aᵀ)⁻¹ as A⁻ᵀ
        return p.wrap(x.children[0], p.ATOM) + "⁻ᵀ", p.POSTFIX
    return p.wrap(x, p.ATOM) + "⁻¹", p.POSTFIX


def _inv_latex(p, e):
    (x,) = e.children
    if x.op == "transpose" and x not in p.names:
        return "{" + p.wrap(x.children[0], p.ATOM) + r"}^{-\top}", p.POSTFIX
    return "{" + p.wrap(x, p.ATOM) + "}^{-1}", p.POSTFIX


def _inv_code(p, e):
    (x,) = e.children
    if x.shape == (1, 1):
        return f"1 / {p.wrap(x, p.UNARY)}", p.MUL
    return p.call(p.qualified("linalg.inv"), p.arg(x))


def _inv_scale(node, cv, cs, av, condition):
    k = condition(cv[0])
    return av @ np.broadcast_to(cs[0], cv[0].shape) @ av + k * av


INV = declare(Operation(
    name="inv", call="inv", signature="n,n -> n,n",
    kernel=_inv_value, differential=_inv,
    text=_inv_text, latex=_inv_latex,
    code={"numpy": _inv_code},
    scale=_inv_scale, facts=frozenset({"conditioned"}),
    convention="defined for an invertible A; a singular one is a DomainError",
))

inv = constructor(INV, """The inverse A⁻¹: A must be square (n×n), and so is its inverse.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> A = mg.matrix("A", n, n)
    >>> mg.inv(A), mg.inv(A).shape
    (A⁻¹, (n, n))
    >>> mg.inv(mg.matrix("X", m, n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: inv(X): X is m×n, not square
    """, __name__)
