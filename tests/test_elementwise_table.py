"""The elementwise table is the one place an elementwise function is declared: every row
has every facet, and every part of the library that handles elementwise functions reads
it. Each check runs over every row, so a new row is tested by adding it."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import matgrad as mg
from matgrad import ops
from matgrad.codegen import array_api, jax_backend, torch_backend
from matgrad.elementwise import DOMAINS, NAMES, table
from matgrad.printing.latex import to_latex
from matgrad.printing.text import to_text

PRINTERS = {"numpy": array_api.ArrayApiPrinter, "jax": jax_backend.JaxPrinter,
            "torch": torch_backend.TorchPrinter}
m, n = mg.dims("m n")
X = mg.matrix("X", m, n)
SIZES = {"m": 3, "n": 4}


def _order(name):
    """The order a row that takes one is tried at (polygamma(1, x), the trigamma
    function, whose Hessian needs ψ⁽³⁾); () for the other rows."""
    return (1,) if table()[name].ordered else ()


def _apply(name, x):
    return getattr(mg, name)(*_order(name), x)


def _argument(name, X=X):
    """X mapped into the row's domain."""
    domain = table()[name].domain
    if domain == "positive":
        return X * X + 0.5
    if domain == "unit":
        return 0.9 * mg.tanh(X)
    return X


def _points(name, rng, count=200):
    domain = table()[name].domain
    if domain == "positive":
        return rng.uniform(0.05, 5.0, count)
    if domain == "unit":
        return rng.uniform(-0.95, 0.95, count)
    return rng.uniform(-5.0, 5.0, count)


def _installed(backend):
    if backend == "numpy":
        return True
    try:
        importlib.import_module(backend)
    except ImportError:
        return False
    return True


def test_every_row_has_every_facet():
    for name, row in table().items():
        assert row.name == name and row.domain in DOMAINS
        assert row.text and row.latex
        assert set(row.code) == set(PRINTERS), name
        assert callable(row.numpy) and callable(row.derivative) and callable(row.slope)


@pytest.mark.parametrize("name", NAMES)
def test_each_row_is_a_public_function_and_a_function_of_the_language(name):
    f = getattr(mg, name)
    assert name in mg.__all__ and f is getattr(ops, name)
    e = f(*_order(name), X)
    assert e.op == "fn" and e.params == (name, *_order(name)) and e.shape == (m, n)
    call = ", ".join([*map(str, _order(name)), "X"])
    assert mg.parse(f"{name}({call})", {"X": "m,n"}) == e
    assert f.__doc__ and ">>>" in f.__doc__


def test_the_public_functions_are_exactly_the_rows():
    built = ops._elementwise("exp").__code__  # every constructor the table makes
    made = {name for name, value in vars(ops).items()
            if getattr(value, "__code__", None) is built}
    assert made == set(NAMES)


@pytest.mark.parametrize("backend", sorted(PRINTERS))
@pytest.mark.parametrize("name", NAMES)
def test_each_spelling_names_something_that_exists(name, backend):
    spelling = table()[name].code[backend]
    printer = PRINTERS[backend]
    if spelling == "printer":
        assert callable(getattr(printer, "fn_" + name, None))
    elif spelling == "helper":
        assert name in printer.helpers
    elif not _installed(backend):
        pytest.skip(f"{backend} is not installed")
    elif "." in spelling:
        module, _, attr = spelling.rpartition(".")
        assert hasattr(importlib.import_module(module), attr), spelling
    else:
        namespace = {"numpy": lambda: __import__("array_api_compat").array_namespace(
                         np.ones(1)),
                     "jax": lambda: importlib.import_module("jax.numpy"),
                     "torch": lambda: importlib.import_module("torch")}[backend]()
        assert hasattr(namespace, spelling), f"{backend} has no {spelling}"


@pytest.mark.parametrize("name", NAMES)
def test_printed_forms_read_back_and_typeset(name):
    e = _apply(name, _argument(name))
    assert mg.parse(to_text(e, unicode=False), {"X": "m,n"}) == e
    assert mg.parse(to_text(e), {"X": "m,n"}, syntax="math") == e
    latex = to_latex(e)
    assert mg.parse(latex, {"X": "m,n"}, syntax="latex") == e
    assert table()[name].head(*_order(name), latex=True) in latex or name == "sqrt"


@pytest.mark.parametrize("name", NAMES)
def test_facts_of_each_row_hold_numerically(name, rng):
    """|f′| within the slope bound used for rounding estimates; nonnegative rows never
    negative; idempotent rows only 0 and 1; the NumPy kernel equals the derivative's
    integral (finite differences of the kernel against the derivative)."""
    row = table()[name]
    k = _order(name)
    t = _points(name, rng)
    x = mg.vector("x", len(t))
    y = row.numpy(t, *k)
    slope = np.abs(mg.evaluate(mg.ops.fn(name, *k, x), {"x": t}))  # the value, as evaluate
    assert np.allclose(slope, np.abs(y))
    fprime = mg.evaluate(row.derivative(x, mg.ops.fn(name, *k, x), *k), {"x": t},
                         sizes={mg.Dim("n"): len(t)})
    fprime = np.broadcast_to(np.asarray(fprime, dtype=float).reshape(-1), t.shape)
    h = 1e-6 * np.maximum(t, 1.0)  # relative to the point: ψ⁽ᵏ⁾ is steep near 0
    fd = (row.numpy(t + h, *k) - row.numpy(t - h, *k)) / (2 * h)
    assert np.allclose(fprime, fd, rtol=1e-5, atol=1e-6), name
    bound = np.broadcast_to(np.asarray(row.slope(t, y, *k), dtype=float), t.shape)
    assert np.all(np.abs(fprime) <= bound * (1 + 1e-9) + 1e-12), name
    if row.nonnegative:
        assert np.all(y >= 0)
    if row.idempotent:
        assert set(np.unique(y)) <= {0.0, 1.0}


@pytest.mark.parametrize("name", NAMES)
def test_each_row_has_a_right_hessian(name, rng):
    """The second derivative, through the derivative's own expression: H v against
    finite differences of the gradient."""
    v = mg.vector("v", n)
    L = mg.sum(_apply(name, _argument(name, v)) * mg.vector("c", n))
    H = mg.hessian(L, v)
    values = {"v": rng.standard_normal(4) * 0.5, "c": rng.standard_normal(4)}
    direction = rng.standard_normal(4)
    g = mg.grad(L, v)
    h = 1e-5
    sizes = {"n": 4}  # the derivatives of sign and H mention no variable
    plus = mg.evaluate(g, {**values, "v": values["v"] + h * direction}, sizes)
    minus = mg.evaluate(g, {**values, "v": values["v"] - h * direction}, sizes)
    Hv = np.asarray(mg.evaluate(H, values, sizes)) @ direction
    assert np.allclose(Hv, (plus - minus) / (2 * h), rtol=1e-5, atol=1e-7), name


@pytest.mark.parametrize("backend", sorted(PRINTERS))
@pytest.mark.parametrize("name", NAMES)
def test_each_row_compiles_in_every_backend(name, backend, rng):
    if not _installed(backend):
        pytest.skip(f"{backend} is not installed")
    L = mg.sum(_apply(name, _argument(name)) * mg.matrix("C", m, n))
    values = {"X": rng.standard_normal((3, 4)), "C": rng.standard_normal((3, 4))}
    f = mg.compile(L, [X], backend=backend)
    value, grads = f(values)
    rtol = 1e-5 if backend == "jax" else 1e-10  # JAX computes in float32 by default
    used = to_text(L, unicode=False) + to_text(mg.grad(L, X), unicode=False)
    if backend == "torch" and "polygamma(1," in used:
        rtol = 1e-8  # PyTorch's trigamma ψ⁽¹⁾ is within 5e-10 of SciPy's, relatively
    assert float(value) == pytest.approx(mg.evaluate(L, values), rel=rtol, abs=rtol)
    want = mg.evaluate(mg.grad(L, X), values, SIZES)
    assert np.allclose(np.asarray(grads["X"], dtype=float), want, rtol=rtol, atol=rtol)
