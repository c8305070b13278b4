"""Numeric evaluation of expressions with NumPy.

Values are given by variable name. A vector may be shape (n,) or (n, 1), a scalar a
float. Each dimension symbol takes its size from the arrays given. Results: a float for a
scalar, shape (n,) for a column vector, 2-D otherwise.
"""
from __future__ import annotations

import functools

import numpy as np

from . import budget, registry
from .dims import Dim, DimProduct, concrete, fmt_shape, settle
from .elementwise import table
from .errors import MatgradError, ShapeError
from .expr import Expr, walk
from .rules import reciprocal_of_norm
from .structure import of as structure_of
from .structure import require as require_structure
from .values import as_float_array


def _as_2d(name: str, value, shape) -> np.ndarray:
    a = as_float_array(name, value)
    r, c = shape
    if a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1:
        if c == 1:
            a = a.reshape(-1, 1)
        elif r == 1:
            a = a.reshape(1, -1)
        else:
            raise ShapeError(f"{name} is a matrix ({r}×{c}) but its value is 1-D, "
                             f"shape {a.shape}")
    elif a.ndim > 2:
        raise ShapeError(f"the value of {name} has {a.ndim} axes; matgrad values have at "
                         "most 2")
    return a


def bind(expr_or_exprs, values: dict, sizes: dict | None = None):
    """(arrays by name, sizes by dimension) for the variables of the expressions."""
    exprs = expr_or_exprs if isinstance(expr_or_exprs, (list, tuple)) else [expr_or_exprs]
    bound: dict = {}
    source: dict = {}
    for d, v in (sizes or {}).items():
        d = d if isinstance(d, Dim) else Dim(str(d))
        bound[d] = int(v)
        source[d] = "the sizes given"
    arrays: dict = {}
    products: list = []  # (size, length, name): checked once the plain dimensions are bound
    for e in exprs:
        for node in walk(e):
            if node.op != "var":
                continue
            name = node.params[0]
            if name not in values:
                raise MatgradError(f"no value given for {name}")
            a = _as_2d(name, values[name], node.shape)
            for axis, (want, got) in enumerate(zip(node.shape, a.shape)):
                if isinstance(want, Dim):
                    if want in bound and bound[want] != got:
                        raise ShapeError(
                            f"dimension {want} is {bound[want]} from {source[want]} but "
                            f"{got} from {name} (shape {a.shape})")
                    bound[want] = got
                    source.setdefault(want, name)
                elif isinstance(want, DimProduct):
                    products.append((want, got, name))
                elif want != got:
                    raise ShapeError(f"{name} must be {fmt_shape(node.shape)}, but "
                                     f"its value has shape {a.shape}")
            require_structure(name, structure_of(node), a)
            arrays[name] = a
    for want, got, name in products:
        settle(want, got, bound, source, name)
    return arrays, bound


def size_of(s, sizes) -> int:
    """The number a size stands for, given the dimensions' sizes."""
    return concrete(s, sizes)


def _sum(a, axis):
    if axis is None:
        return np.reshape(np.sum(a), (1, 1))
    return np.sum(a, axis=axis, keepdims=True)


def _zero_at_kink(node, out, divisor):
    """0 where a norm divided by is 0 (rules.reciprocal_of_norm)."""
    return np.where(divisor == 0, 0.0, out) if reciprocal_of_norm(node) else out


KERNELS = {
    "add": lambda n, a, b: a + b,
    "neg": lambda n, a: -a,
    "mul": lambda n, a, b: a * b,
    "div": lambda n, a, b: _zero_at_kink(n, a / b, b),
    "pow": lambda n, a: _zero_at_kink(n, np.power(a, float(n.params[0])), a),
    "matmul": lambda n, a, b: a @ b,
    "transpose": lambda n, a: a.T,
    "sum": lambda n, a: _sum(a, n.params[0]),
    "fn": lambda n, a: table()[n.params[0]].numpy(a, *n.params[1:]),
}


@functools.cache
def _kernel(op: str):
    """The kernel of operation `op` as a function (node, sizes, *arrays): the arithmetic
    core's, or the declared operation's (given the numbers its size params stand for,
    where it takes sizes). Made once per operation."""
    kernel = KERNELS.get(op)
    if kernel is not None:
        return lambda n, sizes, *arrays: kernel(n, *arrays)
    declared = registry.get(op)
    if declared is None:
        raise MatgradError(f"cannot evaluate the operation {op!r}")
    if declared.sizes:
        given = len(declared.sizes)
        return lambda n, sizes, *arrays: declared.kernel(
            tuple(concrete(s, sizes) for s in n.params[:given]) + n.params[given:], *arrays)
    return lambda n, sizes, *arrays: declared.kernel(n.params, *arrays)


class _Diagonal:
    """diag(d) kept as its diagonal: diag(h) X is computed as h ⊙ X, never as an n×n
    product; it becomes a dense matrix only where an operation needs one."""

    __slots__ = ("d",)

    def __init__(self, d: np.ndarray):
        self.d = d


def dense(a):
    """An evaluated value as a plain array (a diagonal kept as its diagonal, made full)."""
    return np.diag(a.d[:, 0]) if isinstance(a, _Diagonal) else a


def _matmul_values(a, b):
    if isinstance(a, _Diagonal) and isinstance(b, _Diagonal):
        return _Diagonal(a.d * b.d)
    if isinstance(a, _Diagonal):
        return a.d * b
    if isinstance(b, _Diagonal):
        return a * b.d.T
    return a @ b


def evaluate_2d(e: Expr, arrays: dict, sizes: dict, cache: dict | None = None) -> np.ndarray:
    """The value of e as a 2-D array, given bound arrays and sizes."""
    vals = cache if cache is not None else {}
    with np.errstate(all="ignore"):
        for node in walk(e):
            if node in vals:
                continue
            op = node.op
            if op == "var":
                out = arrays[node.params[0]]
            elif op == "const":
                out = np.full((1, 1), float(node.params[0]))
            elif op == "dim":
                out = np.full((1, 1), float(size_of(node.params[0], sizes)))
            elif op in ("ones", "zeros"):
                shape = tuple(size_of(s, sizes) for s in node.shape)
                budget.require(node, shape)
                out = np.ones(shape) if op == "ones" else np.zeros(shape)
            elif op == "eye":
                budget.require(node, node.shape, sizes)
                out = np.eye(size_of(node.shape[0], sizes))
            elif op == "broadcast":  # a view, but what uses it allocates its shape
                shape = tuple(size_of(s, sizes) for s in node.shape)
                budget.require(node, shape)
                out = np.broadcast_to(vals[node.children[0]], shape)
            elif op == "diagmat":
                out = _Diagonal(vals[node.children[0]])
            elif op == "matmul":
                a, b = (vals[c] for c in node.children)
                if not (isinstance(a, _Diagonal) and isinstance(b, _Diagonal)):
                    budget.require(node, node.shape, sizes)
                out = _matmul_values(a, b)
            elif op == "transpose" and isinstance(vals[node.children[0]], _Diagonal):
                out = vals[node.children[0]]
            elif op == "diagvec" and isinstance(vals[node.children[0]], _Diagonal):
                out = vals[node.children[0]].d
            else:
                kernel = _kernel(op)
                budget.require(node, node.shape, sizes)
                out = kernel(node, sizes, *(dense(vals[c]) for c in node.children))
            vals[node] = out
    return dense(vals[e])


def to_user(e: Expr, a: np.ndarray):
    """The user-facing form: float for a scalar, 1-D for a column vector."""
    if e.shape == (1, 1):
        return float(a[0, 0])
    if e.shape[1] == 1:
        return np.array(a[:, 0])
    return np.array(a)


def evaluate(expr: Expr, values: dict, sizes: dict | None = None):
    """The value of an expression at the given variable values.

    >>> import numpy as np, matgrad as mg
    >>> A, x = mg.matrix("A", 2, 2), mg.vector("x", 2)
    >>> mg.evaluate(x.T @ A @ x, {"A": np.eye(2), "x": [3.0, 4.0]})
    25.0

    A derivative result (`matgrad.jacobian`, `matgrad.hessian`) evaluates itself: its
    full array, with one axis per index where it is a tensor.
    """
    from .ops import to_expr
    own = getattr(expr, "__matgrad_evaluate__", None)
    if own is not None and not isinstance(expr, Expr):
        return own(values, sizes)
    expr = to_expr(expr)
    arrays, bound = bind(expr, values, sizes)
    return to_user(expr, evaluate_2d(expr, arrays, bound))
