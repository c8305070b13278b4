"""Checking claimed gradients: each verdict, its message, and its counterexample."""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.example import program
from matgrad.numeric import evaluate_2d

P = program()
H = "heaviside(z) * (yhat - y)"


def verdict(x, claim):
    return mg.check(P.result, x, claim, definitions=P.definitions)


@pytest.mark.parametrize("x,claim", [
    ("X", f"2/m * ({H}) @ w.T"),
    ("X", "2/m * diag(heaviside(z)) @ (yhat - y) @ w.T"),
    ("X", f"outer(2 * ({H}), w) / m"),
    ("X", "2/m * ((relu(X @ w + b) - y) * heaviside(X @ w + b)) @ w.T"),
    ("w", f"2/m * X.T @ ({H})"),
    ("w", f"2 * X.T @ ({H}) / m"),
    ("b", f"2/m * sum({H})"),
    ("b", f"2 * mean({H})"),
])
def test_correct_however_written(x, claim):
    r = verdict(x, claim)
    assert r.verdict == "correct", r.message
    assert r.ok and r.message.startswith("correct:")
    assert r.expected is mg.grad(P.result, x)


@pytest.mark.parametrize("x,claim", [
    ("X", f"2/m * w @ ({H}).T"),
    ("X", f"(2/m * ({H}) @ w.T).T"),
    ("w", f"2/m * ({H}).T @ X"),
    ("w", f"(2/m * X.T @ ({H})).T"),
])
def test_transposed_layout(x, claim):
    r = verdict(x, claim)
    assert r.verdict == "transposed", r.message
    assert "transpose" in r.message and "numerator" in r.message and "denominator" in r.message


def test_transposed_square_matrix():
    n, = mg.dims("n")
    A, B = mg.matrix("A", n, n), mg.matrix("B", n, n)
    assert mg.check(mg.trace(A @ B), A, "B").verdict == "transposed"
    assert mg.check(mg.trace(A @ B), A, "B.T").verdict == "correct"
    assert mg.check(mg.trace(A @ B), A, "B + B.T").verdict == "wrong-value"


def test_the_classic_failure_is_a_wrong_shape_with_the_tensor_explained():
    r = verdict("X", "2/m * (yhat - y).T @ diag(heaviside(z)) @ w")
    assert r.verdict == "wrong-shape"
    msg = r.message
    assert "(1×m)(m×m) times n×1: inner dimensions m and n differ" in msg
    assert "∂L/∂X must be m×n, the shape of X" in msg
    assert "∂z/∂X is a third-order tensor" in msg
    assert "cannot be a product of matrices" in msg
    assert "g wᵀ : dX" in msg and "dz = dX w" in msg  # the differential route
    assert r.claim is None


@pytest.mark.parametrize("x,claim,shape", [
    ("X", "2/m * (yhat - y).T @ diag(heaviside(z))", "1×m"),
    ("X", f"2/m * ({H})", "m×1"),
    ("w", f"2/m * ({H}).T @ X @ w", "scalar"),
    ("b", f"2/m * ({H})", "m×1"),
    ("X", f"2/m * X.T @ ({H}) @ w.T", "n×n"),
])
def test_wrong_shape_names_both_shapes(x, claim, shape):
    r = verdict(x, claim)
    assert r.verdict == "wrong-shape", r.message
    assert shape in r.message
    want = {"X": "m×n", "w": "n×1", "b": "scalar"}[x]
    assert f"must be {want}" in r.message


def test_wrong_shape_layout_and_value():
    r = verdict("X", f"3/m * w @ ({H}).T")  # transposed shape, and a wrong factor
    assert r.verdict == "wrong-shape"
    assert "even transposed it is not the gradient" in r.message


@pytest.mark.parametrize("x,claim,hint", [
    ("X", f"4/m * ({H}) @ w.T", "2 times"),            # a factor of 2
    ("X", f"1/m * ({H}) @ w.T", "1/2 times"),
    ("X", f"-2/m * ({H}) @ w.T", "-1 times"),          # a sign
    ("X", "2/m * (yhat - y) @ w.T", "Heaviside"),      # the relu factor forgotten
    ("w", "2/m * X.T @ (yhat - y)", "Heaviside"),
    ("X", f"2/m * ({H}) @ w.T + X", None),
])
def test_wrong_value_with_a_counterexample(x, claim, hint):
    r = verdict(x, claim)
    assert r.verdict == "wrong-value", r.message
    if hint:
        assert hint in r.message
    assert "The correct answer" in r.message
    ce = r.counterexample
    # the counterexample is real: recompute both directional derivatives here
    name = x
    values = dict(ce.point)
    sizes = {mg.Dim(k): v for k, v in ce.sizes.items()}
    C = evaluate_2d(r.claim, values, sizes)
    G = evaluate_2d(r.expected, values, sizes)
    assert np.isclose(np.sum(np.broadcast_to(C, G.shape) * ce.direction), ce.claimed)
    assert np.isclose(np.sum(G * ce.direction), ce.true)
    h = 1e-6
    up, down = dict(values), dict(values)
    up[name] = values[name] + h * ce.direction
    down[name] = values[name] - h * ce.direction
    fd = (evaluate_2d(P.result, up, sizes) - evaluate_2d(P.result, down, sizes))[0, 0] / (2 * h)
    assert np.isclose(fd, ce.true, rtol=1e-5)
    assert not np.isclose(ce.claimed, ce.true, rtol=1e-6)


def test_loss_as_text_and_intermediates_by_name():
    r = mg.check("z = X @ w; L = sum(z**2)", "w", "2 * X.T @ z", shapes="X: m,n; w: n")
    assert r.verdict == "correct"
    r = mg.check("z = X @ w; L = sum(z**2)", "w", "X.T @ z", shapes="X: m,n; w: n")
    assert r.verdict == "wrong-value" and "1/2 times" in r.message


def test_bad_claims_are_errors_not_verdicts():
    with pytest.raises(mg.ParseError) as err:
        verdict("X", "2/m * q @ w.T")
    assert "q" in str(err.value) and "^" in str(err.value)
    with pytest.raises(mg.ParseError):
        verdict("X", "2/m * (yhat - y @ w.T")
    with pytest.raises(mg.ParseError):
        verdict("X", "__import__('os')")
    with pytest.raises(mg.MatgradError):
        verdict("X", 42)


def test_a_correct_verdict_defines_the_names_it_uses():
    """The stated gradient may use a name the derivation gave (z = Xᵀ X); it is
    defined in the same message."""
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    r = mg.check(mg.logdet(X.T @ X), X, "2 * X @ inv(X.T @ X)")
    assert r.verdict == "correct"
    assert "z⁻¹" not in r.message or "where z = Xᵀ X" in r.message
