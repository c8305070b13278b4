"""Which values the simplifier knows to be symmetric, checked numerically: each claimed
symmetric value equals its transpose at random points, and each refused one does not."""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.numeric import evaluate_2d
from matgrad.simplify import is_symmetric
from matgrad.verify import sample

m, n = mg.dims("m n")
A = mg.matrix("A", m, n)     # rectangular
C = mg.matrix("C", n, n)     # square, not symmetric
S = mg.matrix("S", n, n, symmetric=True)
P = mg.matrix("P", n, n, structure="spd")
x = mg.vector("x", n)
a = mg.scalar("a")

SYMMETRIC = {
    "a symmetric variable": S,
    "an spd variable": P,
    "Aᵀ A": A.T @ A,
    "C Cᵀ": C @ C.T,
    "Cᵀ S C": C.T @ S @ C,
    "A Aᵀ grouped from the right": A @ (A.T @ A @ A.T),
    "C + Cᵀ": C + C.T,
    "Cᵀ − S + C": C.T - S + C,
    "exp(C Cᵀ)": mg.exp(C @ C.T),
    "(Aᵀ A)⁻¹": mg.inv(A.T @ A),
    "a · S ⊙ tanh(C Cᵀ)": a * S * mg.tanh(C @ C.T),
    "x xᵀ": x @ x.T,
    "diag(x)": mg.diag(x),
    "(C Cᵀ)ᵀ": (C @ C.T).T,
    "expm(S)": mg.expm(S),
    "logm(P)": mg.logm(P),
    "sqrtm(C Cᵀ + I)": mg.sqrtm(C @ C.T + mg.eye(n)),
    "logm_frechet(P, S)": mg.logm_frechet(P, S),
    "sqrtm_block(P, S, P, S, P)": mg.sqrtm_block(P, S, P, S, P),
    "expm_block(S, C, P, Cᵀ, S)": mg.expm_block(S, C, P, C.T, S),
    "S C P + P Cᵀ S (reversed products)": S @ C @ P + P @ C.T @ S,
    "matrix_power(S, 3)": mg.matrix_power(S, 3),
    "adj(P)": mg.adj(P),
}
NOT_SYMMETRIC = {
    "C": C,
    "C S": C @ S,
    "C − Cᵀ": C - C.T,
    "C Cᵀ + C": C @ C.T + C,
    "exp(C)": mg.exp(C),
    "Cᵀ C C": C.T @ C @ C,
    "expm(C)": mg.expm(C),
    "sqrtm_frechet(P, C)": mg.sqrtm_frechet(P, C),
    "expm_block(S, C, P, C, S)": mg.expm_block(S, C, P, C, S),
    "S C P + P C S": S @ C @ P + P @ C @ S,
}


def _asymmetry(e, rng) -> float:
    values, sizes = sample([e], rng)
    v = evaluate_2d(e, values, sizes)
    return float(np.max(np.abs(v - v.T)) / max(1.0, float(np.max(np.abs(v)))))


@pytest.mark.parametrize("name", sorted(SYMMETRIC))
def test_a_value_known_symmetric_is_symmetric(name):
    e = SYMMETRIC[name]
    assert is_symmetric(e), name
    rng = np.random.default_rng(1)
    assert max(_asymmetry(e, rng) for _ in range(3)) < 1e-10
    assert mg.simplify(e.T) is mg.simplify(e)


@pytest.mark.parametrize("name", sorted(NOT_SYMMETRIC))
def test_a_value_not_known_symmetric_is_not_claimed(name):
    e = NOT_SYMMETRIC[name]
    assert not is_symmetric(e), name
    assert _asymmetry(e, np.random.default_rng(2)) > 1e-6  # and indeed it is not


def test_rectangular_values_are_never_symmetric():
    assert not is_symmetric(A) and not is_symmetric(A @ A.T @ A)
