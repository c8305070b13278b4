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


def table() -> dict:
    """name -> Elementwise."""
    return _TABLE
