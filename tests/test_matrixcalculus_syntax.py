"""matrixcalculus.org's input language (syntax="matrixcalculus"): each construct and the
site's examples against the same expression in the Python-like language, the letter
convention for undeclared names, errors with a caret, and random token strings that
raise nothing but MatgradError."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad.errors import MatgradError, ParseError, ShapeError
from matgrad.syntax import NOTATIONS, detect

from .strategies import same_value

SHAPES = {"X": "m,n", "A": "n,n", "B": "n,n", "C": "n,n", "x": "n", "v": "n", "w": "n",
          "b": "n", "y": "m", "a": "scalar", "s": "scalar"}


def mc(text, shapes=SHAPES, **kw):
    return mg.parse(text, shapes, syntax="matrixcalculus", **kw)


def py(text, shapes=SHAPES):
    return mg.parse(text, shapes, syntax="python")


def assert_same(text, python):
    got, want = mc(text), py(python)
    assert got.shape == want.shape, (text, got, want)
    assert got == want or same_value(got, want), (text, str(got), str(want))


# ---- each construct, and the site's examples ----------------------------------------------

CASES = [
    # * is the matrix product, and the product by a scalar
    ("x'*A*x", "x.T @ A @ x"),
    ("X*w", "X @ w"),
    ("A*B*x", "A @ B @ x"),
    ("2*x", "2 * x"),
    ("x*2", "2 * x"),
    ("a*A*x", "a * (A @ x)"),
    ("0.5*x'*A*x", "0.5 * (x.T @ A @ x)"),
    # ' and .' are the transpose
    ("x'", "x.T"),
    ("x.'*x", "x.T @ x"),
    ("(A*x)'", "(A @ x).T"),
    ("A''", "A"),
    # the elementwise operations
    ("A.*B", "A * B"),
    ("x./v", "x / v"),
    ("x.^2", "x**2"),
    ("x.^-1", "x**-1"),
    ("x.^0.5", "x**0.5"),
    ("A.^2", "A**2"),
    ("x.^a", "x**a"),
    ("2.*x", "2 * x"),  # the dot is the operator's, as in MATLAB
    ("1./x", "1 / x"),
    ("x/2", "x / 2"),
    ("x / a", "x / a"),
    # ^: the power of a scalar, the matrix power of a square matrix
    ("a^2", "a**2"),
    ("a^s", "a**s"),
    ("a^-s", "a**(-s)"),
    ("A^2", "A @ A"),
    ("A^3*x", "A @ A @ A @ x"),
    ("A^-1", "inv(A)"),
    ("A^-1*x", "inv(A) @ x"),
    ("A^-2", "inv(A) @ inv(A)"),
    ("A^0*x", "eye(n) @ x"),
    ("A^(2)", "A @ A"),
    ("A^(-1)", "inv(A)"),
    ("2^-1*x", "0.5 * x"),
    # + - and precedence
    ("x + v - w", "x + v - w"),
    ("-x", "-x"),
    ("-x.^2", "-(x**2)"),
    ("a*-x", "a * -x"),
    ("+x", "x"),
    ("x - -v", "x + v"),
    ("A*x + v.*w", "A @ x + v * w"),
    ("x'*A*x + 2*b'*x", "x.T @ A @ x + 2 * (b.T @ x)"),
    ("(x + v)'*(x - v)", "(x + v).T @ (x - v)"),
    ("a*x.^2", "a * x**2"),
    ("x.*v./w", "(x * v) / w"),
    ("1e-3*x + .5*v", "0.001 * x + 0.5 * v"),
    # functions
    ("tr(A)", "trace(A)"),
    ("det(A)", "det(A)"),
    ("logdet(A)", "logdet(A)"),
    ("inv(A)*b", "inv(A) @ b"),
    ("exp(x)", "exp(x)"),
    ("log(exp(x))", "log(exp(x))"),
    ("sin(x) + cos(x)", "sin(x) + cos(x)"),
    ("tanh(A*x)", "tanh(A @ x)"),
    ("sqrt(exp(x))", "sqrt(exp(x))"),
    ("abs(x)", "abs(x)"),
    ("sign(x)'*x", "sign(x).T @ x"),
    ("sum(X)", "sum(X)"),
    ("sum (x)", "sum(x)"),  # a space before the parenthesis is still a call
    ("norm2(x)", "norm(x)"),
    ("norm2(X)", "norm(X)"),  # of a matrix, the Frobenius norm, as the site defines it
    ("norm1(x)", "sum(abs(x))"),
    ("norm1(X)", "sum(abs(X))"),  # of a matrix, the entrywise 1-norm
    ("vector(1)'*x", "ones(n).T @ x"),
    ("vector(2)'*x", "(2 * ones(n)).T @ x"),
    ("vector(a) + x", "a * ones(n) + x"),
    ("sum(matrix(1).*X)", "sum(ones(m, n) * X)"),
    ("matrix(3) + X", "3 * ones(m, n) + X"),
    ("x'*eye*x", "x.T @ eye(n) @ x"),
    ("tr(eye*A)", "trace(A)"),
    # statements
    ("z = X*w; norm2(z - y)^2", "sum((X @ w - y)**2)"),
    ("z = X*w\nsum(z)", "sum(X @ w)"),
]

# the examples of the site's documentation, and the usual ones
EXAMPLES = [
    ("x'*A*x", "x.T @ A @ x"),
    ("A*exp(x)", "A @ exp(x)"),
    ("(b.*v)'*x", "(b * v).T @ x"),
    ("a^s", "a**s"),
    ("norm1(X*w-y)", "sum(abs(X @ w - y))"),
    ("norm2(X*w-y)^2", "sum((X @ w - y)**2)"),
    ("sum(log(exp(-y.*(X*w)) + vector(1)))", "sum(log(exp(-y * (X @ w)) + ones(m)))"),
    ("tr(A*X'*X*B*C)", "trace(A @ X.T @ X @ B @ C)"),
    ("log(det(inv(A)))", "log(det(inv(A)))"),
    ("tr(X*A*X')", "trace(X @ A @ X.T)"),
    ("logdet(A)", "logdet(A)"),
    ("sum(exp(X*w))", "sum(exp(X @ w))"),
]


@pytest.mark.parametrize("text, python", CASES + EXAMPLES)
def test_each_construct_means_what_the_python_like_text_does(text, python):
    assert_same(text, python)


def test_equal_trees_where_the_reading_is_direct():
    for text, python in [("x'*A*x", "x.T @ A @ x"), ("A.*B", "A * B"), ("x./v", "x / v"),
                         ("x.^2", "x**2"), ("inv(A)*b", "inv(A) @ b"),
                         ("tr(X*A*X')", "trace(X @ A @ X.T)"), ("logdet(A)", "logdet(A)"),
                         ("sum(exp(X*w))", "sum(exp(X @ w))"),
                         ("norm2(X*w-y)^2", "norm(X @ w - y)**2")]:
        assert mc(text) == py(text=python), text


def test_the_program_records_its_notation():
    p = mg.parse_program("z = X*w; sum(z)", SHAPES, syntax="matrixcalculus")
    assert p.notation == "matrixcalculus" and p.result_name is None
    assert set(p.definitions) == {"z"}


def test_a_gradient_from_the_notation():
    L = mc("norm2(X*w-y)^2")
    want = py("2 * X.T @ (X @ w - y)")
    (n,) = mg.dims("n")
    assert same_value(mg.grad(L, mg.vector("w", n)), want)


# ---- the letter convention --------------------------------------------------------------


def shapes_of(text, shapes=None, **kw):
    p = mg.parse_program(text, shapes, syntax="matrixcalculus", **kw)
    return {k: tuple(str(s) for s in v.shape) for k, v in p.variables.items()}


def test_undeclared_names_follow_the_sites_letters():
    # a to g: scalars; h to z: vectors; capitals: matrices
    assert shapes_of("x'*A*x") == {"x": ("n", "1"), "A": ("n", "n")}
    assert shapes_of("a*x + b*y") == {"a": ("1", "1"), "x": ("n", "1"), "b": ("1", "1"),
                                      "y": ("n", "1")}
    assert shapes_of("sum(exp(X*w))") == {"X": ("n", "m"), "w": ("m", "1")}
    assert shapes_of("g*h") == {"g": ("1", "1"), "h": ("n", "1")}
    assert shapes_of("alpha*theta + zeta") == {"alpha": ("1", "1"), "theta": ("n", "1"),
                                               "zeta": ("n", "1")}
    assert shapes_of("tr(Xw)") == {"Xw": ("n", "n")}  # one name, no product


def test_new_dimensions_skip_names_in_use():
    assert shapes_of("n'*A*n") == {"n": ("m", "1"), "A": ("m", "m")}
    assert shapes_of("x'*y", dims=("n",)) == {"x": ("m", "1"), "y": ("m", "1")}


def test_declared_shapes_win():
    assert shapes_of("a'*x", {"a": "k"}) == {"a": ("k", "1"), "x": ("k", "1")}
    assert shapes_of("x'*A*x", {"x": "k"}) == {"x": ("k", "1"), "A": ("k", "k")}
    assert shapes_of("sum(h)", {"h": "scalar"}) == {"h": ("1", "1")}


def test_inference_may_make_a_vector_one_by_one():
    # x*y for two vectors: only a 1-vector y makes it a product
    assert shapes_of("x*y") == {"x": ("n", "1"), "y": ("1", "1")}


def test_a_square_matrix_from_its_power_or_inverse():
    assert shapes_of("sum(A^2)") == {"A": ("n", "n")}
    assert shapes_of("sum(A^-1)") == {"A": ("n", "n")}


def test_the_identity_and_ones_take_their_size_from_their_use():
    assert mc("x'*eye*x").shape == (1, 1)
    assert str(mc("vector(1)'*x").children[0].shape[1]) == "n"


# ---- errors -----------------------------------------------------------------------------

ERRORS = [
    ("x +* y", ParseError, 3, "syntax error"),
    ("x*", ParseError, 1, "ends too early"),
    ("(x + v", ParseError, 5, "ends too early"),
    ("x @ v", ParseError, 2, "not part of the notation"),
    ("x ** 2", ParseError, 3, "unexpected '*'"),
    ("foo(x)", ParseError, 0, "unknown function 'foo'"),
    ("relu(x)", ParseError, 0, "unknown function 'relu'"),
    ("X(w)", ParseError, 0, "* is the product"),
    ("sin(x, v)", ParseError, 0, "takes one argument"),
    ("exp", ParseError, 0, "is a function"),
    ("x^2", ShapeError, 0, "write .^ for the elementwise power"),
    ("X^2", ShapeError, 0, "square matrix"),
    ("A^0.5", ShapeError, 0, "whole exponent"),
    ("A^100", ShapeError, 0, "limited"),
    ("A^s", ShapeError, 0, "power of a scalar by a scalar"),
    ("a^x", ShapeError, 0, "x is n×1"),
    ("x'*X", ShapeError, 0, None),
    ("x + y", ShapeError, 0, None),
    ("tr(X)", ShapeError, 0, None),
]


@pytest.mark.parametrize("text, cls, column, words", ERRORS)
def test_errors_point_at_the_column(text, cls, column, words):
    with pytest.raises(cls) as info:
        mc(text)
    err = info.value
    assert err.column == column, (err.column, str(err))
    assert "^" in str(err).splitlines()[-1]
    if words:
        assert words in str(err)


def test_an_unknown_function_lists_the_supported_ones():
    with pytest.raises(ParseError) as info:
        mc("x'*diag(A)")
    message = str(info.value)
    assert "unknown function 'diag'" in message and info.value.column == 3
    for name in ("tr", "det", "logdet", "inv", "exp", "log", "sin", "cos", "tanh", "sqrt",
                 "abs", "sum", "norm1", "norm2", "vector", "matrix"):
        assert name in message


def test_sizes_that_nothing_fixes_are_asked_for():
    with pytest.raises(ShapeError, match="vector\\(1\\)"):
        mg.parse("sum(vector(1))", syntax="matrixcalculus")
    with pytest.raises(ShapeError, match="matrix\\(1\\)"):
        mg.parse("sum(matrix(1))", syntax="matrixcalculus")


# ---- choosing the notation ----------------------------------------------------------------


def test_auto_never_chooses_it():
    assert "matrixcalculus" in NOTATIONS
    for text in ("x'*A*x", "A.*B", "x./y", "norm2(X*w-y)^2", "vector(1)'*x", "A^-1*x"):
        assert detect(text) != "matrixcalculus"
    # under auto, * stays the elementwise product
    e = mg.parse("x*v", SHAPES)
    assert e == py("x * v")


def test_an_unknown_syntax_lists_it():
    with pytest.raises(MatgradError, match="matrixcalculus"):
        mg.parse("x", syntax="matlab")


def test_the_command_line_offers_it():
    def run(*args):
        return subprocess.run([sys.executable, "-m", "matgrad", *args], capture_output=True,
                              text=True, timeout=120)
    shapes = "X: m,n; w: n; y: m"
    mine = run("norm2(X*w-y)^2", "--shape", shapes, "--wrt", "w", "--syntax",
               "matrixcalculus")
    python = run("sum((X @ w - y)**2)", "--shape", shapes, "--wrt", "w")
    assert mine.returncode == python.returncode == 0, mine.stderr
    line = next(ln for ln in python.stdout.splitlines() if "∂L/∂w" in ln)
    assert line in mine.stdout
    assert "matrixcalculus" in run("--help").stdout


# ---- random token strings ---------------------------------------------------------------

TOKENS = ["x", "A", "a", "X", "w", "y", "eye", "2", "0.5", "1e3", "-", "+", "*", "/", ".*",
          "./", ".^", "^", "'", ".'", "(", ")", ",", ";", "\n", " ", "=", "z", "tr(", "det(",
          "norm1(", "norm2(", "vector(", "matrix(", "sum(", "exp(", "foo(", "inv(", "A^-1"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_random_token_strings_raise_only_matgrad_errors(tokens):
    text = "".join(tokens)
    start = time.perf_counter()
    try:
        mg.parse_program(text, syntax="matrixcalculus")
    except MatgradError:
        pass
    assert time.perf_counter() - start < 5.0


def test_long_input_parses_in_bounded_time():
    text = " + ".join(["x'*A*x", "norm2(X*w - y)^2", "sum(exp(X*w))"] * 150)
    start = time.perf_counter()
    assert mg.parse(text, SHAPES, syntax="matrixcalculus").shape == (1, 1)
    assert len(text) > 4000 and time.perf_counter() - start < 5.0


def test_deep_nesting_is_a_limit_error():
    with pytest.raises(mg.errors.LimitError):
        mg.parse("(" * 1100 + "x" + ")" * 1100, syntax="matrixcalculus")
