"""The reference example: z = Xw + b, ŷ = relu(z), L = ‖ŷ − y‖²/m."""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.example import example_report

m, n = mg.dims("m n")
X, w, b, y = mg.matrix("X", m, n), mg.vector("w", n), mg.scalar("b"), mg.vector("y", m)
L = mg.sum((mg.relu(X @ w + b) - y) ** 2) / m


def closed_forms(Xv, wv, bv, yv):
    """The textbook answer: g = 2/m H(z) ⊙ (ŷ − y); ∂L/∂X = g wᵀ, ∂L/∂w = Xᵀg, ∂L/∂b = 1ᵀg."""
    z = Xv @ wv + bv
    g = 2 / len(yv) * (z > 0) * (np.maximum(z, 0) - yv)
    return {"X": np.outer(g, wv), "w": Xv.T @ g, "b": g.sum()}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("size", [(7, 3), (4, 9)])
def test_gradients_equal_closed_forms(seed, size):
    rng = np.random.default_rng(seed)
    mm, nn = size
    vals = {"X": rng.standard_normal((mm, nn)), "w": rng.standard_normal(nn),
            "b": float(rng.standard_normal()), "y": rng.standard_normal(mm)}
    want = closed_forms(vals["X"], vals["w"], vals["b"], vals["y"])
    for var, G in zip([w, b, X], mg.gradients(L, [w, b, X])):
        got = mg.evaluate(G, vals)
        assert np.shape(got) == np.shape(want[var.name])
        assert np.allclose(got, want[var.name])


def test_gradients_have_the_variables_shapes():
    gw, gb, gX = mg.gradients(L, [w, b, X])
    assert (gw.shape, gb.shape, gX.shape) == (w.shape, b.shape, X.shape)


def test_both_spellings_of_the_loss_give_the_same_gradients():
    r = mg.relu(X @ w + b) - y
    L2 = r.T @ r / m
    assert mg.gradients(L, [w, b, X]) == mg.gradients(L2, [w, b, X])


def test_gradients_by_name():
    assert mg.grad(L, "X") is mg.grad(L, X)


def test_example_report_is_compact_and_verified():
    r = example_report()
    assert r.check.ok and r.check.max_error < 1e-6
    names = {i.name: i.expr for i in r.intermediates}
    assert set(names) == {"z", "yhat", "g"}
    # ∂L/∂X = g wᵀ, ∂L/∂w = Xᵀ g, ∂L/∂b = sum(g): each one operation on the named g
    gX, gw, gb = (r.gradient(x) for x in "Xwb")
    g = names["g"]
    assert gX.op == "matmul" and gX.children[0] is g
    assert gw.op == "matmul" and gw.children[1] is g
    assert gb.op == "sum" and gb.children[0] is g
    # and g is the gradient with respect to z, numerically
    rng = np.random.default_rng(0)
    vals = {"X": rng.standard_normal((5, 3)), "w": rng.standard_normal(3), "b": 0.3,
            "y": rng.standard_normal(5)}
    z = vals["X"] @ vals["w"] + 0.3
    want = 2 / 5 * (z > 0) * (np.maximum(z, 0) - vals["y"])
    assert np.allclose(mg.evaluate(g, vals), want)
