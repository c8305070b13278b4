"""The PyTorch printer: `torch` code, with PyTorch's own fused kernels.

The function takes tensors (on any device) and returns tensors on the same device; it
records no autograd graph of its own: the gradients are the derived ones.
"""
from __future__ import annotations

from .array_api import ArrayApiPrinter
from .printer import ATOM

HELPERS = {
    "add_diagonal": '''def add_diagonal(a, d):
    """a + diag(d) for a computed for this alone: written into its diagonal."""
    torch.diagonal(a).add_(d.reshape(-1))
    return a
''',
}


class TorchPrinter(ArrayApiPrinter):
    backend = "torch"
    ns = "torch"
    family = ("torch", "numpy")
    helpers = HELPERS
    imports = ("import torch",)

    def namespace_lines(self, args: list) -> list:
        return []

    def default_namespace(self) -> list:
        return []

    def reference_lines(self, ref: str | None) -> list:
        if ref is None:
            ref_dtype, ref_device = "torch.get_default_dtype()", "None"
        else:
            ref_dtype, ref_device = f"{ref}.dtype", f"{ref}.device"
        parts = []
        if self.needs_dtype:
            parts.append(("dtype", ref_dtype))
        if self.needs_device:
            parts.append(("device", ref_device))
        if not parts:
            return []
        return [f"{', '.join(p[0] for p in parts)} = {', '.join(p[1] for p in parts)}"]

    def as_array(self, text: str) -> str:
        return f"torch.as_tensor({text}, dtype={self.dtype()}, device={self.device()})"

    def helper_args(self) -> list:
        return []

    def to_scalar(self, text):
        return f"({text}).reshape(())", ATOM

    def sum_kw(self, axis) -> list:
        return [f"dim={axis}", "keepdim=True"]

    def fn_heaviside(self, x):
        text = self.array_arg(x)
        if text.isidentifier():
            return f"({text} > 0).to({text}.dtype)", ATOM
        return f"(({text}) > 0).to({self.dtype()})", ATOM


