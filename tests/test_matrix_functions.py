"""solve, matrix_power, adj, cholesky and tril_half: values, derivatives, notation, code.

Each check runs at random points with distinct dimension sizes (n = 4, k = 3), so a
misplaced transpose changes a shape or a value. Derivatives are compared with central
differences along random directions (and Hessians with differences of the gradient);
closed forms are computed with NumPy, never written as numbers.
"""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg

n, k = mg.dims("n k")
SIZES = {"n": 4, "k": 3}
A, B = mg.matrix("A", n, n), mg.matrix("B", n, k)
S = mg.matrix("S", n, n, symmetric=True)
b = mg.vector("b", n)
W = mg.matrix("W", n, k)
V = mg.matrix("V", n, n)
SHAPES = "A: n,n; B: n,k; S: n,n symmetric; b: n; W: n,k; V: n,n"


def draw(seed=0):
    """A well-conditioned A near 2I, a positive definite S and standard normal others."""
    rng = np.random.default_rng(seed)
    a = 2 * np.eye(4) + 0.4 * rng.standard_normal((4, 4))
    g = rng.standard_normal((4, 4))
    return {"A": a, "B": rng.standard_normal((4, 3)), "S": g @ g.T / 4 + np.eye(4),
            "b": rng.standard_normal(4), "W": rng.standard_normal((4, 3)),
            "V": rng.standard_normal((4, 4))}, rng


def value(e, values):
    return np.asarray(mg.evaluate(e, values), dtype=float)


def directional(L, x, values, direction, h=1e-6):
    up = dict(values, **{x.name: values[x.name] + h * direction})
    down = dict(values, **{x.name: values[x.name] - h * direction})
    return (value(L, up) - value(L, down)) / (2 * h)


def assert_gradient(L, x, seed=0, symmetric=False):
    """∂L/∂x : D equals the central difference of L along random directions D."""
    values, rng = draw(seed)
    G = value(mg.grad(L, x), values).reshape(np.shape(values[x.name]))
    for _ in range(3):
        D = rng.standard_normal(np.shape(values[x.name]))
        if symmetric:
            D = (D + D.T) / 2
        fd = directional(L, x, values, D)
        assert np.isclose(np.sum(G * D), fd, rtol=1e-6, atol=1e-8), (str(L), x.name)


# ---- values ----------------------------------------------------------------------------------


def test_solve_is_the_solution_of_the_system():
    values, _ = draw()
    X = value(mg.solve(A, B), values)
    assert np.allclose(values["A"] @ X, values["B"])
    x = value(mg.solve(A, b), values).reshape(4)
    assert np.allclose(values["A"] @ x, values["b"])


@pytest.mark.parametrize("power", [-3, -2, 2, 3, 5])
def test_matrix_power_is_the_repeated_product(power):
    values, _ = draw()
    base = values["A"] if power > 0 else np.linalg.inv(values["A"])
    want = np.eye(4)
    for _ in range(abs(power)):
        want = want @ base
    assert np.allclose(value(mg.matrix_power(A, power), values), want)


def test_matrix_power_normalises_zero_one_and_minus_one():
    assert mg.matrix_power(A, 0) is mg.eye(n)
    assert mg.matrix_power(A, 1) is A
    assert mg.matrix_power(A, -1) is mg.inv(A)


def test_adjugate_times_the_matrix_is_the_determinant():
    values, _ = draw()
    a = values["A"]
    adj = value(mg.adj(A), values)
    assert np.allclose(adj @ a, np.linalg.det(a) * np.eye(4))
    assert np.allclose(a @ adj, np.linalg.det(a) * np.eye(4))


def test_cholesky_factor_is_lower_and_reproduces_the_matrix():
    values, _ = draw()
    L = value(mg.cholesky(S), values)
    assert np.allclose(np.triu(L, 1), 0) and np.all(np.diag(L) > 0)
    assert np.allclose(L @ L.T, values["S"])
    # a non-symmetric argument: the factor of its symmetric part
    a = values["A"]
    La = value(mg.cholesky(A), values)
    assert np.allclose(La @ La.T, (a + a.T) / 2)


def test_tril_half_keeps_the_lower_triangle_and_half_the_diagonal():
    values, _ = draw()
    got = value(mg.tril_half(V), values)
    assert np.allclose(np.triu(got, 1), 0)
    assert np.allclose(np.diag(got), np.diag(values["V"]) / 2)
    assert np.allclose(np.tril(got, -1), np.tril(values["V"], -1))
    # Φ(X) + Φ(X)ᵀ = X for a symmetric X: the property the Cholesky differential uses
    phi = value(mg.tril_half(S), values)
    assert np.allclose(phi + phi.T, values["S"])


# ---- first derivatives -----------------------------------------------------------------------


@pytest.mark.parametrize("loss, wrt", [
    (lambda: mg.sum(W * mg.solve(A, B)), (A, B)),
    (lambda: b.T @ mg.solve(A, b), (A, b)),
    (lambda: mg.sum(V * mg.matrix_power(A, 3)), (A,)),
    (lambda: mg.sum(V * mg.matrix_power(A, -2)), (A,)),
    (lambda: mg.sum(V * mg.matrix_power(A, 5)), (A,)),
    (lambda: mg.sum(V * mg.adj(A)), (A,)),
    (lambda: mg.sum(V * mg.cholesky(A)), (A,)),
    (lambda: mg.sum(V * mg.tril_half(A)), (A,)),
])
def test_gradients_agree_with_central_differences(loss, wrt):
    L = loss()
    for x in wrt:
        assert_gradient(L, x)


def test_cholesky_gradient_for_a_symmetric_variable_is_symmetric_and_correct():
    L = mg.sum(V * mg.cholesky(S))
    values, _ = draw()
    G = value(mg.grad(L, S), values)
    assert np.allclose(G, G.T)
    assert_gradient(L, S, symmetric=True)


@pytest.mark.parametrize("power", [2, 3, -2, 4])
def test_trace_of_a_power_has_the_textbook_gradient(power):
    """∂ tr(Aᵏ)/∂A = k (Aᵏ⁻¹)ᵀ   (Matrix Cookbook eq. 106, and for negative k)."""
    values, _ = draw()
    G = value(mg.grad(mg.trace(mg.matrix_power(A, power)), A), values)
    assert np.allclose(G, power * np.linalg.matrix_power(values["A"], power - 1).T)


def test_gradient_of_log_det_through_the_adjugate():
    """tr(adj(A)) is the sum of the principal (n−1)-minors: its gradient checked both by
    differences and against the product rule's closed form."""
    L = mg.trace(mg.adj(A))
    assert_gradient(L, A)
    values, _ = draw()
    a = values["A"]
    ai = np.linalg.inv(a)
    d = np.linalg.det(a)
    want = d * np.trace(ai) * ai.T - d * (ai @ ai).T  # d tr(det A A⁻¹)
    assert np.allclose(value(mg.grad(L, A), values), want)


# ---- Jacobians and Hessians ------------------------------------------------------------------


@pytest.mark.parametrize("F, x", [
    (lambda: mg.solve(A, b), A), (lambda: mg.solve(A, b), b),
    (lambda: mg.matrix_power(A, 3), A), (lambda: mg.cholesky(A), A),
])
def test_jacobians_apply_as_central_differences(F, x):
    F = F()
    values, rng = draw(1)
    J = value(mg.jacobian(F, x), values)
    X = np.asarray(values[x.name], dtype=float)
    D = rng.standard_normal(X.shape)
    fd = directional(F, x, values, D).reshape(-1)
    assert np.allclose(J.reshape(fd.size, D.size) @ D.reshape(-1), fd, rtol=1e-5,
                       atol=1e-7)


@pytest.mark.parametrize("loss, x", [
    (lambda: mg.sum(mg.solve(A, b) ** 2), b),
    (lambda: mg.sum(mg.solve(A, b) ** 2), A),
    (lambda: mg.sum(mg.sin(mg.matrix_power(A, 3))), A),
    (lambda: mg.sum(mg.sin(mg.matrix_power(A, -2))), A),
    (lambda: mg.sum(mg.sin(mg.adj(A))), A),
    (lambda: mg.sum(mg.sin(mg.cholesky(A))), A),
])
def test_hessians_agree_with_differences_of_the_gradient(loss, x):
    L = loss()
    values, rng = draw(2)
    g = mg.grad(L, x)
    X = np.asarray(values[x.name], dtype=float)
    H = value(mg.hessian(L, x), values).reshape(X.size, X.size)
    assert np.allclose(H, H.T, atol=1e-8 * max(1.0, np.max(np.abs(H))))
    D = rng.standard_normal(X.shape)
    fd = directional(g, x, values, D, h=1e-5).reshape(-1)
    assert np.allclose(H @ D.reshape(-1), fd, rtol=1e-5, atol=1e-6)


def test_hessian_of_a_solve_in_its_right_hand_side_is_the_closed_form():
    """‖A⁻¹b‖² has Hessian 2 A⁻ᵀ A⁻¹ in b."""
    values, _ = draw()
    H = value(mg.hessian(mg.sum(mg.solve(A, b) ** 2), b), values)
    ai = np.linalg.inv(values["A"])
    assert np.allclose(H, 2 * ai.T @ ai)


# ---- notation --------------------------------------------------------------------------------


FORMS = [lambda: mg.solve(A, B), lambda: mg.solve(A.T, b), lambda: mg.matrix_power(A, 3),
         lambda: mg.matrix_power(A + S, -2), lambda: mg.matrix_power(A, 2).T,
         lambda: mg.adj(A), lambda: mg.cholesky(S), lambda: mg.tril_half(A @ S)]


@pytest.mark.parametrize("form", FORMS)
def test_printed_forms_read_back(form):
    e = form()
    assert mg.parse(e.to_text(unicode=False), shapes=SHAPES) is e
    assert mg.parse(e.to_text(), shapes=SHAPES, syntax="math") is e
    assert mg.parse(e.to_latex(), shapes=SHAPES, syntax="latex") is e


def test_a_whole_superscript_on_a_square_matrix_is_the_matrix_power():
    assert mg.matrix_power(A, 3).to_text() == "A³"
    assert mg.parse("A³", shapes=SHAPES, syntax="math") is mg.matrix_power(A, 3)
    assert mg.parse("A⁻²", shapes=SHAPES, syntax="math") is mg.matrix_power(A, -2)
    assert mg.parse("A^{3}", shapes=SHAPES, syntax="latex") is mg.matrix_power(A, 3)
    # the elementwise power of a square matrix is printed, and read, with ∘
    square = A ** 3
    assert square.to_text() == "A^∘(3)" and square.to_latex() == r"{A}^{\circ 3}"
    assert mg.parse(square.to_text(), shapes=SHAPES, syntax="math") is square
    # on a vector, or a non-square matrix, a superscript can only be elementwise
    assert mg.parse("b³", shapes=SHAPES, syntax="math") is b ** 3
    assert mg.parse("B²", shapes=SHAPES, syntax="math") is B ** 2


# ---- code ------------------------------------------------------------------------------------


def _context(backend):
    if backend == "jax":
        jax = pytest.importorskip("jax")
        if hasattr(jax, "enable_x64"):
            return jax.enable_x64(True)
        from jax.experimental import enable_x64
        return enable_x64()
    if backend == "torch":
        pytest.importorskip("torch")
    import contextlib
    return contextlib.nullcontext()


def _arrays(backend, values):
    if backend == "torch":
        import torch
        return {key: torch.as_tensor(np.asarray(v, dtype=float)) for key, v in values.items()}
    return values


LOSS = (mg.sum(W * mg.solve(A, B)) + mg.trace(V @ mg.matrix_power(A, 3))
        + mg.sum(V * mg.matrix_power(A, -2)) + mg.sum(V * mg.adj(A))
        + mg.sum(V * mg.cholesky(S)) + mg.sum(V * mg.tril_half(A)))


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_compiled_code_equals_evaluate_on_every_backend(backend):
    values, _ = draw(3)
    wrt = [A, B, S]
    with _context(backend):
        f = mg.compile(LOSS, wrt=wrt, backend=backend)
        got, grads = f(_arrays(backend, values))
        assert np.isclose(float(np.asarray(got)), float(value(LOSS, values)), rtol=1e-10)
        for x in wrt:
            want = value(mg.grad(LOSS, x), values)
            have = np.asarray(grads[x.name], dtype=float).reshape(want.shape)
            assert np.allclose(have, want, rtol=1e-8, atol=1e-10), (backend, x.name)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_a_solve_compiles_as_a_solve_never_an_inverse(backend):
    L = mg.sum(W * mg.solve(A, B)) + b.T @ mg.solve(A.T, b)
    with _context(backend):
        source = mg.compile(L, wrt=[A, B, b], backend=backend).source
    assert "linalg.solve" in source
    assert "inv" not in source.replace("invalid", "")


# ---- bad input -------------------------------------------------------------------------------


def test_bad_input_is_a_clear_error():
    X = mg.matrix("X", n, k)
    for f in (mg.adj, mg.cholesky, mg.tril_half, lambda a: mg.matrix_power(a, 2)):
        with pytest.raises(mg.ShapeError, match="not square"):
            f(X)
    with pytest.raises(mg.ShapeError, match="solve"):
        mg.solve(A, mg.vector("c", k))
    with pytest.raises(mg.MatgradError, match="whole number"):
        mg.matrix_power(A, 1.5)
    with pytest.raises(mg.MatgradError, match="whole number"):
        mg.matrix_power(A, True)
    with pytest.raises(mg.MatgradError, match="limited to 1024"):
        mg.matrix_power(A, 1025)
    with pytest.raises(mg.MatgradError, match="whole number"):
        mg.parse("matrix_power(A, 1.5)", shapes=SHAPES)
    with pytest.raises(mg.MatgradError, match="whole number"):
        mg.parse("matrix_power(A, b)", shapes=SHAPES)
    with pytest.raises(mg.MatgradError, match="limited to 1024"):
        mg.parse("matrix_power(A, 2000)", shapes=SHAPES)
    with pytest.raises(mg.ParseError, match="argument"):
        mg.parse("matrix_power(A)", shapes=SHAPES)


def test_values_outside_the_domain_are_domain_errors():
    singular = {"A": np.ones((4, 4)), "B": np.ones((4, 3)), "S": -np.eye(4)}
    for e in (mg.solve(A, B), mg.adj(A), mg.matrix_power(A, -2)):
        with pytest.raises(mg.DomainError, match="singular"):
            mg.evaluate(e, singular)
    with pytest.raises(mg.DomainError, match="positive definite"):
        mg.evaluate(mg.cholesky(S), singular)
