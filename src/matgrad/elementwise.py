"""The table of elementwise functions: one row per function, every fact about it in the row.

A row gives the function's name in the language (and of its public constructor,
`matgrad.<name>`), its NumPy kernel, its derivative f′ as an expression of the argument
x (or of the output y, where that is shorter), its domain, the facts the rest of the
library uses (a value that is never negative, idempotence, a bound on |f′| for rounding
estimates), its spelling in plain text and in LaTeX, and in the code of each backend.
The parser, the differential rules, the steps, the printers, numeric evaluation, the
numeric checks and code generation all read the row; adding a function is adding a row
(and, where no backend has it, a helper in that backend's module).

Conventions at kinks: relu′(0) = H(0) = 0, abs′(0) = sign(0) = 0.

A row may take a whole order k ≥ 0 before its argument (polygamma(k, x), the k-th
derivative of ψ): its nodes carry (name, k) as parameters, and its kernel, derivative and
slope take k after their other arguments, so that each derivative is one more row
lookup and Hessians of lgamma need no new row.

>>> row = table()["tanh"]
>>> row.latex, row.code["torch"], row.domain
('\\\\tanh', 'tanh', 'real')
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# Where a function is defined and differentiable, for the random points of the checks:
# every real number, positive numbers, or the open interval (−1, 1).
DOMAINS = ("real", "positive", "unit")


@dataclass(frozen=True)
class Elementwise:
    """One elementwise function.

    `code` spells it in each backend ("numpy" is the array-API code, which runs on NumPy,
    CuPy, PyTorch and Dask arrays): a bare name is the namespace's function (`xp.tan`,
    `jnp.tan`, `torch.tan`), a dotted name a function called as written
    (`jax.nn.sigmoid`), "helper" the backend's helper function of the same name (written
    out next to the generated function), and "printer" a form the backend's printer
    writes itself (`fn_<name>`: a comparison, a maximum with 0).
    """

    name: str
    numpy: Callable
    derivative: Callable  # (x: Expr, y: Expr) -> Expr, the elementwise f′(x)
    domain: str  # one of DOMAINS
    text: str  # the name printed in plain text (Unicode)
    latex: str  # the LaTeX operator
    code: dict = field(default_factory=dict)  # backend -> spelling (see above)
    slope: Callable = lambda x, y: 1.0  # a bound on |f′| at x (y = f(x)), for rounding
    nonnegative: bool = False  # f(x) ≥ 0 for every x: a divisor or log of it asks nothing
    idempotent: bool = False  # f(x)ᵖ = f(x) for p > 0 (the values are 0 and 1)
    ordered: bool = False  # takes a whole order k first, f(k, x) (see the module's doc)

    def head(self, order=None, latex: bool = False) -> str:
        """The printed name before the argument: log Γ, ψ, ψ⁽¹⁾ (\\psi^{(1)} in LaTeX)."""
        base = self.latex if latex else self.text
        if order is None:
            return base
        if latex:
            return base + "^{(" + str(order) + ")}"
        return base + "⁽" + str(order).translate(_SUPERSCRIPT_DIGITS) + "⁾"


_SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# polygamma(k, x) for k up to this: past it ψ⁽ᵏ⁾ overflows a float for arguments below 1
MAX_ORDER = 100


def _ops():
    from . import ops  # the rows build expressions; ops imports this module's names
    return ops


# ---- kernels NumPy lacks -------------------------------------------------------------

def _sigmoid(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _logsigmoid(x):
    return -np.logaddexp(0.0, -np.asarray(x, dtype=float))


def _heaviside(x):
    return (np.asarray(x) > 0).astype(float)


def _relu(x):
    return np.maximum(x, 0.0)


def _special(name: str, scalar: Callable) -> Callable:
    """SciPy's ufunc where SciPy is installed (it is not a dependency, and is imported
    only when the function is evaluated), else the standard library's scalar function
    entry by entry."""
    def kernel(x):
        try:
            import scipy.special
        except ImportError:  # pragma: no cover - SciPy comes with the JAX extra
            return np.vectorize(scalar, otypes=[float])(np.asarray(x, dtype=float))
        return getattr(scipy.special, name)(x)
    kernel.__name__ = name
    return kernel


def _scipy_special():
    try:
        import scipy.special
    except ImportError:  # pragma: no cover - SciPy comes with the JAX extra
        return None
    return scipy.special


# Bernoulli numbers B₂, B₄, ..., B₁₆, for the asymptotic series of ψ⁽ᵏ⁾
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def polygamma_series(k: int, x):
    """ψ⁽ᵏ⁾(x) for x > 0 with NumPy alone (where SciPy is missing): the recurrence
    ψ⁽ᵏ⁾(x) = ψ⁽ᵏ⁾(x + 1) − (−1)ᵏ k!/xᵏ⁺¹ up to x ≥ 16 + 2k, then the asymptotic series
    (Abramowitz and Stegun 6.3.18 and 6.4.11); NaN for x ≤ 0."""
    x = np.array(x, dtype=float)
    bad = ~(x > 0)
    x = np.where(bad, 1.0, x)
    sign = -1.0 if k % 2 else 1.0  # (−1)ᵏ
    k_factorial = math.factorial(k)
    shift = np.zeros_like(x)
    lowest = 16 + 2 * k
    while np.any(x < lowest):
        small = x < lowest
        shift = shift - np.where(small, sign * k_factorial / x ** (k + 1), 0.0)
        x = np.where(small, x + 1, x)
    if k == 0:
        out = np.log(x) - 1 / (2 * x)
        for j, b in enumerate(_BERNOULLI, start=1):
            out = out - b / (2 * j * x ** (2 * j))
    else:
        out = math.factorial(k - 1) / x ** k + k_factorial / (2 * x ** (k + 1))
        for j, b in enumerate(_BERNOULLI, start=1):
            out = out + b * math.factorial(2 * j + k - 1) / math.factorial(2 * j) / \
                x ** (2 * j + k)
        out = -sign * out  # (−1)ᵏ⁺¹
    return np.where(bad, np.nan, out + shift)


def _lgamma(x):
    special = _scipy_special()
    if special is None:  # pragma: no cover - SciPy comes with the JAX extra
        return np.vectorize(math.lgamma, otypes=[float])(np.asarray(x, dtype=float))
    return special.gammaln(x)


def _polygamma(x, k=0):
    special = _scipy_special()
    if special is None:  # pragma: no cover - SciPy comes with the JAX extra
        return polygamma_series(k, x)
    return special.digamma(x) if k == 0 else special.polygamma(k, x)


# ---- derivatives -----------------------------------------------------------------------

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _fn(name):
    return lambda a: _ops().fn(name, a)


def _reciprocal(e):
    return _ops().div(1, e)


def _one_minus_square(x):
    ops = _ops()
    return ops.sub(1, ops.power(x, 2))


def _gaussian(x):
    ops = _ops()
    return ops.fn("exp", ops.neg(ops.power(x, 2)))


def _polygamma_of(k, x):
    return _ops().fn("polygamma", k, x)


def _row(name, numpy, derivative, domain, text, latex, code, **facts) -> Elementwise:
    return Elementwise(name, numpy, derivative, domain, text, latex,
                       dict(zip(("numpy", "jax", "torch"), code)), **facts)


def _abs(v):
    return np.abs(v)


ROWS = (
    _row("exp", np.exp, lambda x, y: y, "real", "exp", r"\exp",
         ("exp", "exp", "exp"), slope=lambda x, y: _abs(y), nonnegative=True),
    _row("log", np.log, lambda x, y: _reciprocal(x), "positive", "log", r"\log",
         ("log", "log", "log"), slope=lambda x, y: 1 / _abs(x)),
    _row("sin", np.sin, lambda x, y: _fn("cos")(x), "real", "sin", r"\sin",
         ("sin", "sin", "sin")),
    _row("cos", np.cos, lambda x, y: _ops().neg(_fn("sin")(x)), "real", "cos", r"\cos",
         ("cos", "cos", "cos")),
    _row("tan", np.tan, lambda x, y: _ops().add(1, _ops().power(y, 2)), "unit", "tan",
         r"\tan", ("tan", "tan", "tan"), slope=lambda x, y: 1 + y * y),
    _row("arcsin", np.arcsin, lambda x, y: _reciprocal(_ops().sqrt(_one_minus_square(x))),
         "unit", "arcsin", r"\arcsin", ("asin", "arcsin", "asin"),
         slope=lambda x, y: 1 / np.sqrt(np.maximum(1 - x * x, 0.0))),
    _row("arccos", np.arccos,
         lambda x, y: _ops().neg(_reciprocal(_ops().sqrt(_one_minus_square(x)))),
         "unit", "arccos", r"\arccos", ("acos", "arccos", "acos"),
         slope=lambda x, y: 1 / np.sqrt(np.maximum(1 - x * x, 0.0)), nonnegative=True),
    _row("arctan", np.arctan, lambda x, y: _reciprocal(_ops().add(1, _ops().power(x, 2))),
         "real", "arctan", r"\arctan", ("atan", "arctan", "atan")),
    _row("sinh", np.sinh, lambda x, y: _fn("cosh")(x), "real", "sinh", r"\sinh",
         ("sinh", "sinh", "sinh"), slope=lambda x, y: np.cosh(x)),
    _row("cosh", np.cosh, lambda x, y: _fn("sinh")(x), "real", "cosh", r"\cosh",
         ("cosh", "cosh", "cosh"), slope=lambda x, y: _abs(y), nonnegative=True),
    _row("tanh", np.tanh, lambda x, y: _one_minus_square(y), "real", "tanh", r"\tanh",
         ("tanh", "tanh", "tanh")),
    _row("arctanh", np.arctanh, lambda x, y: _reciprocal(_one_minus_square(x)), "unit",
         "arctanh", r"\operatorname{arctanh}", ("atanh", "arctanh", "atanh"),
         slope=lambda x, y: 1 / np.maximum(1 - x * x, 0.0)),
    _row("log1p", np.log1p, lambda x, y: _reciprocal(_ops().add(1, x)), "positive",
         "log1p", r"\operatorname{log1p}", ("log1p", "log1p", "log1p"),
         slope=lambda x, y: 1 / _abs(1 + x)),
    _row("expm1", np.expm1, lambda x, y: _fn("exp")(x), "real", "expm1",
         r"\operatorname{expm1}", ("expm1", "expm1", "expm1"),
         slope=lambda x, y: np.exp(x)),
    _row("erf", _special("erf", math.erf),
         lambda x, y: _ops().mul(_TWO_OVER_SQRT_PI, _gaussian(x)), "real", "erf",
         r"\operatorname{erf}", ("helper", "jax.scipy.special.erf", "torch.special.erf"),
         slope=lambda x, y: _TWO_OVER_SQRT_PI),
    _row("erfc", _special("erfc", math.erfc),
         lambda x, y: _ops().mul(-_TWO_OVER_SQRT_PI, _gaussian(x)), "real", "erfc",
         r"\operatorname{erfc}", ("helper", "jax.scipy.special.erfc", "torch.special.erfc"),
         slope=lambda x, y: _TWO_OVER_SQRT_PI, nonnegative=True),
    _row("lgamma", _lgamma, lambda x, y: _fn("digamma")(x), "positive", "log Γ",
         r"\log\Gamma", ("helper", "jax.scipy.special.gammaln", "lgamma"),
         slope=lambda x, y: _abs(_polygamma(x))),
    _row("digamma", _polygamma, lambda x, y: _polygamma_of(1, x), "positive", "ψ", r"\psi",
         ("helper", "jax.scipy.special.digamma", "digamma"),
         slope=lambda x, y: _abs(_polygamma(x, 1))),
    _row("polygamma", _polygamma, lambda x, y, k: _polygamma_of(k + 1, x), "positive", "ψ",
         r"\psi", ("helper", "jax.scipy.special.polygamma", "polygamma"),
         slope=lambda x, y, k: _abs(_polygamma(x, k + 1)), ordered=True),
    _row("sigmoid", _sigmoid, lambda x, y: _ops().mul(y, _ops().sub(1, y)), "real", "σ",
         r"\sigma", ("helper", "jax.nn.sigmoid", "torch.sigmoid"), nonnegative=True),
    _row("logsigmoid", _logsigmoid, lambda x, y: _fn("sigmoid")(_ops().neg(x)), "real",
         "log σ", r"\log\sigma", ("helper", "jax.nn.log_sigmoid",
                                  "torch.nn.functional.logsigmoid")),
    _row("relu", _relu, lambda x, y: _fn("heaviside")(x), "real", "relu",
         r"\operatorname{relu}", ("printer", "jax.nn.relu", "torch.relu"), nonnegative=True),
    _row("abs", np.abs, lambda x, y: _fn("sign")(x), "real", "abs", r"\operatorname{abs}",
         ("abs", "abs", "abs"), nonnegative=True),
    _row("sign", np.sign, lambda x, y: _ops().zeros(*x.shape), "real", "sign",
         r"\operatorname{sign}", ("sign", "sign", "sign"), slope=lambda x, y: 0.0),
    _row("sqrt", np.sqrt, lambda x, y: _reciprocal(_ops().mul(2, y)), "positive", "sqrt",
         r"\sqrt", ("sqrt", "sqrt", "sqrt"), slope=lambda x, y: 1 / (2 * _abs(y)),
         nonnegative=True),
    _row("softplus", _softplus, lambda x, y: _fn("sigmoid")(x), "real", "softplus",
         r"\operatorname{softplus}", ("helper", "jax.nn.softplus",
                                      "torch.nn.functional.softplus"), nonnegative=True),
    _row("heaviside", _heaviside, lambda x, y: _ops().zeros(*x.shape), "real", "H", "H",
         ("printer", "printer", "printer"), slope=lambda x, y: 0.0, nonnegative=True,
         idempotent=True),
)

_TABLE = {r.name: r for r in ROWS}
NAMES = tuple(_TABLE)
ORDERED = frozenset(r.name for r in ROWS if r.ordered)  # written f(k, x)


def table() -> dict:
    """name -> Elementwise."""
    return _TABLE
