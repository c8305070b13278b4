"""The translation pass from index notation back to matrix notation: each pattern is
recognised, the translation has the same value as the index form, and a genuine tensor
contraction is left in index notation."""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.simplify import Simplifier
from matgrad.tensor import Delta, Factor, Term, collect, evaluate_tensor, fresh, to_matrix

m, n, k = mg.dims("m n k")
A, B = mg.matrix("A", m, n), mg.matrix("B", n, k)
C, D = mg.matrix("C", m, n), mg.matrix("D", n, n)
u, v, w = mg.vector("u", m), mg.vector("v", n), mg.vector("w", n)


@pytest.fixture
def values(rng):
    return {"A": rng.standard_normal((3, 4)), "B": rng.standard_normal((4, 5)),
            "C": rng.standard_normal((3, 4)), "D": rng.standard_normal((4, 4)),
            "u": rng.standard_normal(3), "v": rng.standard_normal(4),
            "w": rng.standard_normal(4)}


def I(size):  # noqa: E743 - fresh index helper
    return fresh(size)


def _case(name):
    i, j, a, b = I(m), I(k), I(n), I(m)
    ii, kk = I(n), I(n)
    cases = {
        "product": ((i, j), [Term(1, (Factor(A, i, a), Factor(B, a, j)))], "A B"),
        "transpose": ((a, i), [Term(1, (Factor(A, i, a),))], "Aᵀ"),
        "transposed product": ((j, i), [Term(1, (Factor(A, i, a), Factor(B, a, j)))],
                               "Bᵀ Aᵀ"),
        "trace": ((), [Term(1, (Factor(D, a, a),))], "tr(D)"),
        "diagonal": ((ii,), [Term(1, (Factor(D, ii, ii),))], "diag(D)"),
        "outer": ((i, ii), [Term(1, (Factor(u, i, None), Factor(v, ii, None)))], "u vᵀ"),
        "hadamard": ((i, ii), [Term(1, (Factor(A, i, ii), Factor(C, i, ii)))], "A ⊙ C"),
        "diag matrix": ((ii, kk), [Term(1, (Delta(ii, kk), Factor(v, ii, None)))],
                        "diag(v)"),
        "dot": ((), [Term(1, (Factor(v, a, None), Factor(w, a, None)))], "vᵀ w"),
        "matrix-vector": ((i,), [Term(1, (Factor(A, i, a), Factor(v, a, None)))], "A v"),
        "sandwich": ((ii, kk), [Term(2, (Factor(A, b, ii), Factor(u, b, None),
                                         Factor(A, b, kk)))], "2 · Aᵀ diag(u) A"),
        "row sums": ((i,), [Term(1, (Factor(A, i, a),))], "sum(A, axis=1)"),
        "identity": ((ii, kk), [Term(1, (Delta(ii, kk),))], "I"),
        "sum of terms": ((ii, kk), [Term(1, (Factor(D, ii, kk),)),
                                    Term(1, (Factor(D, kk, ii),))], "D + Dᵀ"),
        "difference": ((ii, kk), [Term(1, (Delta(ii, kk), Factor(v, ii, None))),
                                  Term(-1, (Factor(v, ii, None), Factor(v, kk, None)))],
                       "diag(v) − v vᵀ"),
        "scalar factor": ((ii,), [Term(3, (Factor(mg.trace(D), None, None),
                                           Factor(v, ii, None)))], "3 · tr(D) · v"),
    }
    free, terms, text = cases[name]
    rows = free[0] if free else None
    cols = free[1] if len(free) > 1 else None
    return collect(free, terms), rows, cols, text


NAMES = ["product", "transpose", "transposed product", "trace", "diagonal", "outer",
         "hadamard", "diag matrix", "dot", "matrix-vector", "sandwich", "row sums",
         "identity", "sum of terms", "difference", "scalar factor"]


@pytest.mark.parametrize("name", NAMES)
def test_pattern_is_recognised_with_the_same_value(name, values):
    t, rows, cols, text = _case(name)
    M = to_matrix(t, rows, cols, Simplifier())
    assert M is not None
    assert str(M) == text
    want = evaluate_tensor(t, values, context=[A, B, D], sizes={"m": 3, "n": 4, "k": 5})
    got = np.asarray(mg.evaluate(M, values, sizes={"m": 3, "n": 4, "k": 5}))
    if got.ndim == 2 and want.ndim == 1:
        got = got.reshape(-1)
    assert np.allclose(got, want)


def test_genuine_contraction_has_no_matrix_form(values):
    i, j, a, b = I(n), I(n), I(n), I(n)
    E = mg.matrix("D", n, n)
    t = collect((i, j), [Term(1, (Factor(E, i, a), Factor(E, i, b), Factor(E, j, a),
                                  Factor(E, j, b), Factor(E, a, b)))])
    assert to_matrix(t, i, j) is None
    want = np.einsum("ia,ib,ja,jb,ab->ij", *[values["D"]] * 5)
    assert np.allclose(evaluate_tensor(t, values), want)


def test_zero_tensor_is_a_zero_matrix():
    i, j = I(m), I(n)
    assert str(to_matrix(collect((i, j), []), i, j)) == "0ₘₓₙ"


def test_free_indices_must_be_rows_or_cols():
    i, j = I(m), I(n)
    with pytest.raises(ValueError):
        to_matrix(collect((i, j), [Term(1, (Factor(A, i, j),))]), i, None)


# ---- the size of an index summed away is kept, as the dimension ---------------------


def _size_cases():
    from matgrad.ops import dim_value
    ii, kk, a, b, i = I(n), I(n), I(m), I(m), I(m)
    return {  # (free, raw terms, the matrix form)
        "dimension scalar": ((ii, kk), [Term(-1, (Delta(ii, kk),
                                                  Factor(dim_value(m), None, None)))],
                             "−m · I"),
        "delta between summed indices": ((ii, kk), [Term(-1, (Delta(ii, kk), Delta(a, b)))],
                                         "−m · I"),
        "ones at summed indices": ((ii,), [Term(2, (Factor(v, ii, None),
                                                    Factor(mg.ones(m, m), a, b)))],
                                   "2 · m² · v"),
        "trace of a delta": ((), [Term(1, (Delta(a, a),))], "m"),
        "ones beside a matrix": ((i, ii), [Term(1, (Factor(A, i, ii),)),
                                           Term(1, (Factor(u, i, None),
                                                    Factor(mg.ones(n, n), ii, kk)))],
                                 "A + n · u 1ₙᵀ"),
    }


@pytest.mark.parametrize("name", list(_size_cases()))
def test_a_summed_away_index_becomes_its_dimension(name, values):
    from matgrad.tensor import Tensor
    free, terms, text = _size_cases()[name]
    rows = free[0] if free else None
    cols = free[1] if len(free) > 1 else None
    M = to_matrix(collect(free, terms), rows, cols, Simplifier())
    assert M is not None and str(M) == text
    sizes = {"m": 3, "n": 4, "k": 5}
    want = evaluate_tensor(Tensor(free, tuple(terms)), values, context=[A], sizes=sizes)
    got = np.asarray(mg.evaluate(M, values, sizes=sizes), dtype=float)
    assert np.allclose(got.reshape(np.shape(want)), want)
