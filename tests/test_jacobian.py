"""Jacobians: every result against central finite differences of the function itself
(all entries, dimensions of distinct sizes), textbook identities, layouts, tensors."""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg

m, n, k = mg.dims("m n k")
A, X, C = mg.matrix("A", m, n), mg.matrix("X", m, n), mg.matrix("C", m, m)
B, S = mg.matrix("B", n, k), mg.matrix("S", n, n)
x, a, v = mg.vector("x", n), mg.vector("a", n), mg.vector("v", n)
y, w = mg.vector("y", m), mg.vector("w", n)
s = mg.scalar("s")
SIZES = {"m": 3, "n": 4, "k": 5}


def point(rng):
    """Random values; square matrices well-conditioned, with a positive determinant."""
    return {"A": rng.standard_normal((3, 4)), "X": rng.standard_normal((3, 4)),
            "C": rng.standard_normal((3, 3)), "B": rng.standard_normal((4, 5)),
            "S": 2 * np.eye(4) + 0.3 * rng.standard_normal((4, 4)),
            "x": rng.standard_normal(4), "a": rng.standard_normal(4),
            "v": rng.standard_normal(4), "y": rng.standard_normal(3),
            "w": rng.standard_normal(4), "s": float(rng.standard_normal())}


def squeeze(a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return a.reshape([d for d in a.shape if d != 1])


def finite_differences(fun, values, name, h=1e-6) -> np.ndarray:
    """∂fun/∂values[name] entry by entry: fun's axes, then name's (size-1 axes dropped)."""
    x0 = np.asarray(values[name], dtype=float)
    base = squeeze(fun(values))
    out = np.zeros(base.shape + squeeze(x0).shape)
    for idx in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[idx] = h
        up, dn = dict(values), dict(values)
        up[name], dn[name] = x0 + e, x0 - e
        diff = (squeeze(fun(up)) - squeeze(fun(dn))) / (2 * h)
        out[(...,) + tuple(i for i, d in zip(idx, x0.shape) if d != 1)] = diff
    return out


def assert_matches_lower(J, lower, values, tol=1e-5, sizes=None):
    """J (a Derivative, numerator layout) equals finite differences of `lower` (an Expr
    or a Derivative: the next-lower derivative). `sizes` gives the dimensions that no
    value shows (say, of ones(m, n) in a function of a scalar)."""
    fd = finite_differences(lambda vals: mg.evaluate(lower, vals, sizes=sizes), values,
                            J.wrt.name)
    got = squeeze(mg.evaluate(J, values, sizes=sizes))
    assert got.shape == fd.shape, (got.shape, fd.shape)
    scale = max(1.0, float(np.max(np.abs(fd))))
    assert np.max(np.abs(got - fd)) / scale < tol, (str(J), got, fd)
    return got


# ---- identities from the literature (Matrix Cookbook, Magnus & Neudecker) ------------
# (name, F, x, the closed form as an expression): ∂F/∂x in numerator layout.
IDENTITIES = [
    ("d(Ax)/dx = A", lambda: A @ x, x, lambda: A),
    ("d(x)/dx = I", lambda: x, x, lambda: mg.eye(n)),
    ("d(Aᵀy)/dy = Aᵀ", lambda: A.T @ y, y, lambda: A.T),
    ("d(x ⊙ a)/dx = diag(a)", lambda: x * a, x, lambda: mg.diag(a)),
    ("d exp(x)/dx = diag(exp x)", lambda: mg.exp(x), x, lambda: mg.diag(mg.exp(x))),
    ("d tanh(Ax)/dx = diag(1 − tanh²) A", lambda: mg.tanh(A @ x), x,
     lambda: mg.diag(1 - mg.tanh(A @ x) ** 2) @ A),
    ("d softmax(v)/dv = diag(p) − p pᵀ", lambda: mg.softmax(v), v,
     lambda: mg.diag(mg.softmax(v)) - mg.softmax(v) @ mg.softmax(v).T),
    ("d(x/‖x‖)/dx = (I − x xᵀ/‖x‖²)/‖x‖", lambda: x / mg.norm(x), x,
     lambda: (mg.eye(n) - x @ x.T / mg.norm(x) ** 2) / mg.norm(x)),
    ("d(‖x‖² x)/dx = ‖x‖² I + 2 x xᵀ", lambda: (x.T @ x) * x, x,
     lambda: (x.T @ x) * mg.eye(n) + 2 * x @ x.T),
    ("d(X w)/dw = X", lambda: X @ w, w, lambda: X),
    ("d(S⁻¹ a)/da = S⁻¹", lambda: mg.inv(S) @ a, a, lambda: mg.inv(S)),
    ("d(s x)/ds = x", lambda: s * x, s, lambda: x),
    ("d(aᵀx)/dx = aᵀ", lambda: a.T @ x, x, lambda: a.T),
]


@pytest.mark.parametrize("name", [i[0] for i in IDENTITIES])
def test_jacobian_identity(name, rng):
    _, F, wrt, closed = next(i for i in IDENTITIES if i[0] == name)
    J = mg.jacobian(F(), wrt)
    assert J.layout == "numerator" and J.expr is not None
    values = point(rng)
    got = assert_matches_lower(J, F(), values)
    want = squeeze(mg.evaluate(closed(), values, sizes=SIZES))
    assert np.allclose(got, want.reshape(got.shape))


def test_numerator_and_denominator_layouts(rng):
    F = mg.tanh(A @ x)
    Jn = mg.jacobian(F, x)
    Jd = mg.jacobian(F, x, layout="denominator")
    assert Jn.shape == (m, n) and Jd.shape == (n, m)
    assert Jn.layout == "numerator" and Jd.layout == "denominator"
    assert "numerator layout" in repr(Jn) and "denominator layout" in Jd.describe()
    values = point(rng)
    assert np.allclose(mg.evaluate(Jd, values), mg.evaluate(Jn, values).T)
    # the Jacobian of a scalar: a row in numerator layout, the gradient in denominator
    L = mg.sum(F)
    assert mg.jacobian(L, x).shape == (1, n)
    g = mg.evaluate(mg.jacobian(L, x, layout="denominator"), values)
    assert np.allclose(g, mg.evaluate(mg.grad(L, x), values))
    # a scalar by a matrix: numerator layout is the transposed gradient
    Ls = mg.sum(mg.tanh(X) * A)
    Gn = mg.evaluate(mg.jacobian(Ls, X), values)
    assert np.allclose(Gn, mg.evaluate(mg.grad(Ls, X), values).T)


def test_the_result_is_usable_as_an_expression(rng):
    J = mg.jacobian(A @ mg.tanh(x), x)
    values = point(rng)
    Jv = mg.evaluate(J, values)
    assert np.allclose(mg.evaluate(J @ v, values), Jv @ values["v"])
    assert np.allclose(mg.evaluate(y.T @ J, values), values["y"] @ Jv)
    assert np.isclose(mg.evaluate(mg.sum(J), values), Jv.sum())


# ---- tensors: more than two axes ------------------------------------------------------


def test_vector_by_matrix_is_a_third_order_tensor(rng):
    J = mg.jacobian(X @ w, X, name="z")
    assert J.expr is None and J.axes == (m, m, n)
    assert J.index_notation() == "∂zᵢ/∂Xⱼₖ = δᵢⱼ wₖ"
    values = point(rng)
    T = assert_matches_lower(J, X @ w, values)
    assert T.shape == (3, 3, 4)
    # vec form: d vec(z) = (wᵀ ⊗ I) d vec(X)
    assert J.vec.to_text() == "(wᵀ ⊗ Iₘ)"
    K = np.kron(values["w"][None, :], np.eye(3))
    assert np.allclose(T.reshape(3, 12, order="F"), K)


def test_explanation_contracts_the_tensor_with_a_gradient(rng):
    J = mg.jacobian(X @ w, X, name="z")
    text = J.explain()
    assert "third-order tensor of shape m×m×n" in text
    assert "∂zᵢ/∂Xⱼₖ = δᵢⱼ wₖ" in text
    assert "cannot be written as a product of matrices" in text
    assert "Σᵢ gᵢ δᵢⱼ wₖ = gⱼ wₖ" in text
    assert "∂L/∂X = g wᵀ" in text
    # the contraction is the chain rule: the gradient of G : z with respect to X
    G = mg.vector("G", m)
    M = J.contract(G)
    values = dict(point(rng), G=rng.standard_normal(3))
    assert np.allclose(mg.evaluate(M, values), mg.evaluate(mg.grad(G.T @ (X @ w), X), values))


KRONECKER = [  # (F, expected K of d vec(F) = K d vec(X), from the values)
    ("A X B", lambda: C @ X @ S, lambda V: np.kron(V["S"].T, V["C"])),
    ("X⁻¹", lambda: mg.inv(S), lambda V: -np.kron(np.linalg.inv(V["S"]).T,
                                                   np.linalg.inv(V["S"]))),
    ("X ⊙ X", lambda: X * X, lambda V: np.diag(2 * V["X"].flatten(order="F"))),
    ("Xᵀ", lambda: X.T, None),
    ("exp(X) A", lambda: mg.exp(X) @ S, None),
]


@pytest.mark.parametrize("name", [c[0] for c in KRONECKER])
def test_matrix_by_matrix_tensor_and_vec_form(name, rng):
    _, F, K = next(c for c in KRONECKER if c[0] == name)
    F = F()
    wrt = S if S in mg.expr.variables(F) and X not in mg.expr.variables(F) else X
    J = mg.jacobian(F, wrt)
    values = point(rng)
    T = assert_matches_lower(J, F, values)
    if name == "exp(X) A":  # (Sᵀ ⊗ I) diag(vec exp(X)): not one Kronecker product
        assert J.vec is None
        return
    assert J.vec is not None
    p, q = T.shape[:2]
    vecK = T.reshape(p * q, -1, order="F")
    from matgrad.numeric import bind
    arrays, bound = bind([F, wrt] + [t.Q for t in J.vec.terms], values)
    assert np.allclose(J.vec.value(arrays, bound), vecK)
    if K is not None:
        assert np.allclose(vecK, K(values))


def test_matrix_by_vector(rng):
    F = x @ a.T  # d vec(x aᵀ) = (a ⊗ I) dx
    J = mg.jacobian(F, x)
    values = point(rng)
    T = assert_matches_lower(J, F, values)
    assert J.vec.to_text() == "(a ⊗ Iₙ)"
    assert np.allclose(T.reshape(16, 4, order="F"), np.kron(values["a"][:, None], np.eye(4)))


def test_repeated_differentiation(rng):
    values = point(rng)
    L = mg.sum(mg.tanh(A @ x) ** 2)
    g = mg.grad(L, x)
    gg = mg.grad(mg.sum(g), x)  # grad of a gradient's entry-sum
    fd = finite_differences(lambda vals: mg.evaluate(mg.sum(g), vals), values, "x")
    assert np.allclose(mg.evaluate(gg, values), fd, atol=1e-6)
    J1 = mg.jacobian(L, x)
    J2 = mg.jacobian(J1, x)  # the Jacobian of a Jacobian (1×n) is the Hessian
    assert_matches_lower(J2, J1.expr, values)
    J3 = mg.jacobian(J2, x)  # and once more: a third-order tensor
    assert J3.axes == (n, n, n)
    assert_matches_lower(J3, J2.expr, values, tol=1e-4)


def test_jacobian_of_a_tensor_result(rng):
    J = mg.jacobian(X @ w, X)
    JJ = mg.jacobian(J, w)  # through the index form: ∂²z/∂X∂w
    values = point(rng)
    assert_matches_lower(JJ, J, values)
    assert JJ.index_notation().startswith("∂²(X w)ᵢ/∂Xⱼₖ∂wₗ = ")


def test_library_check_agrees():
    J = mg.jacobian(mg.softmax(A @ x), x)
    assert J.verify() < 1e-6


def test_bad_input_raises_matgrad_errors():
    with pytest.raises(mg.MatgradError, match="layout"):
        mg.jacobian(A @ x, x, layout="sideways")
    with pytest.raises(mg.DomainError):
        mg.jacobian(A @ x, A @ x)
    with pytest.raises(mg.MatgradError):
        mg.jacobian(A @ x, "nope")
    with pytest.raises(mg.MatgradError, match="order"):
        mg.derivative(A @ x, x, 0)
    with pytest.raises(mg.MatgradError, match="shape"):
        mg.jacobian(A @ x, x).contract(x)


def test_zero_jacobian():
    J = mg.jacobian(A @ x, w)
    assert str(J.expr) == "0ₘₓₙ"


# ---- sums over broadcast axes: each summed copy counts -------------------------------
# A broadcast repeats an operand along an axis; summing over that axis adds the copies,
# so the derivative carries the axis's size (Σ_a (X − y 1ᵀ)_ia has ∂/∂y_k = −n δ_ik).
# Sizes m = 3, n = 4 differ, so a wrong dimension is caught by the numbers.

r = mg.matrix("r", 1, n)  # a row variable


def broadcast_point(rng):
    return dict(point(rng), r=rng.standard_normal((1, 4)))


BROADCAST_JACOBIANS = [  # (name, F, x, the value as an array)
    ("column: Σ_cols (X − y 1ᵀ) by y = −n I", lambda: mg.sum(X - y, axis=1), y,
     lambda V: -4 * np.eye(3)),
    ("row: Σ_rows (X − 1 r) by r = −m I", lambda: mg.sum(X - r, axis=0), r,
     lambda V: -3 * np.eye(4)),
    ("scalar: Σ_cols (X + s) by s = n 1", lambda: mg.sum(X + s, axis=1), s,
     lambda V: 4 * np.ones(3)),
    ("column, all entries: Σ (X − y 1ᵀ) by y = −n 1ᵀ", lambda: mg.sum(X - y), y,
     lambda V: -4 * np.ones(3)),
    ("column mean: mean_cols (X − y 1ᵀ) by y = −I", lambda: mg.mean(X - y, axis=1), y,
     lambda V: -np.eye(3)),
    ("sum of ones: Σ s 1 1ᵀ by s = m n", lambda: mg.sum(s * mg.ones(m, n)), s,
     lambda V: 12.0),
    ("trace of an identity: tr(s I) by s = n", lambda: mg.trace(s * mg.eye(n)), s,
     lambda V: 4.0),
    ("sum of an identity: Σ s I by s = n", lambda: mg.sum(s * mg.eye(n)), s,
     lambda V: 4.0),
    ("product over a broadcast: 1ₘₓₙ (s 1ₙ) by s = n 1", lambda: mg.ones(m, n) @ (s * mg.ones(n)),
     s, lambda V: 4 * np.ones(3)),
    ("scalar into a product: Σ (X + s) w by s = n·Σw", lambda: mg.sum((X + s) @ w), s,
     lambda V: 3 * np.sum(V["w"])),
]


@pytest.mark.parametrize("name", [c[0] for c in BROADCAST_JACOBIANS])
def test_jacobian_of_a_sum_over_a_broadcast_axis(name, rng):
    _, F, wrt, want = next(c for c in BROADCAST_JACOBIANS if c[0] == name)
    J = mg.jacobian(F(), wrt)
    assert J.expr is not None  # the size factor has a matrix form
    values = broadcast_point(rng)
    got = assert_matches_lower(J, F(), values, sizes=SIZES)
    assert np.allclose(got, want(values))
    assert J.verify() < 1e-6


def test_the_size_of_a_broadcast_axis_is_printed_as_the_dimension():
    assert str(mg.jacobian(mg.sum(X - y, axis=1), y)) == "−n · I"
    assert str(mg.jacobian(mg.sum(X - r, axis=0), r)) == "−m · I"
    J = mg.jacobian(mg.sum(X - y, axis=1), y, name="z")
    assert J.index_notation() == "∂zᵢ/∂yⱼ = −n δᵢⱼ"


def test_a_tensor_with_a_summed_broadcast_axis(rng):
    F = mg.sum(X - y, axis=1) * mg.sum(X, axis=1)  # ∂/∂X: a third-order tensor
    J = mg.jacobian(F, X)
    assert J.expr is None and J.axes == (m, m, n)
    assert_matches_lower(J, F, broadcast_point(rng))
    G = mg.jacobian(J, y)  # ∂²F/∂X∂y through the index form: −n δ δ ... summed copies
    assert_matches_lower(G, J, broadcast_point(rng))
