"""The simplifier: compact forms that keep their value (checked numerically)."""
from __future__ import annotations

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
