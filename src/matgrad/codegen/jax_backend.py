"""The JAX printer: `jax.numpy` code, with JAX's own fused kernels where it has them.

The function is pure and shape-static, so `jax.jit` compiles the whole value-and-
gradients program into one XLA computation.
"""
from __future__ import annotations

from ..dims import SCALAR
from .array_api import ArrayApiPrinter
from .printer import ATOM, MUL

HELPERS = {
    "add_diagonal": '''def add_diagonal(a, d):
    """a + diag(d), without an identity matrix."""
    i = jnp.arange(a.shape[0])
    return a.at[i, i].add(jnp.reshape(d, (-1,)))
''',
}


class JaxPrinter(ArrayApiPrinter):
    backend = "jax"
    ns = "jnp"
    family = ("jax", "numpy")
    helpers = HELPERS
    imports = ("import jax", "import jax.numpy as jnp")

    def namespace_lines(self, args: list) -> list:
        return []

    def default_namespace(self) -> list:
        return []

    def reference_lines(self, ref: str | None) -> list:
        if not self.needs_dtype:
            return []
        return [f"dtype = {ref}.dtype" if ref else "dtype = jnp.result_type(float)"]

    def creation_kw(self) -> list:
        return [f"dtype={self.dtype()}"]

    def as_array(self, text: str) -> str:
        return f"jnp.asarray({text}, dtype={self.dtype()})"

    def helper_args(self) -> list:
        return []

    def to_scalar(self, text):
        return self.call("jnp.reshape", text, "()")

    def _print_matmul(self, e):
        """Aᵀ v as (vᵀ A)ᵀ: the same numbers, but XLA on the CPU copies the transposed
        matrix for the first form and reads A in place for the second (twice as fast for
        Xᵀ g in the example network's gradient)."""
        a, b = e.children
        if a.op == "transpose" and b.shape[1] == 1 and e.shape != SCALAR:
            return f"({self.wrap(b, ATOM)}.T @ {self.wrap(a.children[0], MUL + 1)}).T", ATOM
        return super()._print_matmul(e)

    def fn_heaviside(self, x):
        text = self.array_arg(x)
        if text.isidentifier():
            return f"({text} > 0).astype({text}.dtype)", ATOM
        return f"(({text}) > 0).astype({self.dtype()})", ATOM


