"""How compact matgrad's results are, against the textbook's answers.

Each case is a scalar function, its variable and the textbook's gradient, written in the
language (the gradient identities of the Matrix Cookbook and of the machine-learning
texts that tests/test_identities.py checks numerically, and the forms a textbook gives
for common losses). For each case the script derives the gradient with `mg.grad`,
checks at random points (distinct dimension sizes) that it has the textbook form's
value, and prints both in Unicode with the same printer (the textbook form as written,
never simplified). The figure is the length ratio: characters of matgrad's result over
characters of the textbook's; beside it the number of terms (the summands of every sum
in the printed result, counted once each).

The targets: median ratio ≤ 1.0, 90th percentile ≤ 1.3, worst ≤ 2.0.

Prints a table and writes it to docs/benchmarks-compactness.md.
Run: `python benchmarks/bench_compactness.py [--no-write]`.
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

import matgrad as mg
from matgrad.expr import walk
from matgrad.numeric import evaluate_2d
from matgrad.printing.text import to_text
from matgrad.verify import sample

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-compactness.md"
TARGETS = {"median": 1.0, "p90": 1.3, "worst": 2.0}


class Case(NamedTuple):
    source: str
    expr: str
    shapes: str
    wrt: str
    textbook: str  # the textbook's gradient, in the language, grouped as it is written


C = Case
CASES = [
    # ---- traces: Matrix Cookbook §2.5 ----------------------------------------------
    C("Cookbook 99", "trace(X)", "X: n,n", "X", "eye(n)"),
    C("Cookbook 100", "trace(X @ A)", "X: m,n; A: n,m", "X", "A.T"),
    C("Cookbook 101", "trace(A @ X @ B)", "A: k,m; X: m,n; B: n,k", "X", "A.T @ B.T"),
    C("Cookbook 102", "trace(A @ X.T @ B)", "A: k,n; X: m,n; B: m,k", "X", "B @ A"),
    C("Cookbook 103", "trace(X.T @ A)", "X: m,n; A: m,n", "X", "A"),
    C("Cookbook 104", "trace(A @ X.T)", "A: m,n; X: m,n", "X", "A"),
    C("Cookbook 106", "trace(X @ X)", "X: n,n", "X", "2 * X.T"),
    C("Cookbook 107", "trace(X @ X @ B)", "X: n,n; B: n,n", "X", "(X @ B + B @ X).T"),
    C("Cookbook 108", "trace(X.T @ B @ X)", "X: m,n; B: m,m", "X", "B @ X + B.T @ X"),
    C("Cookbook 109", "trace(B @ X @ X.T)", "X: m,n; B: m,m", "X", "B @ X + B.T @ X"),
    C("Cookbook 110", "trace(X @ X.T @ B)", "X: m,n; B: m,m", "X", "B @ X + B.T @ X"),
    C("Cookbook 111", "trace(X @ B @ X.T)", "X: m,n; B: n,n", "X", "X @ B.T + X @ B"),
    C("Cookbook 112", "trace(B @ X.T @ X)", "X: m,n; B: n,n", "X", "X @ B.T + X @ B"),
    C("Cookbook 113", "trace(X.T @ X @ B)", "X: m,n; B: n,n", "X", "X @ B.T + X @ B"),
    C("Cookbook 114", "trace(A @ X @ B @ X)", "A: n,m; X: m,n; B: n,m", "X",
      "A.T @ X.T @ B.T + B.T @ X.T @ A.T"),
    C("Cookbook 115", "trace(X.T @ X)", "X: m,n", "X", "2 * X"),
    C("Cookbook 116", "trace(B.T @ X.T @ C @ X @ B)", "X: m,n; C: m,m; B: n,k", "X",
      "C @ X @ B @ B.T + C.T @ X @ B @ B.T"),
    C("Cookbook 117", "trace(X.T @ B @ X @ C)", "X: m,n; B: m,m; C: n,n", "X",
      "B @ X @ C + B.T @ X @ C.T"),
    C("Cookbook 118", "trace(A @ X @ B @ X.T @ C)", "A: k,m; X: m,n; B: n,n; C: m,k", "X",
      "A.T @ C.T @ X @ B.T + C @ A @ X @ B"),
    C("Cookbook 119", "trace((A @ X @ B + C) @ (A @ X @ B + C).T)",
      "A: k,m; X: m,n; B: n,p; C: k,p", "X", "2 * (A.T @ (A @ X @ B + C) @ B.T)"),
    C("Cookbook 121 (k = 3)", "trace(X @ X @ X)", "X: n,n", "X", "3 * (X @ X).T"),
    C("Cookbook 124", "trace(A @ inv(X) @ B)", "A: k,n; X: n,n; B: n,k", "X",
      "-(inv(X) @ B @ A @ inv(X)).T"),
    C("Cookbook 125 (C symmetric)", "trace(inv(X.T @ C @ X) @ A)",
      "X: n,p; C: n,n symmetric; A: p,p", "X",
      "-(C @ X @ inv(X.T @ C @ X) @ (A + A.T) @ inv(X.T @ C @ X))"),
    C("Cookbook 126 (B, C symmetric)", "trace(inv(X.T @ C @ X) @ (X.T @ B @ X))",
      "X: n,p; C: n,n symmetric; B: n,n symmetric", "X",
      "-2 * (C @ X @ inv(X.T @ C @ X) @ X.T @ B @ X @ inv(X.T @ C @ X))"
      " + 2 * (B @ X @ inv(X.T @ C @ X))"),
    # ---- determinants: Matrix Cookbook §2.1 ----------------------------------------
    C("Cookbook 49", "det(X)", "X: n,n", "X", "det(X) * inv(X.T)"),
    C("Cookbook 51", "det(A @ X @ B)", "A: n,n; X: n,n; B: n,n", "X",
      "det(A @ X @ B) * inv(X.T)"),
    C("Cookbook §2.1.2 (det XᵀAX)", "det(X.T @ A @ X)", "X: n,p; A: n,n symmetric", "X",
      "2 * det(X.T @ A @ X) * (A @ X @ inv(X.T @ A @ X))"),
    C("Cookbook 57", "logdet(X)", "X: n,n", "X", "inv(X.T)"),
    C("Cookbook §2.1.2 (ln det XᵀX)", "logdet(X.T @ X)", "X: n,p", "X",
      "2 * (X @ inv(X.T @ X))"),
    C("Cookbook 62", "det(inv(X))", "X: n,n", "X", "-det(inv(X)) * inv(X.T)"),
    C("log det S, S symmetric", "logdet(S)", "S: n,n symmetric", "S", "inv(S)"),
    # ---- inverses: Matrix Cookbook §2.2 --------------------------------------------
    C("Cookbook 61", "a.T @ inv(X) @ b", "a: n; X: n,n; b: n", "X",
      "-(inv(X.T) @ a @ b.T @ inv(X.T))"),
    C("Cookbook 64", "trace(inv(X + A))", "X: n,n; A: n,n", "X",
      "-(inv(X + A) @ inv(X + A)).T"),
    # ---- first- and second-order forms: Matrix Cookbook §2.4 -----------------------
    C("Cookbook 69", "x.T @ a", "x: n; a: n", "x", "a"),
    C("Cookbook 70", "a.T @ X @ b", "a: m; X: m,n; b: n", "X", "a @ b.T"),
    C("Cookbook 71", "a.T @ X.T @ b", "a: n; X: m,n; b: m", "X", "b @ a.T"),
    C("Cookbook 72", "a.T @ X @ a", "a: n; X: n,n", "X", "a @ a.T"),
    C("Cookbook 77", "b.T @ X.T @ X @ c", "b: n; X: m,n; c: n", "X",
      "X @ (b @ c.T + c @ b.T)"),
    C("Cookbook 78", "(B @ x + b).T @ C @ (D @ x + d)",
      "B: m,n; x: n; b: m; C: m,k; D: k,n; d: k", "x",
      "B.T @ C @ (D @ x + d) + D.T @ C.T @ (B @ x + b)"),
    C("Cookbook 81", "x.T @ B @ x", "x: n; B: n,n", "x", "(B + B.T) @ x"),
    C("Cookbook 81 (B symmetric)", "x.T @ B @ x", "x: n; B: n,n symmetric", "x",
      "2 * (B @ x)"),
    C("Cookbook 82", "b.T @ X.T @ D @ X @ c", "b: n; X: m,n; D: m,m; c: n", "X",
      "D.T @ X @ b @ c.T + D @ X @ c @ b.T"),
    C("Cookbook 83", "(X @ b + c).T @ D @ (X @ b + c)", "X: m,n; b: n; c: m; D: m,m", "X",
      "(D + D.T) @ (X @ b + c) @ b.T"),
    C("Cookbook 84", "(x - A @ s).T @ W @ (x - A @ s)",
      "x: m; A: m,n; s: n; W: m,m symmetric", "s", "-2 * (A.T @ W @ (x - A @ s))"),
    C("Cookbook 85", "(x - s).T @ W @ (x - s)", "x: n; s: n; W: n,n symmetric", "x",
      "2 * (W @ (x - s))"),
    C("Cookbook 86", "(x - s).T @ W @ (x - s)", "x: n; s: n; W: n,n symmetric", "s",
      "-2 * (W @ (x - s))"),
    C("Cookbook 88", "(x - A @ s).T @ W @ (x - A @ s)",
      "x: m; A: m,n; s: n; W: m,m symmetric", "A", "-2 * (W @ (x - A @ s) @ s.T)"),
    C("xᵀSx by a symmetric S", "x.T @ S @ x", "x: n; S: n,n symmetric", "S", "x @ x.T"),
    C("Rayleigh quotient", "(x.T @ S @ x) / (x.T @ x)", "x: n; S: n,n symmetric", "x",
      "2 / (x.T @ x) * (S @ x - (x.T @ S @ x) / (x.T @ x) * x)"),
    # ---- norms ---------------------------------------------------------------------
    C("Cookbook 129", "norm(x - a)", "x: n; a: n", "x", "(x - a) / norm(x - a)"),
    C("Cookbook 131", "norm(x)**2", "x: n", "x", "2 * x"),
    C("Frobenius norm squared", "norm(X)**2", "X: m,n", "X", "2 * X"),
    C("Frobenius norm", "norm(X)", "X: m,n", "X", "X / norm(X)"),
    C("Frobenius product", "sum(A * X)", "A: m,n; X: m,n", "X", "A"),
    C("sum of squares of a vector", "sum(w * w)", "w: n", "w", "2 * w"),
    # ---- regression ----------------------------------------------------------------
    C("least squares (ESL 3.4)", "norm(y - X @ w)**2", "y: m; X: m,n; w: n", "w",
      "-2 * (X.T @ (y - X @ w))"),
    C("least squares by X", "norm(X @ w - y)**2", "y: m; X: m,n; w: n", "X",
      "2 * ((X @ w - y) @ w.T)"),
    C("mean squared error", "sum((X @ w - y)**2) / m", "y: m; X: m,n; w: n", "w",
      "2 / m * (X.T @ (X @ w - y))"),
    C("ridge (ESL 3.43)", "norm(y - X @ w)**2 + lam * norm(w)**2",
      "y: m; X: m,n; w: n; lam: scalar", "w",
      "-2 * (X.T @ (y - X @ w)) + 2 * lam * w"),
    C("ridge by λ", "norm(y - X @ w)**2 + lam * (w.T @ w)",
      "y: m; X: m,n; w: n; lam: scalar", "lam", "w.T @ w"),
    C("weighted least squares", "(y - X @ w).T @ W @ (y - X @ w)",
      "y: m; X: m,n; w: n; W: m,m symmetric", "w", "-2 * (X.T @ W @ (y - X @ w))"),
    C("matrix least squares", "norm(A @ X - B)**2", "A: m,n; X: n,k; B: m,k", "X",
      "2 * (A.T @ (A @ X - B))"),
    C("matrix factorisation by U", "norm(Y - U @ V.T)**2", "Y: m,n; U: m,k; V: n,k", "U",
      "-2 * ((Y - U @ V.T) @ V)"),
    C("matrix factorisation by V", "norm(Y - U @ V.T)**2", "Y: m,n; U: m,k; V: n,k", "V",
      "-2 * ((Y - U @ V.T).T @ U)"),
    C("log-cosh regression", "sum(log(cosh(X @ w - y)))", "X: m,n; w: n; y: m", "w",
      "X.T @ tanh(X @ w - y)"),
    # ---- Gaussian log-likelihood: Matrix Cookbook §8.1 -----------------------------
    C("Gaussian by the mean", "-logdet(S) / 2 - (x - mu).T @ inv(S) @ (x - mu) / 2",
      "x: n; mu: n; S: n,n symmetric", "mu", "inv(S) @ (x - mu)"),
    C("Gaussian by the covariance", "-logdet(S) / 2 - (x - mu).T @ inv(S) @ (x - mu) / 2",
      "x: n; mu: n; S: n,n symmetric", "S",
      "1/2 * (inv(S) @ (x - mu) @ (x - mu).T @ inv(S) - inv(S))"),
    C("xᵀS⁻¹x by S", "x.T @ inv(S) @ x", "x: n; S: n,n symmetric", "S",
      "-(inv(S) @ x @ x.T @ inv(S))"),
    # ---- softmax and cross-entropy --------------------------------------------------
    C("log-sum-exp", "logsumexp(z)", "z: n", "z", "softmax(z)"),
    C("softmax cross-entropy", "-y.T @ log(softmax(z))", "y: n; z: n", "z",
      "sum(y) * softmax(z) - y"),
    C("softmax regression", "-y.T @ log(softmax(W @ x))", "y: k; W: k,n; x: n", "W",
      "(sum(y) * softmax(W @ x) - y) @ x.T"),
    C("cross-entropy by the label", "-y.T @ log(z)", "y: n; z: n", "y", "-log(z)"),
    # ---- logistic regression: ESL §4.4 ---------------------------------------------
    C("logistic regression (ESL 4.21)", "sum(softplus(X @ w) - y * (X @ w))",
      "X: m,n; w: n; y: m", "w", "X.T @ (sigmoid(X @ w) - y)"),
    C("logistic regression, mean cross-entropy",
      "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w))) / m",
      "X: m,n; w: n; y: m", "w", "1/m * (X.T @ (sigmoid(X @ w) - y))"),
    C("logistic regression, intercept", "sum(softplus(X @ w + b) - y * (X @ w + b)) / m",
      "X: m,n; w: n; b: scalar; y: m", "b", "1/m * sum(sigmoid(X @ w + b) - y)"),
    C("L2-regularised logistic regression",
      "sum(softplus(X @ w) - y * (X @ w)) + lam / 2 * norm(w)**2",
      "X: m,n; w: n; y: m; lam: scalar", "w", "X.T @ (sigmoid(X @ w) - y) + lam * w"),
    C("L2 penalty by λ", "lam / 2 * sum(w * w)", "w: n; lam: scalar", "lam",
      "1/2 * (w.T @ w)"),
    # ---- networks ------------------------------------------------------------------
    C("one-layer ReLU network by w", "sum((relu(X @ w + b) - y)**2) / m",
      "X: m,n; w: n; b: scalar; y: m", "w",
      "X.T @ (2/m * heaviside(X @ w + b) * (relu(X @ w + b) - y))"),
    C("two-layer tanh MLP by W2", "sum((W2 @ tanh(W1 @ X + b1) + b2 - Y)**2) / p",
      "X: m,p; W1: h,m; b1: h; W2: k,h; b2: k; Y: k,p", "W2",
      "2/p * ((W2 @ tanh(W1 @ X + b1) + b2 - Y) @ tanh(W1 @ X + b1).T)"),
    C("quadratic form in exp(L Lᵀ)", "sum(exp(L @ L.T))", "L: n,n", "L",
      "2 * (exp(L @ L.T) @ L)"),
    C("L2 penalty by w", "lam * w.T @ w / 2", "lam: scalar; w: n", "w", "lam * w"),
    C("softplus regression", "sum(log(1 + exp(X @ w)))", "X: m,n; w: n", "w",
      "X.T @ sigmoid(X @ w)"),
    C("Cookbook 121 (k = 5)", "trace(X @ X @ X @ X @ X)", "X: n,n", "X",
      "5 * matrix_power(X, 4).T"),
    C("power chain", "y.T @ (A @ (A @ (A @ x)))", "A: n,n; x: n; y: n", "A",
      "y @ x.T @ matrix_power(A, 2).T + A.T @ y @ x.T @ A.T + matrix_power(A, 2).T @ y @ x.T"),
    C("max-stabilised log-sum-exp", "max(X @ w) + log(sum(exp(X @ w - max(X @ w))))",
      "X: m,n; w: n", "w", "X.T @ softmax(X @ w)"),
    # ---- matrix functions: Higham (2008) -------------------------------------------
    C("trace of the exponential", "trace(expm(X))", "X: n,n", "X", "expm(X).T"),
    C("trace of the logarithm (log det)", "trace(logm(X))", "X: n,n", "X", "inv(X.T)"),
    C("trace of the square root", "trace(sqrtm(X))", "X: n,n", "X",
      "1/2 * inv(sqrtm(X).T)"),
    C("Bures–Wasserstein distance by B",
      "trace(A) + trace(B) - 2 * trace(sqrtm(sqrtm(A) @ B @ sqrtm(A)))",
      "A: n,n spd; B: n,n spd", "B",
      "eye(n) - sqrtm(A) @ inv(sqrtm(sqrtm(A) @ B @ sqrtm(A))) @ sqrtm(A)"),
]


def _terms(e) -> int:
    """The summands of every sum in e, each distinct sum counted once."""
    count = 0
    for node in walk(e):
        if node.op == "add":
            count += 1
    return count + 1 if count else 1


def measure(case: Case, points: int = 2) -> dict:
    program = mg.parse_program(case.expr, case.shapes)
    x = program.variables[case.wrt]
    got = mg.grad(program.result, x)
    want = mg.parse(case.textbook, case.shapes)
    if want.shape != got.shape:
        raise AssertionError(f"{case.source}: the textbook form has shape {want.shape}, "
                             f"the gradient {got.shape}")
    rng = np.random.default_rng(len(case.expr) + 7 * len(case.textbook))
    for _ in range(points):
        values, sizes = sample([program.result, got, want], rng)
        a, b = evaluate_2d(got, values, sizes), evaluate_2d(want, values, sizes)
        scale = max(1.0, float(np.max(np.abs(b))))
        if not np.allclose(a, b, rtol=1e-7, atol=1e-9 * scale):
            raise AssertionError(f"{case.source}: matgrad's {got} differs from the "
                                 f"textbook's {to_text(want)}")
    ours, theirs = to_text(got), to_text(want)
    return {"case": case, "ours": ours, "textbook": theirs,
            "ratio": len(ours) / len(theirs), "terms": (_terms(got), _terms(want))}


def summary(rows: list) -> dict:
    ratios = np.array([r["ratio"] for r in rows])
    return {"median": float(np.median(ratios)), "p90": float(np.percentile(ratios, 90)),
            "worst": float(ratios.max()), "cases": len(rows),
            "longer": int((ratios > 1).sum()),
            "more terms": sum(r["terms"][0] > r["terms"][1] for r in rows)}


def run() -> tuple[str, dict]:
    rows = [measure(c) for c in CASES]
    s = summary(rows)
    met = all(s[k] <= v for k, v in TARGETS.items())
    lines = [
        "# Compactness against the textbook",
        "",
        "Produced by `python benchmarks/bench_compactness.py`: for each case, matgrad's "
        "gradient and the textbook's, both printed in Unicode by the same printer (the "
        "textbook's as written, never simplified), and checked equal in value at random "
        "points. Ratio: characters of matgrad's result over the textbook's. Terms: the "
        "summands of the sums in each.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, matgrad "
        f"{mg.__version__}",
        "",
        f"**{s['cases']} cases: median ratio {s['median']:.2f}, 90th percentile "
        f"{s['p90']:.2f}, worst {s['worst']:.2f}** (targets: median ≤ "
        f"{TARGETS['median']}, 90th percentile ≤ {TARGETS['p90']}, worst ≤ "
        f"{TARGETS['worst']}: {'met' if met else 'not met'}). Longer than the textbook: "
        f"{s['longer']}; more terms: {s['more terms']}.",
        "",
        "| case | matgrad | textbook | ratio | terms |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for r in sorted(rows, key=lambda r: -r["ratio"]):
        t = r["terms"]
        lines.append(f"| {r['case'].source} | `{r['ours']}` | `{r['textbook']}` | "
                     f"{r['ratio']:.2f} | {t[0]} / {t[1]} |")
    lines.append("")
    return "\n".join(lines), s


def main(argv=None) -> int:
    from timing import page_main  # beside this file: the tests load the module alone
    return page_main(__doc__, OUT, lambda: run()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
