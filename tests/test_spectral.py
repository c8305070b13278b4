"""The spectral functions (eigvalsh, eigvecsh, svdvals) and the norms norm(a, ord).

Each loss is checked at random points (distinct sizes for distinct dimensions, drawn
by the library's sampler, which keeps away from repeated eigenvalues): its gradient
against central differences along random directions, its Hessian against differences
of the gradient, its compiled code on every backend against `evaluate`; identities
against independent NumPy statements; the conventions at the points where a norm has no
derivative against one-sided differences; and the errors bad input gets.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import matgrad as mg
from matgrad.verify import direction, sample

from .test_registry import _nothing, _x64

SIZES = {"m": 5, "n": 3, "k": 4}   # distinct, and tall where svdvals needs it (m ≥ n)

# (loss, shapes, the variables its gradient is checked with respect to)
LOSSES = [
    ("sum(sin(eigvalsh(S)))", "S: n,n symmetric", ["S"]),
    ("w.T @ eigvalsh(X.T @ X + S)", "X: m,n; S: n,n symmetric; w: n", ["X", "S", "w"]),
    ("sum(cos(eigvecsh(S)) * B)", "S: n,n symmetric; B: n,n", ["S", "B"]),
    ("sum(svdvals(X) ** 3)", "X: m,n", ["X"]),
    ("w.T @ svdvals(X @ W)", "X: m,n; W: n,n; w: n", ["X", "W", "w"]),
    ('norm(X, "nuc")', "X: m,n", ["X"]),
    ('norm(X @ W, "nuc") ** 2', "X: m,k; W: k,n", ["X", "W"]),
    ("norm(X, 2)", "X: m,n", ["X"]),
    ("sin(norm(X, 2)) + norm(X)", "X: m,n", ["X"]),
    ("norm(A @ x - y, 1)", "A: m,n; x: n; y: m", ["A", "x", "y"]),
    ("norm(A @ x - y, inf) ** 2", "A: m,n; x: n; y: m", ["A", "x", "y"]),
    ('norm(x, 1) + norm(x.T, inf) + norm(X, "fro")', "x: n; X: m,n", ["x", "X"]),
    ("norm(X, 1)", "X: m,n", ["X"]),
    ("norm(X, inf)", "X: m,n", ["X"]),
    ("norm(X @ W, 1) ** 2 + norm(X.T, inf)", "X: m,k; W: k,n", ["X", "W"]),
]


def _parse(text, shapes):
    return mg.parse(text, shapes=shapes)


def _sizes(exprs):
    """SIZES, for the dimensions the expressions have."""
    used = {d.name for e in exprs for d in mg.expr.dimensions(e)}
    return {k: v for k, v in SIZES.items() if k in used}


def _point(exprs, seed=0):
    return sample(list(exprs), np.random.default_rng(seed), _sizes(exprs))


def _variable(L, name):
    return next(v for v in mg.expr.variables(L) if v.params[0] == name)


@pytest.mark.parametrize("text, shapes, wrt", LOSSES)
def test_gradient_agrees_with_central_differences(text, shapes, wrt):
    L = _parse(text, shapes)
    xs = [_variable(L, name) for name in wrt]
    report = mg.verify(L, xs, points=3, sizes=_sizes([L]))
    assert report.errors and report.ok, f"{text}\n{report}"


def _hessian_error(L, x, seed):
    """The largest relative error of ∂²L/∂x² against differences of the gradient."""
    G = mg.grad(L, x)
    H = mg.hessian(L, x)
    rng = np.random.default_rng(seed)
    values, sizes = _point([L, G], seed)
    X = np.asarray(values[x.name], dtype=float)
    V = direction(X.shape, rng, x.params[1])
    h = 1e-5

    def grad_at(A):
        return np.reshape(np.asarray(mg.evaluate(G, {**values, x.name: A}, sizes),
                                     dtype=float), X.shape)
    fd = (grad_at(X + h * V) - grad_at(X - h * V)) / (2 * h)
    HV = (np.reshape(np.asarray(mg.evaluate(H, values, sizes), dtype=float),
                     (X.size, X.size)) @ V.reshape(-1)).reshape(X.shape)
    if x.params[1]:  # the symmetric gradient: the symmetric part of H's entries
        HV = (HV + HV.T) / 2
    return float(np.max(np.abs(HV - fd)) / max(np.max(np.abs(fd)), 1e-3))


@pytest.mark.parametrize("text, shapes, wrt", LOSSES)
def test_hessian_agrees_with_differences_of_the_gradient(text, shapes, wrt):
    L = _parse(text, shapes)
    x = _variable(L, wrt[0])
    assert _hessian_error(L, x, seed=4) < 1e-5, text


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
@pytest.mark.parametrize("text, shapes, wrt", LOSSES)
def test_compiled_code_agrees_with_evaluate(text, shapes, wrt, backend):
    L = _parse(text, shapes)
    xs = [_variable(L, name) for name in wrt]
    grads = [mg.grad(L, x) for x in xs]
    values, sizes = _point([L, *grads], seed=5)
    if backend == "torch":
        torch = pytest.importorskip("torch")
        arrays = {k: torch.as_tensor(np.asarray(v, dtype=float)) for k, v in values.items()}
    else:
        arrays = values
    with _x64() if backend == "jax" else _nothing():  # double precision, here only
        f = mg.compile(L, wrt=xs, backend=backend)
        value, got = f(arrays)
    assert np.isclose(float(np.asarray(value)), float(mg.evaluate(L, values, sizes)),
                      rtol=1e-9), f"{backend}: value of {text}"
    for x, G in zip(xs, grads):
        want = np.asarray(mg.evaluate(G, values, sizes), dtype=float)
        have = np.asarray(got[x.name], dtype=float).reshape(want.shape)
        assert np.allclose(have, want, rtol=1e-7, atol=1e-9), \
            f"{backend}: gradient of {text} with respect to {x.name}"


# ---- values and gradients against NumPy's decompositions ----------------------------------


def _values(exprs, seed=0):
    values, sizes = _point(exprs, seed)

    def at(e):
        return np.asarray(mg.evaluate(e, values, sizes), dtype=float)
    return values, at


def test_eigen_decomposition_reassembles_the_matrix():
    m, n = mg.dims("m n")
    S = mg.matrix("S", n, n, symmetric=True)
    V, lam = mg.eigvecsh(S), mg.eigvalsh(S)
    values, at = _values([V, lam])
    s = np.asarray(values["S"], dtype=float)
    assert np.allclose(at(V) @ np.diag(at(lam)) @ at(V).T, s)
    assert np.allclose(at(V).T @ at(V), np.eye(s.shape[0]))
    assert np.all(np.diff(at(lam)) > 0)  # ascending
    assert np.all(np.sum(at(V), axis=0) >= 0)  # the sign convention
    assert np.isclose(float(at(mg.sum(lam))), np.trace(s))


def test_singular_values_and_matrix_norms_agree_with_numpy():
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    exprs = [mg.svdvals(X), mg.norm(X, "nuc"), mg.norm(X, 2), mg.norm(X, "fro")]
    values, at = _values(exprs)
    x = np.asarray(values["X"], dtype=float)
    assert x.shape[0] > x.shape[1]
    sigma = np.linalg.svd(x, compute_uv=False)
    assert np.allclose(at(exprs[0]), sigma) and np.all(np.diff(at(exprs[0])) < 0)
    for e, ord in zip(exprs[1:], ("nuc", 2, "fro")):
        assert np.isclose(float(at(e)), np.linalg.norm(x, ord)), ord


def test_matrix_one_and_max_norms_agree_with_numpy():
    """‖X‖₁ and ‖X‖_∞ of an m×n matrix (m ≠ n) are NumPy's: the largest absolute column
    and row sums."""
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    exprs = [mg.norm(X, 1), mg.norm(X, math.inf), mg.norm(X.T, 1)]
    values, at = _values(exprs, seed=3)
    x = np.asarray(values["X"], dtype=float)
    assert x.shape[0] != x.shape[1]
    for e, want in zip(exprs, (np.linalg.norm(x, 1), np.linalg.norm(x, np.inf),
                               np.linalg.norm(x.T, 1))):
        assert np.isclose(float(at(e)), want)
    assert not np.isclose(float(at(exprs[0])), float(at(exprs[1])))  # not the same norm


def test_gradients_of_the_matrix_one_and_max_norms_are_the_largest_sums_signs():
    """∂‖X‖₁/∂X = sign(X) in the column of the largest absolute sum, 0 elsewhere;
    ∂‖X‖_∞/∂X the same in the row of the largest; an independent NumPy statement."""
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    one, top = mg.grad(mg.norm(X, 1), X), mg.grad(mg.norm(X, math.inf), X)
    values, at = _values([one, top], seed=6)
    x = np.asarray(values["X"], dtype=float)
    want_one = np.zeros_like(x)
    j = np.argmax(np.sum(np.abs(x), axis=0))
    want_one[:, j] = np.sign(x[:, j])
    want_top = np.zeros_like(x)
    i = np.argmax(np.sum(np.abs(x), axis=1))
    want_top[i] = np.sign(x[i])
    assert np.array_equal(at(one), want_one)
    assert np.array_equal(at(top), want_top)


def _gradient_at(L, x):
    G = mg.grad(L, x)
    return lambda v: np.asarray(mg.evaluate(G, {x.name: v}), dtype=float)


@pytest.mark.parametrize("ord, axis", [(1, 0), (math.inf, 1)])
def test_matrix_norm_at_a_tie_splits_equally_between_the_largest_sums(ord, axis):
    """Columns 0 and 2 (for ‖X‖₁; rows for ‖X‖_∞) with the same absolute sum, exactly
    (one is the other negated): the derivative taken is the mean of the derivatives
    where either one is the largest, as max splits a tie."""
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    grad_at = _gradient_at(mg.norm(X, ord), X)
    rng = np.random.default_rng(9)
    point = rng.uniform(-1, 1, (5, 3) if axis == 0 else (3, 5))
    line = [slice(None), 0] if axis == 0 else [0, slice(None)]
    other = [slice(None), 2] if axis == 0 else [2, slice(None)]
    point[tuple(line)] = 4.0 * np.sign(point[tuple(line)])
    point[tuple(other)] = -point[tuple(line)]
    first, last = point.copy(), point.copy()
    first[tuple(line)] *= 1.001
    last[tuple(other)] *= 1.001
    assert not np.allclose(grad_at(first), grad_at(last))
    assert np.allclose(grad_at(point), (grad_at(first) + grad_at(last)) / 2)


def test_matrix_one_norm_at_a_zero_entry_takes_sign_zero():
    """A zero in the largest column: ‖X‖₁ has a kink there, and the derivative taken in
    that entry is the middle of the one-sided ones (sign(0) = 0); elsewhere the
    derivative."""
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    L = mg.norm(X, 1)
    point = np.random.default_rng(10).uniform(-1, 1, (4, 3))
    point[:, 1] = [3.0, 0.0, -3.0, 3.0]
    g = _gradient_at(L, X)(point)

    def f(v):
        return float(mg.evaluate(L, {"X": v}))
    left, right = _one_sided(f, point, (1, 1))
    assert left < right
    assert np.isclose(g[1, 1], (left + right) / 2, atol=1e-6)
    for i in ((0, 1), (2, 1), (0, 0), (3, 2)):
        assert np.isclose(g[i], np.mean(_one_sided(f, point, i)), atol=1e-5), i


def test_gradients_of_the_matrix_norms_are_the_singular_vectors():
    """∂‖X‖_*/∂X = U Vᵀ and ∂‖X‖₂/∂X = u₁ v₁ᵀ, from NumPy's SVD."""
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    nuc, spec = mg.grad(mg.norm(X, "nuc"), X), mg.grad(mg.norm(X, 2), X)
    values, at = _values([nuc, spec], seed=2)
    u, s, vt = np.linalg.svd(np.asarray(values["X"], dtype=float), full_matrices=False)
    assert np.allclose(at(nuc), u @ vt)
    assert np.allclose(at(spec), np.outer(u[:, 0], vt[0]))


def test_gradient_of_an_eigenvalue_is_its_eigenvector_squared():
    """∂λᵢ/∂S = vᵢ vᵢᵀ, from NumPy's eigh: the gradient of w ᵀλ is V diag(w) Vᵀ."""
    m, n = mg.dims("m n")
    S, w = mg.matrix("S", n, n, symmetric=True), mg.vector("w", n)
    G = mg.grad(w.T @ mg.eigvalsh(S), S)
    values, at = _values([G], seed=3)
    lam, v = np.linalg.eigh(np.asarray(values["S"], dtype=float))
    wv = np.asarray(values["w"], dtype=float).reshape(-1)
    assert np.allclose(at(G), v @ np.diag(wv) @ v.T)


def test_vector_norms_agree_with_numpy():
    m, n = mg.dims("m n")
    x = mg.vector("x", n)
    exprs = [mg.norm(x, 1), mg.norm(x, math.inf), mg.norm(x, 2), mg.norm(x.T, 1)]
    values, at = _values(exprs)
    v = np.asarray(values["x"], dtype=float).reshape(-1)
    for e, ord in zip(exprs, (1, math.inf, 2, 1)):
        assert np.isclose(float(at(e)), np.linalg.norm(v, ord)), ord


# ---- where there is no derivative -----------------------------------------------------------


def _one_sided(f, x, i, h=1e-7):
    e = np.zeros_like(x)
    e[i] = h
    return (f(x) - f(x - e)) / h, (f(x + e) - f(x)) / h


def test_one_norm_at_a_zero_entry_takes_the_middle_of_its_subdifferential():
    (n,) = mg.dims("n")
    x = mg.vector("x", n)
    L = mg.norm(x, 1)
    G = mg.grad(L, x)
    rng = np.random.default_rng(7)
    point = rng.standard_normal(4)
    point[1] = 0.0

    def f(v):
        return float(mg.evaluate(L, {"x": v}))
    g = np.asarray(mg.evaluate(G, {"x": point}), dtype=float).reshape(-1)
    left, right = _one_sided(f, point, 1)
    assert left < right  # a kink: no derivative
    assert np.isclose(g[1], (left + right) / 2, atol=1e-6)  # sign(0) = 0
    for i in (0, 2, 3):  # elsewhere the derivative
        assert np.isclose(g[i], np.mean(_one_sided(f, point, i)), atol=1e-5)


def test_max_norm_at_a_tie_averages_the_maximisers():
    """At |x₀| = |x₂| = max, the derivative taken is the mean of the derivatives where
    either one is the largest."""
    (n,) = mg.dims("n")
    x = mg.vector("x", n)
    G = mg.grad(mg.norm(x, math.inf), x)
    rng = np.random.default_rng(8)
    point = rng.uniform(-1, 1, 5)
    point[0], point[2] = 3.0, -3.0

    def grad_at(v):
        return np.asarray(mg.evaluate(G, {"x": v}), dtype=float).reshape(-1)
    first, last = point.copy(), point.copy()
    first[0] += 1e-3
    last[2] -= 1e-3
    assert not np.allclose(grad_at(first), grad_at(last))
    assert np.allclose(grad_at(point), (grad_at(first) + grad_at(last)) / 2)


def test_norm_at_zero_takes_the_subgradient_zero():
    (n,) = mg.dims("n")
    x = mg.vector("x", n)
    for ord in (None, 1, math.inf):
        G = mg.grad(mg.norm(x, ord), x)
        assert np.allclose(mg.evaluate(G, {"x": np.zeros(3)}), 0.0), ord


def test_a_repeated_eigenvalue_has_no_derivative_and_the_checks_say_so():
    (n,) = mg.dims("n")
    S = mg.matrix("S", n, n, symmetric=True)
    G = mg.grad(mg.sum(mg.sin(mg.eigvalsh(S))), S)
    assert np.allclose(mg.evaluate(mg.eigvalsh(S), {"S": np.eye(3)}), 1.0)  # a value
    with pytest.raises(mg.DomainError, match="repeated eigenvalue"):
        mg.evaluate(G, {"S": np.eye(3)})
    # a point where the eigenvalues always tie: no random point, and the reason
    a = mg.scalar("a")
    L = mg.sum(mg.sin(mg.eigvalsh(a * mg.eye(n) + S - S)))
    with pytest.raises(mg.DomainError, match="repeated eigenvalue"):
        mg.verify(L, [a], sizes={"n": 3})


def test_a_repeated_singular_value_or_a_wide_matrix_is_refused():
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    G = mg.grad(mg.norm(X, "nuc"), X)
    tied = np.zeros((4, 3))
    tied[0, 0] = tied[1, 1] = 2.0
    tied[2, 2] = 1.0
    with pytest.raises(mg.DomainError, match="repeated eigenvalue"):
        mg.evaluate(G, {"X": tied})
    for e in (mg.svdvals(X), mg.norm(X, "nuc"), mg.norm(X, 2)):
        with pytest.raises(mg.DomainError, match="wider than tall"):
            mg.evaluate(e, {"X": np.ones((2, 3))})
    with pytest.raises(mg.ShapeError, match="wider than tall"):
        mg.svdvals(mg.matrix("W", 2, 3))
    with pytest.raises(mg.ShapeError, match="wider than tall"):
        mg.norm(mg.matrix("W", 2, 3), "nuc")


@pytest.mark.parametrize("text, instead", [
    ("svdvals(W)", "svdvals(W.T)"),
    ("svdvals(W @ B)", "svdvals((W @ B).T)"),
    ('norm(W, "nuc")', 'norm(W.T, "nuc")'),
    ("norm(W, 2)", "norm(W.T, 2)"),
])
def test_a_wide_shape_says_what_to_write_instead(text, instead):
    """A wide shape of numbers: the error names the call on the transpose, which reads
    back and has the same values as NumPy's of the wide matrix."""
    shapes = "W: 2,3; B: 3,4"
    with pytest.raises(mg.ShapeError) as err:
        mg.parse(text, shapes=shapes)
    assert f"wider than tall; {text.split('(')[0]} is taken of a tall matrix (rows ≥ " \
           f"columns): write {instead}, which has the same" in str(err.value)
    rng = np.random.default_rng(11)
    values = {"W": rng.standard_normal((2, 3)), "B": rng.standard_normal((3, 4))}
    wide = values["W"] @ values["B"] if "B" in text else values["W"]
    got = np.asarray(mg.evaluate(mg.parse(instead, shapes=shapes), values), dtype=float)
    if text.startswith("svdvals"):
        assert np.allclose(got, np.linalg.svd(wide, compute_uv=False))
    else:
        assert np.isclose(float(got), np.linalg.norm(wide, "nuc" if "nuc" in text else 2))


def test_a_wide_value_says_what_to_write_instead():
    m, n = mg.dims("m n")
    X = mg.matrix("X", m, n)
    for e, instead in ((mg.svdvals(X), "svdvals(X.T)"), (mg.norm(X, "nuc"), 'norm(X.T, "nuc")'),
                       (mg.norm(X, 2), "norm(X.T, 2)")):
        with pytest.raises(mg.DomainError, match=r"2×3, wider than tall.*for a wide X write "
                           + re.escape(instead)):
            mg.evaluate(e, {"X": np.ones((2, 3))})


# ---- bad input ----------------------------------------------------------------------------


def test_a_non_symmetric_argument_is_refused():
    (n,) = mg.dims("n")
    A = mg.matrix("A", n, n)
    with pytest.raises(mg.MatgradError, match="not declared symmetric"):
        mg.eigvalsh(A)
    with pytest.raises(mg.MatgradError, match="not declared symmetric") as err:
        mg.parse("sum(eigvalsh(A))", shapes="A: n,n")
    assert "^" in str(err.value)
    B = mg.matrix("B", n, n)
    e = mg.eigvalsh(A @ B)  # a computed argument: checked where it is evaluated
    rng = np.random.default_rng(0)
    with pytest.raises(mg.DomainError, match="not symmetric"):
        mg.evaluate(e, {"A": rng.standard_normal((3, 3)), "B": rng.standard_normal((3, 3))})


@pytest.mark.parametrize("text, caret", [
    ("norm(x, 3)", "3"), ('norm(x, "nucc")', '"nucc"'), ("norm(x, y)", "y"),
    ("norm(x, ord=-1)", "-1"),
])
def test_an_unknown_ord_is_a_parse_error_under_it(text, caret):
    with pytest.raises(mg.ParseError) as err:
        mg.parse(text, shapes="x: n; y: n")
    source, marks = str(err.value).splitlines()[-2:]
    assert source.strip() == text
    start = marks.index("^") - source.index(text)
    assert text[start:start + len(marks.strip())] == caret, str(err.value)


def test_bad_ords_and_shapes_from_the_api():
    m, n = mg.dims("m n")
    x, X = mg.vector("x", n), mg.matrix("X", m, n)
    for ord in (3, "nucc", -math.inf, True, 0):
        with pytest.raises(mg.MatgradError, match="ord must be one of"):
            mg.norm(x, ord)
    for ord in (1, math.inf):  # of a matrix, the matrix norms; of a vector, the vector's
        assert mg.norm(X, ord).op == ("norm_1_matrix" if ord == 1 else "norm_inf_matrix")
        assert mg.norm(x, ord).op == ("norm_1" if ord == 1 else "norm_inf")
    with pytest.raises(mg.ParseError, match="the norms are"):
        mg.parse(r"\|X\|_3", shapes="X: m,n", syntax="latex")


# ---- the notations ------------------------------------------------------------------------


NOTATIONS = [
    # (language, mathematical text, LaTeX), one node
    ("norm(x, 1)", "‖x‖₁", r"\|x\|_1"),
    ("norm(x, inf)", "‖x‖_∞", r"\|x\|_\infty"),
    ("norm(X, 1)", "‖X‖₁", r"\|X\|_1"),
    ("norm(X, inf)", "‖X‖_∞", r"\|X\|_\infty"),
    ('norm(X, "nuc")', "‖X‖_*", r"\|X\|_*"),
    ("norm(X, 2)", "‖X‖₂", r"\|X\|_2"),
    ('norm(X, "fro")', "‖X‖_F", r"\|X\|_F"),
    ("norm(x, 2)", "‖x‖₂", r"\|x\|_2"),
    ("eigvalsh(S)", "eigvalsh(S)", r"\operatorname{eigvalsh}(S)"),
    ("svdvals(X)", "svdvals(X)", r"\operatorname{svdvals}(X)"),
]
SHAPES = "x: n; X: m,n; S: n,n symmetric"


@pytest.mark.parametrize("language, math_text, latex", NOTATIONS)
def test_every_notation_reads_the_same_node(language, math_text, latex):
    node = mg.parse(language, shapes=SHAPES)
    assert mg.parse(math_text, shapes=SHAPES, syntax="math") is node
    assert mg.parse(latex, shapes=SHAPES, syntax="latex") is node
    for printed, syntax in ((node.to_text(unicode=False), "python"),
                            (node.to_text(), "math"), (node.to_latex(), "latex")):
        assert mg.parse(printed, shapes=SHAPES, syntax=syntax) is node, printed


def test_the_norm_of_before_is_unchanged():
    m, n = mg.dims("m n")
    X, x = mg.matrix("X", m, n), mg.vector("x", n)
    node = mg.norm(X)
    assert node.op == "norm" and node.params == () and str(node) == "‖X‖"
    assert node.to_text(unicode=False) == "norm(X)"
    assert mg.norm(X, "fro") is node and mg.norm(X, None) is node
    assert mg.norm(x, 2) is mg.norm(x) and mg.norm(x, "nuc") is mg.norm(x)
    assert mg.parse("norm(X, ord='fro')", shapes="X: m,n") is node
