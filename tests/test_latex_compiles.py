"""Every kind of LaTeX matgrad writes typesets with a real engine (pdflatex).

Each test collects many fragments and typesets them in one engine run (see
latex_engine.py): the rule notes of derivations as `prose_latex` writes them, the
identities and differential rules they quote, random expressions of the whole language
and their gradients, gradient reports, derivations, and Jacobians and Hessians in matrix
and index notation. Under CI a missing engine fails the tests that typeset; elsewhere
they skip, saying why.
"""
from __future__ import annotations

import random

import matgrad as mg
from matgrad import rules, steps, structure
from matgrad.elementwise import NAMES
from matgrad.example import example_report, program
from matgrad.printing.latex import to_latex
from matgrad.printing.prose import prose_latex

from . import strategies
from .latex_engine import compile_fragments


def assert_compiles(fragments: list, labels: list | None = None):
    """Every fragment typesets cleanly; the message lists each one that does not."""
    labels = labels or fragments
    results = compile_fragments(fragments)
    bad = [f"{label!r}\n    as {frag!r}\n    {err}"
           for label, frag, err in zip(labels, fragments, results) if err is not None]
    assert not bad, f"{len(bad)} of {len(fragments)} fragments do not compile:\n" + \
        "\n".join(bad[:20])


# ---- rule notes -------------------------------------------------------------------------

m, n, k, p = mg.dims("m n k p")

# Derivations whose steps, between them, use every rule and identity matgrad states.
DERIVATIONS = [
    ("sum((relu(X @ w + b) - y)**2) / m", "X: m,n; w: n; b: scalar; y: m", "X"),
    ("sum((relu(X @ w + b) - y)**2) / m", "X: m,n; w: n; b: scalar; y: m", "w"),
    ("sum((relu(X @ w + b) - y)**2) / m", "X: m,n; w: n; b: scalar; y: m", "b"),
    ("x.T @ A @ x", "A: n,n; x: n", "x"),
    ("x.T @ S @ x", "S: n,n symmetric; x: n", "S"),
    ("trace(inv(A) @ B) + logdet(A)", "A: n,n; B: n,n", "A"),
    ("det(A)", "A: n,n", "A"),
    ("sum(tanh(W2 @ tanh(W1 @ x)))", "W2: p,k; W1: k,n; x: n", "W1"),
    ("logsumexp(W @ x) - dot(y, W @ x)", "W: k,n; x: n; y: k", "W"),
    ("norm(A @ B - C)**2", "A: m,k; B: k,n; C: m,n", "B"),
    ("norm(A @ x)", "A: m,n; x: n", "x"),
    ("sum(exp(x) * x) / n", "x: n", "x"),
    ("sum(sigmoid(X @ w) - y * log(sigmoid(X @ w)))", "X: m,n; w: n; y: m", "w"),
    ("trace(A @ B) * 3", "A: n,k; B: k,n", "A"),
    ("sum(softmax(W @ x) * y)", "W: k,n; x: n; y: k", "W"),
    ("sum(sqrt(x * x + 1) / (abs(x) + 2))", "x: n", "x"),
    ("sum(softplus(X @ w)) + sum(sin(w) * cos(w))", "X: m,n; w: n", "w"),
    ("sum(diag(A) ** 3) + sum(diag(x) @ A)", "A: n,n; x: n", "A"),
    ("sum(X / Y) + sum(mean(X, axis=0))", "X: m,n; Y: m,n", "Y"),
    ("sum(sum(X, axis=1) ** 2)", "X: m,n", "X"),
    ("sum(heaviside(x) * x + sign(x))", "x: n", "x"),
]

# The notes as the task of writing them into LaTeX states them.
NOTES = [
    "chain rule through", "move the Hadamard factor", "differential of a squared norm",
    "which is", "the shape of", "elementwise, constant p", "collect terms",
    "A : BC = A Cᵀ : B", "d(A^p) = p A^(p−1) ⊙ dA", "d det A = det A · tr(A⁻¹ dA)",
    "d‖A‖ = (A / ‖A‖) : dA", "relu′(t) = H(t)", "tanh′(t) = 1 − tanh(t)²",
    "sum(A ⊙ B) = A : B", "a : tr(B) = a I : B", "A : B ⊘ C = (A ⊘ C) : B",
    "dX is symmetric: A : dX = ½(A + Aᵀ) : dX", "d lse(v) = softmax(v)ᵀ dv",
    "m×n, the shape of X", "(Matrix Cookbook eq. 46)",
]

# Text no note holds today, which must come out valid all the same: LaTeX's special
# characters, characters no font has, scripts on scripts, unbalanced brackets.
HOSTILE = [
    "", "   ", "100% of $x & y_z # {a} ~ ^ \\ back", "Hölder and naïve", "ж 🙂 x",
    "x²ᵀ′ f′² f′₁²", "A^(B^(C))", "a_b_c + x_train", "x_1ₘ", "((", ")", "[a", "A⁻ᵀ",
    "∂²L/∂x²", "Σₐ Aᵢₐ Bₐⱼ", "∂zᵢ/∂Xⱼₖ = δᵢⱼ wₖ", "x^", "x_", "^^", "__", "a^{b}", "f'^2",
    "f'_1^2", "“quoted” ‘x’", "π θ Ω Α", "x̂ ȳ z̃ ẋ ẍ", "1ₘₓₙ", "sum(x, axis=1)",
    "log det(A)", "X.T @ w ** 2", "a – b — c", "x ≤ y ≠ z", "1e-06 · x",
    "the 2-norm and log-sum-exp", "A\tB\nC", "\\frac{", "}{", "२ ४", "x ⃗", "⁽ⁿ⁾ ’",
]

_PIECES = ["A", "B", "a", "d", "dX", "dŷ", "x_1", "W₁", "ᵀ", "⁻¹", "⁻ᵀ", "²", "ᵖ", "ₘ", "′",
           "'", "^", "_", "(", ")", "[", "]", "{", "}", " ", " ", " ", ":", " : ", ",", ";",
           ".", "...", "…", "=", "−", "-", "+", "·", "⊙", "⊘", "×", "/", "‖", "∂", "Σ", "σ",
           "½", "tr", "det", "log", "sum", "relu", "norm", "the", "shape", "of", "which",
           "is", "Hadamard", "broadcast's", "2-norm", "eq", "46", "0.5", "\\", "$", "&",
           "%", "#", "~", '"', "|", "<", ">", "@", "*", "!", "?", "ж", "é", "\u0302", "ŷ",
           "≠", "“", "’", "–", "\n", "^(", "_(", "ℝ", "ﬁ", "①", "x̄", "\\frac{"]


def collected_rules() -> list:
    """The rule of every step of the derivations above, each once."""
    out = []
    for src, shapes, wrt in DERIVATIONS:
        out += [s.rule for s in mg.derive(mg.parse(src, shapes), wrt).steps]
    prog = program()
    for wrt in ("X", "w", "b"):
        out += [s.rule for s in mg.derive(prog.result, wrt, definitions=prog.definitions).steps]
    return list(dict.fromkeys(out))


def stated_identities() -> list:
    """The Frobenius identities the steps quote (a structured variable's too), each
    differential rule's statement (the first line of its docstring) and each f′ note."""
    table = getattr(rules, "IDENTITIES", None) or getattr(steps, "_IDENTITY", {})
    out = list(table.values()) + list(structure.IDENTITIES.values())
    for rule in rules.RULES.values():
        doc = (rule.__doc__ or "").strip().splitlines()
        if doc:
            out.append(" ".join(doc[0].split()).rstrip("."))
    fn_note = getattr(steps, "_fn_note", None)
    if fn_note is not None:
        out += [fn_note(name) for name in NAMES]
    return list(dict.fromkeys(out))


def test_rule_notes_compile():
    notes = collected_rules() + stated_identities() + NOTES
    assert len(notes) > 40
    assert_compiles([prose_latex(x) for x in notes], notes)


def test_hostile_and_random_text_compiles():
    rng = random.Random(20240601)
    texts = HOSTILE + ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 30)))
                       for _ in range(300)]
    out = [prose_latex(x) for x in texts]
    assert out == [prose_latex(x) for x in texts]  # deterministic
    assert all("$" not in piece.replace(r"\$", "") for piece in out)
    assert_compiles(out, texts)


def test_prose_words_and_mathematics():
    assert prose_latex("m×n, the shape of X") == r"m\times n\text{, the shape of }X"
    assert prose_latex("d(A^p) = p A^(p−1) ⊙ dA (elementwise, constant p)") == (
        r"\mathrm{d}(A^{p}) = p A^{p-1} \odot \mathrm{d}A\text{ (elementwise, constant }p"
        r"\text{)}")
    assert prose_latex("dX is symmetric: A : dX = ½(A + Aᵀ) : dX") == (
        r"\mathrm{d}X\text{ is symmetric: }A : \mathrm{d}X = \tfrac{1}{2}(A + A^{\top}) "
        r": \mathrm{d}X")
    assert prose_latex("a broadcast's adjoint sums: A : b 1ᵀ = A 1 : b") == (
        r"\text{a broadcast's adjoint sums: }A : b 1^{\top} = A 1 : b")
    assert prose_latex("d log det A = tr(A⁻¹ dA)") == (
        r"\mathrm{d} \log \det A = \operatorname{tr}(A^{-1} \mathrm{d}A)")
    assert prose_latex("g = W₂ᵀ u, which is ∂L/∂z") == (
        r"g = W_{2}^{\top} u\text{, which is }\partial L/\partial z")
    assert prose_latex("chain rule through relu; dŷ = H(z) ⊙ dz") == (
        r"\text{chain rule through relu; }\mathrm{d}\hat{y} = H(z) \odot \mathrm{d}z")
    assert prose_latex("σ′(t) = σ(t) · (1 − σ(t))") == (
        r"\sigma'(t) = \sigma(t) \cdot (1 - \sigma(t))")
    assert prose_latex("x ≠ y") == r"x \ne y"  # a symbol is not decomposed into = and /
    assert prose_latex("W_1 + x²ᵀ") == r"W_{1} + x^{2\top}"
    assert prose_latex("x_1ₘ") == r"x_{1}{}_{m}"  # no double subscript
    assert prose_latex("100% & $5") == r"100\% \& \$5"


# ---- expressions, gradients, reports ------------------------------------------------------


def test_random_expressions_and_their_gradients_compile():
    fragments, labels = [], []
    for seed in range(100):
        case = strategies.random_case(random.Random(seed))
        fragments.append(to_latex(case.expr))
        labels.append(case.text)
        for x, g in zip(case.variables, mg.gradients(case.expr, case.variables)):
            fragments.append(to_latex(g))
            labels.append(f"d/d{x.params[0]} of {case.text}")
    assert_compiles(fragments, labels)


def test_a_fraction_of_two_parenthesised_factors_keeps_its_parentheses():
    # \frac{...} once dropped the outer \left( \right) of (b + a)(a + b), leaving
    # \frac{b + a\right) \left(a + b}{10}
    a, b = mg.scalar("a"), mg.scalar("b")
    L = ((b + a) * (a + b)) / 10
    tex = to_latex(L)
    assert tex.startswith(r"\frac{\left(b + a\right)"), tex
    assert_compiles([tex])


UNICODE_NAMES = ["θ", "ŷ", "λ1", "xθ", "é", "Δx"]


def test_unicode_names_compile():
    fragments = []
    for name in UNICODE_NAMES:
        v = mg.vector(name, n)
        fragments.append(to_latex(mg.sum(v ** 2) + mg.norm(v)))
        fragments.append(mg.report(mg.sum(mg.exp(v)) * 2, [v]).to_latex())
    assert to_latex(mg.vector("θ", n)) == r"\theta"
    assert to_latex(mg.vector("ŷ", n)) == r"\hat{y}"
    assert_compiles(fragments, [f"name {x}" for x in UNICODE_NAMES for _ in (1, 2)])


def losses():
    X, W, A, B = mg.matrix("X", m, n), mg.matrix("W", k, n), mg.matrix("A", n, n), \
        mg.matrix("B", n, n)
    S = mg.matrix("S", n, n, symmetric=True)
    w, x, y, v = mg.vector("w", n), mg.vector("x", n), mg.vector("y", m), mg.vector("v", k)
    s, r = mg.scalar("s"), mg.var("r", 1, n)
    W1, W2 = mg.matrix("W1", k, n), mg.matrix("W2", p, k)
    return [
        (mg.sum((X @ w - y) ** 2), [w, X]),
        (mg.logsumexp(W @ x) - mg.dot(v, W @ x), [W, x]),
        (mg.trace(mg.inv(A) @ B) + mg.logdet(A), [A, B]),
        (mg.det(A), [A]),
        (x.T @ S @ x, [S, x]),
        (mg.norm(X @ w - y) ** 2 / m, [w]),
        (mg.sum(mg.sigmoid(X @ w) - y * mg.log(mg.sigmoid(X @ w))), [w, X]),
        (mg.sum(mg.tanh(W2 @ mg.tanh(W1 @ x))), [W1, W2, x]),
        (mg.sum(mg.softmax(W @ x) * v), [W]),
        (mg.sum(mg.exp(x) * x) / n + s * mg.norm(x), [x, s]),
        (mg.sum(mg.sqrt(mg.exp(x) + 1)) + mg.sum(mg.abs(X)), [x, X]),
        (mg.sum(mg.relu(X @ w + s)) + mg.sum(mg.softplus(r @ A)), [w, s, r]),
        (mg.sum(mg.sum(X ** 3, axis=0)), [X]),
    ]


def test_reports_compile():
    fragments = [example_report(check=False).to_latex()]
    fragments += [mg.report(L, wrt).to_latex() for L, wrt in losses()]
    prog = mg.parse_program("h = tanh(W1 @ x); yhat = W2 @ h; loss = sum((yhat - y)**2)",
                            "W1: k,n; x: n; W2: p,k; y: p")
    fragments.append(mg.report(prog.result, ["W1", "W2"], definitions=prog.definitions,
                               loss_name=prog.result_name).to_latex())
    assert_compiles(fragments)


def test_derivations_compile():
    fragments = []
    for src, shapes, wrt in DERIVATIONS:
        fragments.append(mg.derive(mg.parse(src, shapes), wrt).to_latex())
    prog = program()
    for wrt in ("X", "w", "b"):
        fragments.append(mg.derive(prog.result, wrt, definitions=prog.definitions).to_latex())
    assert_compiles(fragments, [f"derivation {c[0]} by {c[2]}" for c in DERIVATIONS]
                    + [f"the example by {w}" for w in ("X", "w", "b")])


# ---- Jacobians and Hessians, in matrix and index notation --------------------------------


def derivatives():
    X, A = mg.matrix("X", m, n), mg.matrix("A", n, n)
    x, w, y = mg.vector("x", n), mg.vector("w", n), mg.vector("y", m)
    W1, x1, yhat = mg.matrix("W1", k, n), mg.vector("x_1", n), mg.vector("yhat", k)
    v = mg.vector("a_b_c", n)
    return [
        mg.jacobian(X @ w, X, name="z"), mg.jacobian(X @ w, X),
        mg.jacobian(mg.tanh(A @ x), x), mg.jacobian(mg.softmax(x), x),
        mg.jacobian(A @ x, x, layout="denominator"),
        mg.hessian(x.T @ A @ x, x), mg.hessian(mg.sum((X @ w - y) ** 2), X),
        mg.derivative(mg.sum(x ** 3), x, 3), mg.jacobian(mg.jacobian(X @ w, X), w),
        mg.jacobian(mg.sum(X - y, axis=1) * mg.sum(X, axis=1), X),
        mg.jacobian(mg.sum(X - y, axis=1), y, name="z"),
        mg.hessian(mg.logdet(A), A), mg.jacobian(mg.inv(A), A), mg.jacobian(A @ A.T, A),
        mg.hessian(mg.sum(mg.softmax(X @ w) * y), w),
        mg.hessian(mg.sum(mg.exp(A)) / 3, A),
        # names with subscripts of their own, and names given to the derivative
        mg.jacobian(W1 @ x1, W1), mg.jacobian(W1 @ x1, x1, name="z_1"),
        mg.hessian(mg.sum((W1 @ x1) ** 2) / 2, W1), mg.jacobian(yhat * (W1 @ x1), W1),
        mg.jacobian(v * v, v, name="F_2"), mg.jacobian(mg.exp(A), A, name="yhat"),
    ]


def test_jacobians_and_hessians_compile():
    fragments, labels = [], []
    for d in derivatives():
        fragments += [d.to_latex(), d.index_notation(latex=True)]
        labels += [f"{d.label()} (matrix)", f"{d.label()} (index notation)"]
    assert_compiles(fragments, labels)


def test_index_notation_latex_has_no_unicode_minus_or_clashing_subscripts():
    A = mg.matrix("A", n, n)
    W1, x1 = mg.matrix("W1", k, n), mg.vector("x_1", n)
    tex = mg.hessian(mg.logdet(A), A).index_notation(latex=True)
    assert "−" not in tex and "= -" in tex, tex
    assert mg.jacobian(W1 @ x1, W1).to_latex() == r"\delta_{ij} \, {x_{1}}_{k}"
    lhs = mg.jacobian(W1 @ x1, x1, name="z_1").index_notation(latex=True).split(" = ")[0]
    assert lhs == r"\frac{\partial {z_{1}}_{i}}{\partial {x_{1}}_{j}}", lhs
