"""The gallery of examples on the page, one click each: the input of each, and nothing
else (the page derives it like anything typed in, and a test derives and verifies every
entry through the API).

>>> GALLERY[0]["id"], GALLERY[0]["kind"]
('relu-network', 'gradient')
"""
from __future__ import annotations

from ..example import SHAPES, SOURCE, WRT


def _entry(id: str, title: str, note: str, kind: str, expr: str, shapes: str,
           wrt: str = "", order: str = "", layout: str = "") -> dict:
    return {"id": id, "title": title, "note": note, "kind": kind, "expr": expr,
            "shapes": shapes, "wrt": wrt, "order": order, "layout": layout}


GALLERY = [
    _entry("relu-network", "One-layer ReLU network",
           "the built-in example: mean squared error of relu(X w + b)", "gradient",
           SOURCE, SHAPES, ",".join(WRT)),
    _entry("ridge", "Ridge regression",
           "least squares with an L2 penalty λ‖w‖²", "gradient",
           "L = sum((X @ w - y)**2) + lam * sum(w**2)",
           "X: m,n; w: n; y: m; lam: scalar", "w"),
    _entry("logistic", "Logistic regression",
           "the mean cross-entropy of p = σ(X w)", "gradient",
           "p = sigmoid(X @ w); L = -sum(y * log(p) + (1 - y) * log(1 - p)) / m",
           "X: m,n; w: n; y: m", "w"),
    _entry("softmax", "Softmax regression",
           "cross-entropy of p = softmax(W x) against a target y", "gradient",
           "p = softmax(W @ x); L = -sum(y * log(p))", "W: k,n; x: n; y: k", "W"),
    _entry("two-layer", "Two-layer network",
           "a tanh hidden layer H, then a linear output, squared error", "gradient",
           "H = tanh(X @ W1); yhat = H @ w2; L = sum((yhat - y)**2) / m",
           "X: m,n; W1: n,k; w2: k; y: m", "W1,w2"),
    _entry("gp-likelihood", "Gaussian-process likelihood",
           "the negative log marginal likelihood (up to a constant) in the kernel matrix "
           "K and the noise variance s", "gradient",
           "C = K + s * eye(n); L = (y.T @ inv(C) @ y + logdet(C)) / 2",
           "K: n,n symmetric; s: scalar; y: n", "K,s"),
    _entry("logdet", "Log determinant",
           "∂ log det X / ∂X = X⁻ᵀ", "gradient", "logdet(X)", "X: n,n", "X"),
    _entry("hessian-least-squares", "Hessian of least squares",
           "a symmetric matrix: 2 AᵀA", "hessian", "sum((A @ x - b)**2)",
           "A: m,n; x: n; b: m", "x"),
    _entry("hessian-logdet", "Hessian of log det",
           "a fourth-order tensor, with its Kronecker (vec) form", "hessian", "logdet(S)",
           "S: n,n", "S"),
    _entry("jacobian-softmax", "Jacobian of softmax",
           "a matrix: diag(p) − p pᵀ", "jacobian", "softmax(x)", "x: n", "x"),
    _entry("tensor", "A third-order tensor",
           "∂z/∂X for z = X w: not a matrix; index notation and vec form", "jacobian",
           "z = X @ w", "X: m,n; w: n", "X"),
]
