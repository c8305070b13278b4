"""The array-API printer: the "numpy" backend, whose code runs on any compliant arrays.

Generated code asks `array_api_compat` for the namespace of its arguments and calls only
functions of the array API standard, so one function runs on NumPy, CuPy, PyTorch and
Dask arrays (and JAX's). Functions the standard lacks (sigmoid, softplus, the error
function, a guarded log-determinant) are small helpers written out next to the function.
"""
from __future__ import annotations

import numpy as np

from ..dims import SCALAR
from ..elementwise import table
from .printer import CodePrinter
from .schedule import is_number

HELPERS = {
    "sigmoid": '''def sigmoid(xp, x):
    """The logistic function 1 / (1 + exp(-x)), without overflow."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
''',
    "softplus": '''def softplus(xp, x):
    """log(1 + exp(x)), without overflow."""
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))
''',
    "logsigmoid": '''def logsigmoid(xp, x):
    """log(1 / (1 + exp(-x))), without overflow."""
    return xp.minimum(x, 0.0) - xp.log1p(xp.exp(-xp.abs(x)))
''',
    # The array API has no error or gamma functions: SciPy's ufuncs (which NumPy, Dask and
    # CuPy arrays dispatch), imported where used, so that code without them needs no SciPy.
    "erf": '''def erf(xp, x):
    """The error function, entry by entry."""
    import scipy.special
    return xp.asarray(scipy.special.erf(x))
''',
    "erfc": '''def erfc(xp, x):
    """The complementary error function 1 - erf(x), entry by entry."""
    import scipy.special
    return xp.asarray(scipy.special.erfc(x))
''',
    "lgamma": '''def lgamma(xp, x):
    """log Γ(x), entry by entry."""
    import scipy.special
    return xp.asarray(scipy.special.gammaln(x))
''',
    "digamma": '''def digamma(xp, x):
    """ψ(x) = d/dx log Γ(x), entry by entry."""
    import scipy.special
    return xp.asarray(scipy.special.digamma(x))
''',
    "polygamma": '''def polygamma(xp, k, x):
    """ψ⁽ᵏ⁾(x), the k-th derivative of ψ, entry by entry."""
    import scipy.special
    return xp.asarray(scipy.special.polygamma(k, x))
''',
    "add_diagonal": '''def add_diagonal(xp, a, d):
    """a + diag(d) for a square a computed for this alone: written into a's diagonal
    where the array library allows it (NumPy, CuPy, PyTorch), else with an identity."""
    n = a.shape[0]
    d = xp.reshape(d, (n,))
    if (array_api_compat.is_numpy_array(a) or array_api_compat.is_cupy_array(a)
            or array_api_compat.is_torch_array(a)):
        i = xp.arange(n)
        a[i, i] += d
        return a
    return a + xp.eye(n, dtype=a.dtype) * xp.reshape(d, (1, n))
''',
}


class ArrayApiPrinter(CodePrinter):
    backend = "numpy"
    family = ("numpy",)
    ns = "xp"
    helpers = HELPERS
    imports = ("import array_api_compat",)

    def namespace_lines(self, args: list) -> list:
        return [f"xp = array_api_compat.array_namespace({', '.join(args)})"]

    def default_namespace(self) -> list:
        """Without array arguments: NumPy, in double precision."""
        return ["xp = array_api_compat.numpy"]

    def reference_lines(self, ref: str | None) -> list:
        if ref is None:
            return ["dtype, device = xp.float64, None"] if self.needs_dtype else []
        parts = []
        if self.needs_dtype:
            parts.append(("dtype", f"{ref}.dtype"))
        if self.needs_device:
            parts.append(("device", f"array_api_compat.device({ref})"))
        if not parts:
            return []
        return [f"{', '.join(p[0] for p in parts)} = {', '.join(p[1] for p in parts)}"]

    def to_scalar(self, text):
        return self.call("xp.reshape", text, "()")

    def sum_kw(self, axis) -> list:
        return [f"axis={axis}", "keepdims=True"]

    def _print_sum(self, e):
        (x,), (axis,) = e.children, e.params
        if e.shape == (1, 1) or axis is None:
            return self.call(self.fn("sum"), self.array_arg(x))
        return self.call(self.fn("sum"), self.arg(x), *self.sum_kw(axis))

    def linalg(self, name: str) -> str:
        return f"{self.ns}.linalg.{name}"

    def _print_solve(self, e):
        a, b = e.children
        return self.call(self.linalg("solve"), self.arg(a), self.arg(b))

    def _print_add_diagonal(self, e):
        a, d = e.children
        return self.call(self.helper("add_diagonal"), *self.helper_args(), self.arg(a),
                         self.arg(d))

    def _print_eye(self, e):
        return self.call(self.fn("eye"), self.size(e.shape[0]), *self.creation_kw())

    def helper_args(self) -> list:
        return ["xp"]

    # ---- elementwise functions without a standard name --------------------------------
    def fn_relu(self, x):
        return self.call(self.fn("maximum"), self.array_arg(x), "0.0")

    def fn_heaviside(self, x):
        text = self.array_arg(x)
        if text.isidentifier():
            return self.call(self.fn("astype"), f"{text} > 0", f"{text}.dtype")
        return self.call(self.fn("astype"), f"({text}) > 0", self.dtype())


    # ---- writing an output into a caller's NumPy array ----------------------------------
    def statement_into(self, node, target: str) -> str | None:
        """NumPy code computing node straight into the array `target` (a ufunc or matmul
        with `out=`, so no fresh result is allocated), or None where node's last
        operation has no such form. NumPy only: the array API has no `out=`."""
        if node.shape == SCALAR or node.op == "var" or is_number(node, self.plan.numbers):
            return None
        op = node.op
        if op in UFUNCS:
            a, b = self.operands(node)
            name = UFUNCS[op]
            if op == "add" and b.op == "neg" and b not in self.plan.names:
                name, b = "subtract", b.children[0]
            return f"np.{name}({self.arg(a)}, {self.arg(b)}, out={target})"
        if op == "neg":
            return f"np.negative({self.arg(node.children[0])}, out={target})"
        if op == "matmul":
            a, b = node.children
            return f"np.matmul({self.arg(a)}, {self.arg(b)}, out={target})"
        if op == "fn" and node.params[0] in UNARY_UFUNCS:
            return f"np.{node.params[0]}({self.arg(node.children[0])}, out={target})"
        if op == "fn" and node.params[0] == "relu":
            return f"np.maximum({self.arg(node.children[0])}, 0.0, out={target})"
        return None


UFUNCS = {"add": "add", "mul": "multiply", "div": "divide"}
# elementwise functions whose NumPy kernel is the ufunc of the same name, which can write
# into an array
UNARY_UFUNCS = frozenset(name for name, row in table().items()
                         if row.numpy is getattr(np, name, None))
