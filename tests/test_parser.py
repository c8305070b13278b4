"""The language: precedence, transpose, sums along an axis, dimension names as numbers,
assignments, constructors, symmetric declarations, shape inference; and the round trip
through the ASCII printer."""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.dims import shape_spec
from matgrad.printing.text import to_text
from matgrad.structure import of as structure_of

from .test_identities import IDENTITIES, SIZE_SETS, sample

m, n, k = mg.dims("m n k")
X, Y = mg.matrix("X", m, n), mg.matrix("Y", m, n)
A, B = mg.matrix("A", n, n), mg.matrix("B", n, n)
x, y, u = mg.vector("x", n), mg.vector("y", n), mg.vector("u", m)
a, b, c = mg.scalar("a"), mg.scalar("b"), mg.scalar("c")
SHAPES = "X: m,n; Y: m,n; A: n,n; B: n,n; x: n; y: n; u: m; a: scalar; b: scalar; c: scalar"


def p(text, shapes=SHAPES):
    return mg.parse(text, shapes)


# Expressions are hash-consed, so `is` compares structure: each text must build exactly
# the expression the same Python operators build (Python's precedence and associativity).
@pytest.mark.parametrize("text, expected", [
    ("a + b * c", lambda: a + b * c),
    ("(a + b) * c", lambda: (a + b) * c),
    ("a - b - c", lambda: (a - b) - c),
    ("a / b / c", lambda: (a / b) / c),
    ("a / b * c", lambda: (a / b) * c),
    ("-a ** 2", lambda: -(a ** 2)),
    ("a ** -1", lambda: a ** -1),
    ("A @ B * a", lambda: (A @ B) * a),
    ("a * A @ B", lambda: (a * A) @ B),
    ("A @ B @ x", lambda: (A @ B) @ x),
    ("A @ (B @ x)", lambda: A @ (B @ x)),
    ("-A @ x", lambda: (-A) @ x),
    ("x.T @ A @ y", lambda: (x.T @ A) @ y),
    ("(A @ x).T", lambda: (A @ x).T),
    ("A @ x.T.T", lambda: A @ x.T.T),
    ("x ** -1", lambda: x ** -1),  # regression: a negative exponent is a constant
    ("a * -3", lambda: a * -3),
    ("X + u", lambda: X + u),
    ("X + x.T", lambda: X + x.T),
    ("X * 2 + 1", lambda: X * 2 + 1),
    ("+x", lambda: x),
])
def test_precedence_and_associativity_are_pythons(text, expected):
    assert p(text) is expected()


def test_transpose_and_products_have_the_right_shapes():
    assert p("x.T @ y").shape == (1, 1)
    assert p("x @ y.T").shape == (n, n)
    assert p("X.T").shape == (n, m)
    assert p("x.T").shape == (1, n)


@pytest.mark.parametrize("text, expected, shape", [
    ("sum(X)", lambda: mg.sum(X), (1, 1)),
    ("sum(X, axis=0)", lambda: mg.sum(X, axis=0), (1, n)),
    ("sum(X, axis=1)", lambda: mg.sum(X, axis=1), (m, 1)),
    ("sum(X, 0)", lambda: mg.sum(X, axis=0), (1, n)),
    ("sum(X, axis=None)", lambda: mg.sum(X), (1, 1)),
    ("mean(X, axis=1)", lambda: mg.mean(X, axis=1), (m, 1)),
    ("mean(x)", lambda: mg.mean(x), (1, 1)),
    # regression: the second argument of dot and outer is not an axis
    ("dot(x, y)", lambda: mg.dot(x, y), (1, 1)),
    ("outer(u, x)", lambda: mg.outer(u, x), (m, n)),
])
def test_sums_and_two_argument_functions(text, expected, shape):
    e = p(text)
    assert e is expected() and e.shape == shape


def test_sum_along_an_axis_evaluates_like_numpy(rng):
    Xv = rng.standard_normal((4, 3))
    assert np.allclose(mg.evaluate(p("sum(X, axis=0)"), {"X": Xv}), Xv.sum(axis=0))
    assert np.allclose(mg.evaluate(p("sum(X, axis=1)"), {"X": Xv}), Xv.sum(axis=1))
    assert np.isclose(mg.evaluate(p("mean(X)"), {"X": Xv}), Xv.mean())


def test_negative_exponent_is_a_power(rng):
    """Regression: x ** -1 used to become exp(−log x), undefined for negative x."""
    xv = -np.abs(rng.standard_normal(3)) - 0.5
    assert np.allclose(mg.evaluate(p("x ** -1"), {"x": xv}), 1 / xv)
    assert np.allclose(mg.evaluate(mg.grad(p("sum(x ** -2)"), "x"), {"x": xv}), -2 / xv**3)


def test_integer_valued_float_constants():
    """Regression: 2.0 or 1e6 as a constant used to recurse without end."""
    assert p("2.0 * X") is p("2 * X")
    assert p("X / 1e6") is X / 10**6
    assert mg.evaluate(p("sum(1e6 * x)"), {"x": [1.0, 2.0]}) == 3e6


def test_dimension_names_are_numbers(rng):
    e = p("sum(X) / m + n")
    Xv = rng.standard_normal((5, 2))
    assert np.isclose(mg.evaluate(e, {"X": Xv}), Xv.sum() / 5 + 2)
    # as a number it has no shape of its own, and its gradient is zero
    assert mg.grad(p("sum(x) * n"), "x") is mg.grad(mg.sum(x) * n, x)


def test_extra_dimension_names_can_be_declared():
    e = mg.parse("sum(x) / k", {"x": "n"}, dims=mg.dims("k"))
    assert e is mg.sum(x) / k


def test_assignments_name_intermediates():
    prog = mg.parse_program("z = X @ x + a; yhat = relu(z); L = sum((yhat - u)**2) / m",
                            SHAPES)
    z = X @ x + a
    assert list(prog.definitions) == ["z", "yhat"]
    assert prog.definitions["z"] is z
    assert prog.definitions["yhat"] is mg.relu(z)
    assert prog.result_name == "L"
    assert prog.result is mg.sum((mg.relu(z) - u) ** 2) / m
    assert set(prog.variables) == {"X", "x", "a", "u"}


def test_a_program_may_end_in_a_bare_expression():
    prog = mg.parse_program("r = A @ x - y; r.T @ r", SHAPES)
    assert prog.result_name is None and prog.result is (A @ x - y).T @ (A @ x - y)


@pytest.mark.parametrize("text, expected", [
    ("X @ eye(n)", lambda: X @ mg.eye(n)),
    ("x + ones(n)", lambda: x + mg.ones(n)),
    ("X + ones(m, n)", lambda: X + mg.ones(m, n)),
    ("X + zeros(m, n)", lambda: X + mg.zeros(m, n)),
    ("A @ eye(n) @ x", lambda: A @ mg.eye(n) @ x),
])
def test_constructors(text, expected):
    assert p(text) is expected()


def test_constructors_with_integer_sizes_evaluate(rng):
    e = mg.parse("sum(Z @ eye(3) + ones(2, 3))", {"Z": "2,3"})
    Zv = rng.standard_normal((2, 3))
    assert np.isclose(mg.evaluate(e, {"Z": Zv}), Zv.sum() + 6)


def test_shape_declarations_in_their_forms():
    prog = mg.parse_program("sum(M) + sum(v) + sum(r) + s + trace(S) + sum(L @ U @ D @ P)",
                            "M: m,n; v: n; r: 1,n; s: scalar; S: n,n symmetric; "
                            "L: n,n lower; U: n n upper; D: n×n diagonal; P: n,n spd")
    got = {name: (v.shape, structure_of(v)) for name, v in prog.variables.items()}
    assert got == {"M": ((m, n), ""), "v": ((n, 1), ""), "r": ((1, n), ""),
                   "s": ((1, 1), ""), "S": ((n, n), "symmetric"), "L": ((n, n), "lower"),
                   "U": ((n, n), "upper"), "D": ((n, n), "diagonal"), "P": ((n, n), "spd")}
    assert prog.variables["S"] is mg.matrix("S", n, n, symmetric=True)
    assert prog.variables["L"] is mg.matrix("L", n, n, structure="lower")
    as_dict = mg.parse_program("sum(M) + s", {"M": "m x n", "s": ""})
    assert as_dict.variables["M"].shape == (m, n) and as_dict.variables["s"].shape == (1, 1)
    assert mg.parse("sum(M)", {"M": (3, 4)}).children[0].shape == (3, 4)


def test_symmetric_declaration_gives_the_symmetric_gradient(rng):
    L = mg.parse("x.T @ S @ y", "S: n,n symmetric; x: n; y: n")
    G = mg.grad(L, "S")
    xv, yv = rng.standard_normal(4), rng.standard_normal(4)
    s = rng.standard_normal((4, 4))
    got = mg.evaluate(G, {"S": s + s.T, "x": xv, "y": yv})
    assert np.allclose(got, (np.outer(xv, yv) + np.outer(yv, xv)) / 2)


def test_shapes_are_inferred_from_use():
    # t, next to the m-vector X @ w, takes its shape
    prog = mg.parse_program("sum((X @ w - t)**2) + sum(w)", "X: m,n; w: n")
    assert prog.variables["t"].shape == (m, 1)
    assert prog.inferred == ("t",)
    prog = mg.parse_program("trace(X.T @ C @ X)", "X: m,n")
    assert prog.variables["C"].shape == (m, m)
    prog = mg.parse_program("sum(Q @ x) + trace(Q)", "x: n")
    assert prog.variables["Q"].shape == (n, n)  # columns from Q @ x, square from trace


def test_inferred_shape_is_used_in_the_gradient(rng):
    L = mg.parse("sum((X @ w - t)**2) + sum(w)", "X: m,n; w: n")
    Xv, wv, tv = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(5)
    got = mg.evaluate(mg.grad(L, "t"), {"X": Xv, "w": wv, "t": tv})
    assert np.allclose(got, -2 * (Xv @ wv - tv))


def test_a_scalar_broadcasts_only_when_declared():
    prog = mg.parse_program("sum(relu(X @ w + b) - y)", "X: m,n; w: n; b: scalar")
    assert prog.variables["b"].shape == (1, 1)
    assert prog.variables["y"].shape == (m, 1)  # undeclared: takes the other side's shape


def test_whitespace_comments_and_newlines():
    assert p("x.T @ (\n  A @ x)  # a quadratic form") is x.T @ (A @ x)
    assert p("z = A @ x\nz.T @ z") is (A @ x).T @ (A @ x)


# ---- the round trip through the ASCII printer --------------------------------------


def shapes_of(e):
    return {v.params[0]: f"{shape_spec(v.shape)} {structure_of(v)}".rstrip()
            for v in mg.expr.variables(e)}


def corpus():
    """Every identity's function and its gradient, simplified and not."""
    out = []
    for row in IDENTITIES:
        prog = mg.parse_program(row.expr, row.shapes)
        for kind, e in [("loss", prog.result), ("grad", mg.grad(prog.result, row.wrt)),
                        ("raw", mg.grad(prog.result, row.wrt, simplify=False))]:
            out.append(pytest.param(prog, e, kind, id=f"{row.source} [{row.wrt}] {kind}"))
    return out


@pytest.mark.parametrize("prog, e, kind", corpus())
def test_ascii_output_parses_back_to_the_same_value(prog, e, kind):
    text = to_text(e, unicode=False)
    assert text.isascii()
    back = mg.parse(text, shapes_of(e), dims=mg.expr.dimensions(e))
    assert back.shape == e.shape
    sizes = SIZE_SETS[1]
    values = sample(prog, sizes, np.random.default_rng(7))
    want = np.asarray(mg.evaluate(e, values, sizes=sizes))
    got = np.asarray(mg.evaluate(back, values, sizes=sizes))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    if kind != "raw":
        # the printed form is a fixed point: printing the parsed text gives the text
        assert to_text(back, unicode=False) == text


@pytest.mark.parametrize("e", [
    lambda: (A @ x).T @ (B @ y) + a * mg.sum(X, axis=0) @ x,
    lambda: mg.trace(mg.inv(A) @ B) + mg.logdet(A) - mg.det(B) / n,
    lambda: mg.sum(mg.relu(X @ x + a) - u) ** 2 / m,
    lambda: mg.norm(X - Y) + mg.logsumexp(x) + y.T @ mg.softmax(x),
    lambda: mg.sum(mg.diag(mg.diag(A)) @ mg.diag(x)) + mg.sum(mg.exp(-x) * mg.sqrt(y)),
    lambda: mg.sum(X @ mg.eye(n) + mg.ones(m, n)) + mg.mean(u) * c,
    lambda: x.T @ (A - B.T) @ (x - y) - (a - b) * (a + b),
    lambda: mg.sum(mg.sigmoid(X) * mg.tanh(Y) / (mg.softplus(X) + 1)) ** 3,
], ids=range(8))
def test_ascii_round_trip_keeps_the_structure(e):
    e = e()
    assert mg.parse(to_text(e, unicode=False), shapes_of(e), dims=mg.expr.dimensions(e)) is e
