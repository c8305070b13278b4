"""The simplifier's catalogue: each named rewrite fires on an example, and both sides
of its identity have the same value at random points (distinct dimension sizes); the
table lists every rewrite; rewrites switch off by name; the pass budget is reported."""
from __future__ import annotations

import warnings
from fractions import Fraction as F

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad import ops
from matgrad.differentiate import raw_gradients
from matgrad.expr import make, walk
from matgrad.simplify import CATALOGUE, RULES, Simplifier, SimplifyBudgetWarning, simplify

from .strategies import M, N, expressions, same_value

A = mg.matrix("A", M, N)       # m×n
B = mg.matrix("B", N, M)       # n×m
C = mg.matrix("C", N, N)       # square, sampled near 2I: invertible
S = mg.matrix("S", N, N, symmetric=True)
x = mg.vector("x", N)
y = mg.vector("y", N)
u = mg.vector("u", M)
a = mg.scalar("a")
c = mg.scalar("c")
Pos = mg.exp(x)                # positive entries, for quotients


def T(e):
    """A transpose node, built as it is (the constructors may already normalise)."""
    return make("transpose", (e,), (), (e.shape[1], e.shape[0]))


def node(op, *children, params=(), shape=None):
    return make(op, children, params, shape or children[0].shape)


def bc(e, shape):
    return make("broadcast", (e,), (), shape)


# rewrite name -> an expression its identity applies to (the left side)
EXAMPLES = {
    "factor_common": C.T @ x + C @ x,
    "collect_terms": x + 2 * x - 3 * mg.tanh(x) + mg.tanh(x),
    # a² ⊙ b and a ⊙ c (a = tanh(x), c of another shape broadcast) share a
    "factor_hadamard": mg.tanh(x) ** 2 * y - 3 * mg.tanh(x) * mg.exp(x) * a,
    "diagmat_numeric_factor": node("diagmat", -3 * mg.tanh(x), shape=(N, N)),
    # exp(x)² / (1 + exp(x))³ ⊙ y: σ(x)² ⊙ σ(−x) ⊙ y
    "sigmoid_of_exponentials": mg.exp(x) ** 2 / (1 + mg.exp(x)) ** 3 * y,
    "sum_of_diagonals": node("diagmat", x, shape=(N, N)) - a * node("diagmat", y, shape=(N, N))
    + C,
    "expand_if_shorter": mg.sigmoid(x) * (1 - y) - (1 - mg.sigmoid(x)) * y,
    "neg_of_neg": node("neg", node("neg", x)),
    "neg_constant": node("neg", ops.const(3)),
    "neg_zero": node("neg", ops.zeros(N, 1)),
    "linear_of_zero": mg.vec(ops.zeros(M, N)),
    "softmax_of_ratio": mg.exp(A) / mg.sum(mg.exp(A), axis=1),
    "distribute_cancelling": Pos * (y / Pos - 1),
    "product_normal_form": node("mul", node("mul", bc(ops.const(2), (N, 1)), x),
                                node("div", x, bc(ops.dim_value(M), (N, 1)))),
    "pow_one": node("pow", x, params=(F(1),)),
    "pow_zero": node("pow", x, params=(F(0),)),
    "pow_of_pow": node("pow", node("pow", x, params=(F(1, 2),)), params=(F(4),)),
    "transpose_scalar": T(a),
    "double_transpose": T(T(A)),
    "transpose_symmetric": T(S),
    "transpose_constant": T(ops.ones(M, N)),
    "transpose_product": T(A @ C),
    "transpose_scaled": T(node("mul", bc(a, (M, N)), A)),
    "transpose_neg": T(node("neg", A)),
    "transpose_inverse": T(node("inv", C)),
    "transpose_sum": T(A @ C + A),
    "transpose_broadcast": T(bc(u, (M, N))),
    "matmul_zero": node("matmul", ops.zeros(M, N), x, shape=(M, 1)),
    "matmul_inverse": node("matmul", node("inv", C), C),
    # A C (C² x): the joint of two chains
    "matmul_power": node("matmul", node("matmul", A, C, shape=(M, N)),
                         node("matmul", node("matrix_power", C, params=(2,)), x),
                         shape=(M, 1)),
    "power_of_transpose": node("matrix_power", T(C), params=(3,)),
    "matmul_scalar_out": node("matmul", node("mul", bc(a, (M, N)), A), x, shape=(M, 1)),
    "matmul_quotient_sum": node("matmul", T(Pos), node("div", y, Pos), shape=(1, 1)),
    "matmul_identity": node("matmul", ops.eye(N), x, shape=(N, 1)),
    "matmul_neg": node("matmul", node("neg", A), x, shape=(M, 1)),
    "matmul_scalar": node("matmul", a, T(x), shape=(1, N)),
    "matmul_ones": node("matmul", ops.ones(1, M), A, shape=(1, N)),
    "matmul_diag": node("matmul", node("diagmat", y, shape=(N, N)), C),
    "sum_zero": node("sum", ops.zeros(M, N), params=(None,), shape=(1, 1)),
    "sum_unchanged": node("sum", a, params=(None,)),
    "sum_numeric_factor": node("sum", 3 * A, params=(None,), shape=(1, 1)),
    "sum_whole": node("sum", x, params=(0,), shape=(1, 1)),
    "sum_neg": node("sum", node("neg", A), params=(0,), shape=(1, N)),
    "sum_transpose": node("sum", T(A), params=(None,), shape=(1, 1)),
    "sum_ones": node("sum", ops.ones(M, N), params=(1,), shape=(M, 1)),
    "sum_broadcast": node("sum", bc(u, (M, N)), params=(1,), shape=(M, 1)),
    "broadcast_zero": bc(ops.const(0), (M, N)),
    "broadcast_one": bc(ops.const(1), (M, N)),
    "broadcast_broadcast": bc(bc(a, (M, 1)), (M, N)),
    "broadcast_neg": bc(node("neg", a), (M, N)),
    "trace_scalar": node("trace", a),
    "trace_zero": node("trace", ops.zeros(N, N), shape=(1, 1)),
    "trace_transpose": node("trace", T(C), shape=(1, 1)),
    "trace_numeric_factor": node("trace", 3 * C, shape=(1, 1)),
    "trace_identity": node("trace", node("mul", bc(a, (N, N)), ops.eye(N)), shape=(1, 1)),
    "trace_neg": node("trace", node("neg", C), shape=(1, 1)),
    "trace_diag": node("trace", node("diagmat", y, shape=(N, N)), shape=(1, 1)),
    "trace_outer": node("trace", node("matmul", x, T(y), shape=(N, N)), shape=(1, 1)),
    "double_inverse": node("inv", node("inv", C)),
    "inverse_identity": node("inv", ops.eye(N)),
    "inverse_scalar": node("inv", mg.exp(a)),
    "det_transpose": node("det", T(C), shape=(1, 1)),
    "det_identity": node("logdet", ops.eye(N), shape=(1, 1)),
    "det_scalar": node("det", mg.exp(a)),
    "diag_of_diag": node("diagvec", node("diagmat", y, shape=(N, N)), shape=(N, 1)),
    "diag_transpose": node("diagvec", T(C), shape=(N, 1)),
    "diag_identity": node("diagvec", ops.eye(N), shape=(N, 1)),
    "diag_zero": node("diagvec", ops.zeros(N, N), shape=(N, 1)),
    "diagmat_ones": node("diagmat", ops.ones(N, 1), shape=(N, N)),
    "factor_scalar": 3 * a * mg.tanh(x) / ops.dim_value(M) - 3 * a * y / ops.dim_value(M),
    "tanh_of_exponentials": 3 * mg.exp(-x) / (mg.exp(x) + mg.exp(-x))
    - 3 * mg.exp(x) / (mg.exp(x) + mg.exp(-x)),  # −3 tanh(x)
    "tanh_quotient": mg.sinh(x) ** 2 * y / mg.cosh(x) ** 3,
    "transpose_symmetric_value": T(mg.exp(B @ B.T) + mg.inv(S)),
    "matmul_inverse_of_product": node("matmul", C.T, node("inv", (S @ C.T)), shape=(N, N)),
    "matmul_scaled_sum_out": node("matmul", A, node("div", x - y, bc(ops.dim_value(M),
                                                                  (N, 1))), shape=(M, 1)),
    "sum_scaled_sum": node("sum", node("mul", bc(a, (N, 1)), x + y), params=(None,),
                           shape=(1, 1)),
    "sum_inner_product": node("sum", node("mul", mg.tanh(x), y), params=(None,),
                              shape=(1, 1)),
    "expm_zero": node("expm", ops.zeros(N, N)),
    "matrix_function_transpose": node("expm", T(C)),
    "block_zero": node("expm_block", C, ops.zeros(N, N), C, params=(1,)),
    "frechet_commuting": node("logm_block", C, node("mul", bc(a, (N, N)), ops.eye(N)), C,
                              params=(1,)),
    "block_scaled": node("sqrtm_block", C, S, C, node("mul", bc(a, (N, N)), S), S,
                         params=(2,)),
    "trace_frechet": node("trace", node("sqrtm_block", C, S, C, params=(1,)), shape=(1, 1)),
    "function_of_identity": node("sqrtm", ops.eye(N)),
    # a row of A shifted by a column (constant along axis 1), a vector by its maximum
    "softmax_shift": node("softmax", A - ops.broadcast(u, (M, N)), params=(1,)),
    "logsumexp_shift": node("logsumexp", x - mg.max(x), params=(None,), shape=(1, 1)),
    "sum_of_softmax": node("sum", mg.softmax(A, axis=0), params=(0,), shape=(1, N)),
    "regroup_chain_argument": node("logdet", node("matmul", C.T, S @ C, shape=(N, N)),
                                   shape=(1, 1)),
}


def test_the_table_lists_every_rewrite_and_every_rewrite_has_an_example():
    listed = {f.__name__ for fs in RULES.values() for f in fs}
    assert listed == set(CATALOGUE)
    assert set(EXAMPLES) == set(CATALOGUE), set(CATALOGUE) ^ set(EXAMPLES)
    for name, f in CATALOGUE.items():
        assert f.__doc__ and "=" in f.__doc__.splitlines()[0], f"{name} states no identity"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_rewrite_fires_and_keeps_the_value(name):
    lhs = EXAMPLES[name]
    rewrite = CATALOGUE[name]
    assert rewrite in RULES[lhs.op], (name, lhs.op)
    rhs = rewrite(Simplifier(), lhs)
    assert rhs is not None and rhs is not lhs, f"{name} does not fire on {lhs}"
    assert rhs.shape == lhs.shape
    assert same_value(lhs, rhs, points=3), (name, str(lhs), str(rhs))
    assert same_value(lhs, simplify(lhs), points=2), (name, str(lhs))


@pytest.mark.parametrize("name", ["double_transpose", "double_inverse", "transpose_product",
                                  "trace_transpose", "diag_of_diag"])
def test_a_disabled_rewrite_does_not_fire(name):
    lhs = EXAMPLES[name]
    off = simplify(lhs, disable={name})
    assert off is not simplify(lhs)
    assert CATALOGUE[name](Simplifier(), off) is not None  # its identity still applies
    assert same_value(lhs, off)


def test_an_unknown_rewrite_name_is_refused():
    with pytest.raises(ValueError, match="no such rewrite"):
        simplify(x, disable={"no_such_rewrite"})


def test_a_catalogue_can_be_given_whole():
    only = {"transpose": (CATALOGUE["double_transpose"],)}
    e = T(T(A)) + T(T(A))
    assert simplify(e, rules=only) is A + A
    assert simplify(e) is 2 * A


def test_reaching_the_pass_budget_is_reported():
    """With no rewrites allowed in a row the simplifier stops at once: it says so (a
    warning and a count on the simplifier) and the value is kept."""
    e = EXAMPLES["double_transpose"] + EXAMPLES["collect_terms"].T @ C.T
    s = Simplifier(max_passes=0)
    with pytest.warns(SimplifyBudgetWarning, match="rewrites in a row"):
        out = s(e)
    assert s.budget_reached > 0
    assert same_value(e, out)
    quiet = Simplifier()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert quiet(e) is simplify(e)
    assert quiet.budget_reached == 0


def commute(s, e):
    """a ⊙ b = b ⊙ a, which leads back to where it started."""
    return make("mul", e.children[::-1], (), e.shape)


def test_a_rewrite_that_cycles_stops_and_is_reported():
    e = node("mul", x, mg.tanh(x))
    s = Simplifier(rules={"mul": (commute,)}, warn=False)
    out = s(e)
    assert s.budget_reached == 1 and out in (e, commute(s, e))
    with pytest.warns(SimplifyBudgetWarning):
        simplify(e, rules={"mul": (commute,)})


CATALOGUE_PROPERTY = settings(max_examples=25, deadline=None, database=None,
                              suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.data_too_large,
                                                     HealthCheck.filter_too_much])


@CATALOGUE_PROPERTY
@given(expressions())
def test_every_rewrite_keeps_the_value_wherever_it_fires(case):
    """Over random expressions and their unsimplified gradients, each rewrite applied at
    each node of the simplified children where it fires: both sides agree."""
    s = Simplifier()
    roots = [case.expr] + raw_gradients(case.expr, case.variables)
    for root in roots:
        for n in walk(root):
            kids = tuple(s(k) for k in n.children)
            e = make(n.op, kids, n.params, n.shape)
            for rewrite in RULES.get(e.op, ()):
                new = rewrite(s, e)
                if new is None or new is e:
                    continue
                assert same_value(e, new, points=1), (rewrite.__name__, str(e), str(new))


# square factors with one base C (invertible where sampled) and another, D
D = mg.matrix("D", N, N)
_POWER_FACTORS = (C, C.T, mg.inv(C), mg.inv(C).T, mg.matrix_power(C, 2),
                  mg.matrix_power(C, 2).T, mg.matrix_power(C, -2), mg.matrix_power(C.T, 3), D)


@CATALOGUE_PROPERTY
@given(st.lists(st.sampled_from(range(len(_POWER_FACTORS))), min_size=1, max_size=8),
       st.randoms(use_true_random=False))
def test_runs_of_one_base_fold_into_one_power(picks, rnd):
    """A chain of powers, inverses and transposes of C (and D), grouped at random between
    A (m×n) and x: simplified, it keeps its value and no two neighbouring factors are
    powers of one base (C and C⁻¹, Cᵀ and (C²)ᵀ are)."""
    from matgrad.expr import matmul_factors
    from matgrad.simplify import _as_power
    chain = [_POWER_FACTORS[i] for i in picks]
    while len(chain) > 1:
        i = rnd.randrange(len(chain) - 1)
        chain[i:i + 2] = [chain[i] @ chain[i + 1]]
    e = A @ chain[0] @ x
    out = simplify(e)
    assert same_value(e, out, points=2), (str(e), str(out))
    factors = matmul_factors(out)
    for f, g in zip(factors, factors[1:]):
        left, right = _as_power(f), _as_power(g)
        assert left is None or right is None or left[0] is not right[0], str(out)
