"""The table of elementwise functions: one row per function.

Each row gives the NumPy implementation, the derivative f′ as an expression of the
argument x (and of the output y, when that is shorter), and the domain the numeric tests
sample from. Conventions at kinks: relu′(0) = H(0) = 0, abs′(0) = sign(0) = 0.
Adding a function means adding one row here and one spec in the tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Elementwise:
    name: str
    numpy: Callable
    derivative: Callable  # (x: Expr, y: Expr) -> Expr, the elementwise f′(x)
    domain: str  # "real" or "positive": where the function is differentiable and defined
    text: str  # the name printed in plain text (Unicode)
    latex: str  # the LaTeX operator


def _sigmoid(x):
    out = np.empty_like(np.asarray(x, dtype=float))
    x = np.asarray(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _softplus(x):
    return np.logaddexp(0.0, x)


def _heaviside(x):
    return (np.asarray(x) > 0).astype(float)


def _relu(x):
    return np.maximum(x, 0.0)


def _build():
    from . import ops

    def f(name):
        return lambda a: ops.fn(name, a)

    rows = [
        Elementwise("exp", np.exp, lambda x, y: y, "real", "exp", r"\exp"),
        Elementwise("log", np.log, lambda x, y: ops.div(1, x), "positive", "log", r"\log"),
        Elementwise("sin", np.sin, lambda x, y: f("cos")(x), "real", "sin", r"\sin"),
        Elementwise("cos", np.cos, lambda x, y: ops.neg(f("sin")(x)), "real", "cos", r"\cos"),
        Elementwise("tanh", np.tanh, lambda x, y: ops.sub(1, ops.power(y, 2)), "real",
                    "tanh", r"\tanh"),
        Elementwise("sigmoid", _sigmoid, lambda x, y: ops.mul(y, ops.sub(1, y)), "real",
                    "σ", r"\sigma"),
        Elementwise("relu", _relu, lambda x, y: f("heaviside")(x), "real", "relu",
                    r"\operatorname{relu}"),
        Elementwise("abs", np.abs, lambda x, y: f("sign")(x), "real", "abs",
                    r"\operatorname{abs}"),
        Elementwise("sign", np.sign, lambda x, y: ops.zeros(*x.shape), "real", "sign",
                    r"\operatorname{sign}"),
        Elementwise("sqrt", np.sqrt, lambda x, y: ops.div(1, ops.mul(2, y)), "positive",
                    "sqrt", r"\sqrt"),
        Elementwise("softplus", _softplus, lambda x, y: f("sigmoid")(x), "real", "softplus",
                    r"\operatorname{softplus}"),
        Elementwise("heaviside", _heaviside, lambda x, y: ops.zeros(*x.shape), "real", "H",
                    "H"),
    ]
    return {r.name: r for r in rows}


_TABLE: dict | None = None


def table() -> dict:
    """name -> Elementwise, built on first use (rows refer to ops)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _build()
    return _TABLE


NAMES = ("exp", "log", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "sign", "sqrt",
         "softplus", "heaviside")
