"""The formulas of the question this project grew from, in its own LaTeX, read as the
expressions they mean (the question writes × for the matrix product)."""
from __future__ import annotations

import pytest

import matgrad as mg

SHAPES = {"X": "m,n", "W": "n", "b": "scalar", "Y": "m", "Z": "m", "Yhat": "m"}
X, W, b, Y, Z, Yhat = (mg.parse(n, SHAPES) for n in ("X", "W", "b", "Y", "Z", "Yhat"))


@pytest.mark.parametrize("latex, python", [
    (r"\mathbf{X}\times\mathbf{W}+\mathbb{b}", "X @ W + b"),
    (r"\max(0,\mathbf{Z})", "relu(Z)"),
    (r"(\hat{\mathbf{Y}} - \mathbf{Y})^T(\hat{\mathbf{Y}} - \mathbf{Y})/m",
     "(Yhat - Y).T @ (Yhat - Y) / m"),
    (r"\mathbf{X}^T\times \frac{2}{m}(\hat{\mathbf{Y}} - \mathbf{Y})",
     "X.T @ (2 / m * (Yhat - Y))"),
    (r"2 \times \mathbf{W}", "2 * W"),
])
def test_the_question_reads_as_it_means(latex, python):
    got = mg.parse(latex, SHAPES, syntax="latex")
    assert got == mg.parse(latex, SHAPES)  # auto tells it is LaTeX
    assert got == mg.simplify(mg.parse(python, SHAPES)) or got == mg.parse(python, SHAPES)
