"""Code generation: derived gradients as plain, fast Python functions.

The pipeline, one module per step:

    outputs (value, gradients) ─lower─▶ cheapest form ─schedule─▶ statements ─print─▶ source

`lower` rewrites for speed (masks shared, outer products as broadcasts, products in the
best order), `contraction` chooses that order, `schedule` computes each common
subexpression once and names it, and one printer per backend (`array_api` for NumPy and
every array-API library, `jax_backend`, `torch_backend`) writes the code; `tensor_source`
writes the einsum code of a derivative that has only an index form (more than two axes).
Only our own expressions are ever printed; no text from a user reaches the generated
source except variable names, which are identifiers by construction.
"""
from __future__ import annotations

from .. import budget
from ..dims import fmt_shape
from ..differentiate import named_gradients
from ..errors import DomainError, MatgradError
from ..expr import Expr, variables, walk
from .backends import BACKENDS
from .source import Generated, generate, printer_class


def derive(L: Expr, wrt=None, *, definitions: dict | None = None):
    """(gradient pairs, intermediate names) for L: [(variable, ∂L/∂variable)] and the
    names of shared intermediates (z, yhat, g), from one reverse pass.

    `wrt=None` means every variable for a scalar L and the value alone otherwise; an
    empty list means the value alone. A Jacobian or Hessian (`matgrad.hessian(L, x)`)
    stands for its matrix form.
    """
    from ..ops import to_expr
    if hasattr(L, "__matgrad_expr__"):  # a Jacobian or Hessian: its matrix form
        L = L.__matgrad_expr__()
    if not isinstance(L, Expr):
        try:
            L = to_expr(L)
        except MatgradError:
            raise MatgradError(f"expected a matgrad expression, not {type(L).__name__}") \
                from None
    definitions = dict(definitions or {})
    for key, e in definitions.items():
        if not isinstance(key, str) or not isinstance(e, Expr):
            raise MatgradError("definitions must map names to matgrad expressions")
        # names are written into the generated code's docstring, which runs: names only
        if not key.isidentifier():
            raise MatgradError(f"the definition name {key!r} is not an identifier")
    hints = {e: n for n, e in definitions.items()}
    if wrt is not None and isinstance(wrt, (Expr, str)):
        wrt = [wrt]
    if (wrt is not None and len(list(wrt)) == 0) or (wrt is None and L.shape != (1, 1)):
        return L, [], hints
    if L.shape != (1, 1):
        raise DomainError(
            f"gradients need a scalar expression, but this one is {fmt_shape(L.shape)}; "
            "compile it with wrt=[] for its value alone")
    named = named_gradients(L, wrt, definitions=definitions)
    names = dict(named.names)
    names.update(hints)
    return L, list(zip(named.wrt, named.gradients)), names


def generate_source(L: Expr, wrt, backend: str = "numpy", *, definitions: dict | None = None,
                    name: str | None = None, sizes: dict | None = None,
                    loss_name: str = "L", into=()) -> str:
    """The readable Python source of a function computing L and its gradients.

    The function takes the variables of L (in order of first appearance) as arrays and
    returns (value, {name: gradient}), computing every shared subexpression once. Its
    docstring names the shapes. The "numpy" backend writes array-API code that runs on
    NumPy, CuPy, PyTorch and Dask arrays; "jax" and "torch" write native code. `into`
    names gradients that the function writes into NumPy arrays passed as keyword
    arguments `out_<name>` (numpy backend, NumPy arrays only).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> print(generate_source(mg.sum((X @ w) ** 2), [w]).split("def ")[1])
    L_and_gradients(X, w):
        \"\"\"The value and gradients of L = sum((X @ w) ** 2).
    <BLANKLINE>
        Arguments (a vector is an n x 1 column, a scalar a 0-d array):
            X: m x n
            w: n x 1
    <BLANKLINE>
        Returns (L, grads):
            L: scalar
            grads["w"]: dL/dw, n x 1
        \"\"\"
        xp = array_api_compat.array_namespace(X, w)
        t1 = X @ w
        L = xp.sum(t1 ** 2)
        dL_dw = 2 * (X.T @ t1)
        return L, {"w": dL_dw}
    <BLANKLINE>
    """
    return build(L, wrt, backend, definitions=definitions, name=name, sizes=sizes,
                 loss_name=loss_name, into=into).source


def build(L: Expr, wrt, backend: str = "numpy", *, definitions=None, name=None, sizes=None,
          loss_name: str = "L", into=(), derived=None) -> Generated:
    """Like `generate_source`, with what a caller needs to run the function. `derived`
    is `derive`'s result for L and wrt, kept by a caller that builds the code again
    (for other sizes), so that it is derived once."""
    printer_class(backend)  # an unknown backend fails before any work
    from .tensor_source import check_tensor_request, generate_tensor, is_tensor
    if is_tensor(L):  # only an index form: its full array, by einsum
        check_tensor_request(wrt, into)
        return generate_tensor(L, backend, name=name, sizes=sizes,
                               loss_name=None if loss_name == "L" else loss_name)
    if derived is None:
        derived = derive(L, wrt, definitions=definitions)
    L, grads, hints = derived
    seen: set = set()
    for out in [L, *(g for _, g in grads)]:  # refuse arrays of literal sizes past the budget
        for node in walk(out, seen):
            seen.add(node)
            budget.require(node, node.shape, sizes)
    arguments = variables(L)
    forward = set(walk(L))
    shown = {n: e for n, e in (definitions or {}).items() if e in forward}
    return generate(L, grads, arguments, backend, loss_name=loss_name, name=name,
                    hints=hints, definitions=shown, sizes=sizes, into=into)


__all__ = ["BACKENDS", "Generated", "build", "derive", "generate", "generate_source"]
