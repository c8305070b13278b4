"""Constructors for every operation: the language, with shape checking.

Each constructor checks its operands' shapes and raises a ShapeError naming the operands
and the dimensions that clash. Broadcasting lives here and only here: a scalar, a row or a
column stretched to a full shape becomes an explicit `broadcast` node, so every other
operation sees operands of equal shape.
"""
from __future__ import annotations

import builtins
import inspect
import math
import numbers
from fractions import Fraction

from .dims import SCALAR, Dim, as_size, fmt_shape, is_scalar, normal_name
from .elementwise import MAX_ORDER, table
from .errors import DomainError, LimitError, MatgradError, ShapeError
from .expr import Expr, make
from .structure import parse as structure_name
from .structure import phrase as structure_phrase

# ---- leaves ---------------------------------------------------------------------------


def var(name: str, rows=1, cols=1, *, symmetric: bool = False, structure: str = "") -> Expr:
    """A variable: scalar (1×1), vector (n×1) or matrix (m×n).

    Its shape is rows×cols, each a size or a dimension. A square matrix may have a
    `structure`: "symmetric" (also `symmetric=True`), "spd" (symmetric positive
    definite), "lower" or "upper" (triangular) or "diagonal". Its gradient is then the
    projection of the unconstrained gradient G onto the structure: (G + Gᵀ)/2 for
    symmetric and spd, tril(G), triu(G), diag(diag(G)) (see `matgrad.structure`), and its
    values must have the structure.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> mg.var("Y", m, n).shape
    (m, n)
    >>> mg.var("L", n, n, structure="lower").params
    ('L', 'lower')
    >>> mg.var("S", m, n, symmetric=True)
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: S is declared symmetric but its shape m×n is not square
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise MatgradError(f"variable name {name!r} is not an identifier")
    name = normal_name(name)
    shape = (as_size(rows), as_size(cols))
    kind = structure_name(structure, name)
    if symmetric and kind not in ("", "symmetric", "spd"):
        raise MatgradError(f"{name} cannot be both symmetric and {structure_phrase(kind)}")
    kind = kind or ("symmetric" if symmetric else "")
    if kind and shape[0] != shape[1]:
        raise ShapeError(f"{name} is declared {structure_phrase(kind)} but its shape "
                         f"{fmt_shape(shape)} is not square")
    return make("var", (), (name, kind), shape)


def scalar(name: str) -> Expr:
    """A scalar variable.

    >>> scalar("b").shape
    (1, 1)
    """
    return var(name)


def vector(name: str, n) -> Expr:
    """A column vector variable of length n: shape n×1.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> mg.vector("w", n).shape
    (n, 1)
    """
    return var(name, n, 1)


def matrix(name: str, rows, cols, *, symmetric: bool = False, structure: str = "") -> Expr:
    """A matrix variable of shape rows×cols (`symmetric=True`: square and symmetric;
    `structure=`: "symmetric", "spd", "lower", "upper" or "diagonal", as for `var`).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> mg.matrix("X", m, n).shape
    (m, n)
    >>> mg.matrix("D", n, n, structure="diagonal").params
    ('D', 'diagonal')
    """
    return var(name, rows, cols, symmetric=symmetric, structure=structure)


# Exact rationals are kept while numerator and denominator fit in this many bits; beyond,
# a constant becomes a float, and one past the floats' range is an error. So constant
# folding never builds a huge exact integer (slow to multiply, unprintable past Python's
# 4 300-digit conversion limit) and never overflows where it is evaluated.
MAX_EXACT_BITS = 64


def _finite(v: float, value) -> float:
    if not math.isfinite(v):
        raise LimitError(f"the constant {_magnitude(value)} is beyond the range of "
                         "floating-point numbers (about ±1.8e308)")
    return v


def _magnitude(value) -> str:
    """A short statement of a number, never its thousands of digits."""
    if isinstance(value, Fraction):
        # from the bit lengths: str() of a huge integer is slow, and refused past 4 300 digits
        bits = value.numerator.bit_length() - value.denominator.bit_length()
        digits = int(bits * 0.30103) + 1
        if digits > 20:
            return f"{'−' if value < 0 else ''}≈10^{digits - 1}"
        return str(value)
    return repr(value)


def _number(value) -> Fraction | float:
    """Exact rationals where the input is exact and small, floats otherwise."""
    if isinstance(value, bool):
        raise MatgradError("a boolean is not a number here")
    if isinstance(value, numbers.Integral) and not isinstance(value, Fraction):
        value = Fraction(int(value))
    if isinstance(value, Fraction):
        if (value.numerator.bit_length() <= MAX_EXACT_BITS
                and value.denominator.bit_length() <= MAX_EXACT_BITS):
            return value
        try:
            v = float(value)
        except OverflowError:
            v = float("inf")
        return _finite(v, value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            raise MatgradError("the constant nan is not a number")
        _finite(v, value)
        # builtins.abs: this module's `abs` is the elementwise function of the language
        if v.is_integer() and builtins.abs(v) < 2**53:
            return Fraction(int(v))
        return v
    raise MatgradError(f"cannot use {type(value).__name__} {value!r} in an expression")


def number_power(c, k) -> Fraction | float:
    """c ** k for numeric constants, under the same bounds as every constant."""
    if isinstance(c, Fraction) and isinstance(k, int) and (
            builtins.abs(k) * max(c.numerator.bit_length(), c.denominator.bit_length())
            > 4 * MAX_EXACT_BITS):
        c = float(c)  # the exact power would only be rounded afterwards
    try:
        return _number(c ** k)
    except OverflowError:
        raise LimitError(f"the constant {_magnitude(c)} to the power {k} is beyond the "
                         "range of floating-point numbers (about ±1.8e308)") from None
    except ZeroDivisionError:
        raise DomainError(f"0 to the negative power {k}") from None


def const(value) -> Expr:
    """A numeric scalar constant (1×1); exact where the number is an integer or a fraction.

    >>> import matgrad as mg
    >>> mg.const(2.5), mg.const(3).shape
    (2.5, (1, 1))
    """
    return make("const", (), (_number(value),), SCALAR)


def dim_value(d) -> Expr:
    """A dimension used as a number (e.g. dividing by m): a scalar (1×1).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> dim_value(m), dim_value(m).shape
    (m, (1, 1))
    """
    d = as_size(d)
    if isinstance(d, int):
        return const(d)
    return make("dim", (), (d,), SCALAR)


def ones(rows, cols=1) -> Expr:
    """The all-ones matrix of shape rows×cols, or the vector of length rows when cols = 1.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> mg.ones(m, n), mg.ones(n).shape
    (1ₘₓₙ, (n, 1))
    """
    return make("ones", (), (), (as_size(rows), as_size(cols)))


def zeros(rows, cols=1) -> Expr:
    """The zero matrix of shape rows×cols, or the zero vector when cols = 1.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> mg.zeros(m, n), mg.zeros(m, n).shape
    (0ₘₓₙ, (m, n))
    """
    return make("zeros", (), (), (as_size(rows), as_size(cols)))


def eye(n) -> Expr:
    """The identity matrix: shape n×n.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> mg.eye(n), mg.eye(n).shape
    (I, (n, n))
    """
    n = as_size(n)
    return make("eye", (), (), (n, n))


def to_expr(value) -> Expr:
    """An expression for a value: an expression as it is, a dimension as its size (1×1),
    a number as a constant (1×1), a Jacobian or Hessian as its matrix form.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> to_expr(m), to_expr(2).shape
    (m, (1, 1))
    """
    if isinstance(value, Expr):
        return value
    if isinstance(value, Dim):
        return dim_value(value)
    # A derivative result (matgrad.jacobian) stands for its matrix form.
    as_expr = getattr(value, "__matgrad_expr__", None)
    if as_expr is not None:
        return as_expr()
    return const(value)


def _short(e: Expr) -> str:
    text = str(e)
    return text if len(text) <= 40 else text[:37] + "..."


# ---- broadcasting -------------------------------------------------------------------


def broadcast(x: Expr, shape) -> Expr:
    """Stretch a scalar, row or column to `shape` (NumPy rules on two axes).

    Each axis of x must equal that of `shape` or be 1; the result has shape `shape`.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> u = mg.vector("u", m)
    >>> mg.broadcast(u, (m, n)), mg.broadcast(u, (m, n)).shape
    (u · 1ₘₓₙ, (m, n))
    >>> mg.broadcast(mg.vector("x", n), (m, n))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: cannot broadcast x (n×1) to m×n
    """
    x = to_expr(x)
    if x.shape == shape:
        return x
    r, c = x.shape
    if (r == shape[0] or r == 1) and (c == shape[1] or c == 1):
        return make("broadcast", (x,), (), tuple(shape))
    raise ShapeError(f"cannot broadcast {_short(x)} ({fmt_shape(x.shape)}) to {fmt_shape(shape)}")


def _align(a, b, symbol: str) -> tuple[Expr, Expr]:
    a, b = to_expr(a), to_expr(b)
    if a.shape == b.shape:
        return a, b
    shape = []
    for axis, (p, q) in enumerate(zip(a.shape, b.shape)):
        if p == q or q == 1:
            shape.append(p)
        elif p == 1:
            shape.append(q)
        else:
            which = "rows" if axis == 0 else "columns"
            raise ShapeError(
                f"{_short(a)} {symbol} {_short(b)}: {_short(a)} is {fmt_shape(a.shape)}, "
                f"{_short(b)} is {fmt_shape(b.shape)}; {which} {p} and {q} differ and "
                "neither is 1, so they cannot be broadcast")
    shape = tuple(shape)
    return broadcast(a, shape), broadcast(b, shape)


# ---- elementwise arithmetic -----------------------------------------------------------


def add(a, b) -> Expr:
    """Elementwise sum a + b.

    The shapes must agree axis by axis, or be 1 on an axis (a scalar, a row or a column
    broadcasts); the result has the larger shape.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> add(X, mg.scalar("b")), add(X, mg.scalar("b")).shape
    (X + b, (m, n))
    """
    a, b = _align(a, b, "+")
    return make("add", (a, b), (), a.shape)


def neg(a) -> Expr:
    """Elementwise negation −a; the shape of a.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> neg(mg.matrix("X", m, n)), neg(mg.matrix("X", m, n)).shape
    (−X, (m, n))
    """
    a = to_expr(a)
    return make("neg", (a,), (), a.shape)


def sub(a, b) -> Expr:
    """Elementwise difference a − b; shapes broadcast as in `add`.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> x, y = mg.vector("x", n), mg.vector("y", n)
    >>> sub(x, y), sub(x, y).shape
    (x − y, (n, 1))
    """
    a, b = _align(a, b, "-")
    return make("add", (a, neg(b)), (), a.shape)


def mul(a, b) -> Expr:
    """Elementwise (Hadamard) product a ⊙ b; shapes broadcast as in `add` (a scalar
    factor broadcasts).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, x = mg.matrix("X", m, n), mg.vector("x", n)
    >>> mul(x, x), mul(x, x).shape
    (x ⊙ x, (n, 1))
    >>> mul(X, x)
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: X * x: X is m×n, x is n×1; rows m and n differ and neither is 1,
    so they cannot be broadcast
    """
    a, b = _align(a, b, "*")
    return make("mul", (a, b), (), a.shape)


def div(a, b) -> Expr:
    """Elementwise quotient a / b; shapes broadcast as in `add`.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> div(X, mg.sum(X, axis=0)), div(X, mg.sum(X, axis=0)).shape
    (X / sum(X, axis=0), (m, n))
    """
    a, b = _align(a, b, "/")
    return make("div", (a, b), (), a.shape)


def power(a, p) -> Expr:
    """Elementwise power a ** p; the shape of a (a non-scalar p broadcasts with a).

    A constant exponent is a parameter; a symbolic one goes through exp(p ⊙ log a).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> x = mg.vector("x", n)
    >>> power(x, 2), power(x, 2).shape
    (x², (n, 1))
    >>> power(x, mg.scalar("b"))
    exp(b · log(x))
    """
    a = to_expr(a)
    if isinstance(p, Expr) and p.op == "const":
        p = p.params[0]
    if not isinstance(p, Expr):
        return make("pow", (a,), (_number(p),), a.shape)
    if not is_scalar(p.shape) and p.shape != a.shape:
        a, p = _align(a, p, "**")
    return fn("exp", mul(p, fn("log", a)))


def fn(name: str, *args) -> Expr:
    """An elementwise function from the table (exp, log, relu, ...); the shape of its
    argument. A function with an order takes it first: fn("polygamma", 1, x).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> fn("tanh", mg.matrix("X", m, n)).shape
    (m, n)
    """
    row = table().get(name)
    if row is None:
        raise MatgradError(f"unknown elementwise function {name!r}")
    if len(args) != 1 + row.ordered:
        usage = f"{name}(k, x) with a whole order k" if row.ordered else f"{name}(x)"
        raise MatgradError(f"{name} takes {1 + row.ordered} argument(s), got {len(args)}: "
                           f"write {usage}")
    a = to_expr(args[-1])
    if not row.ordered:
        return make("fn", (a,), (name,), a.shape)
    k = args[0]
    if isinstance(k, Expr) and k.op == "const":  # a number the caller made an Expr
        k = k.params[0]
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or \
            not 0 <= k <= MAX_ORDER:
        raise MatgradError(f"the order of {name}(k, x) is a whole number from 0 to "
                           f"{MAX_ORDER}, not {k!r}")
    if int(k) == 0 and name == "polygamma":  # ψ⁽⁰⁾ = ψ: one node for one function
        return make("fn", (a,), ("digamma",), a.shape)
    return make("fn", (a,), (name, int(k)), a.shape)


# ---- matrix operations ----------------------------------------------------------------


def matmul(a, b) -> Expr:
    """Matrix product a b: (p×k) times (k×q) is p×q; the inner dimensions must agree.

    A 1×1 operand is a 1×1 matrix here, as in the literature.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> mg.matmul(X, w), mg.matmul(X, w).shape
    (X w, (m, 1))
    >>> mg.matmul(X, X)
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: X @ X: X is m×n, X is m×n; inner dimensions n and m differ
    """
    a, b = to_expr(a), to_expr(b)
    if a.shape[1] != b.shape[0]:
        raise ShapeError(
            f"{_short(a)} @ {_short(b)}: {_short(a)} is {fmt_shape(a.shape)}, "
            f"{_short(b)} is {fmt_shape(b.shape)}; inner dimensions {a.shape[1]} and "
            f"{b.shape[0]} differ")
    return make("matmul", (a, b), (), (a.shape[0], b.shape[1]))


def transpose(a) -> Expr:
    """The transpose aᵀ: an m×n matrix becomes n×m (a column vector a row).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.transpose(X), mg.transpose(X).shape
    (Xᵀ, (n, m))
    >>> mg.transpose(mg.vector("w", n)).shape
    (1, n)
    """
    a = to_expr(a)
    if a.op == "ones":  # 1ₙᵀ is the row of ones: one node however it is written
        return make("ones", (), (), (a.shape[1], a.shape[0]))
    return make("transpose", (a,), (), (a.shape[1], a.shape[0]))


def sum(a, axis=None) -> Expr:  # noqa: A001 - the language's name
    """Sum of all entries (a scalar), or axis=0 for a row of column sums (1×n), axis=1
    for a column of row sums (m×1), of an m×n matrix.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.sum(X).shape, mg.sum(X, axis=0).shape, mg.sum(X, axis=1).shape
    ((1, 1), (1, n), (m, 1))
    """
    a = to_expr(a)
    if axis is None:
        shape = SCALAR
    elif axis == 0:
        shape = (1, a.shape[1])
    elif axis == 1:
        shape = (a.shape[0], 1)
    else:
        raise MatgradError(f"sum: axis must be 0, 1 or None, not {axis!r}")
    return make("sum", (a,), (axis,), shape)


def _size_expr(a: Expr, axis=None) -> Expr:
    r, c = a.shape
    if axis == 0:
        return dim_value(r)
    if axis == 1:
        return dim_value(c)
    if r == 1:
        return dim_value(c)
    if c == 1:
        return dim_value(r)
    return mul(dim_value(r), dim_value(c))


def mean(a, axis=None) -> Expr:
    """Mean of all entries (or along an axis), as a sum divided by the count; shapes as
    in `sum`.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.mean(X), mg.mean(X, axis=0).shape
    (sum(X) / (m · n), (1, n))
    """
    a = to_expr(a)
    return div(sum(a, axis), _size_expr(a, axis))


def _vector(a: Expr, what: str) -> None:
    if a.shape[1] != 1:
        raise ShapeError(f"{what}: {_short(a)} is {fmt_shape(a.shape)}, not a column vector")


def outer(a, b) -> Expr:
    """The outer product a bᵀ of column vectors: lengths m and n give an m×n matrix.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> u, x = mg.vector("u", m), mg.vector("x", n)
    >>> mg.outer(u, x), mg.outer(u, x).shape
    (u xᵀ, (m, n))
    """
    a, b = to_expr(a), to_expr(b)
    _vector(a, "outer")
    _vector(b, "outer")
    return matmul(a, transpose(b))


def dot(a, b) -> Expr:
    """The inner product aᵀ b of column vectors of equal length: a scalar.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> x, y = mg.vector("x", n), mg.vector("y", n)
    >>> mg.dot(x, y), mg.dot(x, y).shape
    (xᵀ y, (1, 1))
    >>> mg.dot(x, mg.vector("u", m))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: dot(x, u): lengths n and m differ
    """
    a, b = to_expr(a), to_expr(b)
    _vector(a, "dot")
    _vector(b, "dot")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"dot({_short(a)}, {_short(b)}): lengths {a.shape[0]} and "
                         f"{b.shape[0]} differ")
    return matmul(transpose(a), b)


_DOMAIN_TEXT = {"real": "every real number", "positive": "positive numbers",
                "unit": "numbers strictly between −1 and 1"}


def _elementwise(name):
    """The public constructor of an elementwise function, from its row in the table."""
    row = table()[name]

    def f(*args):
        return fn(name, *args)
    params = [inspect.Parameter("a", inspect.Parameter.POSITIONAL_ONLY)]
    if row.ordered:
        params.insert(0, inspect.Parameter("k", inspect.Parameter.POSITIONAL_ONLY))
    f.__signature__ = inspect.Signature(params)
    call = "k, a" if row.ordered else "a"
    order = (" of a whole order k ≥ 0 (0 is digamma), written first" if row.ordered else "")
    example = "1, " if row.ordered else ""
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"Elementwise {name}({call}){order} ({row.text} in the printed results), "
                 "entry by entry: the shape of its argument.\n\n"
                 f"    Defined and differentiated on {_DOMAIN_TEXT[row.domain]}.\n\n"
                 "    >>> import matgrad as mg\n"
                 f"    >>> mg.{name}({example}mg.matrix('X', 2, 3)).shape\n"
                 "    (2, 3)\n")
    return f


# One line per row of the elementwise table (tests/test_rules.py checks that they are the
# table's rows), written out so that type checkers and editors see each name.
exp = _elementwise("exp")
log = _elementwise("log")
sin = _elementwise("sin")
cos = _elementwise("cos")
tan = _elementwise("tan")
arcsin = _elementwise("arcsin")
arccos = _elementwise("arccos")
arctan = _elementwise("arctan")
sinh = _elementwise("sinh")
cosh = _elementwise("cosh")
tanh = _elementwise("tanh")
arctanh = _elementwise("arctanh")
log1p = _elementwise("log1p")
expm1 = _elementwise("expm1")
erf = _elementwise("erf")
erfc = _elementwise("erfc")
sigmoid = _elementwise("sigmoid")
logsigmoid = _elementwise("logsigmoid")
relu = _elementwise("relu")
abs = _elementwise("abs")  # noqa: A001
sign = _elementwise("sign")
sqrt = _elementwise("sqrt")
softplus = _elementwise("softplus")
heaviside = _elementwise("heaviside")
lgamma = _elementwise("lgamma")
digamma = _elementwise("digamma")
polygamma = _elementwise("polygamma")


# The named operations (trace, det, inv, diag, norm, softmax, ...) are declared in
# matgrad.operations, one declaration each (see matgrad.registry); their constructors are
# part of the language, so they are reachable here as ops.trace, ... too. Imported last:
# the declarations build their rules from the constructors above.
from .operations import (det, diag, inv, logdet, logsumexp, norm, softmax,  # noqa: E402,F401
                         trace, tril, triu)
from .operations import kron, unvec, vec  # noqa: E402,F401
