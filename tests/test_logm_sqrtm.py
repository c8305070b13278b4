"""The principal matrix logarithm and square root as functions of the language: their
gradients, Jacobians and Hessians against central differences at random points (sizes
that differ, so that a transpose cannot hide, and matrices whose spectrum keeps off the
negative real axis), the closed forms, the steps, the generated code on every backend,
the printed forms read back, and the domain."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad.operations.matrix_roots import logm_value, sqrtm_value

from .conftest import hessian_check, x64

m, n = mg.dims("m n")
SIZES = {"m": 3, "n": 4}
X = mg.matrix("X", n, n)
B = mg.matrix("B", m, n)
C = mg.matrix("C", n, m)
W = mg.matrix("W", n, n)
FUNCTIONS = {"logm": (mg.logm, logm_value), "sqrtm": (mg.sqrtm, sqrtm_value)}


def in_domain(rng, size=4, spread=0.5):
    """A matrix 2I + N, not symmetric (so that a transposed result is wrong), its noise
    N of about `spread` in norm, scaled down where needed to keep every eigenvalue's real
    part above 1/2 (well inside the domain: off the closed negative real axis)."""
    noise = spread * rng.standard_normal((size, size)) / np.sqrt(size)
    radius = float(np.max(np.abs(np.linalg.eigvals(noise))))
    return 2.0 * np.eye(size) + noise * min(1.0, 1.5 / max(radius, 1e-300))


def values(rng, spread=0.5):
    return {"X": in_domain(rng, 4, spread), "B": rng.standard_normal((3, 4)),
            "C": rng.standard_normal((4, 3)), "W": rng.standard_normal((4, 4))}


def fd(L, name, vals, direction, h=1e-6):
    up = dict(vals, **{name: vals[name] + h * direction})
    down = dict(vals, **{name: vals[name] - h * direction})
    return (float(mg.evaluate(L, up, SIZES)) - float(mg.evaluate(L, down, SIZES))) / (2 * h)


def losses(f):
    return [mg.trace(B @ f(X) @ C), mg.sum(W * f(X)), mg.sum(f(X.T @ X / 4 + X) * W),
            mg.trace(f(X) @ f(X).T), mg.sum(mg.sin(f(X)))]


@pytest.mark.parametrize("name", FUNCTIONS)
@settings(max_examples=8, deadline=None, database=None)
@given(seed=st.integers(0, 2 ** 31), spread=st.floats(0.1, 1.5))
def test_gradients_match_central_differences(name, seed, spread):
    f, _ = FUNCTIONS[name]
    rng = np.random.default_rng(seed)
    vals = values(rng, spread)
    for L in losses(f):
        G = mg.grad(L, X)
        V = rng.standard_normal((4, 4))
        claimed = float(np.sum(mg.evaluate(G, vals, SIZES) * V))
        want = fd(L, "X", vals, V)
        assert np.isclose(claimed, want, rtol=1e-5, atol=1e-6), (name, str(L), str(G))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_verify_checks_every_gradient(name):
    f, _ = FUNCTIONS[name]
    for L in losses(f):
        assert mg.verify(L, [X, B], [mg.grad(L, X), mg.grad(L, B)]).ok, str(L)


def test_trace_of_the_logarithm_is_log_det_and_its_gradient_the_inverse_transpose():
    G = mg.grad(mg.trace(mg.logm(X)), X)
    assert str(G) == "X⁻ᵀ"
    vals = values(np.random.default_rng(5))
    assert np.isclose(float(mg.evaluate(mg.trace(mg.logm(X)), vals, SIZES)),
                      np.linalg.slogdet(vals["X"])[1], rtol=1e-12)
    assert np.allclose(mg.evaluate(G, vals, SIZES), np.linalg.inv(vals["X"]).T)


def test_gradient_of_the_trace_of_the_root_is_half_its_inverse_transpose():
    G = mg.grad(mg.trace(mg.sqrtm(X)), X)
    assert str(G) == "1/2 · sqrtm(X)⁻ᵀ"
    vals = values(np.random.default_rng(6))
    root = sqrtm_value(vals["X"])
    assert np.allclose(mg.evaluate(G, vals, SIZES), np.linalg.inv(root).T / 2)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_gradient_reads_as_the_frechet_derivative_at_the_transpose(name):
    f, _ = FUNCTIONS[name]
    assert str(mg.grad(mg.trace(B @ f(X) @ C), X)) == f"{name}_frechet(Xᵀ, Bᵀ Cᵀ)"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_steps_show_the_frechet_derivative_and_every_line_is_true(name):
    f, _ = FUNCTIONS[name]
    d = mg.derive(mg.trace(B @ f(X) @ C), X)
    text = str(d)
    assert f"{name}_frechet(X, dX)" in text and "Fréchet" in text
    errors = d.verify(points=3)
    assert errors and max(errors) <= 1e-6, errors


@pytest.mark.parametrize("name", FUNCTIONS)
def test_jacobian_is_the_kronecker_form(name):
    f, value = FUNCTIONS[name]
    J = mg.jacobian(f(X), X)
    rng = np.random.default_rng(3)
    vals = values(rng)
    K = np.asarray(mg.evaluate(J, vals, SIZES), dtype=float).reshape(16, 16)
    V = rng.standard_normal((4, 4))
    h = 1e-6
    want = (value(vals["X"] + h * V) - value(vals["X"] - h * V)) / (2 * h)
    assert np.allclose(K @ V.reshape(-1), want.reshape(-1), rtol=1e-6, atol=1e-7)
    assert f"{name}_jacobian(X)" in J.index_notation()


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_hessians_through_the_second_frechet_derivative(name, seed):
    """∂² of tr(B f(X) C), ‖f(X)‖² and of f(XᵀX/4 + W): the second Fréchet derivative,
    read in index notation through its Kronecker form."""
    f, _ = FUNCTIONS[name]
    rng = np.random.default_rng(seed)
    vals = values(rng, 0.7)
    for L, x in ((mg.trace(B @ f(X) @ C), X), (mg.sum(f(X) ** 2), X),
                 (mg.sum(f(W.T @ W / 4 + X) * W), W)):
        hessian_check(L, x, vals, SIZES, rng)


def test_third_derivative_of_a_scalar_logarithm():
    """d³/da³ tr logm(I + a A) = tr(2 A³ (I + a A)⁻³) for a scalar a and a fixed A."""
    a = mg.scalar("a")
    A = mg.matrix("A", n, n)
    rng = np.random.default_rng(8)
    vals = {"a": 0.3, "A": rng.standard_normal((4, 4)) / 4}
    D = mg.derivative(mg.trace(mg.logm(mg.eye(n) + a * A)), a, 3)
    got = float(np.asarray(mg.evaluate(D, vals, SIZES)).reshape(-1)[0])
    A_ = vals["A"]
    r = np.linalg.inv(np.eye(4) + 0.3 * A_) @ A_
    assert np.isclose(got, 2 * np.trace(r @ r @ r), rtol=1e-7)


def test_the_square_root_squares_back_and_the_logarithm_undoes_the_exponential():
    vals = values(np.random.default_rng(8))
    root = mg.evaluate(mg.sqrtm(X) @ mg.sqrtm(X), vals, SIZES)
    assert np.allclose(root, vals["X"], rtol=1e-12, atol=1e-12)
    small = vals["X"] / 8
    back = mg.evaluate(mg.logm(mg.expm(X)), {"X": small}, SIZES)
    assert np.allclose(back, small, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_generated_code_agrees_with_evaluate(name, backend):
    if backend != "numpy":
        pytest.importorskip(backend)
    f, _ = FUNCTIONS[name]
    L = mg.trace(B @ f(X) @ C) + mg.sum(mg.sin(f(X)))
    vals = values(np.random.default_rng(11))
    args = {k: vals[k] for k in ("X", "B", "C")}
    if backend == "torch":
        import torch
        args = {k: torch.as_tensor(v) for k, v in args.items()}
    with x64() if backend == "jax" else contextlib.nullcontext():
        fn = mg.compile(L, wrt=[X, B], backend=backend)
        value, grads = fn(args)
        assert np.isclose(float(np.asarray(value)), float(mg.evaluate(L, vals, SIZES)),
                          rtol=1e-9)
        for x in (X, B):
            want = np.asarray(mg.evaluate(mg.grad(L, x), vals, SIZES))
            assert np.allclose(np.asarray(grads[x.name], dtype=float), want, rtol=1e-8,
                               atol=1e-10), (backend, x.name)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_text_and_latex_read_back(name):
    f, _ = FUNCTIONS[name]
    block = getattr(mg, f"{name}_block")
    for e in (f(X), getattr(mg, f"{name}_frechet")(X, W), block(X, W, X, W.T, X),
              getattr(mg, f"{name}_jacobian")(X)):
        for syntax, printed in (("python", e.to_text(unicode=False)), ("math", e.to_text()),
                                ("latex", e.to_latex())):
            back = mg.parse(printed, shapes="X: n,n; W: n,n", syntax=syntax)
            assert back is e, (syntax, printed)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_outside_the_domain_the_value_is_nan_and_verify_draws_inside(name):
    f, value = FUNCTIONS[name]
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    negative = q @ np.diag([-1.0, 2.0, 3.0, 0.5]) @ q.T
    assert np.all(np.isnan(np.asarray(mg.evaluate(f(X), {"X": negative}, SIZES))))
    L = mg.trace(f(X @ X.T + X) @ W)  # X X^T + X near 4I + 2I at the draws: inside
    assert mg.verify(L, [X], [mg.grad(L, X)]).ok


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_non_square_argument_is_refused(name):
    f, _ = FUNCTIONS[name]
    with pytest.raises(mg.ShapeError, match="not square"):
        f(B)


FAMILY_RULES = ("matrix_function_transpose", "frechet_commuting", "block_scaled",
                "block_zero", "trace_frechet")


@pytest.mark.parametrize("family", ["expm", "logm", "sqrtm"])
@pytest.mark.parametrize("rule", FAMILY_RULES)
def test_each_family_rewrite_keeps_the_value_for_every_family(family, rule):
    """The rewrites every family shares, on each family's nodes: both sides agree at
    random points (the catalogue's own test takes one family each)."""
    from matgrad import ops
    from matgrad.expr import make
    from matgrad.simplify import CATALOGUE, Simplifier

    from .strategies import same_value

    a = mg.scalar("a")
    scaled_eye = make("mul", (ops.broadcast(a, (n, n)), mg.eye(n)), (), (n, n))
    block = f"{family}_block"
    lhs = {
        "matrix_function_transpose": make(family, (make("transpose", (X,), (), (n, n)),), (),
                                          (n, n)),
        "frechet_commuting": make(block, (X, scaled_eye, X), (1,), (n, n)),
        "block_scaled": make(block, (X, W, X, make("mul", (ops.broadcast(a, (n, n)), W), (),
                                                   (n, n)), X), (2,), (n, n)),
        "block_zero": make(block, (X, ops.zeros(n, n), X), (1,), (n, n)),
        "trace_frechet": make("trace", (make(block, (X, W, X), (1,), (n, n)),), (), (1, 1)),
    }[rule]
    rhs = CATALOGUE[rule](Simplifier(), lhs)
    assert rhs is not None and rhs is not lhs, (rule, str(lhs))
    assert same_value(lhs, rhs, points=3), (rule, str(lhs), str(rhs))


@pytest.mark.parametrize("name", ["logm", "sqrtm"])
def test_a_function_of_the_identity_folds(name):
    f, value = FUNCTIONS[name]
    e = mg.simplify(f(mg.eye(n)))
    assert e.op == {"logm": "zeros", "sqrtm": "eye"}[name], str(e)
    assert np.allclose(mg.evaluate(e, {}, SIZES), value(np.eye(4)), atol=1e-15)


@pytest.mark.parametrize("family", ["expm", "logm", "sqrtm"])
@settings(max_examples=10, deadline=None, database=None)
@given(seed=st.integers(0, 2 ** 31), magnitude=st.floats(-8, 8))
def test_a_block_is_linear_in_each_c_whatever_its_size(family, seed, magnitude):
    """F_block(D₀, c C₁, D₁, C₂, D₂) = c F_block(D₀, C₁, D₁, C₂, D₂) for c from 10⁻⁸ to
    10⁸: a large Cᵢ neither overflows the block matrix (e^M of a 1-norm past 700) nor
    costs accuracy."""
    from matgrad.operations import block_functions
    fam = block_functions.family(family)
    rng = np.random.default_rng(seed)
    d0, d1, d2 = in_domain(rng, 3), in_domain(rng, 4), in_domain(rng, 2)
    c1, c2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    scale = 10.0 ** magnitude
    base = fam.block_value([d0, c1, d1, c2, d2])
    big = fam.block_value([d0, scale * c1, d1, c2, d2])
    assert np.all(np.isfinite(big))
    assert np.allclose(big, scale * base, rtol=1e-12, atol=0)
    h = 1e-6  # and the block of order 1 is the derivative, whatever E's size
    e = scale * c1[:, :3]
    want = (fam.spec.value(d0 + h * e / scale, None) - fam.spec.value(d0 - h * e / scale, None)) \
        / (2 * h) * scale
    assert np.allclose(fam.frechet_value(d0, e), want, rtol=1e-6, atol=1e-7 * scale)


@pytest.mark.parametrize("family", ["expm", "logm", "sqrtm"])
@pytest.mark.parametrize("direction", ["X", "inv(X)", "matrix_power(X, 3)", "sqrtm(X)",
                                       "expm(X)"])
def test_a_direction_that_commutes_gives_the_derivative_times_it(family, direction):
    """F_frechet(A, E) = f′(A) E for E built from A alone: both sides agree at random
    points, and ‖sqrtm(Z)‖² (= tr Z for a symmetric Z) has the gradient 2 X."""
    from matgrad.expr import make
    from matgrad.simplify import CATALOGUE, Simplifier

    from .strategies import same_value

    E = mg.parse(direction, shapes="X: n,n")
    lhs = make(f"{family}_block", (X, E, X), (1,), (n, n))
    rhs = CATALOGUE["frechet_commuting"](Simplifier(), lhs)
    assert rhs is not None and "frechet" not in str(rhs), str(rhs)
    assert same_value(lhs, rhs, points=3), (str(lhs), str(rhs))


def test_the_norm_of_a_root_of_a_gram_matrix_has_the_textbook_gradient():
    L = mg.norm(mg.sqrtm(X @ X.T + mg.eye(n))) ** 2
    G = mg.grad(L, X)
    assert str(G) == "2 · X"
    assert mg.verify(L, [X], [G]).ok
