"""The JAX and PyTorch backends, array-API code on PyTorch tensors, and the framework
wrappers (`torch.autograd.Function`, `jax.custom_vjp`) checked against the frameworks'
own autodiff.

Each backend's tests skip, saying which extra to install, only where that extra is
missing; `make test` installs them all.
"""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.example import SHAPES, SOURCE, WRT
from matgrad.expr import dimensions
from matgrad.frameworks import jax_function, torch_function
from matgrad.verify import sample

from .conftest import x64

SIZES = {"m": 7, "n": 4, "k": 3}
CASES = [
    ("sum((relu(X @ w + b) - y)**2) / m", "X: m,n; w: n; b: scalar; y: m", "w,b,X"),
    ("x.T @ A @ x + trace(inv(A) @ B) + logdet(A)", "x: n; A: n,n; B: n,n", "x,A,B"),
    ("sum(softplus(X @ w) - y * (X @ w)) / m + norm(w)", "X: m,n; w: n; y: m", "w"),
    ("logsumexp(W @ x) + sum(softmax(W @ x) * y)", "W: k,n; x: n; y: k", "W,x"),
    ("sum(sigmoid(X @ w) * tanh(X @ w)) + sum(sum(X, axis=0) ** 2)", "X: m,n; w: n", "X,w"),
    ("trace(A @ B @ C) + sum(exp(diag(C @ A @ B)))", "A: n,m; B: m,k; C: k,n", "A,B,C"),
    ("sum((W2 @ tanh(W1 @ x + b1) - y)**2) + sum(ones(k) * b1)",
     "W1: k,n; W2: m,k; x: n; b1: k; y: m", "W1,W2,b1,x"),
]
IDS = [c[0][:40] for c in CASES]


def torch_or_skip():
    return pytest.importorskip("torch", reason="the torch extra is not installed "
                                               "(pip install 'matgrad[torch]')")


def jax_or_skip():
    return pytest.importorskip("jax", reason="the jax extra is not installed "
                                             "(pip install 'matgrad[jax]')")


def setup(text, shapes, wrt, seed=0):
    p = mg.parse_program(text, shapes)
    L, names = p.result, wrt.split(",")
    grads = mg.gradients(L, names)
    sizes = {d: SIZES[d.name] for e in [L, *grads] for d in dimensions(e)}
    values, _ = sample([L, *grads], np.random.default_rng(seed), sizes)
    return p, names, grads, values


def assert_agree(value, got, L, names, grads, values, rtol=1e-9):
    assert np.isclose(np.asarray(value), mg.evaluate(L, values), rtol=rtol, atol=rtol)
    for x, G in zip(names, grads):
        want = mg.evaluate(G, values)
        have = np.asarray(got[x])
        assert have.shape == np.shape(want), x
        assert np.allclose(have, want, rtol=rtol, atol=rtol), x


# ---- compiled backends against evaluate ---------------------------------------------------

@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=IDS)
def test_torch_backend_agrees_with_evaluate(text, shapes, wrt):
    torch = torch_or_skip()
    p, names, grads, values = setup(text, shapes, wrt)
    f = mg.compile(p.result, names, "torch", definitions=p.definitions)
    tensors = {k: torch.as_tensor(v) for k, v in values.items()}
    value, got = f(tensors)
    assert isinstance(value, torch.Tensor) and value.dtype == torch.float64
    assert_agree(value, {k: g.numpy() for k, g in got.items()}, p.result, names, grads, values)


@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=IDS)
def test_jax_backend_agrees_with_evaluate(text, shapes, wrt):
    jax_or_skip()
    p, names, grads, values = setup(text, shapes, wrt)
    with x64():
        f = mg.compile(p.result, names, "jax", definitions=p.definitions)
        value, got = f(values)
        assert_agree(value, got, p.result, names, grads, values)


@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=IDS)
def test_array_api_code_runs_on_torch_tensors(text, shapes, wrt):
    """The "numpy" backend's code is array-API code: torch tensors in, torch tensors out."""
    torch = torch_or_skip()
    p, names, grads, values = setup(text, shapes, wrt)
    f = mg.compile(p.result, names, "numpy", definitions=p.definitions)
    value, got = f({k: torch.as_tensor(v) for k, v in values.items()})
    assert all(isinstance(g, torch.Tensor) for g in got.values())
    assert_agree(value, {k: g.numpy() for k, g in got.items()}, p.result, names, grads, values)


def test_jax_backend_is_jitted_and_keeps_float32():
    jax_or_skip()
    import jax.numpy as jnp
    p, names, grads, values = setup(SOURCE, SHAPES, ",".join(WRT))
    f = mg.compile(p.result, list(WRT), "jax", definitions=p.definitions)
    value, got = f({k: jnp.asarray(v, dtype=jnp.float32) for k, v in values.items()})
    assert got["X"].dtype == jnp.float32
    assert_agree(value, got, p.result, names, grads, values, rtol=1e-4)


def test_torch_backend_keeps_tensors_where_they_are():
    torch = torch_or_skip()
    p, names, grads, values = setup(SOURCE, SHAPES, ",".join(WRT))
    f = mg.compile(p.result, list(WRT), "torch")
    tensors = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in values.items()}
    value, got = f(tensors)
    assert all(g.dtype == torch.float32 and g.device == tensors["X"].device
               for g in got.values())
    # relu(z) = z ⊙ mask: one comparison serves the loss and the gradient
    assert "torch.relu" not in f.source and f.source.count("> 0") == 1
    assert_agree(value, {k: g.numpy() for k, g in got.items()}, p.result, names, grads,
                 values, rtol=1e-4)


# ---- the framework wrappers against the frameworks' own autodiff -------------------------

def torch_reference(p, values, torch):
    """Gradients by PyTorch autograd through the generated forward pass."""
    forward = mg.compile(p.result, [], "torch")
    names = list(forward.variables)
    leaves = {k: torch.as_tensor(values[k]).clone().requires_grad_(True) for k in names}
    value = forward(leaves)[0]
    grads = torch.autograd.grad(value, [leaves[k] for k in names])
    return value, dict(zip(names, grads))


@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=IDS)
def test_torch_function_matches_torch_autograd(text, shapes, wrt):
    torch = torch_or_skip()
    p, _, _, values = setup(text, shapes, wrt)
    f = torch_function(p.result, definitions=p.definitions)
    ref_value, ref_grads = torch_reference(p, values, torch)
    leaves = {k: torch.as_tensor(values[k]).clone().requires_grad_(True) for k in f.variables}
    value = f(leaves)
    value.backward()
    assert torch.allclose(value, ref_value)
    for k in f.variables:
        assert torch.allclose(leaves[k].grad, ref_grads[k], rtol=1e-9, atol=1e-10), k


def test_torch_function_passes_gradcheck_and_computes_only_what_is_asked():
    torch = torch_or_skip()
    p, _, _, values = setup(SOURCE, SHAPES, ",".join(WRT))
    f = torch_function(p.result)
    args = [torch.as_tensor(values[k]).clone() for k in f.variables]
    args[f.variables.index("w")].requires_grad_(True)
    args[f.variables.index("b")].requires_grad_(True)
    assert torch.autograd.gradcheck(f, args)
    # a scaled cotangent: backward multiplies by it
    out = 3.0 * f(*args)
    gw, = torch.autograd.grad(out, [args[f.variables.index("w")]])
    ref = torch_reference(p, values, torch)[1]["w"].reshape(gw.shape)
    assert torch.allclose(gw, 3.0 * ref)
    with torch.no_grad():
        assert torch.isclose(f(*args), torch.as_tensor(mg.evaluate(p.result, values),
                                                       dtype=torch.float64))


def test_torch_function_in_an_optimiser_step():
    """One SGD step with the derived gradient equals one step with autograd's."""
    torch = torch_or_skip()
    p, _, _, values = setup(SOURCE, SHAPES, ",".join(WRT))
    f = torch_function(p.result)
    data = {k: torch.as_tensor(values[k]) for k in ("X", "y")}
    steps = {}
    for how in ("matgrad", "autograd"):
        w = torch.as_tensor(values["w"]).clone().requires_grad_(True)
        b = torch.as_tensor(values["b"]).clone().requires_grad_(True)
        opt = torch.optim.SGD([w, b], lr=0.1)
        if how == "matgrad":
            loss = f({"X": data["X"], "w": w, "b": b, "y": data["y"]})
        else:
            loss = torch.mean((torch.relu(data["X"] @ w + b) - data["y"]) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps[how] = (w.detach(), b.detach())
    assert torch.allclose(steps["matgrad"][0], steps["autograd"][0])
    assert torch.allclose(steps["matgrad"][1], steps["autograd"][1])


@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=IDS)
def test_jax_function_matches_jax_autodiff(text, shapes, wrt):
    jax = jax_or_skip()
    p, _, _, values = setup(text, shapes, wrt)
    with x64():
        f = jax_function(p.result, definitions=p.definitions)
        forward = mg.compile(p.result, [], "jax")
        names = f.variables
        args = [jax.numpy.asarray(values[k]) for k in names]

        def reference(*a):
            return forward(dict(zip(names, a)))[0]

        argnums = tuple(range(len(names)))
        ours = jax.jit(jax.grad(f, argnums=argnums))(*args)
        theirs = jax.grad(reference, argnums=argnums)(*args)
        assert np.isclose(f(*args), reference(*args))
        for k, a, b in zip(names, ours, theirs):
            assert np.allclose(a, b, rtol=1e-9, atol=1e-10), k


def test_jax_function_vjp_scales_by_the_cotangent():
    jax = jax_or_skip()
    p, _, _, values = setup(SOURCE, SHAPES, ",".join(WRT))
    with x64():
        f = jax_function(p.result)
        args = [jax.numpy.asarray(values[k]) for k in f.variables]
        value, vjp = jax.vjp(f, *args)
        scaled = vjp(jax.numpy.asarray(2.5))
        plain = jax.grad(f, argnums=tuple(range(len(args))))(*args)
        for s, g in zip(scaled, plain):
            assert np.allclose(s, 2.5 * g)


def test_framework_functions_need_a_scalar():
    m, n = mg.dims("m n")
    X, w = mg.matrix("X", m, n), mg.vector("w", n)
    with pytest.raises(mg.DomainError, match="scalar"):
        torch_function(X @ w)
    with pytest.raises(mg.DomainError, match="scalar"):
        jax_function(X @ w)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_repeated_calls_with_the_backends_own_arrays_agree(backend):
    """The second call with arrays of checked shapes skips the checks: same numbers, and
    a call with other shapes is still checked."""
    lib = torch_or_skip() if backend == "torch" else jax_or_skip()
    p, names, grads, values = setup(SOURCE, SHAPES, ",".join(WRT), seed=2)
    as_array = (lambda v: lib.as_tensor(np.asarray(v, dtype=float))) if backend == "torch" \
        else (lambda v: lib.numpy.asarray(v))
    context = x64() if backend == "jax" else __import__("contextlib").nullcontext()
    with context:
        f = mg.compile(p.result, names, backend, definitions=p.definitions)
        given = {k: as_array(v) for k, v in values.items()}
        first_value, first = f(given)
        assert f._checked, "arrays of the backend's own library are remembered"
        for seed in (2, 3):
            _, _, _, values = setup(SOURCE, SHAPES, ",".join(WRT), seed=seed)
            value, got = f({k: as_array(v) for k, v in values.items()})
            assert_agree(value, {k: np.asarray(g) for k, g in got.items()},
                         p.result, names, grads, values)
        bad = dict(given, w=as_array(np.ones(5)))
        with pytest.raises(mg.ShapeError, match="dimension n"):
            f(bad)
