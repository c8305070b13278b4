"""Derived gradients inside PyTorch and JAX: custom autograd rules whose backward pass is
matgrad's compiled gradient.

`torch_function(L)` gives a function of tensors built on `torch.autograd.Function`, and
`jax_function(L)` one built on `jax.custom_vjp`. Either computes the value and the
gradients in one compiled pass on the way forward (sharing every intermediate) and
returns cotangent × gradient on the way back, so a training loop can use the derived
gradient wherever it uses the framework's own autodiff. Both need a scalar L.
"""
from __future__ import annotations

from .dims import fmt_shape
from .errors import DomainError, MatgradError
from .expr import Expr, variables


def _scalar_expr(L) -> Expr:
    from .ops import to_expr
    if hasattr(L, "__matgrad_expr__"):
        L = L.__matgrad_expr__()
    L = to_expr(L) if not isinstance(L, Expr) else L
    if L.shape != (1, 1):
        raise DomainError(f"a framework function needs a scalar expression (a loss), but "
                          f"this one is {fmt_shape(L.shape)}")
    return L


def _require(module: str) -> None:
    import importlib.util
    if importlib.util.find_spec(module) is None:
        raise MatgradError(f"this needs {module}: pip install 'matgrad[{module}]'")


def _arguments(names: list, args: tuple) -> tuple:
    """Positional arguments in variable order, from positions or a single dict."""
    if len(args) == 1 and isinstance(args[0], dict):
        values = args[0]
        missing = [n for n in names if n not in values]
        if missing:
            raise MatgradError(f"no value given for {', '.join(missing)}")
        return tuple(values[n] for n in names)
    if len(args) != len(names):
        raise MatgradError(f"expected {len(names)} arguments ({', '.join(names)}), "
                           f"got {len(args)}")
    return args


def torch_function(L, *, definitions: dict | None = None):
    """A function of tensors (one per variable of L, in order of first appearance, or a
    dict by name) returning L as a 0-d tensor, differentiable by `torch.autograd` with
    the derived gradients. Only the gradients that autograd asks for are computed.

    >>> import pytest; torch = pytest.importorskip("torch")
    >>> import matgrad as mg
    >>> x = mg.vector("x", 3)
    >>> f = mg.frameworks.torch_function(mg.sum(x ** 2))
    >>> t = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    >>> f(t).backward(); t.grad
    tensor([2., 4., 6.], dtype=torch.float64)
    """
    L = _scalar_expr(L)
    _require("torch")
    import torch

    from .compile import compile as compile_expr
    names = [v.params[0] for v in variables(L)]
    value_only = compile_expr(L, [], "torch", definitions=definitions)
    by_subset: dict = {}

    def compiled(need: tuple):
        f = by_subset.get(need)
        if f is None:
            f = by_subset[need] = compile_expr(L, list(need), "torch", definitions=definitions)
        return f

    class MatgradFunction(torch.autograd.Function):
        """Forward: value and the requested gradients in one pass; backward: g · ∂L/∂x."""

        @staticmethod
        def forward(ctx, *args):
            need = tuple(n for n, flag in zip(names, ctx.needs_input_grad) if flag)
            value, grads = compiled(need)(dict(zip(names, args)))
            shapes = {n: a.shape for n, a in zip(names, args)}
            ctx.need = need
            ctx.save_for_backward(*(grads[n].reshape(shapes[n]) for n in need))
            return value

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_output):
            saved = dict(zip(ctx.need, ctx.saved_tensors))
            return tuple(grad_output * saved[n] if n in saved else None for n in names)

    def apply(*args):
        args = tuple(a if isinstance(a, torch.Tensor) else torch.as_tensor(a)
                     for a in _arguments(names, args))
        if not torch.is_grad_enabled() or not any(a.requires_grad for a in args):
            return value_only(dict(zip(names, args)))[0]
        return MatgradFunction.apply(*args)

    apply.variables = names
    apply.__doc__ = f"L({', '.join(names)}) with matgrad's derived gradients."
    return apply


def jax_function(L, *, definitions: dict | None = None):
    """A function of JAX arrays (one per variable of L, in order of first appearance)
    returning L, whose derivative (`jax.grad`, `jax.vjp`) is the derived gradient.

    The forward pass computes the value and every gradient in one jit-compiled program;
    under `jax.jit` the gradients nobody asks for are dropped by the compiler.

    >>> import pytest; jax = pytest.importorskip("jax")
    >>> import jax.numpy as jnp, matgrad as mg
    >>> x = mg.vector("x", 3)
    >>> f = mg.frameworks.jax_function(mg.sum(x ** 2))
    >>> jax.grad(f)(jnp.array([1.0, 2.0, 3.0]))
    Array([2., 4., 6.], dtype=float32)
    """
    L = _scalar_expr(L)
    _require("jax")
    import jax
    import jax.numpy  # noqa: F401 - for jax.numpy.asarray below

    from .compile import compile as compile_expr
    names = [v.params[0] for v in variables(L)]
    value_only = compile_expr(L, [], "jax", definitions=definitions)
    both = compile_expr(L, names, "jax", definitions=definitions)

    @jax.custom_vjp
    def f(*args):
        return value_only(dict(zip(names, args)))[0]

    def forward(*args):
        value, grads = both(dict(zip(names, args)))
        return value, tuple(grads[n].reshape(a.shape) for n, a in zip(names, args))

    def backward(grads, cotangent):
        return tuple(cotangent * g for g in grads)

    f.defvjp(forward, backward)

    def call(*args):
        return f(*(jax.numpy.asarray(a) for a in _arguments(names, args)))

    call.variables = names
    call.__doc__ = f"L({', '.join(names)}) with matgrad's derived gradients."
    return call


__all__ = ["jax_function", "torch_function"]
