"""Hessians and higher derivatives: each against central finite differences of the
next-lower derivative, symmetric, equal to the textbook forms, and defined for every
expression the rule specs differentiate."""
from __future__ import annotations

import itertools
import warnings

import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad.example import program
from matgrad.expr import walk
from matgrad.simplify import SimplifyBudgetWarning

from .conftest import hessian_check
from .test_jacobian import SIZES, assert_matches_lower, point, squeeze
from .test_rules import SPECS, weigh

m, n = mg.dims("m n")
A, X, C = mg.matrix("A", m, n), mg.matrix("X", m, n), mg.matrix("C", m, m)
S = mg.matrix("S", n, n)
x, a, v = mg.vector("x", n), mg.vector("a", n), mg.vector("v", n)
y, w = mg.vector("y", m), mg.vector("w", n)


def check_hessian(L, wrt, values, tol=1e-5, sizes=None):
    H = mg.hessian(L, wrt)
    got = assert_matches_lower(H, mg.grad(L, wrt), values, tol, sizes=sizes)
    k = got.ndim // 2
    perm = tuple(range(k, 2 * k)) + tuple(range(k))
    assert np.allclose(got, got.transpose(perm), atol=1e-8), "the Hessian is not symmetric"
    return H, got


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# (name, L, x, the closed form, an expression): Matrix Cookbook and textbook Hessians.
IDENTITIES = [
    ("xᵀSx: S + Sᵀ", lambda: x.T @ S @ x, x, lambda: S + S.T),
    ("‖Ax − y‖²: 2AᵀA", lambda: mg.norm(A @ x - y) ** 2, x, lambda: 2 * A.T @ A),
    ("aᵀx: 0", lambda: a.T @ x, x, lambda: mg.zeros(n, n)),
    ("logsumexp: diag(p) − p pᵀ", lambda: mg.logsumexp(v), v,
     lambda: mg.diag(mg.softmax(v)) - mg.softmax(v) @ mg.softmax(v).T),
    ("(xᵀx)²: 4‖x‖² I + 8 x xᵀ", lambda: (x.T @ x) ** 2, x,
     lambda: 4 * (x.T @ x) * mg.eye(n) + 8 * x @ x.T),
    ("‖x‖: (I − x xᵀ/‖x‖²)/‖x‖", lambda: mg.norm(x), x,
     lambda: (mg.eye(n) - x @ x.T / mg.norm(x) ** 2) / mg.norm(x)),
    ("(aᵀx)(vᵀx): a vᵀ + v aᵀ", lambda: (a.T @ x) * (v.T @ x), x,
     lambda: a @ v.T + v @ a.T),
    ("log(aᵀx): −a aᵀ/(aᵀx)²", lambda: mg.log(a.T @ x), x,
     lambda: -(a @ a.T) / (a.T @ x) ** 2),
    ("logistic loss: Aᵀ diag(σ(1−σ)) A",
     lambda: mg.sum(mg.softplus(A @ x)) - y.T @ (A @ x), x,
     lambda: A.T @ mg.diag(mg.sigmoid(A @ x) * (1 - mg.sigmoid(A @ x))) @ A),
    ("Σ exp(x): diag(exp x)", lambda: mg.sum(mg.exp(x)), x, lambda: mg.diag(mg.exp(x))),
    ("½ xᵀ(S + Sᵀ)x − aᵀx: S + Sᵀ", lambda: (x.T @ (S + S.T) @ x) / 2 - a.T @ x, x,
     lambda: S + S.T),
]


def positive_point(rng):
    values = point(rng)
    values["a"] = np.abs(values["a"]) + 0.5
    values["x"] = np.abs(values["x"]) + 0.5
    return values


@pytest.mark.parametrize("name", [i[0] for i in IDENTITIES])
def test_hessian_identity(name, rng):
    _, L, wrt, closed = next(i for i in IDENTITIES if i[0] == name)
    values = positive_point(rng)
    H, got = check_hessian(L(), wrt, values)
    assert H.expr is not None and H.shape == (n, n)
    want = np.asarray(mg.evaluate(closed(), values, sizes=SIZES))
    assert np.allclose(got, want)


def test_the_named_hessians_print_in_matrix_notation():
    assert str(mg.hessian(x.T @ S @ x, x)) == "S + Sᵀ"
    assert str(mg.hessian(mg.norm(A @ x - y) ** 2, x)) == "2 · Aᵀ A"
    assert str(mg.hessian(mg.sum((A @ x - y) ** 2), x)) == "2 · Aᵀ A"
    assert str(mg.hessian(mg.logsumexp(v), v)) == \
        "diag(softmax(v)) − softmax(v) softmax(v)ᵀ"
    L = program().result
    H = mg.hessian(L, "w")
    assert str(H) == "2/m · Xᵀ diag(H(X w + b)) X"
    assert "symmetric" in H.describe()


def test_a_hessian_s_diagonal_terms_are_one_diag(rng):
    """The terms of a Hessian are simplified as one sum: Aᵀ diag(u) A − Aᵀ diag(v) A is
    Aᵀ diag(u − v) A, and diag(a ⊙ b) + diag(a ⊙ c) is diag(a ⊙ (b + c)); both checked
    against finite differences of the gradient where m and n differ."""
    H, _ = check_hessian(mg.sum(mg.log(1 + mg.exp(A @ x))), x, point(rng))
    assert str(H) == "Aᵀ diag(σ(A x) ⊙ (1 − σ(A x))) A"
    H, _ = check_hessian(mg.sum(mg.exp(mg.tanh(x))), x, point(rng))
    assert str(H) == "diag(exp(tanh(x)) ⊙ (1 − tanh(x)²) ⊙ (1 − tanh(x)² − 2 · tanh(x)))"
    # products are not distributed where the sum would read longer
    H, _ = check_hessian(mg.sum(mg.tanh(mg.tanh(x))), x, point(rng))
    assert str(H) == ("−2 · diag((1 − tanh(tanh(x))²) ⊙ (tanh(tanh(x)) ⊙ (1 − tanh(x)²) "
                      "+ tanh(x)) ⊙ (1 − tanh(x)²))")


def test_example_loss_hessian_matches(rng):
    L = program().result
    values = {"X": rng.standard_normal((5, 3)), "w": rng.standard_normal(3),
              "b": 0.1, "y": rng.standard_normal(5)}
    H, got = check_hessian(L, "w", values)
    z = values["X"] @ values["w"] + 0.1
    want = 2 / 5 * values["X"].T @ np.diag((z > 0).astype(float)) @ values["X"]
    assert np.allclose(got, want)


# ---- with respect to a matrix: a fourth-order tensor, and its vec form ----------------


MATRIX_HESSIANS = [  # (name, L, X, the Hessian of vec(X) from the values, or None)
    ("tr(XᵀCX): I ⊗ (C + Cᵀ)", lambda: mg.trace(X.T @ C @ X), X,
     lambda V: np.kron(np.eye(4), V["C"] + V["C"].T)),
    ("log det S: −(S⁻¹ ⊗ S⁻ᵀ) K", lambda: mg.logdet(S), S, None),
    ("‖XS − A‖²_F: 2 (S Sᵀ ⊗ I)", lambda: mg.norm(X @ S - A) ** 2, X,
     lambda V: 2 * np.kron(V["S"] @ V["S"].T, np.eye(3))),
    ("Σ log σ(X)", lambda: mg.sum(mg.log(mg.sigmoid(X))), X, None),
    ("tr(S⁻¹)", lambda: mg.trace(mg.inv(S)), S, None),
]


@pytest.mark.parametrize("name", [h[0] for h in MATRIX_HESSIANS])
def test_hessian_with_respect_to_a_matrix(name, rng):
    _, L, wrt, K = next(h for h in MATRIX_HESSIANS if h[0] == name)
    values = point(rng)
    H, got = check_hessian(L(), wrt, values)
    assert H.expr is None and len(H.axes) == 4
    assert "∂²" in H.index_notation()
    r, s = got.shape[:2]
    vecH = got.reshape(r * s, r * s, order="F")
    if H.vec is not None:
        from matgrad.numeric import bind
        arrays, bound = bind([H.of, wrt], values)
        assert np.allclose(H.vec.value(arrays, bound), vecH)
    if K is not None:
        assert np.allclose(vecH, K(values))


def test_logdet_hessian_vec_form(rng):
    H = mg.hessian(mg.logdet(S), S)
    assert H.vec is not None and "K(n,n)" in H.vec.to_text()
    values = point(rng)
    Si = np.linalg.inv(values["S"])
    from matgrad.tensor.vec import commutation
    vecH = squeeze(mg.evaluate(H, values)).reshape(16, 16, order="F")
    assert np.allclose(vecH, -np.kron(Si, Si.T) @ commutation(4, 4))


# ---- every expression of the rule specs ---------------------------------------------


SPEC_CASES = [(op, i) for op in sorted(SPECS) for i in range(len(SPECS[op][1]))]


@pytest.mark.parametrize("op, which", SPEC_CASES)
def test_every_spec_has_a_hessian_matching_finite_differences(op, which, rng):
    build, wrt = SPECS[op]
    L = weigh(build())
    x_ = wrt[which]
    from matgrad.verify import sample
    values, _ = sample([L, mg.grad(L, x_)], rng, {mg.Dim("m"): 3, mg.Dim("n"): 4,
                                                   mg.Dim("k"): 5})
    vals = {name: (val[:, 0] if val.shape[1] == 1 and val.shape[0] > 1 else
                   float(val[0, 0]) if val.shape == (1, 1) else val)
            for name, val in values.items()}
    check_hessian(L, x_, vals, tol=2e-5)


# ---- third and higher derivatives -------------------------------------------------


THIRD = [
    ("Σ x³: 6 δᵢⱼ δᵢₖ", lambda: mg.sum(x ** 3), lambda V: 6 * np.einsum(
        "ij,ik,i->ijk", np.eye(4), np.eye(4), np.ones(4))),
    ("(xᵀx)²", lambda: (x.T @ x) ** 2, lambda V: 8 * (
        np.einsum("j,ik->ijk", V["x"], np.eye(4)) + np.einsum("i,jk->ijk", V["x"], np.eye(4))
        + np.einsum("k,ij->ijk", V["x"], np.eye(4)))),
    ("xᵀSx (aᵀx)", lambda: (x.T @ S @ x) * (a.T @ x), None),
    ("logsumexp", lambda: mg.logsumexp(v), None),
    ("Σ tanh(Ax)", lambda: mg.sum(mg.tanh(A @ x)), None),
]


@pytest.mark.parametrize("name", [t[0] for t in THIRD])
def test_third_derivative(name, rng):
    _, L, T = next(t for t in THIRD if t[0] == name)
    L = L()
    wrt = v if v in mg.expr.variables(L) else x
    values = point(rng)
    D3 = mg.derivative(L, wrt, 3)
    D2 = mg.derivative(L, wrt, 2)
    got = assert_matches_lower(D3, D2, values, tol=1e-4)
    assert got.shape == (4, 4, 4)
    for perm in itertools.permutations(range(3)):
        assert np.allclose(got, got.transpose(perm), atol=1e-8)
    if T is not None:
        assert np.allclose(got, T(values))


def test_third_derivative_index_notation():
    text = mg.derivative(mg.sum(x ** 3), x, 3).index_notation()
    assert text.endswith("= 6 δᵢⱼ δᵢₖ")


def test_fourth_derivative(rng):
    L = mg.sum(mg.exp(A @ x))
    D4 = mg.derivative(L, x, 4)
    D3 = mg.derivative(L, x, 3)
    values = point(rng)
    got = assert_matches_lower(D4, D3, values, tol=1e-4)
    want = np.einsum("ai,aj,ak,al,a->ijkl", *[values["A"]] * 4,
                     np.exp(values["A"] @ values["x"]))
    assert np.allclose(got, want)


def test_hessian_needs_a_scalar():
    with pytest.raises(mg.DomainError, match="scalar"):
        mg.hessian(A @ x, x)


# ---- sums over broadcast axes: each summed copy counts -------------------------------
# Σ_ia (X − y 1ᵀ)²_ia has ∂²/∂y_i∂y_k = 2n δ_ik: y is repeated along the n columns.

r = mg.matrix("r", 1, n)  # a row variable
s = mg.scalar("s")


def _broadcast_point(rng):
    return dict(positive_point(rng), r=rng.standard_normal((1, 4)),
                s=float(rng.standard_normal()))


BROADCAST_HESSIANS = [  # (name, L, x, the value as an array); m = 3, n = 4
    ("column: Σ (X − y 1ᵀ)² by y = 2n I", lambda: mg.sum((X - y) ** 2), y,
     lambda V: 8 * np.eye(3)),
    ("row: Σ (X − 1 r)² by r = 2m I", lambda: mg.sum((X - r) ** 2), r,
     lambda V: 6 * np.eye(4)),
    ("scalar: Σ (X − s)² by s = 2mn", lambda: mg.sum((X - s) ** 2), s, lambda V: 24.0),
    ("column, mean: mean (X − y 1ᵀ)² by y = 2/m I", lambda: mg.mean((X - y) ** 2), y,
     lambda V: 2 / 3 * np.eye(3)),
    ("row, norm: ‖X − 1 r‖² by r = 2m I", lambda: mg.norm(X - r) ** 2, r,
     lambda V: 6 * np.eye(4)),
    ("column, weighted: Σ A ⊙ (X − y 1ᵀ)² by y = 2 diag(A 1)", lambda: mg.sum(A * (X - y) ** 2),
     y, lambda V: 2 * np.diag(V["A"].sum(axis=1))),
    ("column, nonlinear: Σ tanh(X − y 1ᵀ) by y",
     lambda: mg.sum(mg.tanh(X - y)), y,
     lambda V: np.diag((-2 * np.tanh(V["X"] - V["y"][:, None])
                        * (1 - np.tanh(V["X"] - V["y"][:, None]) ** 2)).sum(axis=1))),
    ("scalar, squared sum of ones: (Σ s 1 1ᵀ)² by s = 2m²n²",
     lambda: mg.sum(s * mg.ones(m, n)) ** 2, s, lambda V: 288.0),
    ("scalar, squared trace of an identity: tr(s I)² by s = 2n²",
     lambda: mg.trace(s * mg.eye(n)) ** 2, s, lambda V: 32.0),
    ("scalar and column: Σ (X − y 1ᵀ − s)² by s = 2mn", lambda: mg.sum((X - y - s) ** 2), s,
     lambda V: 24.0),
]


@pytest.mark.parametrize("name", [c[0] for c in BROADCAST_HESSIANS])
def test_hessian_of_a_sum_over_a_broadcast_axis(name, rng):
    _, L, wrt, want = next(c for c in BROADCAST_HESSIANS if c[0] == name)
    values = _broadcast_point(rng)
    H = mg.hessian(L(), wrt)
    assert H.expr is not None
    got = assert_matches_lower(H, mg.grad(L(), wrt), values, sizes=SIZES)
    assert np.allclose(got, np.asarray(want(values)).reshape(got.shape))
    assert np.allclose(got, got.T)
    assert H.verify() < 1e-6


def test_the_hessian_keeps_the_size_as_a_dimension():
    assert str(mg.hessian(mg.sum((X - y) ** 2), y)) == "2 · n · I"
    assert str(mg.hessian(mg.sum((X - r) ** 2), r)) == "2 · m · I"


def test_third_derivative_over_a_broadcast_axis(rng):
    L = mg.sum((X - y) ** 3)  # ∂³/∂y_i∂y_j∂y_k = −6n δ_ij δ_ik
    D3 = mg.derivative(L, y, 3)
    got = assert_matches_lower(D3, mg.derivative(L, y, 2), _broadcast_point(rng), tol=1e-4)
    assert np.allclose(got, -24 * np.einsum("ij,ik->ijk", np.eye(3), np.eye(3)))


# ---- every gradient identity of the core tests ---------------------------------------


def _identity_rows():
    """The rows of the gradient-identity table whose variable is not declared symmetric
    (symmetric variables are differentiated as having independent entries; see the docs)."""
    from .test_identities import IDENTITIES as GRADIENT_IDENTITIES
    rows = []
    for row in GRADIENT_IDENTITIES:
        program = mg.parse_program(row.expr, row.shapes)
        if not program.variables[row.wrt].params[1]:
            rows.append(row)
    return rows


IDENTITY_ROWS = _identity_rows()


def test_most_gradient_identities_get_a_hessian_check():
    from .test_identities import IDENTITIES as GRADIENT_IDENTITIES
    assert len(IDENTITY_ROWS) >= len(GRADIENT_IDENTITIES) - 10


@pytest.mark.parametrize("row", IDENTITY_ROWS, ids=[f"{r.source} [{r.wrt}]" for r in IDENTITY_ROWS])
def test_every_gradient_identity_has_a_hessian_matching_finite_differences(row):
    from .test_identities import SIZE_SETS, sample
    program = mg.parse_program(row.expr, row.shapes)
    L, x_ = program.result, program.variables[row.wrt]
    values = sample(program, SIZE_SETS[0], np.random.default_rng(zlib.crc32(row.expr.encode())))
    vals = {name: (val[:, 0] if val.shape[1] == 1 and val.shape[0] > 1 else
                   float(val[0, 0]) if val.shape == (1, 1) else val)
            for name, val in values.items()}
    sizes = {mg.Dim(k): v for k, v in SIZE_SETS[0].items()}
    check_hessian(L, x_, vals, tol=2e-5, sizes=sizes)


# ---- elementwise functions of a vector: the Hessian is diag(v) -------------------------

_UNARY = (mg.tanh, mg.sigmoid, mg.sin, lambda e: mg.exp(mg.tanh(e)), lambda e: e ** 2)
_BINARY = (lambda p, q: p + q, lambda p, q: p - q, lambda p, q: p * q,
           lambda p, q: p / (1 + q ** 2))


def _elementwise(draw, depth):
    """An elementwise function of x (and of a, held fixed), `depth` operations deep."""
    if depth == 0:
        return draw(st.sampled_from((x, x, a, 2 * x)))
    if draw(st.booleans()):
        return draw(st.sampled_from(_UNARY))(_elementwise(draw, depth - 1))
    f = draw(st.sampled_from(_BINARY))
    return f(_elementwise(draw, depth - 1), _elementwise(draw, draw(st.integers(0, depth - 1))))


@st.composite
def _elementwise_losses(draw):
    e = _elementwise(draw, draw(st.integers(1, 4)))
    return mg.sum(e) if x in walk(e) else mg.sum(e * x)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_elementwise_losses(), st.integers(0, 2 ** 16))
def test_an_elementwise_hessian_is_one_diagonal_term(L, seed):
    """For L = sum(f(x)) with f elementwise (a held fixed), ∂²L/∂x² is one term
    v_i δ_ij, agrees with finite differences of the gradient and is symmetric; its
    simplification reaches a fixed point within the pass budget (no rewrites undoing
    each other)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SimplifyBudgetWarning)
        H = mg.hessian(L, x)
    assert len(H.tensor.terms) <= 1, H.index_notation()
    r = np.random.default_rng(seed)
    hessian_check(L, x, {"x": r.standard_normal(4), "a": r.standard_normal(4)}, SIZES, r)


def test_the_hessian_of_a_deep_elementwise_chain_stays_linear_in_size():
    """The Hessian of sum(tanh(… tanh(x))) keeps its shared products whole: its size
    grows with the depth, not its square; checked against finite differences at depth 6."""
    def chain(d):
        e = x
        for _ in range(d):
            e = mg.tanh(e)
        return mg.sum(e)
    r = np.random.default_rng(3)
    hessian_check(chain(6), x, {"x": r.standard_normal(4)}, SIZES, r)
    sizes = {d: len(walk(mg.hessian(chain(d), x).expr)) for d in (50, 100)}
    assert sizes[100] <= 2 * sizes[50] + 20, sizes
