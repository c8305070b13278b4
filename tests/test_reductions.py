"""Reductions and selections (max, min, maximum, minimum, clip) and the softmax family along
an axis (softmax, logsumexp, log_softmax): values against NumPy, gradients and Hessians
against central differences at random points (dimensions of distinct sizes), generated
code of every backend against evaluate, the subgradient convention at ties, every
notation read back, the simplifier's softmax, and the errors for bad input.
"""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.operations.softmax import softmax_ratio

from .conftest import assert_gradients_match

m, n, k = mg.dims("m n k")
SIZES = {"m": 3, "n": 4, "k": 5}
X = mg.matrix("X", m, n)
B = mg.matrix("B", m, n)
W = mg.matrix("W", n, k)
Y = mg.matrix("Y", m, k)
u = mg.vector("u", m)
v = mg.vector("v", n)
a = mg.scalar("a")
b = mg.scalar("b")
SHAPES = "X: m,n; B: m,n; W: n,k; Y: m,k; u: m; v: n; a: scalar; b: scalar"
C = {(m, n): mg.matrix("Cmn", m, n), (1, n): mg.matrix("Crow", 1, n),
     (m, 1): mg.vector("Ccol", m), (n, 1): mg.vector("Cn", n)}


def weigh(E):
    """sum(C ⊙ E) with a fixed random C of E's shape: a scalar reading every entry."""
    return E if E.shape == (1, 1) else mg.sum(C[E.shape] * E)


# name -> (expression, its NumPy value from the arrays by name, the variables it depends on)
CASES = {
    "max": (lambda: mg.max(X), lambda x: np.max(x["X"]), [X]),
    "max axis=0": (lambda: mg.max(X, axis=0), lambda x: np.max(x["X"], 0)[None, :], [X]),
    "max axis=1": (lambda: mg.max(X, axis=1), lambda x: np.max(x["X"], 1)[:, None], [X]),
    "min": (lambda: mg.min(X), lambda x: np.min(x["X"]), [X]),
    "min axis=0": (lambda: mg.min(X, axis=0), lambda x: np.min(x["X"], 0)[None, :], [X]),
    "min axis=1": (lambda: mg.min(X, axis=1), lambda x: np.min(x["X"], 1)[:, None], [X]),
    "maximum": (lambda: mg.maximum(X, B), lambda x: np.maximum(x["X"], x["B"]), [X, B]),
    "maximum column": (lambda: mg.maximum(X, u),
                       lambda x: np.maximum(x["X"], _col(x["u"])), [X, u]),
    "minimum row": (lambda: mg.minimum(v.T, X),
                    lambda x: np.minimum(_col(x["v"]).T, x["X"]), [X, v]),
    "minimum scalar": (lambda: mg.minimum(X, a), lambda x: np.minimum(x["X"], x["a"]),
                       [X, a]),
    "clip": (lambda: mg.clip(X, -0.5, 0.5), lambda x: np.clip(x["X"], -0.5, 0.5), [X]),
    "clip broadcast": (lambda: mg.clip(X, a, u),
                       lambda x: np.clip(x["X"], x["a"], _col(x["u"])), [X, a, u]),
    "softmax": (lambda: mg.softmax(v), lambda x: _softmax(_col(x["v"]), 0), [v]),
    "ismax axis=1": (lambda: X * mg.ismax(X, axis=1),
                     lambda x: x["X"] * (x["X"] == np.max(x["X"], 1, keepdims=True)), [X]),
    "ismin": (lambda: X * mg.ismin(X), lambda x: x["X"] * (x["X"] == np.min(x["X"])), [X]),
    "softmax axis=0": (lambda: mg.softmax(X, axis=0), lambda x: _softmax(x["X"], 0), [X]),
    "softmax axis=1": (lambda: mg.softmax(X, axis=1), lambda x: _softmax(x["X"], 1), [X]),
    "logsumexp axis=0": (lambda: mg.logsumexp(X, axis=0),
                         lambda x: np.log(np.sum(np.exp(x["X"]), 0))[None, :], [X]),
    "logsumexp axis=1": (lambda: mg.logsumexp(X, axis=1),
                         lambda x: np.log(np.sum(np.exp(x["X"]), 1))[:, None], [X]),
    "log_softmax": (lambda: mg.log_softmax(v),
                    lambda x: np.log(_softmax(_col(x["v"]), 0)), [v]),
    "log_softmax axis=0": (lambda: mg.log_softmax(X, axis=0),
                           lambda x: np.log(_softmax(x["X"], 0)), [X]),
    "log_softmax axis=1": (lambda: mg.log_softmax(X, axis=1),
                           lambda x: np.log(_softmax(x["X"], 1)), [X]),
}
SMOOTH = [name for name in CASES if "softmax" in name or "logsumexp" in name]


def _col(x):
    return np.reshape(x, (-1, 1))


def _softmax(z, axis):
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _sample(exprs, seed=0):
    from matgrad.verify import sample
    return sample(list(exprs), np.random.default_rng(seed), SIZES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_agrees_with_numpy(name):
    build, reference, _ = CASES[name]
    E = build()
    values, sizes = _sample([E])
    got = np.asarray(mg.evaluate(E, values, sizes), dtype=float)
    want = np.asarray(reference({k_: np.asarray(x, dtype=float) for k_, x in values.items()}))
    assert np.allclose(got.reshape(want.shape), want, rtol=1e-12, atol=1e-14), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_agrees_with_central_differences(name):
    build, _, wrt = CASES[name]
    assert_gradients_match(weigh(build()), wrt, sizes=SIZES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacobian_agrees_with_central_differences(name):
    build, _, wrt = CASES[name]
    E = build()
    values, sizes = _sample([E], seed=3)
    layout = "denominator" if E.shape == (1, 1) else "numerator"
    rng = np.random.default_rng(4)
    for x in wrt:
        J = mg.jacobian(E, x, layout=layout)
        X0 = np.asarray(values[x.name], dtype=float)
        V = rng.standard_normal(X0.shape)
        h = 1e-6
        up = np.asarray(mg.evaluate(E, {**values, x.name: X0 + h * V}, sizes), dtype=float)
        down = np.asarray(mg.evaluate(E, {**values, x.name: X0 - h * V}, sizes), dtype=float)
        fd = ((up - down) / (2 * h)).reshape(-1)
        Jv = np.asarray(mg.evaluate(J, values, sizes), dtype=float).reshape(
            fd.size, V.size) @ V.reshape(-1)
        assert np.allclose(Jv, fd, rtol=1e-5, atol=1e-6), f"{name}: ∂/∂{x.name}"


@pytest.mark.parametrize("name", SMOOTH)
def test_hessian_agrees_with_differences_of_the_gradient(name):
    """The softmax family is smooth: its Hessian (through sin, so that it is curved)
    against central differences of the gradient."""
    build, _, wrt = CASES[name]
    x = wrt[0]
    L = mg.sum(mg.sin(build()))
    G = mg.grad(L, x)
    H = mg.hessian(L, x)
    values, sizes = _sample([L, G], seed=5)
    X0 = np.asarray(values[x.name], dtype=float)
    V = np.random.default_rng(6).standard_normal(X0.shape)
    h = 1e-5
    up = np.asarray(mg.evaluate(G, {**values, x.name: X0 + h * V}, sizes), dtype=float)
    down = np.asarray(mg.evaluate(G, {**values, x.name: X0 - h * V}, sizes), dtype=float)
    fd = ((up - down) / (2 * h)).reshape(-1)
    full = np.asarray(mg.evaluate(H, values, sizes), dtype=float).reshape(fd.size, fd.size)
    assert np.allclose(full, full.T, atol=1e-10), f"{name}: Hessian symmetric"
    assert np.allclose(full @ V.reshape(-1), fd, rtol=1e-5, atol=1e-7), f"{name}: Hessian"


@pytest.mark.parametrize("name", ["max axis=1", "min axis=0", "maximum column", "clip"])
def test_hessian_of_a_selection_is_that_of_the_selected_piece(name):
    """Away from ties a selection is locally one of its arguments, so sin ∘ selection has
    the Hessian sin″ on the selected entries: the indicators' derivatives are zero."""
    build, _, wrt = CASES[name]
    x = wrt[0]
    L = mg.sum(mg.sin(build()))
    G = mg.grad(L, x)
    values, sizes = _sample([L, G], seed=7)
    H = np.asarray(mg.evaluate(mg.hessian(L, x), values, sizes), dtype=float)
    X0 = np.asarray(values[x.name], dtype=float)
    V = np.random.default_rng(8).standard_normal(X0.shape)
    h = 1e-5
    up = np.asarray(mg.evaluate(G, {**values, x.name: X0 + h * V}, sizes), dtype=float)
    down = np.asarray(mg.evaluate(G, {**values, x.name: X0 - h * V}, sizes), dtype=float)
    fd = ((up - down) / (2 * h)).reshape(-1)
    assert np.allclose(H.reshape(fd.size, fd.size) @ V.reshape(-1), fd, rtol=1e-5,
                       atol=1e-7), name


# ---- generated code ----------------------------------------------------------------------


def _backend_arrays(backend, values):
    if backend == "torch":
        torch = pytest.importorskip("torch")
        return {k_: torch.as_tensor(np.asarray(x, dtype=float)) for k_, x in values.items()}
    if backend == "jax":
        pytest.importorskip("jax")
    return values


class _x64:
    def __enter__(self):
        import jax
        self.jax, self.before = jax, jax.config.read("jax_enable_x64")
        jax.config.update("jax_enable_x64", True)

    def __exit__(self, *exc):
        self.jax.config.update("jax_enable_x64", self.before)
        return False


def _compiled(L, wrt, values, backend):
    """(value, {name: gradient}) of L's generated code for `backend` at `values`."""
    arrays = _backend_arrays(backend, values)
    if backend == "jax":
        with _x64():
            value, grads = mg.compile(L, wrt=wrt, backend=backend)(arrays)
            return float(np.asarray(value)), {k_: np.asarray(g, dtype=float)
                                              for k_, g in grads.items()}
    value, grads = mg.compile(L, wrt=wrt, backend=backend)(arrays)
    return float(np.asarray(value)), {k_: np.asarray(g, dtype=float) for k_, g in grads.items()}


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_code_agrees_with_evaluate(name, backend):
    build, _, wrt = CASES[name]
    L = weigh(build())
    grads = [mg.grad(L, x) for x in wrt]
    values, sizes = _sample([L, *grads], seed=9)
    value, got = _compiled(L, wrt, values, backend)
    assert np.isclose(value, mg.evaluate(L, values, sizes), rtol=1e-10), f"{name}: value"
    for x, G in zip(wrt, grads):
        want = np.asarray(mg.evaluate(G, values, sizes), dtype=float)
        assert np.allclose(got[x.name].reshape(want.shape), want, rtol=1e-9, atol=1e-12), \
            f"{name}: {backend} gradient with respect to {x.name}"


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_native_kernels_are_called_along_the_axis(backend):
    L = mg.sum(Y.T * mg.log_softmax(W.T @ X.T, axis=0)) + mg.sum(mg.softmax(X, axis=1)) \
        + mg.sum(mg.logsumexp(X, axis=1))
    source = mg.compile(L, wrt=[X], backend=backend).source
    if backend == "jax":
        for call in ("jax.nn.log_softmax(", "jax.nn.softmax(", "axis=0", "axis=1",
                     "jax.scipy.special.logsumexp("):
            assert call in source, call
    else:
        for call in ("torch.log_softmax(", "torch.softmax(", "dim=0", "dim=1",
                     "torch.logsumexp("):
            assert call in source, call


def test_the_array_api_lowering_subtracts_the_maximum():
    """Logits of 1000 overflow exp; the array-API code subtracts the maximum along the
    axis (the language's max, which lowering builds) and stays finite."""
    L = mg.sum(Y * mg.log_softmax(X @ W, axis=1)) + mg.sum(mg.logsumexp(X @ W, axis=0))
    f = mg.compile(L, wrt=[W], backend="numpy")
    assert "xp.max(" in f.source and "axis=1" in f.source
    rng = np.random.default_rng(10)
    values = {"X": 1000 * rng.standard_normal((3, 4)), "W": rng.standard_normal((4, 5)),
              "Y": rng.standard_normal((3, 5))}
    value, grads = f(values)
    assert np.isfinite(value) and np.all(np.isfinite(grads["W"]))
    assert np.isclose(value, mg.evaluate(L, values), rtol=1e-12)
    assert np.allclose(grads["W"], mg.evaluate(mg.grad(L, W), values), rtol=1e-9)


# ---- ties: the convention, the same in every backend -------------------------------------

TIED = np.array([[1.0, 3.0, 3.0, -2.0],
                 [0.5, 0.5, -1.0, -1.0],
                 [2.0, -4.0, 2.0, 2.0]])


def _everywhere(L, wrt, values):
    """(value, gradients) from evaluate and from each backend's code, at `values`."""
    out = {"evaluate": (float(mg.evaluate(L, values)),
                        {x.name: np.asarray(mg.evaluate(mg.grad(L, x), values), dtype=float)
                         for x in wrt})}
    for backend in ("numpy", "jax", "torch"):
        out[backend] = _compiled(L, wrt, values, backend)
    return out


def _same_everywhere(results):
    value, grads = results["evaluate"]
    for backend, (v_, g_) in results.items():
        assert v_ == pytest.approx(value, rel=1e-12), backend
        for name, g in grads.items():
            assert np.allclose(g_[name].reshape(g.shape), g, rtol=1e-12, atol=0), \
                (backend, name)
    return value, grads


def test_max_splits_the_gradient_equally_between_tied_entries():
    """max(A): the two 3s share the gradient, ½ each; along rows, each row's tied
    maxima share it (½, ½ in row 1; ⅓ each for the three 2s of row 2)."""
    value, grads = _same_everywhere(_everywhere(mg.max(X), [X], {"X": TIED}))
    assert value == 3.0
    want = np.where(TIED == TIED.max(), 1.0, 0.0)
    assert np.array_equal(grads["X"], want / want.sum())
    _, grads = _same_everywhere(_everywhere(mg.sum(mg.max(X, axis=1)), [X], {"X": TIED}))
    hits = TIED == TIED.max(axis=1, keepdims=True)
    assert np.allclose(grads["X"], hits / hits.sum(axis=1, keepdims=True))
    _, grads = _same_everywhere(_everywhere(mg.sum(mg.min(X, axis=0)), [X], {"X": TIED}))
    hits = TIED == TIED.min(axis=0, keepdims=True)
    assert np.allclose(grads["X"], hits / hits.sum(axis=0, keepdims=True))


def test_the_tie_split_is_a_subgradient():
    """max is convex and min concave: at the tied point, G from the split satisfies
    f(A + D) ≥ f(A) + G : D for max (≤ for min) in every direction D."""
    rng = np.random.default_rng(11)
    for f, sign in ((mg.max, 1), (mg.min, -1)):
        for axis in (None, 0, 1):
            L = mg.sum(f(X, axis=axis))
            G = np.asarray(mg.evaluate(mg.grad(L, X), {"X": TIED}), dtype=float)
            base = float(mg.evaluate(L, {"X": TIED}))
            for _ in range(50):
                D = rng.standard_normal(TIED.shape)
                moved = float(mg.evaluate(L, {"X": TIED + D}))
                assert sign * (moved - base - np.sum(G * D)) >= -1e-12, (f.__name__, axis)


def test_maximum_minimum_and_clip_split_a_tie_in_halves():
    A0 = np.array([[1.0, 2.0, -1.0, 0.5], [0.0, 0.3, 0.5, -0.5], [2.0, 2.0, 1.0, -3.0]])
    B0 = np.array([[1.0, 1.0, 0.0, 0.5], [0.0, 0.7, 0.5, 1.0], [2.0, 3.0, 1.0, -3.0]])
    ties = A0 == B0
    for f, wins in ((mg.maximum, A0 > B0), (mg.minimum, A0 < B0)):
        _, grads = _same_everywhere(_everywhere(mg.sum(f(X, B)), [X, B], {"X": A0, "B": B0}))
        assert np.array_equal(grads["X"], np.where(ties, 0.5, wins * 1.0))
        assert np.array_equal(grads["X"] + grads["B"], np.ones_like(A0))
    at_bounds = np.array([[-0.5, 0.5, 0.0, 2.0], [-1.0, 0.5, -0.5, 0.2],
                          [0.1, -0.5, 0.7, 0.5]])
    L = mg.sum(mg.clip(X, a, b))
    _, grads = _same_everywhere(_everywhere(L, [X, a, b], {"X": at_bounds, "a": -0.5,
                                                           "b": 0.5}))
    inside = (at_bounds > -0.5) & (at_bounds < 0.5)
    edge = (at_bounds == -0.5) | (at_bounds == 0.5)
    assert np.array_equal(grads["X"], np.where(edge, 0.5, inside * 1.0))
    assert grads["a"] == 0.5 * np.sum(at_bounds == -0.5) + np.sum(at_bounds < -0.5)
    assert grads["b"] == 0.5 * np.sum(at_bounds == 0.5) + np.sum(at_bounds > 0.5)


def test_relu_keeps_its_own_convention_at_zero():
    """max(0, x) in mathematics is the relu, whose derivative at 0 is 0; maximum(0, x)
    splits the tie, ½."""
    x = mg.vector("x", n)
    at = {"x": np.array([0.0, 1.0, -1.0])}
    relu = mg.parse("max(0, x)", "x: n", syntax="math")
    assert relu is mg.relu(x)
    assert list(mg.evaluate(mg.grad(mg.sum(relu), x), at)) == [0.0, 1.0, 0.0]
    assert list(mg.evaluate(mg.grad(mg.sum(mg.maximum(0, x)), x), at)) == [0.5, 1.0, 0.0]


# ---- every notation ----------------------------------------------------------------------

WRITTEN = [
    lambda: mg.max(X), lambda: mg.max(X, axis=0), lambda: mg.min(X, axis=1),
    lambda: mg.maximum(X, u), lambda: mg.minimum(a, X), lambda: mg.clip(X, -1, v.T),
    lambda: mg.softmax(X, axis=1), lambda: mg.logsumexp(X, axis=0),
    lambda: mg.log_softmax(X, axis=1), lambda: mg.log_softmax(v),
    lambda: mg.max(X @ W, axis=1) - mg.logsumexp(X @ W, axis=1),
    lambda: mg.ismax(X, axis=0) + mg.ismin(X),
]


@pytest.mark.parametrize("i", range(len(WRITTEN)))
def test_every_printed_form_reads_back(i):
    E = WRITTEN[i]()
    assert mg.parse(E.to_text(unicode=False), SHAPES, syntax="python") is E
    for printed, syntax in ((E.to_text(), "math"), (E.to_latex(), "latex")):
        assert mg.parse(printed, SHAPES, syntax=syntax) is E, (syntax, printed)


def test_max_and_min_in_each_notation():
    """One argument: the reduction; an axis by keyword (or, in the Python-like language,
    as the last positional argument, as for sum); two arguments in mathematics: the
    elementwise maximum and minimum."""
    assert mg.parse("max(X, 1)", SHAPES) is mg.max(X, axis=1)
    assert mg.parse("min(X, axis=0)", SHAPES) is mg.min(X, axis=0)
    for syntax, text in (("math", "max(X)"), ("latex", r"\max\left(X\right)"),
                         ("latex", r"\max X")):
        assert mg.parse(text, SHAPES, syntax=syntax) is mg.max(X), text
    assert mg.parse(r"\min\left(X, \text{axis}=1\right)", SHAPES, syntax="latex") \
        is mg.min(X, axis=1)
    assert mg.parse("max(X, B)", SHAPES, syntax="math") is mg.maximum(X, B)
    assert mg.parse(r"\min(X, 1)", SHAPES, syntax="latex") is mg.minimum(X, 1)
    assert mg.parse(r"\max(0, X w)", "X: m,n; w: n", syntax="latex").op == "fn"


def test_undeclared_operands_take_the_broadcast_shape():
    """maximum(z, 0) + X: z is inferred m×n, as in z + X (the 0 broadcasts)."""
    p = mg.parse_program("maximum(z, 0) + X", "X: m,n")
    assert p.variables["z"].shape == (m, n)
    p = mg.parse_program("clip(z, lo, hi) * X", "X: m,n; lo: scalar; hi: scalar")
    assert p.variables["z"].shape == (m, n)


# ---- the simplifier's softmax ------------------------------------------------------------


def test_the_simplifier_names_softmax():
    Z = X @ W
    assert mg.simplify(mg.exp(Z) / mg.sum(mg.exp(Z), axis=1)) is mg.softmax(Z, axis=1)
    assert mg.simplify(mg.exp(Z) / mg.sum(mg.exp(Z), axis=0)) is mg.softmax(Z, axis=0)
    assert mg.simplify(mg.exp(v) / mg.sum(mg.exp(v))) is mg.softmax(v)
    assert mg.simplify(2 * mg.exp(v) / mg.sum(mg.exp(v))) is mg.simplify(2 * mg.softmax(v))
    # no softmax of the language sums all entries of a matrix: left as it is
    total = mg.simplify(mg.exp(Z) / mg.sum(mg.exp(Z)))
    assert not any(e.op == "softmax" for e in mg.expr.walk(total))
    assert softmax_ratio({mg.exp(Z): 1, mg.exp(v).T @ v: -1}) is None


def _logistic_data(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, size=3)
    return {"X": rng.standard_normal((3, 4)), "W": rng.standard_normal((4, 5)),
            "Y": np.eye(5)[labels]}


@pytest.mark.parametrize("written", ["log_softmax", "log-sum-exp"])
def test_multinomial_logistic_regression(written):
    """L = −sum(Y ⊙ log_softmax(X W, axis=1)) / m: ∂L/∂W = Xᵀ (P ⊙ (Y 1) − Y) / m with P
    the softmax of each row, named, which is Xᵀ (P − Y) / m for one-hot rows of Y;
    also when log_softmax is written out as Z − log(sum(exp(Z), axis=1))."""
    Z = X @ W
    if written == "log_softmax":
        L = -mg.sum(Y * mg.log_softmax(Z, axis=1)) / m
    else:
        L = -mg.sum(Y * (Z - mg.log(mg.sum(mg.exp(Z), axis=1)))) / m
    G = mg.grad(L, W)
    text = str(G)
    assert "softmax(X W, axis=1)" in text and "exp" not in text and "log" not in text, text
    assert text.startswith("Xᵀ"), text
    assert_gradients_match(L, [W], sizes=SIZES)
    values = _logistic_data(12)
    P = _softmax(values["X"] @ values["W"], 1)
    textbook = values["X"].T @ (P - values["Y"]) / 3
    assert np.allclose(mg.evaluate(G, values), textbook, rtol=1e-12)


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, error, message, caret", [
    ("max(X, axis=2)", mg.ParseError, "axis must be 0 or 1", "2"),
    ("max(0, X)", mg.ParseError, "elementwise maximum of two arrays is maximum", "X"),
    ("softmax(X, axis=-1)", mg.ParseError, "axis must be 0 or 1", "-1"),
    ("clip(X, 1)", mg.ParseError, "clip() takes 3 argument(s), got 2", "clip(X, 1)"),
    ("maximum(X)", mg.ParseError, "maximum() takes 2 argument(s), got 1", "maximum(X)"),
    ("maximum(X, B, axis=1)", mg.ParseError, "takes no keyword 'axis'", "1"),
    ("clip(X, 0, v)", mg.ShapeError, "cannot be broadcast", "clip(X, 0, v)"),
    ("maximum(X, W)", mg.ShapeError, "cannot be broadcast", "maximum(X, W)"),
    ("softmax(X)", mg.ShapeError, "name the axis", "softmax(X)"),
    ("log_softmax(X)", mg.ShapeError, "not a column vector", "log_softmax(X)"),
])
def test_bad_input_is_a_located_error(text, error, message, caret):
    with pytest.raises(error) as info:
        mg.parse(text, SHAPES)
    err = info.value
    assert message in str(err)
    assert err.source == text and text[err.column:err.column + err.width] == caret, \
        (err.column, err.width)


@pytest.mark.parametrize("text, syntax, message", [
    ("max(X, B, axis=1)", "math", "takes 1 or 2 argument(s)"),
    ("max(X, axis=3)", "math", "axis must be 0 or 1"),
    (r"\max\left(X, \text{axis}=2\right)", "latex", "axis must be 0 or 1"),
    (r"\operatorname{clip}\left(X, v, 1\right)", "latex", "cannot be broadcast"),
])
def test_bad_input_in_the_mathematical_notations(text, syntax, message):
    with pytest.raises(mg.MatgradError, match=message.replace("(", r"\(").replace(")", r"\)")):
        mg.parse(text, SHAPES, syntax=syntax)


def test_bad_calls_of_the_functions():
    with pytest.raises(mg.MatgradError, match="axis must be one of None, 0, 1, not 2"):
        mg.max(X, axis=2)
    with pytest.raises(mg.MatgradError, match="clip takes 3 arguments, not 2"):
        mg.clip(X, 1)
    with pytest.raises(mg.MatgradError, match="unknown keyword argument 'dim'"):
        mg.softmax(X, dim=1)
    with pytest.raises(mg.ShapeError, match="the rows differ"):
        mg.minimum(X, mg.vector("w", k))
    with pytest.raises(mg.ShapeError, match="name the axis"):
        mg.logsumexp(X.T)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
@pytest.mark.parametrize("text", ["ismax(a + b, axis=1) * a", "max(a, axis=1)",
                                  "min(a * b)", "softmax(a, axis=1) * b",
                                  "log_softmax(a, axis=0) * a", "logsumexp(a, axis=1)",
                                  "logsumexp(a)", "clip(a, b, 1)"])
def test_a_scalar_argument_has_no_axis_in_generated_code(text, backend):
    """A 1×1 value is a 0-d array in generated code: reductions along an axis of it are
    written without the axis, and kernels that need one get a 1×1 array."""
    L = mg.parse(text, "a: scalar; b: scalar")
    wrt = mg.expr.variables(L)
    values = {x.name: {"a": 0.3, "b": -0.7}[x.name] for x in wrt}
    value, grads = _compiled(L, wrt, values, backend)
    assert value == pytest.approx(float(mg.evaluate(L, values)), rel=1e-12)
    for x in wrt:
        assert float(grads[x.name]) == pytest.approx(
            float(mg.evaluate(mg.grad(L, x), values)), rel=1e-12, abs=1e-15)
