"""Gradient identities from the matrix-calculus literature, checked numerically.

One row per identity: its source, the scalar function in the language, the shapes, the
variable, and the closed form written independently in NumPy. Each row is checked twice:
matgrad's gradient, evaluated at random points with dimensions of distinct sizes, equals
the closed form; and it agrees with central finite differences of the function.

Equation numbers of the Matrix Cookbook are those of its edition of November 15, 2012
(Petersen & Pedersen); "ESL" is Hastie, Tibshirani & Friedman, The Elements of
Statistical Learning (2nd ed.); "DL" is Goodfellow, Bengio & Courville, Deep Learning.
"""
from __future__ import annotations

import zlib
from typing import Callable, NamedTuple

import numpy as np
import pytest

import matgrad as mg
from matgrad.dims import Dim

from .conftest import assert_gradients_match

inv, det, T = np.linalg.inv, np.linalg.det, np.transpose


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


class Identity(NamedTuple):
    source: str
    expr: str
    shapes: str
    wrt: str
    closed: Callable  # values (2-D arrays, vectors as columns) -> the gradient


I = Identity  # noqa: E741 - one letter keeps the table readable

# Shapes use m, n, k, p, h; p < n in every size set below, so that a random n×p matrix
# has full column rank (XᵀCX is invertible).
IDENTITIES = [
    # ---- traces: Matrix Cookbook §2.5 ------------------------------------------------
    I("Matrix Cookbook eq. 99", "trace(X)", "X: n,n", "X",
      lambda v: np.eye(len(v["X"]))),
    I("Matrix Cookbook eq. 100", "trace(X @ A)", "X: m,n; A: n,m", "X",
      lambda v: v["A"].T),
    I("Matrix Cookbook eq. 101", "trace(A @ X @ B)", "A: k,m; X: m,n; B: n,k", "X",
      lambda v: v["A"].T @ v["B"].T),
    I("Matrix Cookbook eq. 102", "trace(A @ X.T @ B)", "A: k,n; X: m,n; B: m,k", "X",
      lambda v: v["B"] @ v["A"]),
    I("Matrix Cookbook eq. 103", "trace(X.T @ A)", "X: m,n; A: m,n", "X",
      lambda v: v["A"]),
    I("Matrix Cookbook eq. 104", "trace(A @ X.T)", "A: m,n; X: m,n", "X",
      lambda v: v["A"]),
    I("Matrix Cookbook eq. 106", "trace(X @ X)", "X: n,n", "X",
      lambda v: 2 * v["X"].T),
    I("Matrix Cookbook eq. 107", "trace(X @ X @ B)", "X: n,n; B: n,n", "X",
      lambda v: (v["X"] @ v["B"] + v["B"] @ v["X"]).T),
    I("Matrix Cookbook eq. 108", "trace(X.T @ B @ X)", "X: m,n; B: m,m", "X",
      lambda v: v["B"] @ v["X"] + v["B"].T @ v["X"]),
    I("Matrix Cookbook eq. 109", "trace(B @ X @ X.T)", "X: m,n; B: m,m", "X",
      lambda v: v["B"] @ v["X"] + v["B"].T @ v["X"]),
    I("Matrix Cookbook eq. 110", "trace(X @ X.T @ B)", "X: m,n; B: m,m", "X",
      lambda v: v["B"] @ v["X"] + v["B"].T @ v["X"]),
    I("Matrix Cookbook eq. 111", "trace(X @ B @ X.T)", "X: m,n; B: n,n", "X",
      lambda v: v["X"] @ v["B"].T + v["X"] @ v["B"]),
    I("Matrix Cookbook eq. 112", "trace(B @ X.T @ X)", "X: m,n; B: n,n", "X",
      lambda v: v["X"] @ v["B"].T + v["X"] @ v["B"]),
    I("Matrix Cookbook eq. 113", "trace(X.T @ X @ B)", "X: m,n; B: n,n", "X",
      lambda v: v["X"] @ v["B"].T + v["X"] @ v["B"]),
    I("Matrix Cookbook eq. 114", "trace(A @ X @ B @ X)", "A: n,m; X: m,n; B: n,m", "X",
      lambda v: v["A"].T @ v["X"].T @ v["B"].T + v["B"].T @ v["X"].T @ v["A"].T),
    I("Matrix Cookbook eq. 115", "trace(X.T @ X)", "X: m,n", "X",
      lambda v: 2 * v["X"]),
    I("Matrix Cookbook eq. 116", "trace(B.T @ X.T @ C @ X @ B)", "X: m,n; C: m,m; B: n,k",
      "X", lambda v: (v["C"].T + v["C"]) @ v["X"] @ v["B"] @ v["B"].T),
    I("Matrix Cookbook eq. 117", "trace(X.T @ B @ X @ C)", "X: m,n; B: m,m; C: n,n", "X",
      lambda v: v["B"] @ v["X"] @ v["C"] + v["B"].T @ v["X"] @ v["C"].T),
    I("Matrix Cookbook eq. 118", "trace(A @ X @ B @ X.T @ C)",
      "A: k,m; X: m,n; B: n,n; C: m,k", "X",
      lambda v: v["A"].T @ v["C"].T @ v["X"] @ v["B"].T + v["C"] @ v["A"] @ v["X"] @ v["B"]),
    I("Matrix Cookbook eq. 119", "trace((A @ X @ B + C) @ (A @ X @ B + C).T)",
      "A: k,m; X: m,n; B: n,p; C: k,p", "X",
      lambda v: 2 * v["A"].T @ (v["A"] @ v["X"] @ v["B"] + v["C"]) @ v["B"].T),
    I("Matrix Cookbook eq. 121 (k = 3)", "trace(X @ X @ X)", "X: n,n", "X",
      lambda v: 3 * (v["X"] @ v["X"]).T),
    I("Matrix Cookbook eq. 124", "trace(A @ inv(X) @ B)", "A: k,n; X: n,n; B: n,k", "X",
      lambda v: -(inv(v["X"]) @ v["B"] @ v["A"] @ inv(v["X"])).T),
    I("Matrix Cookbook eq. 125 (C symmetric)", "trace(inv(X.T @ C @ X) @ A)",
      "X: n,p; C: n,n symmetric; A: p,p", "X",
      lambda v: -(v["C"] @ v["X"] @ inv(v["X"].T @ v["C"] @ v["X"]))
      @ (v["A"] + v["A"].T) @ inv(v["X"].T @ v["C"] @ v["X"])),
    I("Matrix Cookbook eq. 126 (B, C symmetric)",
      "trace(inv(X.T @ C @ X) @ (X.T @ B @ X))",
      "X: n,p; C: n,n symmetric; B: n,n symmetric", "X",
      lambda v: -2 * v["C"] @ v["X"] @ inv(v["X"].T @ v["C"] @ v["X"]) @ v["X"].T @ v["B"]
      @ v["X"] @ inv(v["X"].T @ v["C"] @ v["X"])
      + 2 * v["B"] @ v["X"] @ inv(v["X"].T @ v["C"] @ v["X"])),
    # ---- determinants: Matrix Cookbook §2.1 ----------------------------------------
    I("Matrix Cookbook eq. 49", "det(X)", "X: n,n", "X",
      lambda v: det(v["X"]) * inv(v["X"]).T),
    I("Matrix Cookbook eq. 51", "det(A @ X @ B)", "A: n,n; X: n,n; B: n,n", "X",
      lambda v: det(v["A"] @ v["X"] @ v["B"]) * inv(v["X"]).T),
    I("Matrix Cookbook §2.1.2 (det XᵀAX, A symmetric)", "det(X.T @ A @ X)",
      "X: n,p; A: n,n symmetric", "X",
      lambda v: 2 * det(v["X"].T @ v["A"] @ v["X"]) * v["A"] @ v["X"]
      @ inv(v["X"].T @ v["A"] @ v["X"])),
    I("Matrix Cookbook eq. 57", "logdet(X)", "X: n,n", "X",
      lambda v: inv(v["X"]).T),
    I("Matrix Cookbook §2.1.2 (ln det XᵀX = 2 X⁺ᵀ)", "logdet(X.T @ X)", "X: n,p", "X",
      lambda v: 2 * np.linalg.pinv(v["X"]).T),
    I("Matrix Cookbook eq. 62", "det(inv(X))", "X: n,n", "X",
      lambda v: -det(inv(v["X"])) * inv(v["X"]).T),
    I("symmetric-gradient convention (Srinivasan & Panda 2023): ∂ log det S/∂S = S⁻¹",
      "logdet(S)", "S: n,n symmetric", "S",
      lambda v: inv(v["S"])),
    # ---- inverses: Matrix Cookbook §2.2 --------------------------------------------
    I("Matrix Cookbook eq. 61", "a.T @ inv(X) @ b", "a: n; X: n,n; b: n", "X",
      lambda v: -inv(v["X"]).T @ v["a"] @ v["b"].T @ inv(v["X"]).T),
    I("Matrix Cookbook eq. 63", "trace(A @ inv(X) @ B)", "A: k,n; X: n,n; B: n,k", "X",
      lambda v: -(inv(v["X"]) @ v["B"] @ v["A"] @ inv(v["X"])).T),
    I("Matrix Cookbook eq. 64", "trace(inv(X + A))", "X: n,n; A: n,n", "X",
      lambda v: -(inv(v["X"] + v["A"]) @ inv(v["X"] + v["A"])).T),
    # ---- first-order forms: Matrix Cookbook §2.4.1 ---------------------------------
    I("Matrix Cookbook eq. 69 (xᵀa)", "x.T @ a", "x: n; a: n", "x",
      lambda v: v["a"]),
    I("Matrix Cookbook eq. 69 (aᵀx)", "a.T @ x", "x: n; a: n", "x",
      lambda v: v["a"]),
    I("Matrix Cookbook eq. 70", "a.T @ X @ b", "a: m; X: m,n; b: n", "X",
      lambda v: v["a"] @ v["b"].T),
    I("Matrix Cookbook eq. 71", "a.T @ X.T @ b", "a: n; X: m,n; b: m", "X",
      lambda v: v["b"] @ v["a"].T),
    I("Matrix Cookbook eq. 72", "a.T @ X @ a", "a: n; X: n,n", "X",
      lambda v: v["a"] @ v["a"].T),
    # ---- second-order forms: Matrix Cookbook §2.4.2 --------------------------------
    I("Matrix Cookbook eq. 77", "b.T @ X.T @ X @ c", "b: n; X: m,n; c: n", "X",
      lambda v: v["X"] @ (v["b"] @ v["c"].T + v["c"] @ v["b"].T)),
    I("Matrix Cookbook eq. 78", "(B @ x + b).T @ C @ (D @ x + d)",
      "B: m,n; x: n; b: m; C: m,k; D: k,n; d: k", "x",
      lambda v: v["B"].T @ v["C"] @ (v["D"] @ v["x"] + v["d"])
      + v["D"].T @ v["C"].T @ (v["B"] @ v["x"] + v["b"])),
    I("Matrix Cookbook eq. 81", "x.T @ B @ x", "x: n; B: n,n", "x",
      lambda v: (v["B"] + v["B"].T) @ v["x"]),
    I("Matrix Cookbook eq. 81 (B symmetric: 2Bx)", "x.T @ B @ x", "x: n; B: n,n symmetric",
      "x", lambda v: 2 * v["B"] @ v["x"]),
    I("Matrix Cookbook eq. 82", "b.T @ X.T @ D @ X @ c", "b: n; X: m,n; D: m,m; c: n", "X",
      lambda v: v["D"].T @ v["X"] @ v["b"] @ v["c"].T + v["D"] @ v["X"] @ v["c"] @ v["b"].T),
    I("Matrix Cookbook eq. 83", "(X @ b + c).T @ D @ (X @ b + c)",
      "X: m,n; b: n; c: m; D: m,m", "X",
      lambda v: (v["D"] + v["D"].T) @ (v["X"] @ v["b"] + v["c"]) @ v["b"].T),
    I("Matrix Cookbook eq. 84", "(x - A @ s).T @ W @ (x - A @ s)",
      "x: m; A: m,n; s: n; W: m,m symmetric", "s",
      lambda v: -2 * v["A"].T @ v["W"] @ (v["x"] - v["A"] @ v["s"])),
    I("Matrix Cookbook eq. 85", "(x - s).T @ W @ (x - s)", "x: n; s: n; W: n,n symmetric",
      "x", lambda v: 2 * v["W"] @ (v["x"] - v["s"])),
    I("Matrix Cookbook eq. 86", "(x - s).T @ W @ (x - s)", "x: n; s: n; W: n,n symmetric",
      "s", lambda v: -2 * v["W"] @ (v["x"] - v["s"])),
    I("Matrix Cookbook eq. 87", "(x - A @ s).T @ W @ (x - A @ s)",
      "x: m; A: m,n; s: n; W: m,m symmetric", "x",
      lambda v: 2 * v["W"] @ (v["x"] - v["A"] @ v["s"])),
    I("Matrix Cookbook eq. 88", "(x - A @ s).T @ W @ (x - A @ s)",
      "x: m; A: m,n; s: n; W: m,m symmetric", "A",
      lambda v: -2 * v["W"] @ (v["x"] - v["A"] @ v["s"]) @ v["s"].T),
    I("quadratic form in a symmetric matrix: ∂ xᵀSx/∂S = x xᵀ", "x.T @ S @ x",
      "x: n; S: n,n symmetric", "S", lambda v: v["x"] @ v["x"].T),
    I("Rayleigh quotient (Golub & Van Loan §8.1)", "(x.T @ S @ x) / (x.T @ x)",
      "x: n; S: n,n symmetric", "x",
      lambda v: 2 * (v["S"] @ v["x"] - (v["x"].T @ v["S"] @ v["x"]) / (v["x"].T @ v["x"])
                     * v["x"]) / (v["x"].T @ v["x"])),
    # ---- norms: Matrix Cookbook §2.6–2.7 -------------------------------------------
    I("Matrix Cookbook eq. 129", "norm(x - a)", "x: n; a: n", "x",
      lambda v: (v["x"] - v["a"]) / np.linalg.norm(v["x"] - v["a"])),
    I("Matrix Cookbook eq. 131", "norm(x)**2", "x: n", "x",
      lambda v: 2 * v["x"]),
    I("Matrix Cookbook §2.7.2 (Frobenius norm squared)", "norm(X)**2", "X: m,n", "X",
      lambda v: 2 * v["X"]),
    I("Frobenius norm: ∂‖X‖F/∂X = X/‖X‖F", "norm(X)", "X: m,n", "X",
      lambda v: v["X"] / np.linalg.norm(v["X"])),
    I("Frobenius inner product: ∂ sum(A ⊙ X)/∂X = A", "sum(A * X)", "A: m,n; X: m,n", "X",
      lambda v: v["A"]),
    # ---- least squares --------------------------------------------------------------
    I("least squares, ESL eq. 3.4 (normal equations)", "norm(y - X @ w)**2",
      "y: m; X: m,n; w: n", "w",
      lambda v: -2 * v["X"].T @ (v["y"] - v["X"] @ v["w"])),
    I("least squares, the same as sum of squares", "sum((X @ w - y)**2)",
      "y: m; X: m,n; w: n", "w",
      lambda v: 2 * v["X"].T @ (v["X"] @ v["w"] - v["y"])),
    I("least squares with respect to the data", "norm(X @ w - y)**2",
      "y: m; X: m,n; w: n", "X",
      lambda v: 2 * (v["X"] @ v["w"] - v["y"]) @ v["w"].T),
    I("ridge regression, ESL eq. 3.43", "norm(y - X @ w)**2 + lam * norm(w)**2",
      "y: m; X: m,n; w: n; lam: scalar", "w",
      lambda v: -2 * v["X"].T @ (v["y"] - v["X"] @ v["w"]) + 2 * v["lam"] * v["w"]),
    I("weighted least squares (Matrix Cookbook eq. 84 with A = X)",
      "(y - X @ w).T @ W @ (y - X @ w)", "y: m; X: m,n; w: n; W: m,m symmetric", "w",
      lambda v: -2 * v["X"].T @ v["W"] @ (v["y"] - v["X"] @ v["w"])),
    I("matrix least squares: ∂‖AX − B‖F²/∂X = 2Aᵀ(AX − B)", "norm(A @ X - B)**2",
      "A: m,n; X: n,k; B: m,k", "X",
      lambda v: 2 * v["A"].T @ (v["A"] @ v["X"] - v["B"])),
    I("matrix factorisation ‖Y − UVᵀ‖F² (Koren, Bell & Volinsky 2009), by U",
      "norm(Y - U @ V.T)**2", "Y: m,n; U: m,k; V: n,k", "U",
      lambda v: -2 * (v["Y"] - v["U"] @ v["V"].T) @ v["V"]),
    I("matrix factorisation ‖Y − UVᵀ‖F² (Koren, Bell & Volinsky 2009), by V",
      "norm(Y - U @ V.T)**2", "Y: m,n; U: m,k; V: n,k", "V",
      lambda v: -2 * (v["Y"] - v["U"] @ v["V"].T).T @ v["U"]),
    # ---- Gaussian log-likelihood: Matrix Cookbook §8.1 ------------------------------
    I("Gaussian log-density by the mean (Matrix Cookbook §8.1.4)",
      "-logdet(S) / 2 - (x - mu).T @ inv(S) @ (x - mu) / 2",
      "x: n; mu: n; S: n,n symmetric", "mu",
      lambda v: inv(v["S"]) @ (v["x"] - v["mu"])),
    I("Gaussian log-density by the covariance (Matrix Cookbook §8.1.4)",
      "-logdet(S) / 2 - (x - mu).T @ inv(S) @ (x - mu) / 2",
      "x: n; mu: n; S: n,n symmetric", "S",
      lambda v: -inv(v["S"]) / 2 + inv(v["S"]) @ (v["x"] - v["mu"])
      @ (v["x"] - v["mu"]).T @ inv(v["S"]) / 2),
    # ---- softmax, log-sum-exp, cross-entropy ----------------------------------------
    I("log-sum-exp (Boyd & Vandenberghe §3.1.5): ∇ = softmax", "logsumexp(z)", "z: n", "z",
      lambda v: softmax(v["z"])),
    I("softmax Jacobian (DL §6.2.2.3): ∇ vᵀsoftmax(z) = (diag s − s sᵀ) v",
      "v.T @ softmax(z)", "v: n; z: n", "z",
      lambda v: (np.diag(softmax(v["z"])[:, 0]) - softmax(v["z"]) @ softmax(v["z"]).T)
      @ v["v"]),
    I("softmax cross-entropy (DL §6.2.2.3): ∇ = softmax(z)·1ᵀy − y",
      "-y.T @ log(softmax(z))", "y: n; z: n", "z",
      lambda v: softmax(v["z"]) * v["y"].sum() - v["y"]),
    I("softmax cross-entropy via log-sum-exp", "logsumexp(z) * sum(y) - y.T @ z",
      "y: n; z: n", "z",
      lambda v: softmax(v["z"]) * v["y"].sum() - v["y"]),
    I("softmax regression (DL §6.2.2.3): ∂/∂W = (softmax(Wx)·1ᵀy − y) xᵀ",
      "-y.T @ log(softmax(W @ x))", "y: k; W: k,n; x: n", "W",
      lambda v: (softmax(v["W"] @ v["x"]) * v["y"].sum() - v["y"]) @ v["x"].T),
    # ---- logistic regression: ESL §4.4.1 ---------------------------------------------
    I("logistic regression, ESL eq. 4.21 (softplus form)",
      "sum(softplus(X @ w) - y * (X @ w))", "X: m,n; w: n; y: m", "w",
      lambda v: v["X"].T @ (sigmoid(v["X"] @ v["w"]) - v["y"])),
    I("logistic regression, ESL eq. 4.21 (cross-entropy form)",
      "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w)))",
      "X: m,n; w: n; y: m", "w",
      lambda v: v["X"].T @ (sigmoid(v["X"] @ v["w"]) - v["y"])),
    I("logistic regression, intercept", "sum(softplus(X @ w + b) - y * (X @ w + b)) / m",
      "X: m,n; w: n; b: scalar; y: m", "b",
      lambda v: np.sum(sigmoid(v["X"] @ v["w"] + v["b"]) - v["y"]) / len(v["y"])),
    I("L2-regularised logistic regression (ESL §4.4.4)",
      "sum(softplus(X @ w) - y * (X @ w)) + lam / 2 * norm(w)**2",
      "X: m,n; w: n; y: m; lam: scalar", "w",
      lambda v: v["X"].T @ (sigmoid(v["X"] @ v["w"]) - v["y"]) + v["lam"] * v["w"]),
    # ---- a two-layer MLP by back-propagation: DL §6.5, algorithm 6.4 -----------------
    *[I(f"two-layer tanh MLP, squared error, by {name} (DL §6.5.4)",
        "sum((W2 @ tanh(W1 @ X + b1) + b2 - Y)**2) / p",
        "X: m,p; W1: h,m; b1: h; W2: k,h; b2: k; Y: k,p", name, closed)
      for name, closed in [
          ("W1", lambda v: _mlp(v)["W1"]), ("b1", lambda v: _mlp(v)["b1"]),
          ("W2", lambda v: _mlp(v)["W2"]), ("b2", lambda v: _mlp(v)["b2"])]],
    I("two-layer ReLU MLP with softmax cross-entropy, by W1 (DL §6.5)",
      "-y.T @ log(softmax(W2 @ relu(W1 @ x)))", "x: m; W1: h,m; W2: k,h; y: k", "W1",
      lambda v: ((v["W2"].T @ (softmax(v["W2"] @ np.maximum(v["W1"] @ v["x"], 0))
                               * v["y"].sum() - v["y"])) * (v["W1"] @ v["x"] > 0))
      @ v["x"].T),
]


def _mlp(v):
    """Back-propagation by hand for L = ‖W₂ tanh(W₁X + b₁) + b₂ − Y‖F² / p."""
    H = np.tanh(v["W1"] @ v["X"] + v["b1"])
    E = 2 * (v["W2"] @ H + v["b2"] - v["Y"]) / v["X"].shape[1]
    D = (v["W2"].T @ E) * (1 - H ** 2)
    return {"W2": E @ H.T, "b2": E.sum(axis=1, keepdims=True),
            "W1": D @ v["X"].T, "b1": D.sum(axis=1, keepdims=True)}


# Distinct sizes within a set, and the two sets disagree on their order.
SIZE_SETS = [dict(m=5, n=3, k=4, p=2, h=6), dict(m=3, n=6, k=2, p=5, h=4)]


def sample(program, sizes, rng):
    """Random 2-D values (vectors as columns): square matrices well-conditioned with
    positive determinant, symmetric ones symmetric, everything else standard normal."""
    values = {}
    for name, x in program.variables.items():
        r, c = (sizes[s.name] if isinstance(s, Dim) else s for s in x.shape)
        a = rng.standard_normal((r, c))
        if r == c and r > 1:
            a = 2 * np.eye(r) + a * 0.5 / np.sqrt(r)
        if x.params[1]:
            a = (a + a.T) / 2
        values[name] = a
    return values


def test_the_table_has_at_least_forty_identities():
    assert len(IDENTITIES) >= 40
    assert len({(i.expr, i.shapes, i.wrt) for i in IDENTITIES}) == len(IDENTITIES) - 1, \
        "one duplicate is allowed: eq. 63 and eq. 124 state the same identity"


@pytest.mark.parametrize("row", IDENTITIES, ids=[f"{i.source} [{i.wrt}]" for i in IDENTITIES])
@pytest.mark.parametrize("sizes", SIZE_SETS, ids=["sizes0", "sizes1"])
def test_gradient_equals_closed_form(row, sizes):
    program = mg.parse_program(row.expr, row.shapes)
    L, x = program.result, program.variables[row.wrt]
    G = mg.grad(L, x)
    assert G.shape == x.shape
    rng = np.random.default_rng(zlib.crc32(f"{row.source} {row.wrt}".encode()))
    for _ in range(3):
        values = sample(program, sizes, rng)
        want = np.asarray(row.closed(values), dtype=float)
        if want.ndim == 0:  # a closed form for a scalar may be a plain number
            want = want.reshape(1, 1)
        got = np.asarray(mg.evaluate(G, values, sizes=sizes), dtype=float)
        assert want.size == got.size == values[row.wrt].size
        if got.ndim < 2:  # evaluate returns a vector as 1-D, a scalar as a float
            got = got.reshape(want.shape)
        assert got.shape == want.shape == values[row.wrt].shape
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10,
                                   err_msg=f"{row.source}: {row.expr}; matgrad gives {G}")


@pytest.mark.parametrize("row", IDENTITIES, ids=[f"{i.source} [{i.wrt}]" for i in IDENTITIES])
def test_gradient_matches_finite_differences(row):
    program = mg.parse_program(row.expr, row.shapes)
    sizes = {Dim(k): v for k, v in SIZE_SETS[0].items()}
    assert_gradients_match(program.result, [program.variables[row.wrt]], sizes=sizes)
