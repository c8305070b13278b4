"""The Kronecker product, vec and unvec: product sizes, values against NumPy written
independently, derivatives against central differences, the vec/Kronecker identities,
least squares in vec form, code on every backend, and the printed forms read back.

Dimensions get distinct sizes everywhere (p=2, q=3, r=4, s=5, ...), so that a swapped
factor or a row-major vec changes a shape or a value.
"""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad import budget
from matgrad.dims import DimProduct, as_size, fmt_shape, product

P, Q, R, S, M, N = mg.dims("p q r s m n")
SIZES = {P: 2, Q: 3, R: 4, S: 5, M: 6, N: 7}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _values(shapes: dict, seed=0) -> dict:
    rng = _rng(seed)
    return {k: rng.standard_normal(v) for k, v in shapes.items()}


def _vec(a):
    """Column stacking, written out (not a reshape)."""
    return np.concatenate([a[:, j] for j in range(a.shape[1])])


def _kron(a, b):
    """Blocks a[i, j] b, written out."""
    return np.block([[a[i, j] * b for j in range(a.shape[1])] for i in range(a.shape[0])])


# ---- product sizes -------------------------------------------------------------------------


def test_product_sizes_are_normal_forms():
    assert product(Q, P) == product(P, Q) and hash(product(Q, P)) == hash(product(P, Q))
    assert product(2, 3) == 6 and product(P, 1) is P and product(P) is P
    twice = product(2, P, 3)
    assert isinstance(twice, DimProduct) and twice.coef == 6 and twice.factors == (P,)
    assert product(product(P, Q), R) == product(P, product(Q, R))
    assert str(product(P, Q)) == "p·q" and fmt_shape((product(P, Q), 1)) == "(p·q)×1"
    assert as_size("p*q") == product(P, Q) == as_size("q·p")
    assert mg.kron(mg.matrix("A", P, Q), mg.matrix("B", R, S)).shape == \
        (product(P, R), product(Q, S))


def test_a_product_shape_is_declared_and_bound():
    v = mg.parse("unvec(v, p, q)", "v: p*q")
    assert v.shape == (P, Q)
    value = _rng().standard_normal(6)
    got = mg.evaluate(v, {"v": value}, {"p": 2, "q": 3})
    assert np.array_equal(got, value.reshape(3, 2).T)
    # one factor known from another value: the other is solved for
    X = mg.matrix("X", P, N)
    e = mg.sum(mg.unvec(mg.vector("v", product(P, Q)), P, Q)) + mg.sum(X)
    assert np.isclose(mg.evaluate(e, {"v": value, "X": np.ones((2, 7))}),
                      value.sum() + 14)


def test_the_parser_infers_a_product_size():
    e = mg.parse("sum(unvec(v, p, q) * X)", "X: p,q")
    (v,) = [x for x in mg.expr.variables(e) if x.name == "v"]
    assert v.shape == (product(P, Q), 1)
    e2 = mg.parse("sum(kron(A, B) * C)", "A: p,q; B: r,s")
    (C,) = [x for x in mg.expr.variables(e2) if x.name == "C"]
    assert C.shape == (product(P, R), product(Q, S))


# ---- bad input -----------------------------------------------------------------------------


def test_unvec_refuses_sizes_that_do_not_multiply_to_the_length():
    v = mg.vector("v", 6)
    with pytest.raises(mg.ShapeError, match="not 8×1"):
        mg.unvec(v, 4, 2)
    with pytest.raises(mg.ShapeError, match=r"not \(m·n\)×1"):
        mg.unvec(mg.vector("v", mg.dims("k")[0]), M, N)
    with pytest.raises(mg.ShapeError):
        mg.parse("unvec(v, 4, 2)", "v: 6")
    with pytest.raises(mg.ParseError, match="a size here"):
        mg.parse("unvec(v, x, 2)", "v: 6; x: scalar")
    with pytest.raises(mg.MatgradError, match="a size must be"):
        mg.unvec(v, 2.5, 2)
    with pytest.raises(mg.MatgradError, match="takes 3 arguments"):
        mg.unvec(v, 2)
    # a value whose length is no multiple of the known factor
    e = mg.sum(mg.unvec(mg.vector("v", product(P, Q)), P, Q)) + mg.sum(mg.matrix("X", P, 1))
    with pytest.raises(mg.ShapeError, match="not p·q"):
        mg.evaluate(e, {"v": np.ones(7), "X": np.ones((2, 1))})
    with pytest.raises(mg.ShapeError, match="give them in sizes"):
        mg.evaluate(mg.sum(mg.unvec(mg.vector("v", product(P, Q)), P, Q)), {"v": np.ones(6)})


def test_kron_respects_the_element_budget():
    A, B = mg.matrix("A", P, Q), mg.matrix("B", R, S)
    values = {"A": np.ones((30, 30)), "B": np.ones((30, 30))}
    with budget.elements(10_000):
        with pytest.raises(mg.LimitError, match="810000 entries"):
            mg.evaluate(mg.sum(mg.kron(A, B)), values)
        assert mg.evaluate(mg.sum(A), values) == 900.0


# ---- values --------------------------------------------------------------------------------


def test_values_agree_with_numpy_written_out():
    A, B, X = mg.matrix("A", P, Q), mg.matrix("B", R, S), mg.matrix("X", M, N)
    vals = _values({"A": (2, 3), "B": (4, 5), "X": (6, 7)})
    assert np.allclose(mg.evaluate(mg.kron(A, B), vals), _kron(vals["A"], vals["B"]))
    assert np.allclose(mg.evaluate(mg.vec(X), vals), _vec(vals["X"]))
    assert np.allclose(mg.evaluate(mg.unvec(mg.vec(X), M, N), vals), vals["X"])
    # (A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ and the mixed product (A ⊗ B)(C ⊗ D) = AC ⊗ BD
    C, D = mg.matrix("C", Q, M), mg.matrix("D", S, N)
    vals.update(_values({"C": (3, 6), "D": (5, 7)}, seed=1))
    lhs = mg.evaluate(mg.kron(A, B) @ mg.kron(C, D), vals)
    assert np.allclose(lhs, mg.evaluate(mg.kron(A @ C, B @ D), vals))
    assert np.allclose(mg.evaluate(mg.kron(A, B).T, vals),
                       mg.evaluate(mg.kron(A.T, B.T), vals))


def test_vec_of_a_product_is_a_kronecker_product_times_vec():
    """vec(A X B) = (Bᵀ ⊗ A) vec(X)   (Magnus & Neudecker, ch. 2, Theorem 2)."""
    A, X, B = mg.matrix("A", M, P), mg.matrix("X", P, Q), mg.matrix("B", Q, N)
    vals = _values({"A": (6, 2), "X": (2, 3), "B": (3, 7)}, seed=2)
    left = mg.evaluate(mg.vec(A @ X @ B), vals)
    right = mg.evaluate(mg.kron(B.T, A) @ mg.vec(X), vals)
    assert left.shape == (42,) and np.allclose(left, right)


# ---- derivatives ---------------------------------------------------------------------------


def _curved_losses():
    A, B, C = mg.matrix("A", P, Q), mg.matrix("B", R, S), mg.matrix("C", product(P, R),
                                                                       product(Q, S))
    X = mg.matrix("X", M, N)
    v = mg.vector("v", product(M, N))
    return [
        (mg.sum(mg.sin(mg.kron(A, B))), [A, B]),
        (mg.norm(mg.kron(A, B) - C) ** 2, [A, B, C]),
        (mg.sum(mg.exp(mg.vec(X)) * v), [X, v]),
        (mg.sum(mg.tanh(mg.unvec(v, M, N)) * X), [X, v]),
        (mg.sum(mg.kron(mg.vec(A), B.T) ** 2), [A, B]),
    ]


@pytest.mark.parametrize("case", range(5))
def test_gradients_agree_with_central_differences(case):
    L, wrt = _curved_losses()[case]
    grads = [mg.grad(L, x) for x in wrt]
    for x, g in zip(wrt, grads):
        assert g.shape == x.shape
    report = mg.verify(L, wrt, grads, points=3)
    assert report.ok, str(report)


@pytest.mark.parametrize("case", range(5))
def test_hessians_agree_with_differences_of_the_gradient(case):
    L, wrt = _curved_losses()[case]
    x = wrt[0]
    G, H = mg.grad(L, x), mg.hessian(L, x)
    values, sizes = _sample([L, G])
    X0 = np.asarray(values[x.name], dtype=float)
    V = _rng(4).standard_normal(X0.shape)
    h = 1e-5

    def grad_at(a):
        return np.asarray(mg.evaluate(G, {**values, x.name: a}, sizes), dtype=float)
    fd = (grad_at(X0 + h * V) - grad_at(X0 - h * V)) / (2 * h)
    HV = np.asarray(mg.evaluate(H, values, sizes), dtype=float).reshape(fd.size, V.size) \
        @ V.reshape(-1)
    assert np.allclose(HV, fd.reshape(-1), rtol=1e-4, atol=1e-6)


def _sample(exprs):
    from matgrad.verify import sample
    return sample(exprs, _rng(3))


def test_jacobian_of_vec_a_x_b_reads_b_transpose_kron_a():
    A, X, B = mg.matrix("A", M, P), mg.matrix("X", P, Q), mg.matrix("B", Q, N)
    for F in (mg.vec(A @ X @ B), A @ X @ B):
        J = mg.jacobian(F, X)
        assert J.vec_text() == "d vec(A X B) = (Bᵀ ⊗ A) d vec(X)"
        K = J.vec.to_expr()
        assert K is mg.kron(B.T, A)
    # and numerically: the full Jacobian, read in vec order, is Bᵀ ⊗ A
    vals = _values({"A": (6, 2), "X": (2, 3), "B": (3, 7)}, seed=5)
    full = np.asarray(mg.evaluate(mg.jacobian(mg.vec(A @ X @ B), X), vals))
    flat = full.reshape(42, 6, order="C")  # rows i + 6 j; columns k·3 + l (C order)
    vec_order = flat.reshape(42, 2, 3).transpose(0, 2, 1).reshape(42, 6)
    assert np.allclose(vec_order, np.kron(vals["B"].T, vals["A"]))


def test_jacobian_between_vectors_is_in_kronecker_notation():
    A, B = mg.matrix("A", M, P), mg.matrix("B", Q, N)
    v = mg.vector("v", product(P, Q))
    F = mg.vec(A @ mg.unvec(v, P, Q) @ B)
    J = mg.jacobian(F, v)
    assert J.expr is mg.kron(B.T, A)
    vals = _values({"A": (6, 2), "B": (3, 7), "v": (6,)}, seed=6)
    rng = _rng(7)
    d = rng.standard_normal(6)
    h = 1e-6
    fd = (mg.evaluate(F, {**vals, "v": vals["v"] + h * d})
          - mg.evaluate(F, {**vals, "v": vals["v"] - h * d})) / (2 * h)
    assert np.allclose(np.asarray(mg.evaluate(J, vals)) @ d, fd, rtol=1e-6, atol=1e-8)
    Jt = mg.jacobian(F, v, layout="denominator")
    assert np.allclose(mg.evaluate(Jt, vals), np.asarray(mg.evaluate(J, vals)).T)


# ---- least squares in vec form ------------------------------------------------------------


def _least_squares():
    A, X, B, C = (mg.matrix("A", M, P), mg.matrix("X", P, Q), mg.matrix("B", Q, N),
                  mg.matrix("C", M, N))
    vec_form = mg.norm(mg.kron(B.T, A) @ mg.vec(X) - mg.vec(C)) ** 2
    matrix_form = mg.norm(A @ X @ B - C) ** 2
    return A, X, B, C, vec_form, matrix_form


def test_least_squares_in_vec_form_has_the_matrix_gradient():
    A, X, B, C, L_vec, L_mat = _least_squares()
    x = mg.vector("x", product(P, Q))
    L_x = mg.norm(mg.kron(B.T, A) @ x - mg.vec(C)) ** 2
    g_X, g_mat = mg.grad(L_vec, X), mg.grad(L_mat, X)
    g_x = mg.unvec(mg.grad(L_x, x), P, Q)
    assert g_X.shape == g_mat.shape == g_x.shape == (P, Q)
    for seed in range(3):
        vals = _values({"A": (6, 2), "X": (2, 3), "B": (3, 7), "C": (6, 7)}, seed=seed)
        vals["x"] = _vec(vals["X"])
        want = mg.evaluate(g_mat, vals)
        assert np.allclose(mg.evaluate(L_vec, vals), mg.evaluate(L_mat, vals))
        assert np.allclose(mg.evaluate(g_X, vals), want)
        assert np.allclose(mg.evaluate(g_x, vals), want)
    assert mg.verify(L_vec, [X, A, B], [mg.grad(L_vec, y) for y in (X, A, B)]).ok


# ---- generated code ------------------------------------------------------------------------


def _arrays(backend, values):
    if backend == "torch":
        torch = pytest.importorskip("torch")
        return {k: torch.as_tensor(np.asarray(v, dtype=float)) for k, v in values.items()}
    return values


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_compiled_code_agrees_with_evaluate(backend):
    import contextlib
    context = contextlib.nullcontext()
    if backend == "jax":  # double precision inside this test only
        jax = pytest.importorskip("jax")
        if hasattr(jax, "enable_x64"):
            context = jax.enable_x64(True)
        else:
            from jax.experimental import enable_x64
            context = enable_x64()
    with context:
        _compiled_cases_agree(backend)


def _compiled_cases_agree(backend):
    A, X, B, C, L_vec, _ = _least_squares()
    v = mg.vector("v", product(M, N))
    cases = [(L_vec, [X, A, B]), _curved_losses()[0], _curved_losses()[2],
             _curved_losses()[3], (mg.sum(mg.kron(mg.scalar("a"), X) * X), [X])]
    for L, wrt in cases:
        grads = [mg.grad(L, y) for y in wrt]
        values, sizes = _sample([L, *grads])
        f = mg.compile(L, wrt=wrt, backend=backend)
        value, got = f(_arrays(backend, values))
        assert np.isclose(float(np.asarray(value)), mg.evaluate(L, values, sizes), rtol=1e-9)
        for y, g in zip(wrt, grads):
            want = np.asarray(mg.evaluate(g, values, sizes), dtype=float)
            have = np.asarray(got[y.name], dtype=float).reshape(want.shape)
            assert np.allclose(have, want, rtol=1e-8, atol=1e-10), (backend, str(L), y.name)
    assert v.shape == (product(M, N), 1)


def test_numpy_code_uses_the_kron_helper_and_sizes_as_products():
    A, B = mg.matrix("A", P, Q), mg.matrix("B", R, S)
    L = mg.sum(mg.sin(mg.kron(A, B)))
    source = mg.compile(L, wrt=[A], backend="numpy").source
    assert "def kron(xp, a, b):" in source
    v = mg.vector("v", product(P, Q))
    W = mg.matrix("W", P, Q)
    code = mg.compile(mg.sum(mg.unvec(v, P, Q) * W), wrt=[v], backend="numpy").source
    assert ".T" in code and "reshape" in code


# ---- printed forms -------------------------------------------------------------------------


def _forms():
    A, B, C = mg.matrix("A", P, Q), mg.matrix("B", R, S), mg.matrix("C", product(P, R),
                                                                       product(Q, S))
    X, v = mg.matrix("X", M, N), mg.vector("v", product(M, N))
    shapes = "A: p,q; B: r,s; C: p*r,q*s; X: m,n; v: m*n"
    exprs = [mg.kron(A, B), C * mg.kron(A, B), mg.kron(A.T, B).T, mg.kron(A @ A.T, B),
             2 * mg.kron(A, B) - C, mg.kron(mg.kron(A, B), A), mg.vec(X), mg.vec(X.T),
             mg.unvec(v, M, N), mg.unvec(mg.vec(X), M, N) + X,
             mg.kron(mg.vec(X).T, A)]
    return exprs, shapes


def test_printed_forms_use_the_kronecker_notation():
    A, B = mg.matrix("A", P, Q), mg.matrix("B", R, S)
    X = mg.matrix("X", M, N)
    assert mg.kron(A, B).to_text() == "A ⊗ B"
    assert mg.kron(A, B).to_text(unicode=False) == "kron(A, B)"
    assert mg.kron(A, B).to_latex() == r"A \otimes B"
    assert mg.vec(X).to_text() == "vec(X)"
    assert mg.vec(X).to_latex().startswith(r"\operatorname{vec}")


@pytest.mark.parametrize("case", range(11))
def test_printed_forms_read_back(case):
    exprs, shapes = _forms()
    e = exprs[case]
    assert mg.parse(e.to_text(unicode=False), shapes) is e, e.to_text(unicode=False)
    values, sizes = _sample([e])
    want = np.asarray(mg.evaluate(e, values, sizes))
    for text, syntax in ((e.to_text(), "math"), (e.to_latex(), "latex"),
                         (e.to_text(), "auto"), (e.to_latex(), "auto")):
        back = mg.parse(text, shapes, syntax=syntax)
        assert back.shape == e.shape, (syntax, text)
        assert np.allclose(np.asarray(mg.evaluate(back, values, sizes)), want), (syntax, text)
