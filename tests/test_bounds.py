"""Bounded work past parsing: constants that stay floats or refuse, arrays within the
element budget, generated code that computes no huge integer and that no variable name can
confuse. Every call ends with a result or a MatgradError, quickly and in bounded memory."""
from __future__ import annotations

import resource
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad import budget
from matgrad.codegen import array_api, jax_backend, torch_backend
from matgrad.codegen.schedule import RESERVED
from matgrad.expr import variables

QUICK = 20  # seconds: each hostile call must end well within this (it took minutes before)


def _var(expr, name):
    return next(v for v in variables(expr) if v.params[0] == name)


def _values(expr, rng, sizes):
    out = {}
    for v in variables(expr):
        shape = tuple(sizes[str(d)] if not isinstance(d, int) else d for d in v.shape)
        a = rng.uniform(0.5, 1.5, size=shape)
        if shape[0] == shape[1] and shape[0] > 1:
            a = a + shape[0] * np.eye(shape[0])
        out[v.params[0]] = a
    return out


def _every_surface(text, shapes, wrt):
    """Each of grad, verify, check, derive, compile and evaluate on the text: the value it
    gave or the MatgradError it raised (anything else fails the test)."""
    results = {}
    try:
        L = mg.parse(text, shapes)
    except mg.MatgradError as err:  # refused at once, with the column
        return {"parse": err}
    x = _var(L, wrt)
    calls = {
        "grad": lambda: mg.grad(L, x),
        "verify": lambda: mg.verify(L, [x]),
        "check": lambda: mg.check(L, x, "0"),
        "derive": lambda: str(mg.derive(L, x)),
        "compile": lambda: mg.compile(L, [x]),
        "evaluate": lambda: mg.evaluate(L, _values(L, np.random.default_rng(0), {"n": 3})),
    }
    for name, call in calls.items():
        start = time.perf_counter()
        try:
            results[name] = call()
        except mg.MatgradError as err:
            assert str(err).strip()
            results[name] = err
        assert time.perf_counter() - start < QUICK, f"{name} took too long on {text[:40]}"
    return results


# ---- constants -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "1" + "0" * 400 + " * x",
    "1e308 ** 2 * x",
    "inv(1e-320) * x",
    "9" * 70 + " ** 64 * x",
    "x / 1e-300 / 1e-300",
])
def test_constants_past_the_float_range_are_limit_errors_everywhere(text):
    results = _every_surface(text, "x: scalar", "x")
    for name in ("grad", "verify", "check", "derive", "compile"):
        got = results.get(name, results.get("parse"))
        assert isinstance(got, mg.LimitError), (name, got)
        assert "beyond the range of floating-point numbers" in str(got)
        assert len(str(got).splitlines()[0]) < 200  # never the number's hundreds of digits


@given(st.integers(min_value=-300, max_value=300), st.integers(min_value=-40, max_value=40))
@settings(max_examples=60, deadline=None)
def test_constant_folding_is_a_float_or_refuses_and_keeps_the_value(exponent, power):
    """c^k folded by the simplifier equals the float value, or is a LimitError where that
    value is past the floats' range; it is never a huge exact integer."""
    c = 10 ** exponent if exponent >= 0 else f"1e{exponent}"
    x = mg.scalar("x")
    try:
        folded = mg.simplify(mg.parse(f"({c}) ** {power} * x", {"x": "scalar"}))
    except mg.LimitError:
        assert abs(exponent * power) > 300
        return
    value = mg.evaluate(folded, {"x": 1.0})
    want = 10.0 ** (exponent * power)
    assert value == pytest.approx(want, rel=1e-12)
    for node in mg.expr.walk(folded):
        if node.op == "const":
            p = node.params[0]
            assert isinstance(p, float) or max(p.numerator.bit_length(),
                                               p.denominator.bit_length()) <= 64
    del x


# ---- the element budget ----------------------------------------------------------------------

def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("text, shapes", [
    ("sum(x * ones(100000000))", "x: scalar"),
    ("sum(x * ones(20000, 20000))", "x: scalar"),
    ("sum(outer(ones(10000), ones(10000))) * x", "x: scalar"),
])
def test_literal_sizes_past_the_budget_are_refused_before_allocating(text, shapes):
    before = _rss_mib()
    results = _every_surface(text, shapes, "x")
    for name in ("verify", "check", "compile", "evaluate"):
        got = results[name]
        assert isinstance(got, mg.LimitError), (name, got)
        assert "allowed (matgrad.budget.elements)" in str(got)
    assert isinstance(results["grad"], mg.Expr)  # symbolic work needs no arrays
    assert _rss_mib() - before < 500


def test_sizes_past_the_budget_are_refused_in_evaluate_and_verify():
    n = mg.Dim("n")
    x = mg.scalar("x")
    L = mg.sum(x * mg.ones(n))
    with pytest.raises(mg.LimitError, match="more than the"):
        mg.evaluate(L, {"x": 1.0}, sizes={"n": 10**12})
    with pytest.raises(mg.LimitError, match="more than the"):
        mg.verify(mg.parse("sum(X @ w)", "X: 3000000,3000000; w: 3000000"), ["w"])


def test_the_budget_can_be_raised_and_lowered_for_a_block():
    x = mg.vector("x", 50)
    L = mg.sum(mg.exp(x))
    values = {"x": np.zeros(50)}
    assert mg.evaluate(L, values) == 50.0
    with budget.elements(49):
        with pytest.raises(mg.LimitError, match="50 entries, more than the 49"):
            mg.evaluate(L, values)
        assert budget.max_elements() == 49
    assert budget.max_elements() == budget.DEFAULT_ELEMENTS
    with budget.elements(10**9):
        assert mg.evaluate(mg.sum(mg.ones(2 * 10**7)), {}) == 2 * 10**7
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(mg.LimitError), budget.elements(bad):
            pass


# ---- generated code ------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("text", ["sum(x) / n ** 99999999999",
                                  "sum(x) * n ** -99999999999 + sum(x) / n ** 2.5",
                                  "sum(x) * n ** 99999999999"])
def test_a_size_to_a_huge_power_is_computed_in_floats_as_evaluate_does(text):
    L = mg.parse(text, {"x": "n"})
    f = mg.compile(L, ["x"])
    start = time.perf_counter()
    value, grads = f({"x": np.ones(3)})
    assert time.perf_counter() - start < 1  # an exact integer power took minutes
    assert value == pytest.approx(mg.evaluate(L, {"x": np.ones(3)}))
    want = mg.evaluate(mg.grad(L, _var(L, "x")), {"x": np.ones(3)}, sizes={"n": 3})
    assert np.allclose(grads["x"], want, equal_nan=True)


def _backends():
    out = ["numpy"]
    for name, module in (("jax", "jax"), ("torch", "torch")):
        try:
            __import__(module)
        except ImportError:
            continue
        out.append(name)
    return out


CONFUSABLE = sorted(set(array_api.HELPERS) | set(jax_backend.HELPERS)
                    | set(torch_backend.HELPERS) | RESERVED
                    | {"L", "t1", "mask", "L_and_gradients", "float", "n", "out_x"})


@pytest.mark.parametrize("backend", _backends())
@pytest.mark.parametrize("name", CONFUSABLE)
def test_no_variable_name_can_shadow_what_the_generated_code_uses(backend, name):
    """A variable named like a helper, a namespace or a local of the generated code gives
    the same value and gradient as evaluate and grad."""
    text = (f"sum(sigmoid({name}) + softplus({name})) + logdet(A) * sum({name})"
            f" + sum(relu(x).T @ A @ {name}) + logsumexp({name})")
    L = mg.parse(text, {name: "n", "A": "n,n", "x": "n"})
    rng = np.random.default_rng(1)
    values = {name: rng.standard_normal(4), "x": rng.standard_normal(4),
              "A": 4 * np.eye(4) + 0.1 * rng.standard_normal((4, 4))}
    v = _var(L, name)
    value, grads = mg.compile(L, [v], backend=backend)(values)
    rel = 1e-4 if backend == "jax" else 1e-10  # JAX computes in float32 by default
    assert float(value) == pytest.approx(mg.evaluate(L, values), rel=rel)
    want = mg.evaluate(mg.grad(L, v), values)
    assert np.allclose(np.asarray(grads[name]).reshape(-1), want, rtol=rel, atol=rel)


# ---- names as Python reads them ------------------------------------------------------------

def test_fullwidth_and_ascii_names_are_one_name_everywhere():
    L = mg.parse("sum(ｘ) / ｍ", {"ｘ": "ｍ"})
    assert L == mg.parse("sum(x) / m", {"x": "m"})
    f = mg.compile(L)
    value, _ = f({"x": np.ones(4)})
    assert value == mg.evaluate(L, {"x": np.ones(4)}) == 1.0
    assert mg.vector("ｘ", 3) == mg.vector("x", 3) and mg.Dim("ｍ") == mg.Dim("m")


@pytest.mark.parametrize("shapes", ["ｘ: n; x: m", {"ｘ": "n", "x": "m"}])
def test_two_spellings_of_one_name_are_refused_showing_both(shapes):
    with pytest.raises(mg.ShapeError) as err:
        mg.parse("sum(x)", shapes)
    assert "ｘ" in str(err.value) and "same name" in str(err.value)


# ---- the recursion limit, shared by threads --------------------------------------------------

def test_concurrent_deep_walks_never_lower_the_limit_under_each_other():
    """Threads printing and parsing deep expressions at once: each walk keeps the room it
    asked for until it ends (a walk that set the limit back under another one's feet
    gave that one a RecursionError, and a change during Python's own ast.parse in another
    thread a SystemError), and the limit is restored when all have ended."""
    import sys
    import threading

    from matgrad.printing.text import to_text

    before = sys.getrecursionlimit()
    deep = mg.vector("x", 3)
    for _ in range(3000):
        deep = mg.tanh(deep)
    text = "sum(" + "tanh(" * 150 + "x" + ")" * 150 + ")"
    failures = []

    def work(k):
        try:
            for _ in range(8):
                if k % 2:
                    assert len(to_text(deep)) > 3000
                else:
                    mg.parse(text, {"x": "n"})
        except Exception as err:  # noqa: BLE001 - collected and reported below
            failures.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert sys.getrecursionlimit() == before


HOSTILE_NAME = 'z"""\nimport os\nos.system("echo written")\n"""'


@pytest.mark.parametrize("make", [
    lambda: mg.compile(mg.sum(mg.vector("x", mg.Dim(HOSTILE_NAME)))),
    lambda: mg.compile(mg.sum(mg.vector("x", 3) * 2),
                       definitions={HOSTILE_NAME: mg.vector("x", 3) * 2}),
    lambda: mg.compile(mg.jacobian(mg.matrix("X", 2, 3) @ mg.vector("w", 3),
                                   mg.matrix("X", 2, 3), name=HOSTILE_NAME)),
    lambda: mg.compile(mg.sum(mg.exp(mg.vector("x", 3))), name=HOSTILE_NAME),
])
def test_no_text_but_a_name_reaches_generated_code(make):
    """Generated code runs: every name written into it (dimensions, definitions, the
    derivative's and the function's names) is an identifier, or the call is refused."""
    try:
        f = make()
    except mg.MatgradError as err:
        assert "not an identifier" in str(err)
        return
    assert "import os" not in f.source
