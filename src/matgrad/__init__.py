"""matgrad: derivatives of matrix expressions in matrix notation, with the steps shown,
checked numerically.

>>> import matgrad as mg
>>> m, n = mg.dims("m n")
>>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
>>> mg.grad(mg.sum((X @ w) ** 2), w)
2 · Xᵀ X w
"""
from .differentiate import grad, gradients
from .dims import Dim, dims
from .errors import DomainError, LimitError, MatgradError, ParseError, ShapeError
from .expr import Expr
from .numeric import evaluate
from .parser import parse, parse_program
from .report import report
from .ops import (abs, arccos, arcsin, arctan, arctanh, broadcast, const, cos, cosh,
                  digamma, dot, erf, erfc, exp, expm1, eye, heaviside, lgamma, log, log1p,
                  logsigmoid, matmul, matrix, mean, ones, outer, polygamma, relu, scalar,
                  sigmoid, sign, sin, sinh, softplus, sqrt, sum, tan, tanh, transpose, var,
                  vector, zeros)
# every declared operation's function (trace, det, inv, diag, norm, softmax, ...)
from .operations import *  # noqa: F403
from .operations import __all__ as _declared
from .simplify import simplify
from .verify import verify
from .jacobian import Derivative, derivative, hessian, jacobian
from .steps import Derivation, derive
from .check import CheckResult, check
from .compile import compile  # noqa: A004 - shadows the builtin in this namespace only

__version__ = "0.1.0"

__all__ = [
    "Derivative", "derivative", "hessian", "jacobian",
    "CheckResult", "Derivation", "check", "derive",
    "compile",
    "Dim", "DomainError", "Expr", "LimitError", "MatgradError", "ParseError", "ShapeError",
    "abs", "arccos", "arcsin", "arctan", "arctanh", "broadcast", "const", "cos", "cosh",
    "digamma", "dims", "dot", "erf", "erfc", "evaluate", "exp", "expm1", "eye", "grad",
    "gradients", "heaviside", "lgamma", "log", "log1p", "logsigmoid",
    "matmul", "matrix", "mean", "ones", "outer", "parse", "parse_program", "polygamma",
    "relu",
    "report", "scalar", "sigmoid", "sign", "sin", "sinh",
    "simplify", "softplus", "sqrt", "sum", "tan", "tanh", "transpose",
    "var", "vector", "verify", "zeros",
]
__all__ += _declared
