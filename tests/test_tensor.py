"""Index notation: term algebra, reading differentials, printing, einsum evaluation."""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.jacobian import forward_differential
from matgrad.ops import dim_value
from matgrad.tensor import (Delta, Factor, Tensor, Term, collect, einsum_form,
                            evaluate_tensor, fresh, index_text, indexed, linear_to_tensor)
from matgrad.tensor.from_matrix import axes

m, n = mg.dims("m n")
A = mg.matrix("A", m, n)
B = mg.matrix("B", n, n)
u, v = mg.vector("u", m), mg.vector("v", n)


@pytest.fixture
def values(rng):
    return {"A": rng.standard_normal((3, 4)), "B": rng.standard_normal((4, 4)),
            "u": rng.standard_normal(3), "v": rng.standard_normal(4)}


def test_delta_against_a_summed_index_is_contracted():
    i, k, a = fresh(m), fresh(n), fresh(n)
    t = collect((i, k), [Term(1, (Factor(A, i, a), Delta(a, k)))])
    (term,) = t.terms
    assert term.factors == (Factor(A, i, k),)


def test_delta_between_free_indices_stays():
    i, k = fresh(n), fresh(n)
    t = collect((i, k), [Term(3, (Delta(i, k),))])
    assert t.terms[0].factors == (Delta(i, k),)
    assert index_text(t) == "3 δᵢⱼ"


def test_trace_of_delta_is_the_dimension(values):
    a = fresh(n)
    t = collect((), [Term(1, (Delta(a, a),))])
    assert evaluate_tensor(t, values, context=[v]) == pytest.approx(4.0)


def test_equal_terms_up_to_renaming_are_merged():
    i, k, a, b = fresh(m), fresh(m), fresh(n), fresh(n)
    t = collect((i, k), [Term(1, (Factor(A, i, a), Factor(A, k, a))),
                         Term(2, (Factor(A, k, b), Factor(A, i, b)))])
    assert len(t.terms) == 1 and t.terms[0].coef == 3


def test_zero_terms_are_dropped():
    i = fresh(n)
    t = collect((i,), [Term(1, (Factor(mg.zeros(n, 1), i, None),)), Term(0, ())])
    assert t.is_zero() and index_text(t) == "0"


def test_repeated_index_of_a_matrix_is_its_diagonal(values):
    i = fresh(n)
    t = collect((i,), [Term(1, (Factor(B, i, i),))])
    assert np.allclose(evaluate_tensor(t, values), np.diag(values["B"]))


def test_einsum_form_and_evaluation(values):
    i, k, a = fresh(m), fresh(n), fresh(n)
    t = collect((i, k), [Term(2, (Factor(A, i, a), Factor(B, a, k), Factor(v, a, None)))])
    ((coef, spec, ops),) = einsum_form(t)
    assert spec == "ia,aj,a->ij"  # free indices i, j; the summed one a
    assert coef == 2 and [str(o) for o in ops] == ["A", "B", "v"]
    want = 2 * np.einsum("ia,ak,a->ik", values["A"], values["B"], values["v"])
    assert np.allclose(evaluate_tensor(t, values), want)


def test_summed_indices_are_printed_explicitly():
    i, k, a = fresh(m), fresh(n), fresh(n)
    t = collect((i, k), [Term(-1, (Factor(A, i, a), Factor(B, a, k)))])
    assert index_text(t) == "−Σₐ Aᵢₐ Bₐⱼ"
    assert index_text(t, unicode=False) == "-sum_a A_{ia} B_{aj}"
    assert r"\sum_{a}" in index_text(t, latex=True)


def test_a_free_index_missing_from_a_term_broadcasts(values):
    i, k = fresh(m), fresh(n)
    t = collect((i, k), [Term(1, (Factor(v, k, None),))])
    assert np.allclose(evaluate_tensor(t, values, context=[u]),
                       np.broadcast_to(values["v"], (3, 4)))


def test_indexed_reads_structure():
    r, c = fresh(n), fresh(n)
    (term,) = indexed(B.T, r, c)
    assert term.factors == (Factor(B, c, r),)
    terms = indexed(B + B.T, r, c)  # a small sum splits
    assert [t.factors for t in terms] == [(Factor(B, r, c),), (Factor(B, c, r),)]
    (term,) = indexed(mg.diag(v), r, c)
    assert set(term.factors) == {Delta(r, c), Factor(v, r, None)}
    assert indexed(mg.zeros(n, n), r, c) == []


@pytest.mark.parametrize("build, x", [
    (lambda: A @ B, B), (lambda: A.T @ u, A), (lambda: mg.trace(B @ B), B),
    (lambda: mg.sum(A, axis=0), A), (lambda: mg.sum(A, axis=1), A),
    (lambda: mg.diag(B), B), (lambda: mg.diag(v) @ B, v), (lambda: A * A, A),
    (lambda: A / (A * A + 1), A), (lambda: u + mg.sum(A, axis=1), u),
])
def test_differential_read_as_tensor_matches_finite_differences(build, x, values):
    F = build()
    D, dx = forward_differential(F, x)
    out, inp = axes(F.shape), axes(x.shape)
    t = collect(tuple(i for i in out + inp if i is not None),
                linear_to_tensor(D, out, {dx: inp}))
    got = evaluate_tensor(t, values, context=[F, x])

    def f(vals):  # F's value with its axes of size 1 dropped, as in the tensor
        a = np.asarray(mg.evaluate(F, vals))
        return a.reshape([s for s in a.shape if s != 1])

    name, h = x.name, 1e-6
    x0 = np.asarray(values[name], float)
    want = np.zeros(f(values).shape + x0.shape)
    for idx in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[idx] = h
        up, dn = dict(values, **{name: x0 + e}), dict(values, **{name: x0 - e})
        want[(...,) + idx] = (f(up) - f(dn)) / (2 * h)
    assert got.shape == want.shape
    assert np.allclose(got, want, atol=1e-6)


def test_renaming_and_fresh_dummies():
    i, k, a = fresh(m), fresh(n), fresh(n)
    t = Tensor((i, k), (Term(1, (Factor(A, i, a), Factor(B, a, k))),))
    f = t.fresh_dummies()
    assert f.free == t.free and f.terms[0].indices()[1] != a
    j = fresh(m)
    assert t.renamed({i: j}).free == (j, k)


# ---- a summed index that no factor mentions: Σ_a c = size(a) · c ---------------------


def _raw_and_collected(free, terms, values, context):
    """The value of the terms as written (einsum sums every index) and after `collect`."""
    raw = evaluate_tensor(Tensor(free, tuple(terms)), values, context=context)
    done = evaluate_tensor(collect(free, terms), values, context=context)
    return raw, done


def _summed_away_cases():
    i, k, a, b = fresh(m), fresh(m), fresh(n), fresh(n)
    return {
        "delta between two summed indices": ((), [Term(1, (Delta(a, b),))], 4.0),
        "delta between summed indices, beside a free one":
            ((i,), [Term(2, (Delta(a, b), Factor(u, i, None)))], None),
        "ones at a summed index": ((i,), [Term(1, (Factor(mg.ones(m, n), i, a),))], None),
        "constant at summed indices": ((), [Term(1, (Factor(mg.ones(n, n), a, b),
                                                     Factor(mg.const(3), None, None)))], 48.0),
        "trace of a delta beside a factor":
            ((i, k), [Term(1, (Delta(a, a), Delta(i, k), Factor(u, i, None)))], None),
        "delta chain ending in a summed index":
            ((i,), [Term(1, (Delta(a, b), Factor(A, i, b), Delta(b, a)))], None),
    }


@pytest.mark.parametrize("name", list(_summed_away_cases()))
def test_collect_keeps_the_size_of_an_index_summed_away(name, values):
    free, terms, want = _summed_away_cases()[name]
    raw, done = _raw_and_collected(free, terms, values, context=[A])
    assert np.allclose(done, raw), (name, done, raw)
    if want is not None:
        assert np.allclose(done, want)


def test_the_size_of_a_named_dimension_stays_a_dimension():
    a, b = fresh(n), fresh(n)
    (term,) = collect((), [Term(1, (Delta(a, b),))]).terms
    assert [f.expr for f in term.factors] == [dim_value(n)]
    assert index_text(collect((), [Term(1, (Delta(a, b),))])) == "n"
    c, d = fresh(3), fresh(3)  # a numeric size goes into the coefficient
    (term,) = collect((), [Term(2, (Delta(c, d),))]).terms
    assert term.coef == 6 and term.factors == ()


def test_sum_over_multiplies_by_the_sizes_of_missing_indices():
    from matgrad.tensor.terms import sum_over
    i, a, c = fresh(m), fresh(n), fresh(5)
    (kept,) = sum_over([Term(1, (Factor(A, i, a),))], [a])
    assert kept == Term(1, (Factor(A, i, a),))  # a is there: the sum is the einsum's
    (t,) = sum_over([Term(-1, (Factor(u, i, None),))], [a, c, None])
    assert t.coef == -5 and t.factors == (Factor(u, i, None), Factor(dim_value(n), None,
                                                                        None))


@pytest.mark.parametrize("build, x", [
    (lambda: mg.sum(A - u, axis=1), u), (lambda: mg.sum(A - v.T, axis=0), v),
    (lambda: mg.sum(A - u), u), (lambda: mg.trace(B + mg.sum(u)), u),
    (lambda: mg.sum(A * mg.sum(u)), u),
    (lambda: mg.ones(m, n) @ (mg.ones(n) * mg.sum(u)) + A @ v, u),  # A binds n
    (lambda: mg.sum(mg.eye(n) * mg.sum(v), axis=0), v),
    (lambda: (A - u) @ mg.ones(n, n), u),
])
def test_differential_over_a_broadcast_matches_finite_differences(build, x, values):
    test_differential_read_as_tensor_matches_finite_differences(build, x, values)


def test_differentiating_a_factor_constant_along_a_summed_index(values):
    """t_i = Σ_a (A − u 1ᵀ)_ia, with the factor kept whole: ∂t_i/∂u_k = −n δ_ik."""
    from matgrad.jacobian import differentiate_tensor
    i, a = fresh(m), fresh(n)
    t = collect((i,), [Term(1, (Factor(A - u, i, a),))])
    dt, _ = differentiate_tensor(t, u)
    got = evaluate_tensor(dt, values, context=[A, u])
    assert np.allclose(got, -4 * np.eye(3))
