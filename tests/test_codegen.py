"""Generated code: it runs, agrees with `evaluate`, shares every common subexpression and
never builds what the mathematics does not need.

Numbers are checked at random points with distinct dimension sizes (so a misplaced
transpose cannot hide); the structure of the code is checked on the lowered expressions
and on the source itself.
"""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.codegen import build, generate_source
from matgrad.codegen.contraction import best_order, best_split, chain_cost
from matgrad.codegen.lower import lower
from matgrad.errors import MatgradError, ShapeError
from matgrad.example import SHAPES, SOURCE, WRT
from matgrad.expr import dimensions, variables, walk
from matgrad.verify import sample

SIZES = {"m": 7, "n": 4, "k": 3}

# (expression, shapes, variables to differentiate by): every operation appears somewhere
CASES = [
    ("sum((relu(X @ w + b) - y)**2) / m", "X: m,n; w: n; b: scalar; y: m", "w,b,X"),
    ("x.T @ A @ x", "x: n; A: n,n", "x,A"),
    ("trace(inv(A) @ B) + logdet(A)", "A: n,n; B: n,n", "A,B"),
    ("sum(softplus(X @ w) - y * (X @ w)) / m", "X: m,n; w: n; y: m", "w"),
    ("logsumexp(W @ x) - dot(y, W @ x)", "W: k,n; x: n; y: k", "W,x"),
    ("sum(softmax(W @ x) * y)", "W: k,n; x: n; y: k", "W,x"),
    ("sum(sigmoid(X @ w) ** 2) + norm(w) + norm(X)", "X: m,n; w: n", "X,w"),
    ("trace(A @ B @ C) + logdet(eye(m) * m + B @ C @ A)", "A: n,m; B: m,k; C: k,n", "A,B,C"),
    ("sum(exp(diag(A @ B.T))) + sum(diag(x) @ A)", "A: n,m; B: n,m; x: n", "A,B,x"),
    ("sum(log(exp(X) + 1) * tanh(X)) + sum(sin(X) * cos(X))", "X: m,n", "X"),
    ("sum(sqrt(X * X + 1)) + sum(abs(X) ** 3) + sum(1 / (X * X + 2))", "X: m,n", "X"),
    ("sum(sum(X, axis=0) ** 2) + sum(mean(X, axis=1)) + sum(outer(u, v) * X)",
     "X: m,n; u: m; v: n", "X,u,v"),
    ("x.T @ S @ x + trace(S @ S)", "x: n; S: n,n symmetric", "S,x"),
    ("sum((A + eye(n)) @ x) + sum(ones(n) * x) + sum(zeros(n, n) @ x)", "A: n,n; x: n", "A,x"),
    ("b * b + exp(b) + sign(b) * c", "b: scalar; c: scalar", "b,c"),
    ("sum((W2 @ tanh(W1 @ x + b1) - y)**2)", "W1: k,n; W2: m,k; x: n; b1: k; y: m",
     "W1,W2,b1,x"),
    ("x.T @ inv(A) @ x + sum(heaviside(x) * x)", "x: n; A: n,n", "x,A"),
    ("sum(X ** 3) / (m * n) + mean(X)", "X: m,n", "X"),
]


def program(text, shapes):
    p = mg.parse_program(text, shapes)
    return p.result, p.definitions


def point(L, grads, seed=0):
    """A random point where everything is defined, with distinct sizes per dimension."""
    sizes = {d: SIZES[d.name] for e in [L, *grads] for d in dimensions(e)}
    values, _ = sample([L, *grads], np.random.default_rng(seed), sizes)
    return values


@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=[c[0][:40] for c in CASES])
def test_compiled_numpy_agrees_with_evaluate(text, shapes, wrt):
    L, defs = program(text, shapes)
    names = wrt.split(",")
    grads = mg.gradients(L, names)
    f = mg.compile(L, names, definitions=defs)
    for seed in range(2):
        values = point(L, grads, seed)
        value, got = f(values)
        assert np.isclose(value, mg.evaluate(L, values), rtol=1e-10, atol=1e-12)
        for x, G in zip(names, grads):
            want = mg.evaluate(G, values)
            assert np.shape(got[x]) == np.shape(want), x
            assert np.allclose(got[x], want, rtol=1e-9, atol=1e-11), x


@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=[c[0][:40] for c in CASES])
def test_compiled_gradients_match_finite_differences(text, shapes, wrt):
    L, _ = program(text, shapes)
    names = wrt.split(",")
    f = mg.compile(L, names)
    values = point(L, mg.gradients(L, names), seed=3)
    _, grads = f(values)
    rng = np.random.default_rng(7)
    h = 1e-6
    for x in names:
        V = rng.standard_normal(np.shape(values[x]))
        if any(v.params[1] for v in variables(L) if v.params[0] == x):
            V = (V + V.T) / 2  # a symmetric variable moves symmetrically
        up, down = dict(values), dict(values)
        up[x] = values[x] + h * V
        down[x] = values[x] - h * V
        fd = (f(up)[0] - f(down)[0]) / (2 * h)
        G = np.reshape(grads[x], np.shape(values[x]))
        exact = float(np.sum(G * V))
        assert abs(fd - exact) <= 1e-5 * max(1.0, abs(exact)), (x, fd, exact)


def test_generated_source_runs_on_its_own(tmp_path):
    """The printed function, saved as a module of its own, computes the same numbers."""
    import importlib.util
    L, defs = program(SOURCE, SHAPES)
    path = tmp_path / "pasted_gradients.py"
    path.write_text(generate_source(L, list(WRT), definitions=defs))
    spec = importlib.util.spec_from_file_location("pasted_gradients", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(2)
    X, w, y = rng.standard_normal((7, 4)), rng.standard_normal((4, 1)), rng.standard_normal((7, 1))
    value, grads = module.L_and_gradients(X, w, np.asarray(0.3), y)
    values = {"X": X, "w": w, "b": 0.3, "y": y}
    assert np.isclose(value, mg.evaluate(L, values))
    for x, G in zip(WRT, mg.gradients(L, list(WRT))):
        assert np.allclose(np.reshape(grads[x], np.shape(values[x])),
                           np.reshape(mg.evaluate(G, values), np.shape(values[x])))


# ---- structure: sharing, nothing materialised that the math does not need -----------------

def example_source(backend="numpy"):
    L, defs = program(SOURCE, SHAPES)
    return generate_source(L, list(WRT), backend, definitions=defs)


def code_lines(source):
    body = source.split('    """', 2)[2]
    return [line.strip() for line in body.splitlines() if " = " in line]


def test_example_code_computes_each_intermediate_once():
    lines = code_lines(example_source())
    text = "\n".join(lines)
    assert text.count("X @ w") == 1  # z
    assert text.count(">") == 1  # the mask, shared by relu(z) and the gradient
    assert sum(line.startswith("z = ") for line in lines) == 1
    assert sum(line.startswith("g = ") for line in lines) == 1
    assert "X.T @ g" in text and "g * w.T" in text  # Xᵀg, and g wᵀ as a broadcast
    assert "ones" not in text and "eye" not in text and "diag" not in text
    assert "maximum" not in text  # relu(z) = z ⊙ mask reuses the mask


def test_no_node_is_bigger_than_the_math_needs():
    """No m×m matrix (diag(h)) and no ones-vector anywhere in the example's program."""
    L, _ = program(SOURCE, SHAPES)
    m = mg.Dim("m")
    lowered, _ = lower([L, *mg.gradients(L, list(WRT))])
    for out in lowered:
        for node in walk(out):
            assert node.shape != (m, m)
            assert node.op not in ("ones", "diagmat", "eye")


def test_outer_product_is_a_broadcast_and_one_by_one_products_are_scalings():
    m, n = mg.dims("m n")
    g, w, a = mg.vector("g", m), mg.vector("w", n), mg.scalar("a")
    (outer, scaled), _ = lower([g @ w.T, g @ a])
    assert outer.op == "mul" and scaled.op == "mul"


def test_product_chain_is_ordered_by_cost():
    m, n = mg.dims("m n")
    u, v, X = mg.vector("u", m), mg.vector("v", m), mg.matrix("X", m, n)
    (out,), _ = lower([(u @ v.T) @ X])
    # u (vᵀ X): the m×m outer product u vᵀ is never formed
    assert all(node.shape != (m, m) for node in walk(out))
    assert best_order([(m, 1), (1, m), (m, n)]) == (0, (1, 2))


def test_contraction_order_uses_given_sizes():
    a, b, c, d = mg.dims("a b c d")
    shapes = [(a, b), (b, c), (c, d)]
    assert best_order(shapes, {"a": 10, "b": 100, "c": 5, "d": 50}) == ((0, 1), 2)
    assert best_order(shapes, {"a": 50, "b": 5, "c": 100, "d": 10}) == (0, (1, 2))
    assert chain_cost(shapes, {"a": 10, "b": 100, "c": 5, "d": 50}) == 10 * 100 * 5 + 10 * 5 * 50
    assert best_split([(a, b), (b, a)], {"a": 3, "b": 4}) == 1


def test_trace_of_a_product_is_a_hadamard_sum():
    n = mg.dims("n")[0]
    A, B = mg.matrix("A", n, n), mg.matrix("B", n, n)
    (out,), _ = lower([mg.trace(A @ B)])
    assert out.op == "sum" and not any(node.op == "matmul" for node in walk(out))


def test_single_use_inverse_is_a_solve_and_shared_inverse_is_computed_once():
    n = mg.dims("n")[0]
    A, B, x = mg.matrix("A", n, n), mg.matrix("B", n, n), mg.vector("x", n)
    (out,), _ = lower([mg.sum(mg.inv(A) @ x)])
    assert any(node.op == "solve" for node in walk(out))
    source = generate_source(mg.trace(mg.inv(A) @ B) + mg.logdet(A), [A, B])
    assert source.count("linalg.inv(") == 1


def test_user_names_appear_in_the_code():
    source = example_source()
    assert "z = X @ w + b" in source
    assert "yhat = z * mask" in source
    assert "def L_and_gradients(X, w, b, y):" in source


def test_docstring_names_every_shape():
    source = example_source()
    for line in ("X: m x n", "w: n x 1", "b: scalar", "y: m x 1",
                 'grads["X"]: dL/dX, m x n', 'grads["b"]: dL/db, scalar'):
        assert line in source


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_every_backend_prints_valid_python(backend):
    import ast
    for text, shapes, wrt in CASES:
        L, defs = program(text, shapes)
        ast.parse(generate_source(L, wrt.split(","), backend, definitions=defs))


def test_names_that_clash_with_the_generated_code_are_renamed():
    n = mg.dims("n")[0]
    xp, dtype = mg.vector("xp", n), mg.vector("dtype", n)
    L = mg.sum(mg.exp(xp) * dtype)
    f = mg.compile(L, ["xp", "dtype"])
    assert "def L_and_gradients(xp_, dtype_):" in f.source
    rng = np.random.default_rng(0)
    values = {"xp": rng.standard_normal(3), "dtype": rng.standard_normal(3)}
    value, grads = f(values)
    assert np.isclose(value, mg.evaluate(L, values))
    assert np.allclose(grads["xp"], np.exp(values["xp"]) * values["dtype"])


def test_a_size_no_variable_carries_is_a_keyword_argument():
    n, k = mg.dims("n k")
    x = mg.vector("x", n)
    L = mg.sum(x) * mg.sum(mg.ones(k))  # k appears in no variable's shape
    f = mg.compile(L, [x])
    assert "*, k" in f.source
    value, grads = f({"x": [1.0, 2.0]}, sizes={"k": 5})
    assert value == 15.0 and np.allclose(grads["x"], [5.0, 5.0])
    with pytest.raises(ShapeError, match="dimension k is unknown"):
        f({"x": [1.0, 2.0]})


def test_hessians_and_jacobians_compile():
    if not hasattr(mg, "hessian"):
        pytest.skip("matgrad.hessian is not available in this version")
    n = mg.dims("n")[0]
    A, x = mg.matrix("A", n, n), mg.vector("x", n)
    rng = np.random.default_rng(4)
    values = {"A": rng.standard_normal((4, 4)), "x": rng.standard_normal(4)}
    L = mg.sum(mg.softplus(A @ x)) + x.T @ A @ x
    H = mg.hessian(L, x)
    value, grads = mg.compile(H)(values)
    assert grads == {} and np.shape(value) == (4, 4)
    assert np.allclose(value, H.evaluate(values))
    # and numerically: H v is the directional derivative of the gradient
    g = mg.compile(L, [x])
    v, h = rng.standard_normal(4), 1e-6
    up = g({**values, "x": values["x"] + h * v})[1]["x"]
    down = g({**values, "x": values["x"] - h * v})[1]["x"]
    assert np.allclose((up - down) / (2 * h), value @ v, rtol=1e-5, atol=1e-6)
    J = mg.jacobian(mg.softmax(A @ x), x)
    assert np.allclose(mg.compile(J)(values)[0], J.evaluate(values))


def test_value_alone_and_non_scalar_values():
    m, n = mg.dims("m n")
    X, w = mg.matrix("X", m, n), mg.vector("w", n)
    f = mg.compile(mg.tanh(X @ w), [])
    X0, w0 = np.arange(6.0).reshape(3, 2) / 6, np.array([0.5, -1.0])
    value, grads = f({"X": X0, "w": w0})
    assert grads == {} and value.shape == (3,)
    assert np.allclose(value, np.tanh(X0 @ w0))


# ---- errors -------------------------------------------------------------------------------

def test_bad_calls_raise_matgrad_errors():
    m, n = mg.dims("m n")
    X, w = mg.matrix("X", m, n), mg.vector("w", n)
    L = mg.sum(X @ w)
    f = mg.compile(L, [w])
    with pytest.raises(MatgradError, match="no value given for w"):
        f({"X": np.ones((3, 2))})
    with pytest.raises(ShapeError, match="dimension n is 2 from X but 3 from w"):
        f({"X": np.ones((3, 2)), "w": np.ones(3)})
    with pytest.raises(ShapeError, match="3 axes"):
        f({"X": np.ones((3, 2, 1)), "w": np.ones(2)})
    with pytest.raises(MatgradError, match="dict of values"):
        f([np.ones((3, 2)), np.ones(2)])
    with pytest.raises(MatgradError, match="unknown backend 'cuda'"):
        mg.compile(L, [w], backend="cuda")
    with pytest.raises(MatgradError, match="scalar expression"):
        mg.compile(X @ w, [w])
    with pytest.raises(MatgradError, match="not numeric"):
        f({"X": [["a", "b"]], "w": np.ones(2)})


def test_a_singular_matrix_is_a_domain_error():
    n = mg.dims("n")[0]
    A, x = mg.matrix("A", n, n), mg.vector("x", n)
    f = mg.compile(mg.sum(mg.inv(A) @ x) + mg.trace(mg.inv(A)), [x])
    with pytest.raises(mg.DomainError):
        f({"A": np.zeros((2, 2)), "x": np.ones(2)})


def test_compile_is_exported_and_the_builtin_is_untouched():
    import builtins
    assert mg.compile is not builtins.compile
    assert compile("1 + 1", "<test>", "eval") is not None  # the builtin, in this module
    assert mg.compile.__module__ == "matgrad.compile"


def test_import_matgrad_stays_light():
    import subprocess
    import sys
    code = ("import sys, matgrad; heavy = [m for m in ('jax', 'torch', 'dask', "
            "'array_api_compat', 'scipy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_build_reports_whether_sizes_matter():
    n = mg.dims("n")[0]
    A, B, C = (mg.matrix(c, n, n) for c in "ABC")
    assert build(mg.sum(A @ B @ C), [A]).sizes_matter
    L, _ = program(SOURCE, SHAPES)
    assert not build(L, list(WRT)).sizes_matter


def test_hessian_never_builds_the_diagonal_matrix():
    """Xᵀ diag(s) X is computed as Xᵀ (s ⊙ X): no m×m matrix."""
    if not hasattr(mg, "hessian"):
        pytest.skip("matgrad.hessian is not available in this version")
    m, n = mg.dims("m n")
    X, w, y = mg.matrix("X", m, n), mg.vector("w", n), mg.vector("y", m)
    H = mg.hessian(mg.sum(mg.softplus(X @ w) - y * (X @ w)) / m, w)
    (out,), _ = lower([H.expr])
    assert all(node.shape != (m, m) and node.op not in ("diagmat", "eye")
               for node in walk(out))
    rng = np.random.default_rng(5)
    values = {"X": rng.standard_normal((6, 3)), "w": rng.standard_normal(3),
              "y": rng.standard_normal(6)}
    assert np.allclose(mg.compile(H)(values)[0], H.evaluate(values))


# ---- the fast path for NumPy inputs, and gradients written into the caller's arrays -------

def as_given(values, column_vectors):
    """The values with vectors as (n, 1) columns or (n,) arrays, scalars as floats."""
    out = {}
    for k, v in values.items():
        a = np.asarray(v, dtype=float)
        if a.ndim == 0 or a.size == 1 and a.ndim < 2:
            out[k] = float(a)
        elif a.ndim == 2 and 1 in a.shape and not column_vectors:
            out[k] = a.reshape(-1)
        elif a.ndim == 1 and column_vectors:
            out[k] = a.reshape(-1, 1)
        else:
            out[k] = a
    return out


@pytest.mark.parametrize("columns", [False, True], ids=["flat vectors", "column vectors"])
@pytest.mark.parametrize("text,shapes,wrt", CASES, ids=[c[0][:40] for c in CASES])
def test_repeated_calls_with_numpy_arrays_take_the_fast_path_and_agree(text, shapes, wrt,
                                                                       columns):
    L, defs = program(text, shapes)
    names = wrt.split(",")
    grads = mg.gradients(L, names)
    f = mg.compile(L, names, definitions=defs)
    values = as_given(point(L, grads, seed=4), columns)
    before = {k: np.copy(v) for k, v in values.items()}
    first_value, first = f(values)
    assert f._checked, "plain NumPy inputs are remembered after the first call"
    for seed in (4, 5):  # same shapes: the fast path, at the first point and a fresh one
        values = as_given(point(L, grads, seed=seed), columns)
        value, got = f(values)
        assert np.isclose(value, mg.evaluate(L, values), rtol=1e-10, atol=1e-12)
        for x, G in zip(names, grads):
            want = mg.evaluate(G, values)
            assert np.shape(got[x]) == np.shape(want), x
            assert np.allclose(got[x], want, rtol=1e-9, atol=1e-11), x
            if seed == 4:
                assert np.array_equal(got[x], first[x]), x  # exactly the checked path's
    for k, v in as_given(point(L, grads, seed=4), columns).items():
        assert np.array_equal(before[k], v), k  # inputs untouched


def test_the_fast_path_still_checks_new_shapes_and_types():
    m, n = mg.dims("m n")
    X, w, b = mg.matrix("X", m, n), mg.vector("w", n), mg.scalar("b")
    f = mg.compile(mg.sum(X @ w + b), [w, b])
    ok = {"X": np.ones((3, 2)), "w": np.ones(2), "b": 0.5}
    assert f(ok)[0] == pytest.approx(7.5)  # 3 rows of 1 + 1 + 0.5
    with pytest.raises(ShapeError, match="dimension n is 2 from X but 3 from w"):
        f({"X": np.ones((3, 2)), "w": np.ones(3), "b": 0.5})
    with pytest.raises(ShapeError, match="b is a scalar"):
        f({"X": np.ones((3, 2)), "w": np.ones(2), "b": np.ones(2)})
    value, grads = f({"X": np.ones((3, 2), dtype=np.float32), "w": np.ones(2, np.float32),
                      "b": 0.5})  # same shapes, another float type: same results as checked
    f._checked.clear()
    value2, grads2 = f({"X": np.ones((3, 2), dtype=np.float32), "w": np.ones(2, np.float32),
                        "b": 0.5})
    assert value == value2 and grads["w"].dtype == grads2["w"].dtype
    assert f({"X": np.ones((3, 2)), "w": [1, 1], "b": 1})[0] == pytest.approx(9.0)


def has_array_gradient(text, shapes, wrt):
    variables_ = {v.params[0]: v for v in variables(program(text, shapes)[0])}
    return any(variables_[x].shape != (1, 1) for x in wrt.split(","))


ARRAY_CASES = [c for c in CASES if has_array_gradient(*c)]


@pytest.mark.parametrize("text,shapes,wrt", ARRAY_CASES, ids=[c[0][:40] for c in ARRAY_CASES])
def test_gradients_written_into_given_arrays_agree_with_evaluate(text, shapes, wrt):
    L, defs = program(text, shapes)
    names = wrt.split(",")
    grads = mg.gradients(L, names)
    f = mg.compile(L, names, definitions=defs)
    values = point(L, grads, seed=6)
    before = {k: np.copy(v) for k, v in values.items()}
    arrays = [x for x, G in zip(names, grads) if G.shape != (1, 1)]
    for _ in range(2):  # the second call overwrites the same arrays
        out = {x: np.full(np.shape(mg.evaluate(G, values)), np.nan)
               for x, G in zip(names, grads) if x in arrays}
        value, got = f(values, out=out)
        assert np.isclose(value, mg.evaluate(L, values), rtol=1e-10, atol=1e-12)
        for x, G in zip(names, grads):
            want = mg.evaluate(G, values)
            if x in out:
                assert got[x] is out[x], x
            assert np.allclose(got[x], want, rtol=1e-9, atol=1e-11), x
        values = point(L, grads, seed=7)
        before = {k: np.copy(v) for k, v in values.items()}
    for k, v in values.items():
        assert np.array_equal(before[k], v), k


def test_in_place_code_writes_with_out_and_the_shown_code_does_not():
    L, defs = program(SOURCE, SHAPES)
    into = build(L, list(WRT), definitions=defs, into=["X", "w"]).source
    assert "np.multiply(g, w.T, out=out_X)" in into
    assert "np.matmul(X.T, g, out=out_w)" in into
    assert "out_X, out_w" not in into and "*, out_w, out_X" in into
    shown = mg.compile(L, list(WRT), definitions=defs).source
    assert "out" not in shown.split('"""')[2]
    with pytest.raises(MatgradError, match="numpy-backend"):
        build(L, list(WRT), "torch", into=["X"])


def test_a_gradient_without_an_in_place_form_is_copied_into_its_array():
    n = mg.dims("n")[0]
    x, y = mg.vector("x", n), mg.vector("y", n)
    f = mg.compile(mg.sum(x ** 2) / 2 + mg.sum(mg.softplus(y)), [x, y])
    assert "out_x[...] = x" in build(mg.sum(x ** 2) / 2, [x], into=["x"]).source
    x0, y0 = np.array([1.0, -2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    out = {"x": np.empty(3), "y": np.empty((3, 1))}
    _, got = f({"x": x0, "y": y0}, out=out)
    assert got["x"] is out["x"] and np.array_equal(out["x"], x0)
    assert np.allclose(out["y"][:, 0], 1 / (1 + np.exp(-y0)))


def test_bad_out_arrays_are_refused_before_anything_is_written():
    L, defs = program(SOURCE, SHAPES)
    f = mg.compile(L, list(WRT), definitions=defs)
    rng = np.random.default_rng(8)
    X, w, y = rng.standard_normal((7, 4)), rng.standard_normal(4), rng.standard_normal(7)
    values = {"X": X, "w": w, "b": 0.2, "y": y}
    kept = X.copy()
    readonly = np.empty((7, 4))
    readonly.flags.writeable = False
    shared = np.empty(28)  # out arrays that overlap each other
    bad = [
        ({"X": X}, MatgradError, "shares memory with an input"),
        ({"X": shared[:28].reshape(7, 4), "w": shared[24:]}, MatgradError, "another out"),
        ({"b": np.empty(())}, MatgradError, "scalar"),
        ({"y": np.empty(7)}, MatgradError, "with respect to w, b, X only"),
        ({"X": np.empty((4, 7))}, ShapeError, r"shape \(4, 7\).*7×4"),
        ({"X": np.empty((7, 4), np.float32)}, MatgradError, "dtype float32"),
        ({"X": readonly}, MatgradError, "read-only"),
        ({"X": [[0.0] * 4] * 7}, MatgradError, "NumPy array"),
        (["X"], MatgradError, "dict"),
    ]
    for out, error, message in bad:
        with pytest.raises(error, match=message):
            f(values, out=out)
    assert np.array_equal(X, kept)
    every_other = np.zeros(8)  # a strided vector is written through, not copied
    f(values, out={"w": every_other[::2]})
    assert np.allclose(every_other[::2], f(values)[1]["w"]) and not every_other[1::2].any()
    with pytest.raises(MatgradError, match="NumPy arrays only"):
        torch = pytest.importorskip("torch", reason="the torch extra is not installed "
                                                    "(pip install 'matgrad[torch]')")
        f({k: torch.as_tensor(v) for k, v in values.items()}, out={"X": np.empty((7, 4))})


def test_jax_code_multiplies_a_transposed_matrix_from_the_right():
    """Xᵀ g is printed (gᵀ X)ᵀ for JAX: XLA on the CPU copies Xᵀ for the first form."""
    jax_code = code_lines(example_source("jax"))
    assert "dL_dw = (g.T @ X).T" in jax_code
    assert "dL_dw = X.T @ g" in code_lines(example_source("numpy"))


def test_a_one_by_one_identity_is_the_number_one():
    """d tr(a) = tr(da) for a scalar a: the gradient is the 1×1 identity, returned as a
    scalar like every scalar (not as a 1×1 array)."""
    L = mg.parse("trace(a) * b", shapes={"a": "scalar", "b": "scalar"})
    f = mg.compile(L)
    value, grads = f({"a": 0.5, "b": 3.0})
    assert value == pytest.approx(1.5)
    assert grads == {"a": pytest.approx(3.0), "b": pytest.approx(0.5)}
    value, grads = mg.compile(mg.parse("trace(a)", shapes={"a": "scalar"}))({"a": 0.5})
    assert isinstance(grads["a"], float) and grads["a"] == 1.0


BACKENDS_HERE = ["numpy"] + [b for b in ("jax", "torch") if __import__("importlib").util
                             .find_spec(b) is not None]


@pytest.mark.parametrize("backend", BACKENDS_HERE)
def test_a_diagonal_plus_a_fresh_matrix_is_written_in_place(backend):
    """diag(p) − p pᵀ (the Hessian of logsumexp): one n×n array, no identity matrix."""
    v = mg.vector("v", mg.Dim("n"))
    H = mg.hessian(mg.logsumexp(v), v)
    source = generate_source(H, None, backend=backend)
    assert "add_diagonal(" in source and "eye(" not in source.split('"""')[-1]
    x = np.random.default_rng(3).standard_normal(7)
    value, _ = mg.compile(H, backend=backend)({"v": x})
    # JAX computes in single precision unless told otherwise
    rtol = 1e-5 if backend == "jax" else 1e-12
    np.testing.assert_allclose(np.asarray(value), mg.evaluate(H, {"v": x}), rtol=rtol,
                               atol=1e-7 if backend == "jax" else 0)


def test_a_diagonal_is_never_added_into_an_input_or_a_shared_array():
    """diag(d) + A for a variable A, and for B used twice, leave both untouched."""
    n = mg.Dim("n")
    d, A = mg.vector("d", n), mg.matrix("A", n, n)
    B = A @ A
    for F in (mg.diag(d) + A, mg.trace(mg.diag(d) + B) + mg.sum(B)):
        f = mg.compile(mg.sum(F * F) if F.shape != (1, 1) else F, wrt=[])
        rng = np.random.default_rng(4)
        values = {"d": rng.standard_normal(4), "A": rng.standard_normal((4, 4))}
        kept = values["A"].copy()
        value, _ = f(values)
        np.testing.assert_array_equal(values["A"], kept)
        want = mg.evaluate(mg.sum(F * F) if F.shape != (1, 1) else F, values)
        assert value == pytest.approx(want, rel=1e-12)


def test_a_masked_gram_matrix_is_a_product_with_its_own_transpose():
    """Xᵀ diag(H(z)) X = (H(z) ⊙ X)ᵀ (H(z) ⊙ X): the Hessian of the example loss."""
    p = mg.parse_program(SOURCE, SHAPES)
    H = mg.hessian(p.result, p.variables["w"])
    source = generate_source(H, None)
    body = source.split('"""')[-1]
    masked = [line.split(" = ")[0].strip() for line in body.splitlines()
              if "mask * X" in line or "X * mask" in line]
    assert masked and f"{masked[0]}.T @ {masked[0]}" in body, body
    rng = np.random.default_rng(5)
    values = {"X": rng.standard_normal((9, 4)), "w": rng.standard_normal(4), "b": 0.2,
              "y": rng.standard_normal(9)}
    value, _ = mg.compile(H)(values)
    np.testing.assert_allclose(value, mg.evaluate(H, values), rtol=1e-12)
