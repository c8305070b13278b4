"""Bad input: every case raises its MatgradError subclass with a useful message, and text
errors put the caret under the offending column. The command line turns them into a
message on stderr and exit status 2, without a traceback."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import matgrad as mg
from matgrad.errors import DomainError, LimitError, MatgradError, ParseError, ShapeError


def caret(err: MatgradError) -> tuple[str, int, int]:
    """(the quoted source line, the caret's column in it, the caret's width), read back
    from the rendered message."""
    lines = str(err).split("\n")
    quoted, marks = lines[-2], lines[-1]
    assert quoted.startswith("  ") and marks.startswith("  ")
    col = marks.index("^") - 2
    return quoted[2:], col, marks.count("^")


def raises(cls, text, shapes=None, match=None) -> MatgradError:
    with pytest.raises(cls, match=match) as info:
        mg.parse(text, shapes)
    assert isinstance(info.value, MatgradError) and isinstance(info.value, ValueError)
    return info.value


def test_the_error_classes_are_value_errors():
    for cls in (ParseError, ShapeError, DomainError, LimitError):
        assert issubclass(cls, MatgradError) and issubclass(cls, ValueError)
        assert getattr(mg, cls.__name__) is cls


# text, shapes, class, a phrase the message must contain, and the text the caret must mark
# (its first occurrence) or (column, width)
TEXT_ERRORS = [
    # unparsable text
    ("X @ (", None, ParseError, "never closed", "("),
    ("X +* y", None, ParseError, "syntax error", "*"),
    ("X // 2", "X: m,n", ParseError, "operator //", "X // 2"),
    ("X[0]", "X: m,n", ParseError, "indexing", "X[0]"),
    ("X.shape", "X: m,n", ParseError, ".shape", "X.shape"),
    ("'abc' + X", "X: m,n", ParseError, "not a number", "'abc'"),
    ("lambda: 1", None, ParseError, "lambda", "lambda: 1"),
    ("x if y else z", None, ParseError, "conditional", "x if y else z"),
    ("x == y", None, ParseError, "comparison", "x == y"),
    ("2 * f(x)(y)", None, ParseError, "functions can be called", "f(x)"),
    ("1e999 * X", "X: m,n", ParseError, "too large", "1e999"),
    ("X @ w; X", "X: m,n; w: n", ParseError, "only the last statement", "X @ w"),
    # unknown names and functions
    ("foo(X) + 1", "X: m,n", ParseError, "unknown function 'foo'", "foo"),
    ("2 * softmx(x)", "x: n", ParseError, "did you mean softmax", "softmx"),
    ("__import__('os')", None, ParseError, "unknown function", "__import__"),
    ("x + __class__", "x: n", ParseError, "not allowed", "__class__"),
    ("X + exp", "X: m,n", ParseError, "exp is a function", "exp"),
    ("sum(X, keepdims=1)", "X: m,n", ParseError, "no keyword 'keepdims'", "1"),
    ("sum(X, axis=2)", "X: m,n", ParseError, "axis must be 0 or 1", "2"),
    ("exp(X, X)", "X: m,n", ParseError, "takes 1 argument", "exp(X, X)"),
    ("X + eye(0)", "X: n,n", ParseError, "positive integer", "0"),
    ("z = 1; z = 2; z", None, ParseError, "assigned twice", (7, 1)),  # the second z
    ("X = 1; X", "X: m,n", ParseError, "X is a variable", "X"),
    # shapes that do not fit
    ("X @ y", "X: m,n; y: m", ShapeError, "inner dimensions n and m differ", "X @ y"),
    ("sum(X @ y) + 1", "X: m,n; y: m", ShapeError, "X is m×n, y is m×1", "X @ y"),
    ("X + Y", "X: m,n; Y: n,m", ShapeError, "rows m and n differ", "X + Y"),
    ("trace(X)", "X: m,n", ShapeError, "not square", "trace(X)"),
    ("logdet(X) + det(A)", "X: m,n; A: n,n", ShapeError, "not square", "logdet(X)"),
    ("logsumexp(X)", "X: m,n", ShapeError, "not a column vector", "logsumexp(X)"),
    ("dot(x, y)", "x: m; y: n", ShapeError, "lengths m and n differ", "dot(x, y)"),
    ("outer(X, y)", "X: m,n; y: n", ShapeError, "not a column vector", "outer(X, y)"),
    # shapes that cannot be inferred: a clear request to declare
    ("norm(X @ w)", "X: m,n", ShapeError, "declare it", "w"),
    ("diag(Z) + 1", None, ShapeError, "declare its shape", "diag(Z)"),
]


@pytest.mark.parametrize("text, shapes, cls, phrase, marked", TEXT_ERRORS,
                         ids=[t[0] for t in TEXT_ERRORS])
def test_text_error_class_message_and_caret(text, shapes, cls, phrase, marked):
    err = raises(cls, text, shapes)
    assert phrase in err.message
    line, col, width = caret(err)
    assert line == text
    want = marked if isinstance(marked, tuple) else (text.index(marked), len(marked))
    assert (col, width) == want, f"caret at {col}, expected under {marked!r}\n{err}"


def test_ambiguous_shape_names_the_variable_and_the_missing_axis():
    err = raises(ShapeError, "norm(X @ w)", "X: m,n")
    assert "shape of w" in err.message and "columns" in err.message
    assert "w:" in err.message  # it shows a declaration to write


def test_caret_on_the_second_line():
    text = "z = X @ w\nL = sum(z @ q)"
    err = raises(ShapeError, text, "X: m,n; w: n; q: k")
    line, col, _ = caret(err)
    assert line == "L = sum(z @ q)"
    assert col == line.index("z @ q")


def test_caret_counts_characters_not_bytes():
    text = "α * ŷ + β * (X @ y)"
    err = raises(ShapeError, text, "X: m,n; y: m; α: scalar; β: scalar; ŷ: scalar")
    _, col, width = caret(err)
    assert (col, width) == (text.index("X @ y"), len("X @ y"))


def test_empty_and_non_text_input():
    raises(ParseError, "", match="empty")
    raises(ParseError, "   \n  ", match="empty")
    with pytest.raises(ParseError, match="expected text"):
        mg.parse(5)
    raises(ParseError, "x\x00", match="NUL")


def test_limits_on_length_and_depth():
    raises(LimitError, "x" * 100_001, match="limit is 100000")
    raises(LimitError, "-" * 1500 + "x", match="1000 levels")
    raises(LimitError, "sum(x" + " + x" * 1500 + ")", {"x": "n"}, match="1000 levels")
    # just under the limit: parses and differentiates
    L = mg.parse("sum(x" + " * x" * 900 + ")", {"x": "n"})
    assert mg.grad(L, "x").shape == L.children[0].shape


# ---- shape declarations ------------------------------------------------------------


@pytest.mark.parametrize("shapes, phrase, marked", [
    ("X m,n", "'name: shape'", "X m,n"),
    ("X: m,n; X: n", "declared twice", "X"),
    ("1X: m", "not a variable name", "1X"),
    ("X: 0,n", "must be positive", "0,n"),
    ("X: m,n symmetric", "not square", "m,n symmetric"),
    ("X: m,n,k", "3 axes", "m,n,k"),
    ("X: m,n; w: n;;  q", "'name: shape'", "q"),
])
def test_bad_declaration_string(shapes, phrase, marked):
    with pytest.raises(ShapeError) as info:
        mg.parse("X", shapes)
    err = info.value
    assert phrase in err.message
    line, col, width = caret(err)
    assert line == shapes
    # the caret marks the declaration's text (the last occurrence for a repeated name)
    want = shapes.rindex(marked) if phrase == "declared twice" else shapes.index(marked)
    assert col == want
    assert width == len(marked)


@pytest.mark.parametrize("shapes, phrase", [
    ({"X": 3}, "must be a string"),
    ({"X": "a-b"}, "not an identifier"),
    ({"X": ("m", "n", "k")}, "3 axes"),
    ({"X": (0, 2)}, "must be positive"),
    ({"1X": "m"}, "not a variable name"),
    (5, "dict or a string"),
])
def test_bad_declaration_value(shapes, phrase):
    with pytest.raises(ShapeError, match=phrase):
        mg.parse("X", shapes)


# ---- the Python API ----------------------------------------------------------------

m, n = mg.dims("m n")
X, w, A = mg.matrix("X", m, n), mg.vector("w", n), mg.matrix("A", n, n)
L = mg.sum(X @ w)


@pytest.mark.parametrize("build, cls, phrase", [
    (lambda: X @ X, ShapeError, "inner dimensions n and m differ"),
    (lambda: X + X.T, ShapeError, "cannot be broadcast"),
    (lambda: mg.inv(X), ShapeError, "not square"),
    (lambda: mg.diag(X), ShapeError, "column vector or a square matrix"),
    (lambda: mg.softmax(X), ShapeError, "not a column vector"),
    (lambda: mg.matrix("X", 0, 2), ShapeError, "positive"),
    (lambda: mg.matrix("X", 2, 3, symmetric=True), ShapeError, "not square"),
    (lambda: mg.matrix("1X", 2, 2), MatgradError, "not an identifier"),
    (lambda: mg.dims(""), ShapeError, "at least one name"),
    (lambda: mg.dims("1a"), ShapeError, "not an identifier"),
    (lambda: X + "a", MatgradError, "cannot use str"),
    (lambda: X * True, MatgradError, "boolean"),
    (lambda: mg.const(float("nan")), MatgradError, "nan is not a number"),
    (lambda: mg.const(float("inf")), LimitError, "beyond the range of floating-point"),
    (lambda: mg.sum(X, axis=2), MatgradError, "axis must be"),
    (lambda: mg.grad(X @ w, w), DomainError, "needs a scalar expression"),
    (lambda: mg.grad(L, X @ w), DomainError, "with respect to a variable"),
    (lambda: mg.grad(L, "q"), MatgradError, "q does not appear"),
    (lambda: mg.grad(L, 3), MatgradError, "variable or its name"),
])
def test_api_error(build, cls, phrase):
    with pytest.raises(cls, match=phrase):
        build()


def test_expressions_are_immutable_and_not_arrays():
    with pytest.raises(AttributeError):
        X.op = "add"
    with pytest.raises(TypeError):
        np.asarray(X)


# ---- bad values to evaluate ---------------------------------------------------------

GOOD = {"X": np.ones((3, 2)), "w": np.ones(2)}


@pytest.mark.parametrize("values, cls, phrase", [
    ({"X": np.ones((3, 2))}, MatgradError, "no value given for w"),
    ({"X": np.ones((3, 2)), "w": np.ones(3)}, ShapeError, "dimension n is 2 from X but 3"),
    ({"X": np.ones(6), "w": np.ones(2)}, ShapeError, "value is 1-D"),
    ({"X": "abc", "w": np.ones(2)}, MatgradError, "X is text"),
    ({"X": [[1, 2], [3]], "w": np.ones(2)}, MatgradError, "not numeric"),
    ({"X": np.ones((2, 2, 2)), "w": np.ones(2)}, ShapeError, "3 axes"),
])
def test_bad_values(values, cls, phrase):
    assert mg.evaluate(L, GOOD) == 6.0  # the same expression with good values
    with pytest.raises(cls, match=phrase):
        mg.evaluate(L, values)


def test_values_that_contradict_the_given_sizes():
    with pytest.raises(ShapeError, match="dimension m is 4 from the sizes given but 3"):
        mg.evaluate(L, GOOD, sizes={"m": 4})


def test_value_of_a_fixed_size_variable_with_the_wrong_shape():
    B = mg.matrix("B", 2, 3)
    with pytest.raises(ShapeError, match="B must be 2×3"):
        mg.evaluate(mg.sum(B), {"B": np.ones((3, 2))})


def test_singular_matrix_and_asymmetric_value():
    with pytest.raises(DomainError, match="singular"):
        mg.evaluate(mg.sum(mg.inv(A)), {"A": np.zeros((2, 2))})
    S = mg.matrix("S", n, n, symmetric=True)
    with pytest.raises(MatgradError, match="declared symmetric"):
        mg.evaluate(mg.trace(S), {"S": np.array([[1.0, 2.0], [3.0, 4.0]])})


def test_verify_reports_an_expression_defined_nowhere():
    B = mg.matrix("B", n, n)
    with pytest.raises(DomainError, match="could not find a random point"):
        mg.verify(mg.log(mg.logdet(B) - 1e6), [B])


# ---- the command line ---------------------------------------------------------------

def matgrad(*args):
    return subprocess.run([sys.executable, "-m", "matgrad", *args], capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


@pytest.mark.parametrize("args, phrase", [
    (["X @ y", "--shape", "X: m,n; y: m"], "inner dimensions n and m differ"),
    (["foo(X)", "--shape", "X: m,n"], "unknown function 'foo'"),
    (["X @ (", "--shape", "X: m,n"], "syntax error"),
    (["norm(X @ w)", "--shape", "X: m,n"], "declare it"),
    (["x", "--shape", "x: n"], "needs a scalar expression"),
    (["sum(x)", "--wrt", "q", "--shape", "x: n"], "--wrt names q"),
    (["sum(x)", "--shape", "x m"], "'name: shape'"),
])
def test_cli_error_goes_to_stderr_with_status_2(args, phrase):
    r = matgrad(*args)
    assert r.returncode == 2, r
    assert r.stdout == ""
    assert phrase in r.stderr
    assert r.stderr.startswith("error: ")
    assert "Traceback" not in r.stderr


def test_cli_error_shows_the_caret():
    r = matgrad("sum(X @ y)", "--shape", "X: m,n; y: m")
    lines = r.stderr.rstrip("\n").split("\n")
    assert lines[-2] == "  sum(X @ y)"
    assert lines[-1] == "  " + " " * 4 + "^" * 5


def test_cli_unknown_option_is_a_usage_error():
    r = matgrad("--bogus")
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr
    assert "Traceback" not in r.stderr
