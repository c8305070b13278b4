"""The simplifier: compact forms that keep their value (checked numerically)."""
from __future__ import annotations

import numpy as np

import matgrad as mg
from matgrad.expr import walk

from .conftest import assert_gradients_match

n = mg.Dim("n")
x = mg.vector("x", n)
B = mg.matrix("B", n, n)
S = mg.matrix("S", n, n, symmetric=True)
b = mg.scalar("b")


def test_a_scalar_shared_by_matrix_products_is_factored_out():
    """∇ (xᵀBx / xᵀx) = (1/xᵀx) (Bᵀ + B) x − 2 (xᵀBx/(xᵀx)²) x: one product with Bᵀ + B."""
    (g,) = assert_gradients_match((x.T @ B @ x) / (x.T @ x), [x])
    products = [e for e in walk(g) if e.op == "matmul" and e.children[1] is x
                and e.children[0].shape == (n, n)]
    assert len(products) == 1 and products[0].children[0].op == "add", str(g)


def test_terms_merged_into_one_that_looks_like_another_keep_their_sum():
    """Two equal terms written with different groupings: the combined term has the key of
    one of them, which must not erase it (the gradient once simplified to 0)."""
    L = mg.det(mg.sigmoid(-b / 10) * mg.inv(S))
    (g,) = assert_gradients_match(L, [S])
    assert g.op != "zeros"


def test_the_gradient_of_a_quadratic_form_is_one_product():
    (g,) = assert_gradients_match(x.T @ B @ x, [x])
    assert g.op == "matmul" and g.children[1] is x


# ---- results as compact as a textbook (each also checked against finite differences) --

m = mg.Dim("m")
X, w, yv = mg.matrix("X", m, n), mg.vector("w", n), mg.vector("y", m)
lam = mg.scalar("lam")
L_ = mg.matrix("L", n, n)


def test_the_rayleigh_quotient_comes_over_its_common_denominator():
    """∇ (xᵀSx / xᵀx) = 2/xᵀx · (S x − xᵀSx/xᵀx · x): 1/xᵀx, which both terms divide
    by (to powers 1 and 2), is written once."""
    (g,) = assert_gradients_match((x.T @ S @ x) / (x.T @ x), [x])
    assert str(g) == "2 / xᵀ x · (S x − xᵀ S x / xᵀ x · x)"


def test_a_matrix_over_a_scalar_reads_as_the_quotient():
    """∇‖X‖ = X / ‖X‖ and ∇‖x − a‖ = (x − a) / ‖x − a‖, as the textbook writes them."""
    a = mg.vector("a", n)
    (g,) = assert_gradients_match(mg.norm(X), [X])
    assert str(g) == "X / ‖X‖"
    (h,) = assert_gradients_match(-mg.norm(x - a), [x])
    assert str(h) == "−(x − a) / ‖x − a‖"
    assert mg.simplify(h) is h


def test_an_even_power_of_a_square_root_is_a_power():
    """sqrt(x)⁴ = x², 1/sqrt(x)² = 1/x, and the probit's exp(−(X w)²/sqrt(2)²) reads
    exp(−1/2 · (X w)²)."""
    assert mg.simplify(mg.sqrt(mg.exp(x)) ** 4) is mg.simplify(mg.exp(x) ** 2)
    assert str(mg.simplify(1 / mg.sqrt(mg.exp(x)) ** 2)) == "1 / exp(x)"
    (g,) = assert_gradients_match(mg.sum(mg.erfc(X @ w / mg.sqrt(2))), [w])
    assert "sqrt(2)²" not in str(g) and "exp(−1/2 · (X w)²)" in str(g), str(g)


def test_log_cosh_regression_gives_tanh():
    """∇ sum(log cosh(X w − y)) = Xᵀ tanh(X w − y): sinh/cosh is tanh."""
    (g,) = assert_gradients_match(mg.sum(mg.log(mg.cosh(X @ w - yv))), [w])
    assert g.op == "matmul" and g.children[1].op == "fn", str(g)
    assert g.children[1].params == ("tanh",) and g.children[1].children[0] is X @ w - yv


def test_log_of_a_sum_of_exponentials_gives_tanh():
    (g,) = assert_gradients_match(mg.sum(mg.log(mg.exp(x) + mg.exp(-x))), [x])
    assert g is mg.tanh(x), str(g)


def test_a_dimension_factor_of_a_sum_comes_out_of_the_product():
    """Xᵀ (1/m · σ − 1/m · y) = 1/m · Xᵀ (σ − y), and sum(1/m · (σ − y)) likewise."""
    z = X @ w
    L = -mg.sum(yv * mg.log(mg.sigmoid(z)) + (1 - yv) * mg.log(1 - mg.sigmoid(z))) / m
    (g,) = assert_gradients_match(L, [w])
    matmuls = [e for e in walk(g) if e.op == "matmul"]
    assert g.op == "mul" and len(matmuls) == 2, str(g)  # 1/m · Xᵀ (σ(X w) − y)
    assert [e for e in matmuls if e.children[0].op == "transpose"][0].children[1].op == "add"


def test_a_numeric_factor_shared_by_every_term_is_written_once():
    """Aᵀ (2 A X B + 2 C) Bᵀ = 2 · Aᵀ (A X B + C) Bᵀ."""
    A, C_ = mg.matrix("A", m, n), mg.matrix("C", m, m)
    Xn, Bn = mg.matrix("X", n, n), mg.matrix("B", n, m)
    r = A @ Xn @ Bn + C_
    (g,) = assert_gradients_match(mg.trace(r @ r.T), [Xn])
    consts = [e for e in walk(g) if e.op == "const"]
    assert len(consts) == 1 and consts[0].params[0] == 2, str(g)


def test_the_sum_of_squares_of_a_vector_is_an_inner_product():
    (g,) = assert_gradients_match(lam * (w.T @ w), [lam])
    assert g is w.T @ w, str(g)


def test_a_symmetric_value_is_its_own_transpose():
    """∇_L sum(exp(L Lᵀ)) = (exp(L Lᵀ) + exp(L Lᵀ)ᵀ) L = 2 · exp(L Lᵀ) L."""
    (g,) = assert_gradients_match(mg.sum(mg.exp(L_ @ L_.T)), [L_])
    assert not [e for e in walk(g) if e.op == "transpose" and e.children[0].op == "fn"], str(g)
    assert len([e for e in walk(g) if e.op == "add"]) == 0, str(g)


def test_a_square_factor_cancels_against_the_inverse_of_a_product():
    """∇ det(A X B) = det(A X B) · Aᵀ (Bᵀ Xᵀ Aᵀ)⁻¹ Bᵀ = det(A X B) · X⁻ᵀ."""
    A, Xn, Bn = (mg.matrix(c, n, n) for c in "AXB")
    (g,) = assert_gradients_match(mg.det(A @ Xn @ Bn), [Xn])
    inverses = [e for e in walk(g) if e.op == "inv"]
    assert [e.children[0] for e in inverses] == [Xn.T], str(g)


def test_equal_chains_inside_inverses_are_one_node():
    """∇ det(Xᵀ S X) holds (Xᵀ S X)⁻¹ once, not twice with two groupings."""
    Xp = mg.matrix("X", n, mg.Dim("p"))
    (g,) = assert_gradients_match(mg.det(Xp.T @ S @ Xp), [Xp])
    assert len([e for e in walk(g) if e.op == "inv"]) == 1, str(g)
    assert not [e for e in walk(g) if e.op == "add"], str(g)


def test_a_zero_factor_is_not_lost_when_a_product_is_distributed():
    """d sign(u) = 0: a product holding that 0 and a sum stays 0 (it once distributed its
    other factors over the sum)."""
    a = mg.scalar("a")
    L = mg.sign(-a / mg.sigmoid(a / 10))
    (g,) = assert_gradients_match(L, [a])
    assert g.op == "const" and g.params[0] == 0, str(g)


def _product_chain(d: int):
    A, y = mg.matrix("A", n, n), mg.vector("y", n)
    e = x
    for _ in range(d):
        e = A @ e
    return y.T @ e, A


def test_a_shared_product_chain_is_a_sum_of_powers():
    """∇_A yᵀ Aᵈ x = Σᵢ (Aⁱ)ᵀ y xᵀ (Aᵈ⁻¹⁻ⁱ)ᵀ: the chain is folded into powers as it is
    built, so the gradient has d terms of a few nodes each; at depth 200 too."""
    L, A = _product_chain(3)
    (g,) = assert_gradients_match(L, [A])
    assert str(g) == "y xᵀ (A²)ᵀ + Aᵀ y xᵀ Aᵀ + (A²)ᵀ y xᵀ", str(g)
    L, A = _product_chain(7)
    assert_gradients_match(L, [A])
    sizes = {}
    for d in (100, 200):
        g = mg.grad(*_product_chain(d))
        sizes[d] = len(walk(g))
        powers = sorted(e.params[0] for e in walk(g) if e.op == "matrix_power")
        assert powers == list(range(2, d)), powers
    assert sizes[200] <= 2 * sizes[100] + 10, sizes


def test_a_shared_product_chain_through_a_rectangular_factor_folds_likewise():
    """∇_A yᵀ Aᵈ B z = Σᵢ (Aⁱ)ᵀ y zᵀ Bᵀ (Aᵈ⁻¹⁻ⁱ)ᵀ for B n×m, checked where m and n
    differ."""
    m = mg.Dim("m")
    A, Bm, y, z = mg.matrix("A", n, n), mg.matrix("B", n, m), mg.vector("y", n), \
        mg.vector("z", m)

    def loss(d):
        e = Bm @ z
        for _ in range(d):
            e = A @ e
        return y.T @ e

    for sizes in ({"n": 3, "m": 2}, {"n": 2, "m": 4}):
        gA, _ = assert_gradients_match(loss(5), [A, Bm], sizes=sizes)
    assert str(gA) == ("y zᵀ Bᵀ (A⁴)ᵀ + Aᵀ y zᵀ Bᵀ (A³)ᵀ + (A²)ᵀ y zᵀ Bᵀ (A²)ᵀ "
                       "+ (A³)ᵀ y zᵀ Bᵀ Aᵀ + (A⁴)ᵀ y zᵀ Bᵀ"), str(gA)


def test_sums_of_chains_that_end_in_powers_are_factored():
    """Chains that end in A A end in A²: those sharing it are one group, grouped again by
    the factor before it; A⁴ and C A³ end otherwise and are factored by their shared P."""
    m = mg.Dim("m")
    A, Bn, C, D = (mg.matrix(c, n, n) for c in "ABCD")
    P, Q, Xm = (mg.matrix(c, m, n) for c in "PQX")
    chains = [P @ Bn @ A @ A, Q @ Bn @ A @ A, P @ A @ A @ A @ A, Xm @ A @ A, Q @ C @ A @ A,
              P @ D @ A @ A, Q @ D @ A @ A, P @ (C @ A) @ A @ A]
    total = chains[0]
    for t in chains[1:]:
        total = total + t
    g = mg.simplify(total)
    assert str(g) == "((P + Q) (B + D) + X + Q C) A² + P (A⁴ + C A³)", str(g)
    rng = np.random.default_rng(0)
    for sizes in ({"m": 2, "n": 3}, {"m": 4, "n": 2}):
        values = {v.name: rng.standard_normal(tuple(sizes[d.name] for d in v.shape))
                  for v in (A, Bn, C, D, P, Q, Xm)}
        np.testing.assert_allclose(mg.evaluate(g, values), mg.evaluate(total, values),
                                   rtol=1e-12, atol=1e-12)


def test_a_transposed_product_gives_up_its_nested_scalars():
    """(½ λ wᵀ)ᵀ = ½ λ w, so the gradient of λ wᵀ w / 2 collects to λ w (its two halves
    were ½ λ w and (½ λ wᵀ)ᵀ)."""
    lam, w = mg.scalar("λ"), mg.vector("w", n)
    (g,) = assert_gradients_match(lam * w.T @ w / 2, [w])
    assert str(g) == "λ · w", str(g)
