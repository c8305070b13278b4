"""The matrix exponential: its value, its Fréchet derivative and the Kronecker form,
gradients, Jacobians and Hessians against central differences at random points (sizes
that differ, so that a transpose cannot hide), the closed forms, the generated code on
every backend, and the second derivatives it does not have yet, said so."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad.errors import MatgradError
from matgrad.operations.exponential import (BEYOND_ORDER, MAX_ORDER, expm_value,
                                            frechet_value, jacobian_value)

from .conftest import hessian_check, x64

m, n = mg.dims("m n")
SIZES = {"m": 3, "n": 4}
X = mg.matrix("X", n, n)
B = mg.matrix("B", m, n)
C = mg.matrix("C", n, m)
W = mg.matrix("W", n, n)


def series(a, terms=60):
    """Σ Aᵏ/k! after scaling by 2⁻ˢ, squared back: an independent e^A."""
    s = max(0, int(np.ceil(np.log2(max(np.abs(a).sum(axis=0).max(), 1.0)))) + 2)
    a = a / 2 ** s
    out, term = np.eye(len(a)), np.eye(len(a))
    for k in range(1, terms):
        term = term @ a / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


def values(rng, scale=1.0):
    return {"X": scale * rng.standard_normal((4, 4)), "B": rng.standard_normal((3, 4)),
            "C": rng.standard_normal((4, 3)), "W": rng.standard_normal((4, 4))}


def fd(L, name, vals, direction, h=1e-6):
    up = dict(vals, **{name: vals[name] + h * direction})
    down = dict(vals, **{name: vals[name] - h * direction})
    return (float(mg.evaluate(L, up, SIZES)) - float(mg.evaluate(L, down, SIZES))) / (2 * h)


@settings(max_examples=30, deadline=None, database=None)
@given(st.integers(1, 7), st.floats(0.01, 40.0), st.integers(0, 2 ** 31))
def test_value_matches_the_power_series(size, scale, seed):
    a = np.random.default_rng(seed).standard_normal((size, size))
    a *= scale / max(np.abs(a).sum(axis=0).max(), 1e-300)  # 1-norm `scale`
    want = series(a)
    assert np.allclose(expm_value(a), want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_value_on_known_matrices():
    nilpotent = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
    assert np.allclose(expm_value(nilpotent), np.eye(3) + nilpotent + nilpotent @ nilpotent / 2)
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]]) * 0.7
    assert np.allclose(expm_value(rotation), [[np.cos(0.7), -np.sin(0.7)],
                                              [np.sin(0.7), np.cos(0.7)]])
    assert np.allclose(expm_value(np.zeros((3, 3))), np.eye(3), rtol=0, atol=1e-15)


@settings(max_examples=20, deadline=None, database=None)
@given(st.integers(1, 6), st.integers(0, 2 ** 31))
def test_frechet_derivative_and_kronecker_form_match_differences(size, seed):
    rng = np.random.default_rng(seed)
    a, e = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    h = 1e-6
    want = (expm_value(a + h * e) - expm_value(a - h * e)) / (2 * h)
    got = frechet_value(a, e)
    assert np.allclose(got, want, rtol=1e-6, atol=1e-7)
    # vec stacks columns: vec L(A, E) = K(A) vec E
    assert np.allclose(jacobian_value(a) @ e.reshape(-1, order="F"),
                       got.reshape(-1, order="F"), rtol=1e-9, atol=1e-10)


def test_gradient_of_the_trace_is_the_transposed_exponential():
    G = mg.grad(mg.trace(mg.expm(X)), X)
    assert str(G) == "expm(X)ᵀ"
    rng = np.random.default_rng(0)
    for _ in range(3):
        vals = values(rng)
        V = rng.standard_normal((4, 4))
        claimed = float(np.sum(np.asarray(mg.evaluate(G, vals, SIZES)) * V))
        assert np.isclose(claimed, fd(mg.trace(mg.expm(X)), "X", vals, V), rtol=1e-6)


@pytest.mark.parametrize("scale", [0.3, 1.0, 3.0])
def test_gradients_through_expm_match_central_differences(scale):
    """tr(B e^X C) and ‖e^X‖²: m ≠ n, so a transposed gradient fails."""
    rng = np.random.default_rng(int(scale * 10))
    for L in (mg.trace(B @ mg.expm(X) @ C), mg.sum(mg.expm(X) ** 2),
              mg.sum(mg.expm(X.T @ W) * W)):
        for wrt in (X, W) if "W" in str(L) else (X,):
            G = mg.grad(L, wrt)
            vals = values(rng, scale)
            V = rng.standard_normal((4, 4))
            claimed = float(np.sum(np.asarray(mg.evaluate(G, vals, SIZES)) * V))
            want = fd(L, wrt.name, vals, V)
            assert np.isclose(claimed, want, rtol=1e-5, atol=1e-7), (str(L), str(G))
        assert mg.verify(L, [X], [mg.grad(L, X)]).ok


def test_gradient_reads_as_the_frechet_derivative_at_the_transpose():
    G = mg.grad(mg.trace(B @ mg.expm(X) @ C), X)
    assert str(G) == "expm_frechet(Xᵀ, Bᵀ Cᵀ)"


def test_steps_show_the_frechet_derivative_and_every_line_is_true():
    d = mg.derive(mg.trace(B @ mg.expm(X) @ C), X)
    text = str(d)
    assert "expm_frechet(X, dX)" in text and "Fréchet" in text
    errors = d.verify(points=3)
    assert errors and max(errors) <= 1e-6, errors


def test_jacobian_is_the_kronecker_form():
    J = mg.jacobian(mg.expm(X), X)
    rng = np.random.default_rng(3)
    vals = values(rng)
    K = np.asarray(mg.evaluate(J, vals, SIZES), dtype=float).reshape(16, 16)
    V = rng.standard_normal((4, 4))
    h = 1e-6
    want = (expm_value(vals["X"] + h * V) - expm_value(vals["X"] - h * V)) / (2 * h)
    assert np.allclose(K @ V.reshape(-1), want.reshape(-1), rtol=1e-6, atol=1e-7)
    assert "expm_jacobian(X)" in J.index_notation()


def test_hessian_of_the_trace():
    """∂² tr e^X: the derivative of (e^X)ᵀ, the Kronecker form with its axes swapped."""
    L = mg.trace(mg.expm(X))
    H = mg.hessian(L, X)
    rng = np.random.default_rng(4)
    vals = values(rng)
    Hm = np.asarray(mg.evaluate(H, vals, SIZES), dtype=float).reshape(16, 16)
    V = rng.standard_normal((4, 4))
    G = mg.grad(L, X)
    h = 1e-5
    up = np.asarray(mg.evaluate(G, dict(vals, X=vals["X"] + h * V), SIZES))
    down = np.asarray(mg.evaluate(G, dict(vals, X=vals["X"] - h * V), SIZES))
    assert np.allclose(Hm @ V.reshape(-1), ((up - down) / (2 * h)).reshape(-1),
                       rtol=1e-5, atol=1e-6)
    assert np.allclose(Hm, Hm.T, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hessians_through_the_second_frechet_derivative(seed):
    """∂² of tr(B e^X C), ‖e^X‖² and of e^{XᵀW}: the second Fréchet derivative, as
    expm_block(A, E, A, F, A) + expm_block(A, F, A, E, A), read in index notation
    through its Kronecker form."""
    rng = np.random.default_rng(seed)
    vals = values(rng, 0.7)
    for L, x in ((mg.trace(B @ mg.expm(X) @ C), X), (mg.sum(mg.expm(X) ** 2), X),
                 (mg.sum(mg.expm(X.T @ W) * W), W)):
        hessian_check(L, x, vals, SIZES, rng)


def test_third_derivative_of_a_scalar_exponential():
    """d³/da³ of sum(expm(a A)) = sum(A³ e^{aA}) for a scalar a and a fixed A."""
    a = mg.scalar("a")
    A = mg.matrix("A", n, n)
    rng = np.random.default_rng(8)
    vals = {"a": 0.3, "A": rng.standard_normal((4, 4)) / 2}
    D = mg.derivative(mg.sum(mg.expm(a * A)), a, 3)
    got = float(np.asarray(mg.evaluate(D, vals, SIZES)).reshape(-1)[0])
    A_ = vals["A"]
    assert np.isclose(got, np.sum(A_ @ A_ @ A_ @ expm_value(0.3 * A_)), rtol=1e-7)


def test_a_derivative_beyond_the_largest_order_says_so():
    """An expm_block of the largest order is differentiable in its Cᵢ, not in its Dⱼ."""
    widest = mg.expm_block(X, *([W, X] * MAX_ORDER))
    assert mg.verify(mg.sum(widest), [W], [mg.grad(mg.sum(widest), W)]).ok
    with pytest.raises(MatgradError) as err:
        mg.grad(mg.sum(widest), X)
    assert str(err.value) == BEYOND_ORDER


def test_expm_block_value_is_the_block_of_the_exponential():
    """Distinct block sizes: the (0, 2) block of expm of the 3×3 block-bidiagonal."""
    rng = np.random.default_rng(9)
    p, q, r = (rng.standard_normal((k, k)) for k in (2, 3, 4))
    c1, c2 = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    P, Q, R = mg.matrix("P", 2, 2), mg.matrix("Q", 3, 3), mg.matrix("R", 4, 4)
    C1, C2 = mg.matrix("C1", 2, 3), mg.matrix("C2", 3, 4)
    e = mg.expm_block(P, C1, Q, C2, R)
    got = mg.evaluate(e, {"P": p, "Q": q, "R": r, "C1": c1, "C2": c2})
    big = np.zeros((9, 9))
    big[:2, :2], big[2:5, 2:5], big[5:, 5:] = p, q, r
    big[:2, 2:5], big[2:5, 5:] = c1, c2
    assert np.allclose(got, series(big)[:2, 5:], rtol=1e-10, atol=1e-12)
    with pytest.raises(MatgradError, match="odd number of arguments"):
        mg.expm_block(P, C1, Q, C2)
    with pytest.raises(mg.ShapeError):
        mg.expm_block(P, C2, R)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_generated_code_agrees_with_evaluate(backend):
    if backend != "numpy":
        pytest.importorskip(backend)
    with x64() if backend == "jax" else contextlib.nullcontext():
        _generated_code_agrees(backend)


def _generated_code_agrees(backend):
    L = mg.trace(B @ mg.expm(X) @ C) + mg.sum(mg.expm(X * 3))
    f = mg.compile(L, wrt=[X, B], backend=backend)
    rng = np.random.default_rng(5)
    vals = values(rng)
    args = {k: vals[k] for k in ("X", "B", "C")}
    if backend == "torch":
        import torch
        args = {k: torch.as_tensor(v) for k, v in args.items()}
    value, grads = f(args)
    assert np.isclose(float(np.asarray(value)), float(mg.evaluate(L, vals, SIZES)), rtol=1e-10)
    for x in (X, B):
        want = np.asarray(mg.evaluate(mg.grad(L, x), vals, SIZES))
        assert np.allclose(np.asarray(grads[x.name], dtype=float), want, rtol=1e-9, atol=1e-11)


def test_jacobian_code_on_every_backend():
    for backend in ("numpy", "jax", "torch"):
        if backend != "numpy":
            pytest.importorskip(backend)
        L = mg.sum(mg.expm_jacobian(X) * mg.kron(W, W))
        f = mg.compile(L, wrt=[W], backend=backend)
        vals = values(np.random.default_rng(6))
        args = {"X": vals["X"], "W": vals["W"]}
        if backend == "torch":
            import torch
            args = {k: torch.as_tensor(v) for k, v in args.items()}
        with x64() if backend == "jax" else contextlib.nullcontext():
            value, _ = f(args)
        assert np.isclose(float(np.asarray(value)), float(mg.evaluate(L, vals, SIZES)),
                          rtol=1e-9), backend


def test_text_and_latex_read_back():
    for e in (mg.expm(X), mg.expm_frechet(X, W), mg.expm_jacobian(X)):
        for syntax, printed in (("python", e.to_text(unicode=False)), ("math", e.to_text()),
                                ("latex", e.to_latex())):
            back = mg.parse(printed, shapes="X: n,n; W: n,n", syntax=syntax)
            assert back is e, (syntax, printed)


def test_expm_is_not_the_elementwise_exp_and_needs_a_square_matrix():
    with pytest.raises(mg.ShapeError, match="not square"):
        mg.expm(B)
    vals = values(np.random.default_rng(7))
    assert not np.allclose(np.asarray(mg.evaluate(mg.expm(X), vals, SIZES)),
                           np.exp(vals["X"]))
