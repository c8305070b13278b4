"""The notations: mathematical text and LaTeX, each construct against the expression the
constructors build; detection; the seed example written each way; precedence; the
ambiguous cases that ask; errors with a caret in every notation; the limits."""
from __future__ import annotations

import time

import pytest

import matgrad as mg
from matgrad.syntax import detect

from .strategies import same_value

m, n = mg.dims("m n")
X, Y = mg.matrix("X", m, n), mg.matrix("Y", m, n)
A, B = mg.matrix("A", n, n), mg.matrix("B", n, n)
W1 = mg.matrix("W1", n, n)
x, w, y = mg.vector("x", n), mg.vector("w", n), mg.vector("y", m)
b, lam, beta, yhat = mg.scalar("b"), mg.scalar("lam"), mg.scalar("beta"), mg.vector("yhat", m)
SHAPES = {"X": "m,n", "Y": "m,n", "A": "n,n", "B": "n,n", "W1": "n,n", "x": "n", "w": "n",
          "y": "m", "b": "scalar", "lam": "scalar", "beta": "scalar", "yhat": "m"}


def math(text, shapes=SHAPES):
    return mg.parse(text, shapes, syntax="math")


def latex(text, shapes=SHAPES):
    return mg.parse(text, shapes, syntax="latex")


# ---- mathematical text ----------------------------------------------------------------

MATH = [
    ("xᵀ A x", lambda: x.T @ A @ x),
    ("x^T A x", lambda: x.T @ A @ x),
    ("x' A x", lambda: x.T @ A @ x),
    ("x′ A x", lambda: x.T @ A @ x),
    ("xᵀAx", lambda: x.T @ A @ x),  # names that split into declared ones
    ("A⁻¹ x", lambda: mg.inv(A) @ x),
    ("A^-1 x", lambda: mg.inv(A) @ x),
    ("A^(−1) x", lambda: mg.inv(A) @ x),
    ("A⁻ᵀ x", lambda: mg.inv(A.T) @ x),
    ("A^∘(−1)", lambda: A ** -1),  # the elementwise reciprocal, as printed
    ("x⁻¹", lambda: x ** -1),  # a vector has no inverse: the reciprocal
    ("x²", lambda: x ** 2),
    ("A²", lambda: mg.matrix_power(A, 2)),  # a whole power of a square matrix
    ("A^∘(2)", lambda: A ** 2),  # the elementwise power of a square matrix, as printed
    ("x³ ⊙ x", lambda: x ** 3 * x),
    ("x^(1/2)", lambda: x ** mg.ops._number(0.5)),
    ("x^2", lambda: x ** 2),
    ("‖X w − y‖²", lambda: mg.norm(X @ w - y) ** 2),
    ("‖x‖₂", lambda: mg.norm(x)),
    ("‖X‖_F", lambda: mg.norm(X)),
    ("‖x‖ ‖w‖", lambda: mg.norm(x) @ mg.norm(w)),
    ("‖‖x‖ w‖", lambda: mg.norm(mg.norm(x) * w)),
    ("|b|", lambda: mg.abs(b)),
    ("x ⊙ w", lambda: x * w),
    ("x ∘ w", lambda: x * w),
    ("x * w", lambda: x * w),
    ("b · x", lambda: b * x),
    ("x ⊘ w", lambda: x / w),
    ("x − w", lambda: x - w),
    ("−x", lambda: -x),
    ("b + −3", lambda: b + mg.const(-3)),
    ("X w", lambda: X @ w),
    ("Xw", lambda: X @ w),
    ("2x", lambda: 2 * x),
    ("2 X w", lambda: (2 * X) @ w),
    ("λ x", lambda: lam * x),
    ("β x", lambda: beta * x),
    ("ŷ − y", lambda: yhat - y),
    ("W₁ x", lambda: W1 @ x),
    ("X : Y", lambda: mg.sum(X * Y)),
    ("⟨X, Y⟩", lambda: mg.sum(X * Y)),
    ("tr(Aᵀ B)", lambda: mg.trace(A.T @ B)),
    ("tr A", lambda: mg.trace(A)),
    ("log det(A)", lambda: mg.logdet(A)),
    ("log det A", lambda: mg.logdet(A)),
    ("det(A)", lambda: mg.det(A)),
    ("diag(x)", lambda: mg.diag(x)),
    ("sum(X)", lambda: mg.sum(X)),
    ("sum(X, axis=0) w", lambda: mg.sum(X, axis=0) @ w),
    ("σ(x)", lambda: mg.sigmoid(x)),
    ("log σ(x)", lambda: mg.logsigmoid(x)),
    ("H(x) ⊙ x", lambda: mg.heaviside(x) * x),
    ("log x", lambda: mg.log(x)),
    ("exp(x) + tanh(x)", lambda: mg.exp(x) + mg.tanh(x)),
    ("relu(X w + b)", lambda: mg.relu(X @ w + b)),
    ("1ₙᵀ x", lambda: mg.ones(n).T @ x),
    ("1ₘₓₙ + X", lambda: mg.ones(m, n) + X),
    ("0ₘₓₙ + X", lambda: mg.zeros(m, n) + X),
    ("1[m×n] + X", lambda: mg.ones(m, n) + X),
    ("A + I", lambda: A + mg.eye(n)),
    ("Iₙ x", lambda: mg.eye(n) @ x),
    ("x + 1", lambda: x + 1),
    ("1/2 · xᵀ x", lambda: mg.ops.const(mg.ops._number(0.5)) * (x.T @ x)),
    ("2/m · sum(X)", lambda: 2 / m * mg.sum(X)),
    ("sum(X)/m", lambda: mg.sum(X) / m),
    ("X(w + x)", lambda: X @ (w + x)),
]


@pytest.mark.parametrize("text, expected", MATH, ids=[t for t, _ in MATH])
def test_mathematical_text(text, expected):
    got, want = math(text), expected()
    assert got is want or (got.shape == want.shape and same_value(got, want)), (
        str(got), str(want))


def test_a_tight_slash_binds_before_juxtaposition():
    """2/m h is (2/m) h, as on paper; with spaces the slash is the product-level one."""
    r = X @ w - y
    assert same_value(math("1/2 ‖X w − y‖²"), mg.norm(r) ** 2 / 2)
    assert same_value(math("1 / 2 ‖X w − y‖²"), 1 / (2 * mg.norm(r) ** 2))


def test_precedence():
    # juxtaposition binds tighter than · ⊙ /, which bind tighter than + −, then :
    assert math("b · X w") is b * (X @ w)
    assert math("X w / b") is (X @ w) / b
    assert math("−A x") is -(A @ x)
    assert math("x ⊙ w + x") is x * w + x
    assert same_value(math("X : Y + Y"), mg.sum(X * (Y + Y)))
    # postfix before juxtaposition: xᵀ A is (xᵀ) A
    assert math("xᵀ A").shape == (1, n)
    assert math("(A x)ᵀ") is (A @ x).T


# ---- LaTeX ------------------------------------------------------------------------------

LATEX = [
    (r"\frac{1}{2}\|Ax-x\|_2^2",
     lambda: mg.ops.const(mg.ops._number(0.5)) * mg.norm(A @ x - x) ** 2),
    (r"\tfrac{1}{2} x^\top x", lambda: mg.ops.const(mg.ops._number(0.5)) * (x.T @ x)),
    (r"\sqrt{x}", lambda: mg.sqrt(x)),
    (r"x^\top A x", lambda: x.T @ A @ x),
    (r"x^T A x", lambda: x.T @ A @ x),
    (r"{x}^{\top} A x", lambda: x.T @ A @ x),
    (r"A^{-1} x", lambda: mg.inv(A) @ x),
    (r"A^{-\top} x", lambda: mg.inv(A.T) @ x),
    (r"A^{\circ 2}", lambda: A ** 2),
    (r"A^{\circ -1}", lambda: A ** -1),
    (r"x^2", lambda: x ** 2),
    (r"\|X\|_F", lambda: mg.norm(X)),
    (r"\left\| X w - y \right\|^2", lambda: mg.norm(X @ w - y) ** 2),
    (r"\lVert x \rVert", lambda: mg.norm(x)),
    (r"\bigl( x + w \bigr)", lambda: x + w),
    (r"\operatorname{tr}(A^\top B)", lambda: mg.trace(A.T @ B)),
    (r"\mathrm{tr}\left(A\right)", lambda: mg.trace(A)),
    (r"\log\det A", lambda: mg.logdet(A)),
    (r"\log\det\left(A\right)", lambda: mg.logdet(A)),
    (r"\det(A)", lambda: mg.det(A)),
    (r"\exp(x) + \log(x)", lambda: mg.exp(x) + mg.log(x)),
    (r"\tanh\left(x\right)", lambda: mg.tanh(x)),
    (r"\sigma\left(x\right)", lambda: mg.sigmoid(x)),
    (r"\log\sigma\left(x\right)", lambda: mg.logsigmoid(x)),
    (r"\max(0, Xw + b)", lambda: mg.relu(X @ w + b)),
    (r"\operatorname{relu}(Xw)", lambda: mg.relu(X @ w)),
    (r"x \odot w", lambda: x * w),
    (r"x \circ w", lambda: x * w),
    (r"x \oslash w", lambda: x / w),
    (r"b \cdot x", lambda: b * x),
    (r"\langle X, Y \rangle", lambda: mg.sum(X * Y)),
    (r"\mathbf{X} \mathbf{w}", lambda: X @ w),
    (r"\boldsymbol{\beta} x", lambda: beta * x),
    (r"\hat{y} - y", lambda: yhat - y),
    (r"W_1 x", lambda: W1 @ x),
    (r"W_{1} x", lambda: W1 @ x),
    (r"\lambda x", lambda: lam * x),
    (r"\mathbf{1}^\top y", lambda: mg.ones(m).T @ y),
    (r"\mathbf{1}_{n}^{\top} x", lambda: mg.ones(n).T @ x),
    (r"\mathbf{1}_{m \times n} + X", lambda: mg.ones(m, n) + X),
    (r"\mathbf{0}_{m} + y", lambda: mg.zeros(m) + y),
    (r"x^\top \, A \; x", lambda: x.T @ A @ x),
    (r"x^\top \quad A ~ x", lambda: x.T @ A @ x),
    (r"2 \, x", lambda: 2 * x),
    (r"\operatorname{sum}\left(X, \text{axis}=0\right) w", lambda: mg.sum(X, axis=0) @ w),
    (r"\mathrm{v\_m} + y", lambda: mg.vector("v_m", m) + y),
    (r"xx^\top", lambda: x @ x.T),
    (r"Xw", lambda: X @ w),
]


@pytest.mark.parametrize("text, expected", LATEX, ids=[t for t, _ in LATEX])
def test_latex(text, expected):
    shapes = dict(SHAPES, v_m="m")
    got, want = latex(text, shapes), expected()
    assert got is want or (got.shape == want.shape and same_value(got, want)), (
        str(got), str(want))


def test_unknown_latex_command_names_it_and_lists_what_is_supported():
    with pytest.raises(mg.ParseError) as info:
        latex(r"\sum_i x_i")
    err = info.value
    assert r"\sum" in err.message and "supported" in err.message and r"\frac" in err.message
    assert err.column == 0 and "^^^^" in str(err)


def test_a_square_matrix_to_a_whole_power_is_the_matrix_power_in_latex():
    assert latex("A^2") is mg.matrix_power(A, 2)
    assert latex(r"A^{\circ 2}") is A ** 2
    with pytest.raises(mg.ShapeError, match="ambiguous"):  # a fraction: which power?
        latex("A^{0.5}")
    assert latex(r"x^2") is x ** 2  # a vector's power can only be elementwise


# ---- detection and dispatch -------------------------------------------------------------

@pytest.mark.parametrize("text, notation", [
    ("sum((X @ w - y)**2)", "python"),
    ("x.T @ A @ x", "python"),
    ("xᵀ A x", "math"),
    ("‖X w − y‖²", "math"),
    ("x^T A x", "math"),
    ("σ(x)", "math"),
    (r"\frac{1}{2} x", "latex"),
    ("W_{1} x", "latex"),
])
def test_detection(text, notation):
    assert detect(text) == notation


def test_auto_reads_juxtaposition_that_is_no_python():
    assert mg.parse("X w", SHAPES) is X @ w
    assert mg.parse("2x", SHAPES) is 2 * x


def test_auto_keeps_the_python_error_for_python_text():
    with pytest.raises(mg.ParseError, match="unknown function 'frobnicate'"):
        mg.parse("frobnicate(x)", SHAPES)


def test_syntax_must_be_a_known_notation():
    with pytest.raises(mg.MatgradError, match="syntax must be one of"):
        mg.parse("x", SHAPES, syntax="fortran")


def test_python_syntax_is_unchanged():
    assert mg.parse("x.T @ A @ x", SHAPES, syntax="python") is x.T @ A @ x


# ---- the Aᵀ → AT trap ----------------------------------------------------------------------

def test_a_superscript_t_is_the_transpose_in_mathematical_text():
    assert mg.parse("Aᵀ", SHAPES) is A.T  # auto: mathematical text
    assert math("Aᵀ") is A.T
    assert mg.parse("Aᵀ", {"A": "m,n"}).shape == (n, m)


def test_a_superscript_is_an_error_in_python_syntax():
    """Python would read Aᵀ as a new variable AT (NFKC); the Python-like syntax refuses."""
    with pytest.raises(mg.ParseError) as info:
        mg.parse("Aᵀ @ x", SHAPES, syntax="python")
    assert info.value.column == 1 and "syntax='math'" in info.value.message
    with pytest.raises(mg.ParseError):
        mg.parse("x² + 1", SHAPES, syntax="python")


# ---- the seed example ---------------------------------------------------------------------

SEED_SHAPES = {"X": "m,n", "w": "n", "b": "scalar", "y": "m"}


def _seed():
    Xs, ws, bs, ys = (mg.matrix("X", m, n), mg.vector("w", n), mg.scalar("b"),
                      mg.vector("y", m))
    return mg.sum((mg.relu(Xs @ ws + bs) - ys) ** 2) / m


@pytest.mark.parametrize("text", [
    "z = X w + b, ŷ = relu(z), L = ‖ŷ − y‖²/m",
    "z = Xw + b; ŷ = relu(z); L = ‖ŷ − y‖²/m",
    "z = X w + b\nŷ = relu(z)\nL = ‖ŷ − y‖² / m",
    "z = X @ w + b; yhat = relu(z); L = sum((yhat - y)**2) / m",
    r"\frac{1}{m}\|\mathrm{relu}(Xw+b) - y\|^2",
    r"z = Xw + b \\ \hat{y} = \max(0, z) \\ L = \frac{\|\hat{y} - y\|_2^2}{m}",
    r"\frac{1}{m} \left\| \operatorname{relu}\left(X w + b\right) - y \right\|^{2}",
])
def test_the_seed_example_in_every_notation(text):
    prog = mg.parse_program(text, SEED_SHAPES)
    assert same_value(prog.result, _seed()), str(prog.result)
    assert mg.grad(prog.result, "w").shape == (n, 1)


def test_assignments_name_intermediates_in_math_text():
    prog = mg.parse_program("z = X w + b, ŷ = relu(z), L = ‖ŷ − y‖²/m", SEED_SHAPES)
    assert list(prog.definitions) == ["z", "yhat"] and prog.result_name == "L"


# ---- shape inference ---------------------------------------------------------------------

def test_shapes_are_inferred_in_math_text():
    prog = mg.parse_program("‖X w − t‖² + λ · ‖w‖²", {"X": "m,n", "w": "n", "lam": "scalar"})
    assert prog.variables["t"].shape == (m, 1) and prog.inferred == ("t",)
    prog = mg.parse_program("tr(Xᵀ C X)", {"X": "m,n"})
    assert prog.variables["C"].shape == (m, m)
    prog = mg.parse_program(r"\|Xw - t\|^2", {"X": "m,n", "w": "n"}, syntax="latex")
    assert prog.variables["t"].shape == (m, 1)


def test_an_identity_without_a_size_asks_for_it():
    with pytest.raises(mg.ShapeError, match="size of I") as info:
        math("sum(I)")
    assert info.value.column == 4


# ---- ambiguity and errors with a caret ---------------------------------------------------

@pytest.mark.parametrize("text, syntax, message, column", [
    ("tr A B", "math", "parentheses", 0),
    ("x +", "math", "ends too early", 2),
    ("‖x", "math", "ends too early", 1),
    ("x ⊙ ⊙ w", "math", "unexpected '⊙'", 4),
    ("f(x)", "math", "unknown function 'f'", 0),
    ("x X", "math", "inner dimensions", 0),
    ("x € w", "math", "not part of the notation", 2),
    (r"\frac{1}{2 x", "latex", "ends too early", 11),
    (r"x^\top \foo x", "latex", r"\foo", 7),
    (r"\|X\|_3", "latex", "norms", 6),
    ("x @ ", "python", "syntax error", 3),
])
def test_errors_point_at_the_column(text, syntax, message, column):
    with pytest.raises(mg.MatgradError) as info:
        mg.parse(text, SHAPES, syntax=syntax)
    err = info.value
    assert message in err.message, err.message
    assert err.column == column, (err.column, str(err))
    assert "^" in str(err).splitlines()[-1]


def test_a_name_that_splits_two_ways_asks():
    with pytest.raises(mg.ParseError, match="put spaces"):
        math("aba", {"a": "scalar", "ab": "scalar", "ba": "scalar", "b": "scalar"})


def test_a_declared_variable_named_like_a_function_asks_when_called():
    with pytest.raises(mg.ParseError, match="both a declared variable and a function"):
        math("H(x)", dict(SHAPES, H="n,n"))
    assert math("H (x)", dict(SHAPES, H="n,n")) is mg.matrix("H", n, n) @ x


# ---- limits -----------------------------------------------------------------------------

@pytest.mark.parametrize("syntax, opener, closer", [("math", "(", ")"),
                                                    ("latex", "{", "}")])
def test_nesting_is_bounded(syntax, opener, closer):
    with pytest.raises(mg.LimitError, match="nested"):
        mg.parse(opener * 1200 + "x" + closer * 1200, SHAPES, syntax=syntax)


def test_length_is_bounded_in_every_notation():
    for syntax in ("math", "latex"):
        with pytest.raises(mg.LimitError, match="characters long"):
            mg.parse("x" * 100_001, SHAPES, syntax=syntax)


@pytest.mark.parametrize("syntax, term", [("math", "xᵀ A x + ‖x − w‖² + "),
                                          ("latex", r"x^\top A x + \|x - w\|^2 + ")])
def test_a_long_input_parses_in_linear_time(syntax, term):
    text = (term * (4000 // len(term)))[:-3]
    start = time.perf_counter()
    e = mg.parse(text, SHAPES, syntax=syntax)
    assert e.shape == (1, 1) and len(text) >= 3900
    assert time.perf_counter() - start < 5.0
