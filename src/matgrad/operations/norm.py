"""The norms: norm(a) (the 2-norm of a vector, the Frobenius norm of a matrix) and
norm(a, ord) for ord in None, "fro", "nuc", 1, 2, inf, as NumPy names them.

Each norm that differs in its value or its derivative is an operation of its own:

    norm(a), norm(a, "fro"), norm(x, 2)   ‖a‖     √Σ aᵢⱼ²          d = (a / ‖a‖) : da
    norm(x, 1)                            ‖x‖₁    Σ |xᵢ|           d = sign(x) : dx
    norm(x, inf)                          ‖x‖_∞   max |xᵢ|         d = sign(x) ⊙ e : dx
    norm(X, 1)                            ‖X‖₁    maxⱼ Σᵢ |Xᵢⱼ|    d = sign(X) ⊙ 1wᵀ : dX
    norm(X, inf)                          ‖X‖_∞   maxᵢ Σⱼ |Xᵢⱼ|    d = sign(X) ⊙ w1ᵀ : dX
    norm(X, "nuc")                        ‖X‖_*   Σ σᵢ             d = U Vᵀ : dX
    norm(X, 2)                            ‖X‖₂    σ₁ = max σᵢ      d = u₁ v₁ᵀ : dX

Conventions where a norm is not differentiable (each a subgradient, the one NumPy's
and PyTorch's automatic derivatives take): ‖a‖ at a = 0 gives 0; ‖x‖₁ at xᵢ = 0 gives
sign(0) = 0 in entry i; ‖x‖_∞ where several entries share the largest |xᵢ| spreads the
derivative evenly over them (e = the indicator of those entries divided by their
number; ‖x‖_∞ at x = 0 spreads it over all, with sign 0: the derivative 0). The matrix
1- and ∞-norms (NumPy's: the largest absolute column sum and row sum) are the `max` of
those sums, and take max's convention: where several columns (rows) tie for the
largest sum the derivative is split equally between them (w = their indicator divided
by their number), with sign(0) = 0 in an entry that is 0. The nuclear and spectral
norms are taken of a tall matrix (m ≥ n, as `svdvals`; a wide one through its
transpose) and their derivatives read the singular vectors: they exist where the
singular values are distinct and positive (for ‖X‖₂ where σ₁ is simple), and elsewhere
evaluating them is a DomainError rather than a convention.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..errors import DomainError, MatgradError
from ..expr import Expr
from ..registry import Operation, build, declare, publish
from .reductions import MAX
from .spectral import require_tall, svdvals, svdvals_differential, unless_finite

ORDS = (None, "fro", "nuc", 1, 2, math.inf)


def _spread(cs, cv) -> float:
    return float(np.linalg.norm(np.broadcast_to(cs[0], cv[0].shape)))


# ---- the 2-norm of a vector, the Frobenius norm of a matrix ----------------------------------


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


# ---- spellings of the others: ‖x‖₁, norm(x, 1), \left\|x\right\|_{1} ---------------------


def _spelling(unicode_sub: str, language_ord: str, latex_sub: str):
    def text(p, e):
        if p.unicode:
            return "‖" + p.visit(e.children[0])[0] + "‖" + unicode_sub, p.ATOM
        return p.call("norm", e.children[0], extra=f", {language_ord}")

    def latex(p, e):
        return (r"\left\|" + p.visit(e.children[0])[0] + r"\right\|_{" + latex_sub + "}",
                p.ATOM)
    return text, latex


def _reduce_abs(function: str):
    """sum or max of |x| in any backend's namespace."""
    def code(p, e):
        inner, _ = p.call(p.qualified("abs"), p.array_arg(e.children[0]))
        return p.call(p.qualified(function), inner)
    return code


# ---- the 1-norm and the max-norm of a vector -----------------------------------------------


def _norm_1(node, d):
    """d‖x‖₁ = sign(x) : dx, with sign(0) = 0: the subgradient of least size where an
    entry is 0 (d|t| = sign(t) dt)."""
    (x,) = node.children
    return ops.sum(ops.mul(ops.sign(x), d[0]))


def maximisers(x: Expr, top: Expr) -> Expr:
    """The indicator of the entries of x where |xᵢ| = top (top = max |xᵢ|, computed from
    the same numbers, so the equality is exact): 1 − H(top − |x|), H(0) = 0."""
    return ops.sub(1, ops.heaviside(ops.sub(top, ops.abs(x))))


def _norm_inf(node, d):
    """d‖x‖_∞ = (sign(x) ⊙ e / Σe) : dx, e the indicator of the entries with the
    largest |xᵢ|: d max|xᵢ| = sign(x_k) dx_k at a unique maximiser k, and at a tie the
    even average of the maximisers' (a subgradient; JAX's and PyTorch's convention)."""
    (x,) = node.children
    e = maximisers(x, node)
    return ops.sum(ops.mul(ops.div(ops.mul(ops.sign(x), e), ops.sum(e)), d[0]))


_N1_TEXT, _N1_LATEX = _spelling("₁", "1", "1")
NORM_1 = declare(Operation(
    name="norm_1", call="norm", signature="n,1 -> 1,1",
    kernel=lambda params, a: np.reshape(np.sum(np.abs(a)), (1, 1)),
    differential=_norm_1, text=_N1_TEXT, latex=_N1_LATEX,
    code={"numpy": _reduce_abs("sum")},
    scale=lambda node, cv, cs, av, condition: np.reshape(
        np.sum(np.broadcast_to(cs[0], cv[0].shape)), (1, 1)),
    facts=frozenset({"positive"}),
    convention=("norm(x, 1) of a vector: at xᵢ = 0 the subgradient sign(0) = 0"),
))

_NINF_TEXT, _NINF_LATEX = _spelling("_∞", "inf", r"\infty")
NORM_INF = declare(Operation(
    name="norm_inf", call="norm", signature="n,1 -> 1,1",
    kernel=lambda params, a: np.reshape(np.max(np.abs(a)), (1, 1)),
    differential=_norm_inf, text=_NINF_TEXT, latex=_NINF_LATEX,
    code={"numpy": _reduce_abs("max")},
    scale=lambda node, cv, cs, av, condition: av + np.max(cs[0]),
    facts=frozenset({"positive"}),
    convention=("norm(x, inf) of a vector: at a tie of the largest |xᵢ| the even average over "
                "them (0 at x = 0)"),
))


# ---- the 1- and ∞-norms of a matrix: the largest absolute column and row sum ------------


def _largest_sum(x: Expr, axis: int, dx: Expr) -> Expr:
    """d max(c), c = sum(|X|, axis), through dc = sum(sign(X) ⊙ dX, axis): max's own
    differential, so that ties between the sums are split as max splits them."""
    top = build(MAX, (ops.sum(ops.abs(x), axis),), (None,))
    return MAX.differential(top, [ops.sum(ops.mul(ops.sign(x), dx), axis)])


def _norm_1_matrix(node, d):
    """d‖X‖₁ = Σⱼ wⱼ 1ᵀ(sign(X) ⊙ dX)ⱼ = (sign(X) ⊙ 1wᵀ) : dX, with ‖X‖₁ = max(c), c the
    column sums of |X| (d|t| = sign(t) dt, then d max): w = ismax(c) / sum(ismax(c)),
    the largest column's indicator; where columns tie for the largest sum the derivative
    is split equally between them (as for max), and sign(0) = 0."""
    (x,) = node.children
    return _largest_sum(x, 0, d[0])


def _norm_inf_matrix(node, d):
    """d‖X‖_∞ = Σᵢ wᵢ (sign(X) ⊙ dX)ᵢ1 = (sign(X) ⊙ w1ᵀ) : dX, with ‖X‖_∞ = max(r), r
    the row sums of |X| (d|t| = sign(t) dt, then d max): w = ismax(r) / sum(ismax(r)),
    the largest row's indicator; where rows tie for the largest sum the derivative is
    split equally between them (as for max), and sign(0) = 0."""
    (x,) = node.children
    return _largest_sum(x, 1, d[0])


def _largest_abs_sum(axis: int):
    """max(sum(abs(X), axis)) in any backend's namespace."""
    def code(p, e):
        inner, _ = p.call(p.qualified("abs"), p.array_arg(e.children[0]))
        sums, _ = p.call(p.qualified("sum"), inner, *p.sum_kw(axis))
        return p.call(p.qualified("max"), sums)
    return code


def _largest_sum_scale(axis: int):
    def scale(node, cv, cs, av, condition):
        sums = np.sum(np.broadcast_to(cs[0], cv[0].shape), axis=axis)
        return av + np.reshape(np.max(sums), (1, 1))
    return scale


def _largest_sum_norm(name: str, axis: int, order, differential, text, latex, what: str):
    """The declaration of norm(X, order) of a matrix, the largest absolute sum along
    `axis` (`what`: "column" or "row")."""
    return declare(Operation(
        name=name, call="norm", signature="m,n -> 1,1",
        kernel=lambda params, a: np.reshape(np.linalg.norm(a, order), (1, 1)),
        differential=differential, text=text, latex=latex,
        code={"numpy": _largest_abs_sum(axis)},
        scale=_largest_sum_scale(axis),
        facts=frozenset({"positive"}),
        convention=(f"norm(X, {'inf' if order == np.inf else order}) of a matrix, the "
                    f"largest absolute {what} sum: where {what}s tie for the largest, the "
                    "derivative is split equally between them (as for max); at Xᵢⱼ = 0, "
                    "sign(0) = 0"),
    ))


NORM_1_MATRIX = _largest_sum_norm("norm_1_matrix", 0, 1, _norm_1_matrix, _N1_TEXT,
                                  _N1_LATEX, "column")
NORM_INF_MATRIX = _largest_sum_norm("norm_inf_matrix", 1, np.inf, _norm_inf_matrix,
                                    _NINF_TEXT, _NINF_LATEX, "row")


# ---- the nuclear and the spectral norm of a tall matrix --------------------------------------


def _tall(name: str, a: np.ndarray) -> np.ndarray:
    m, n = a.shape
    if m < n:
        ord, sub = ('"nuc"', "_*") if name == "nuclear" else ("2", "₂")
        raise DomainError(f"the {name} norm: the matrix is {m}×{n}, wider than tall; it is "
                          "taken of a tall matrix (rows ≥ columns) here: for a wide X write "
                          f"norm(X.T, {ord}) (‖Xᵀ‖{sub}), which has the same value")
    return a


@unless_finite(lambda a: (1, 1))
def _nuclear_value(params, a):
    return np.reshape(np.linalg.norm(_tall("nuclear", a), "nuc"), (1, 1))


@unless_finite(lambda a: (1, 1))
def _spectral_value(params, a):
    """The largest of svdvals, as the derivative reads it (so that its tie test is
    exact)."""
    return np.reshape(np.max(np.linalg.svd(_tall("spectral", a), compute_uv=False)), (1, 1))


def _norm_nuc(node, d):
    """d‖X‖_* = Σᵢ dσᵢ = U Vᵀ : dX (dσᵢ = uᵢᵀ dX vᵢ, Townsend 2016), for distinct
    positive singular values (Watson 1992, "Characterization of the subdifferential of
    some matrix norms")."""
    (x,) = node.children
    return ops.sum(svdvals_differential(svdvals(x), d[0]))


def _norm_spectral(node, d):
    """d‖X‖₂ = dσ₁ = u₁ v₁ᵀ : dX for a simple largest singular value σ₁ (Watson 1992;
    dσᵢ = uᵢᵀ dX vᵢ, Townsend 2016): ‖X‖₂ = ‖σ‖_∞, so d‖X‖₂ is d‖σ‖_∞ through
    dσ."""
    (x,) = node.children
    sigma = svdvals(x)
    return _norm_inf(build(NORM_INF, (sigma,), ()), [svdvals_differential(sigma, d[0])])


def _svdvals_code(function: str):
    def code(p, e):
        inner, _ = p.call(p.qualified("linalg.svdvals"), p.array_arg(e.children[0]))
        return p.call(p.qualified(function), inner)
    return code


_NUC_TEXT, _NUC_LATEX = _spelling("_*", '"nuc"', "*")
NORM_NUC = declare(Operation(
    name="norm_nuc", call="norm", signature="m,n -> 1,1",
    kernel=_nuclear_value,
    differential=_norm_nuc, text=_NUC_TEXT, latex=_NUC_LATEX,
    code={"numpy": _svdvals_code("sum")},
    scale=lambda node, cv, cs, av, condition: av + min(cv[0].shape) * _spread(cs, cv),
    facts=frozenset({"positive"}),
    convention=("norm(X, 'nuc') of a tall X: not differentiable at a zero or repeated singular "
                "value"),
))

_SPEC_TEXT, _SPEC_LATEX = _spelling("₂", "2", "2")
NORM_SPECTRAL = declare(Operation(
    name="norm_spectral", call="norm", signature="m,n -> 1,1",
    kernel=_spectral_value,
    differential=_norm_spectral, text=_SPEC_TEXT, latex=_SPEC_LATEX,
    code={"numpy": _svdvals_code("max")},
    scale=lambda node, cv, cs, av, condition: av + _spread(cs, cv),
    facts=frozenset({"positive"}),
    convention=("norm(X, 2) of a tall X: not differentiable where the largest singular value is "
                "repeated"),
))


# ---- the language's norm ---------------------------------------------------------------------


def _ord(value):
    """The ord, normalised: inf from "inf" and any infinite float; else a MatgradError."""
    if isinstance(value, str) and value in ("inf", "∞"):
        return math.inf
    if isinstance(value, bool) or not (value is None or isinstance(value, (str, int, float))):
        value = repr(value)
    if isinstance(value, float) and value == math.inf:
        return math.inf
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value not in ORDS:
        raise MatgradError(f"norm: ord must be one of None, 'fro', 'nuc', 1, 2, inf, not "
                           f"{value!r}")
    return value


@publish
def norm(a, ord=None):
    """A norm of a vector or a matrix (a scalar), as NumPy's linalg.norm names them:

    - ord None or "fro": the 2-norm of a vector, the Frobenius norm of a matrix, ‖a‖;
    - ord 2: of a vector the same, of a matrix the spectral norm σ₁, ‖X‖₂;
    - ord "nuc": the nuclear norm Σσᵢ, ‖X‖_* (of a vector, its 2-norm);
    - ord 1 and inf: of a vector, Σ|xᵢ| (‖x‖₁) and max|xᵢ| (‖x‖_∞); of a matrix, the
      largest absolute column sum (‖X‖₁) and row sum (‖X‖_∞), as NumPy's.

    The nuclear and spectral norms are taken of a tall matrix (rows ≥ columns; take
    the norm of X.T for a wide X). Where a norm has no derivative the one taken is a
    stated subgradient (see `matgrad.operations.norm`).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, x = mg.matrix("X", m, n), mg.vector("x", n)
    >>> mg.norm(X), mg.norm(X, "fro"), mg.norm(x, 2)
    (‖X‖, ‖X‖, ‖x‖)
    >>> mg.norm(x, 1), mg.norm(x, float("inf")), mg.norm(X, "nuc"), mg.norm(X, 2)
    (‖x‖₁, ‖x‖_∞, ‖X‖_*, ‖X‖₂)
    >>> mg.evaluate(mg.norm(x, 1), {"x": [3.0, -4.0]})
    7.0
    >>> mg.norm(X, 1), mg.norm(X, float("inf"))
    (‖X‖₁, ‖X‖_∞)
    >>> mg.evaluate(mg.norm(X, 1), {"X": [[1.0, -2.0], [3.0, 4.0]]})  # column sums 4, 6
    6.0
    >>> mg.norm(x, 3)
    Traceback (most recent call last):
        ...
    matgrad.errors.MatgradError: norm: ord must be one of None, 'fro', 'nuc', 1, 2, inf, not 3
    """
    a = ops.to_expr(a)
    ord = _ord(ord)
    r, c = a.shape
    vector = r == 1 or c == 1
    if ord in (None, "fro") or vector and ord in (2, "nuc"):
        return build(NORM, (a,), ())
    if ord in (1, math.inf):
        if not vector:
            return build(NORM_1_MATRIX if ord == 1 else NORM_INF_MATRIX, (a,), ())
        x = a if c == 1 else ops.transpose(a)
        return build(NORM_1 if ord == 1 else NORM_INF, (x,), ())
    shown = '"nuc"' if ord == "nuc" else "2"
    require_tall("norm", a, lambda t: f"norm({t}, {shown})", "the same value")
    return build(NORM_NUC if ord == "nuc" else NORM_SPECTRAL, (a,), ())


# the parser reads ord as a constant (norm(x, 1), norm(X, "nuc"), norm(x, inf)) and
# checks it where it is written
norm.constants = {"ord": _ord}
