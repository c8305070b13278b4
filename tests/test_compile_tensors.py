"""Compiled derivatives with more than two axes (index notation only): the generated
einsum code agrees with `matgrad.evaluate` at random points, on every backend installed,
and order-one Jacobians agree with central finite differences of the function itself.

Dimensions have distinct sizes (m=3, n=4, k=5), so a transposed axis cannot hide.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import matgrad as mg
from matgrad.codegen import generate_source

m, n, k = mg.dims("m n k")
X, w = mg.matrix("X", m, n), mg.vector("w", n)
A, B = mg.matrix("A", k, m), mg.matrix("B", n, k)
S, v, s = mg.matrix("S", n, n), mg.vector("v", m), mg.scalar("s")

CASES = {
    # Jacobians of vectors and matrices with respect to matrices
    "d(X w)/dX": lambda: mg.jacobian(X @ w, X),
    "d(X w)/dX denominator": lambda: mg.jacobian(X @ w, X, layout="denominator"),
    "d softmax(X w)/dX": lambda: mg.jacobian(mg.softmax(X @ w), X),
    "d(A X B)/dX": lambda: mg.jacobian(A @ X @ B, X),
    "d inv(S)/dS": lambda: mg.jacobian(mg.inv(S), S),
    "d X^T/dX": lambda: mg.jacobian(X.T, X),
    "d(sum(X) X)/dX": lambda: mg.jacobian(mg.sum(X) * X, X),
    "d colsums(X)/dX": lambda: mg.jacobian(mg.sum(X, axis=0), X),
    # Hessians with respect to matrices
    "H sum(tanh(X))": lambda: mg.hessian(mg.sum(mg.tanh(X)), X),
    "H logdet(S)": lambda: mg.hessian(mg.logdet(S), S),
    "H sum((X w)^2)/m": lambda: mg.hessian(mg.sum((X @ w) ** 2) / m, X),
    # third derivatives: dense sums, and one made of Kronecker deltas alone (six axes)
    "d3 sum(tanh(X w))/dw3": lambda: mg.derivative(mg.sum(mg.tanh(X @ w)), w, 3),
    "d3 sum(X^3)/dX3": lambda: mg.derivative(mg.sum(X ** 3), X, 3),
    # fewer axes, still without a matrix form
    "d2 exp(s v)/ds2": lambda: mg.derivative(mg.exp(s * v), s, 2),
    "d3 s^4/ds3": lambda: mg.derivative(s ** 4, s, 3),
}


def values(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"X": rng.normal(size=(3, 4)), "w": rng.normal(size=4),
            "A": rng.normal(size=(5, 3)), "B": rng.normal(size=(4, 5)),
            "S": rng.normal(size=(4, 4)) + 4 * np.eye(4), "v": rng.normal(size=3),
            "s": float(rng.uniform(0.5, 1.5))}


def backend_context(backend: str):
    """Skip a backend whose library is missing; JAX in double precision."""
    if backend == "numpy":
        return contextlib.nullcontext()
    lib = pytest.importorskip(backend, reason=f"the {backend} extra is not installed "
                                               f"(pip install 'matgrad[{backend}]')")
    if backend == "jax":
        if hasattr(lib, "enable_x64"):
            return lib.enable_x64(True)
        from jax.experimental import enable_x64  # older JAX
        return enable_x64()
    return contextlib.nullcontext()


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_tensor_agrees_with_evaluate(case, backend):
    J = CASES[case]()
    assert J.expr is None  # a result that exists only in index notation
    with backend_context(backend):
        f = mg.compile(J, backend=backend)
        for seed in (0, 1):
            vals = values(seed)
            want = mg.evaluate(J, vals)
            got, grads = f(vals)
            got = np.asarray(got.cpu() if backend == "torch" else got)
            assert grads == {}
            assert got.shape == want.shape == tuple(
                {m: 3, n: 4, k: 5}.get(d, d) for d in J.axes)
            assert np.allclose(got, want, rtol=1e-10, atol=1e-12), case


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith(("d(", "d "))])
def test_compiled_jacobian_matches_finite_differences(case):
    """∂F_(out)/∂X_(in) from the compiled code against central differences of F."""
    J = CASES[case]()
    vals = values(2)
    got, _ = mg.compile(J)(vals)
    x = J.wrt.params[0]
    base = np.asarray(vals[x], dtype=float)
    h = 1e-6
    columns = []
    for idx in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[idx] += h
        down[idx] -= h
        fu = np.asarray(mg.evaluate(J.of, {**vals, x: up}))
        fd = np.asarray(mg.evaluate(J.of, {**vals, x: down}))
        columns.append((fu - fd) / (2 * h))
    fd = np.stack(columns, axis=-1)
    out_axes = fd.ndim - 1
    fd = fd.reshape(fd.shape[:out_axes] + base.shape)
    fd = np.squeeze(fd)  # axes of size one have no index
    if J.layout == "denominator":  # the variable's axes first
        nx = base.ndim
        fd = np.moveaxis(fd, list(range(fd.ndim - nx, fd.ndim)), list(range(nx)))
    assert got.shape == fd.shape
    assert np.allclose(got, fd, rtol=1e-6, atol=1e-7), case


def test_source_computes_each_factor_once_and_builds_no_identity():
    J = mg.hessian(mg.sum(mg.tanh(X)), X)
    src = generate_source(J, None)
    body = src.split('"""')[-1]  # the code, after the docstring
    assert body.count("tanh(") == 1
    assert "eye(" not in src
    assert "H[i_m[:, None], i_n[None, :], i_m[:, None], i_n[None, :]] +=" in src


def test_source_of_a_dense_tensor_is_one_einsum_a_term():
    J = mg.derivative(mg.sum(mg.tanh(X @ w)), w, 3)
    src = generate_source(J, None)
    assert src.count("np.einsum(") == len(J.tensor.terms) == 2
    assert src.count("optimize=True") == 2
    assert "D = (" in src  # the long sum, one term a line
    jax_src = generate_source(J, None, "jax")
    assert jax_src.count("jnp.einsum(") == 2
    assert generate_source(J, None, "torch").count("torch.einsum(") == 2


def test_dimension_sizes_given_when_no_argument_has_them():
    J = mg.jacobian(w, X)  # ∂w/∂X = 0 but X must still be an argument (its sizes)
    got, _ = mg.compile(J)(values(0))
    assert got.shape == (4, 3, 4) and not got.any()


def test_tensor_has_no_gradients_to_ask_for():
    J = mg.jacobian(X @ w, X)
    with pytest.raises(mg.MatgradError, match="value alone"):
        mg.compile(J, wrt=["w"])
    f = mg.compile(J, wrt=[])
    assert np.allclose(f(values(3))[0], mg.evaluate(J, values(3)))
