"""The special functions log Γ, ψ and ψ⁽ᵏ⁾ in use: the Dirichlet log-likelihood, its
gradient and Hessian against finite differences, compiled on every backend, read back
from every notation; and the order of polygamma refused where it is no whole number."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import matgrad as mg
from matgrad.elementwise import polygamma_series
from matgrad.printing.latex import to_latex
from matgrad.printing.text import to_text

# the Dirichlet log-likelihood of a probability vector p under concentrations a
DIRICHLET = "lgamma(sum(a)) - sum(lgamma(a)) + sum((a - 1) * log(p))"
SHAPES = {"a": "n", "p": "n"}
SIZES = (2, 3, 7)  # distinct sizes, so that no dimension is mistaken for another


def _point(rng, size):
    return {"a": rng.uniform(0.3, 4.0, size), "p": rng.dirichlet(np.ones(size))}


def _dirichlet():
    L = mg.parse(DIRICHLET, SHAPES)
    a = mg.parse("a", SHAPES)
    return L, a


@pytest.mark.parametrize("size", SIZES)
def test_dirichlet_gradient_matches_finite_differences(size, rng):
    L, a = _dirichlet()
    g = mg.grad(L, a)
    h = 1e-6
    for _ in range(3):
        values = _point(rng, size)
        got = np.asarray(mg.evaluate(g, values)).reshape(-1)
        fd = np.empty(size)
        for i in range(size):
            e = np.zeros(size)
            e[i] = h
            fd[i] = (mg.evaluate(L, {**values, "a": values["a"] + e})
                     - mg.evaluate(L, {**values, "a": values["a"] - e})) / (2 * h)
        assert np.allclose(got, fd, rtol=1e-6, atol=1e-7), (got, fd)


@pytest.mark.parametrize("size", SIZES)
def test_dirichlet_hessian_matches_finite_differences_of_the_gradient(size, rng):
    L, a = _dirichlet()
    g, H = mg.grad(L, a), mg.hessian(L, a)
    assert "ψ⁽¹⁾" in str(H)  # the trigamma function, which the second derivative needs
    h = 1e-5
    for _ in range(3):
        values = _point(rng, size)
        got = np.asarray(mg.evaluate(H, values))
        assert got.shape == (size, size) and np.allclose(got, got.T)
        v = rng.standard_normal(size)
        plus = np.asarray(mg.evaluate(g, {**values, "a": values["a"] + h * v})).reshape(-1)
        minus = np.asarray(mg.evaluate(g, {**values, "a": values["a"] - h * v})).reshape(-1)
        assert np.allclose(got @ v, (plus - minus) / (2 * h), rtol=1e-5, atol=1e-6)


def test_dirichlet_checks_pass_with_the_library_s_own_sampling():
    L, a = _dirichlet()
    report = mg.verify(L, "a")
    assert report.ok, str(report)


def _installed(name):
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_dirichlet_compiled_gradients_agree_with_evaluate(backend, rng):
    if not _installed(backend):
        pytest.skip(f"{backend} is not installed")
    L, a = _dirichlet()
    p = mg.parse("p", SHAPES)
    want_grads = mg.gradients(L, [a, p])
    f = mg.compile(L, ["a", "p"], backend=backend)
    # JAX computes in float32 by default; PyTorch's trigamma is within 5e-10 of SciPy's
    rtol = {"numpy": 1e-10, "jax": 1e-4, "torch": 1e-8}[backend]
    for size in SIZES:
        values = _point(rng, size)
        value, grads = f(values)
        assert float(value) == pytest.approx(mg.evaluate(L, values), rel=rtol, abs=rtol)
        for name, G in zip("ap", want_grads):
            want = np.asarray(mg.evaluate(G, values)).reshape(-1)
            got = np.asarray(grads[name], dtype=float).reshape(-1)
            assert np.allclose(got, want, rtol=rtol, atol=rtol), (backend, name)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_the_hessian_compiles_with_higher_orders(backend, rng):
    """The gradient of sum(ψ⁽¹⁾(a) ⊙ c) needs ψ⁽²⁾: each backend's polygamma of order 2."""
    if not _installed(backend):
        pytest.skip(f"{backend} is not installed")
    L = mg.parse("sum(polygamma(1, a) * c)", {"a": "n", "c": "n"})
    f = mg.compile(L, ["a"], backend=backend)
    values = {"a": rng.uniform(0.5, 3.0, 5), "c": rng.standard_normal(5)}
    _, grads = f(values)
    want = np.asarray(mg.evaluate(mg.grad(L, "a"), values)).reshape(-1)
    rtol = 1e-4 if backend == "jax" else 1e-9
    assert np.allclose(np.asarray(grads["a"], dtype=float).reshape(-1), want, rtol=rtol)


def test_every_printed_form_reads_back():
    L, a = _dirichlet()
    H = mg.hessian(L, a).expr  # the matrix form: −diag(ψ⁽¹⁾(a)) + ψ⁽¹⁾(sum(a)) · 1ₙ 1ₙᵀ
    for e in (L, mg.grad(L, a), H):
        assert mg.parse(to_text(e, unicode=False), SHAPES, syntax="python") == e
        assert mg.parse(to_text(e), SHAPES, syntax="math") == e
        assert mg.parse(to_latex(e), SHAPES, syntax="latex") == e


@pytest.mark.parametrize("text, syntax", [
    ("polygamma(1, a)", "python"), ("ψ⁽¹⁾(a)", "math"), ("polygamma(1, a)", "math"),
    (r"\psi^{(1)}(a)", "latex"), (r"\psi^{(1)}\left(a\right)", "latex"),
    (r"\operatorname{polygamma}(1, a)", "latex"), ("ψ⁽¹⁾(a)", "auto"),
])
def test_the_trigamma_function_in_every_notation(text, syntax):
    assert mg.parse(text, {"a": "n"}, syntax=syntax) == mg.polygamma(1, mg.vector("a", "n"))


def test_order_zero_is_digamma_and_each_derivative_raises_the_order():
    a = mg.vector("a", "n")
    assert mg.polygamma(0, a) == mg.digamma(a) == mg.parse("polygamma(0, a)", {"a": "n"})
    g = mg.grad(mg.sum(mg.polygamma(2, a)), a)
    assert g == mg.polygamma(3, a)


@pytest.mark.parametrize("text, syntax, where", [
    ("polygamma(-1, a)", "python", "-1"), ("polygamma(1.5, a)", "python", "1.5"),
    ("polygamma(k, a)", "python", "k"), ("polygamma(101, a)", "python", "101"),
    ("polygamma(a, a)", "math", "a,"), ("polygamma(1/2, a)", "math", "1/2"),
    ("ψ⁽¹⁾", "math", "ψ⁽¹⁾"), ("a⁽¹⁾(a)", "math", "⁽¹⁾"),
    (r"\psi^{(1)}", "latex", r"\psi^{(1)}"),
])
def test_a_bad_order_is_an_error_pointing_at_it(text, syntax, where):
    with pytest.raises(mg.ParseError) as info:
        mg.parse(text, {"a": "n"}, syntax=syntax)
    err = info.value
    assert err.source == text
    assert text[err.column:].startswith(where.rstrip(",")), (str(err), err.column)
    assert "polygamma" in str(err)


@pytest.mark.parametrize("args", [(-1,), (1.5,), ("1",), (True,), (), (1, 2)])
def test_the_constructor_refuses_a_bad_order(args):
    a = mg.vector("a", "n")
    with pytest.raises(mg.MatgradError, match="polygamma"):
        mg.polygamma(*args, a) if args != (1, 2) else mg.polygamma(1, 2, a)


def test_one_argument_too_many_is_refused():
    with pytest.raises(mg.MatgradError, match="lgamma"):
        mg.ops.fn("lgamma", 1, mg.vector("a", "n"))


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_the_numpy_series_matches_scipy(k, rng):
    """The kernel used where SciPy is missing, against SciPy where it is present."""
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([rng.uniform(0.01, 1.0, 50), rng.uniform(1.0, 60.0, 50)])
    want = special.polygamma(k, x)
    assert np.allclose(polygamma_series(k, x), want, rtol=1e-11, atol=0)
    assert np.isnan(polygamma_series(k, np.array([0.0, -1.5]))).all()
