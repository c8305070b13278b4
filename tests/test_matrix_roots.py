"""The principal matrix square root and logarithm kernels: their values against SciPy's and
against the identities they satisfy, the closed forms (diagonal, Jordan blocks, the
identity), the Fréchet derivative read from the (0, 1) block of a block-triangular
argument against central differences (and the second one from three blocks), NaN
outside the domain, and the generated-code helpers on every backend."""
from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matgrad.operations.exponential import expm_value
from matgrad.operations.matrix_roots import (LOGM_CODE, MAX_ROOTS, NODES, PADE_POINTS, SQRTM_CODE,
                                             THETA, WEIGHTS, logm_value, sqrtm_value)

from .conftest import x64

SIZES = st.integers(1, 6)
SEEDS = st.integers(0, 2 ** 32 - 1)
KINDS = st.sampled_from(["near", "shifted", "spread"])


def orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def domain_matrix(rng, n, kind):
    """A random real n×n matrix whose spectrum keeps clear of the closed negative axis:
    "near": a·0.5/√n + 2I; "shifted": a·2/√n + 3I, eigenvalues complex and some close
    to 0; "spread": 2×2 rotation-scalings and positive reals of moduli e⁻² … e², their
    arguments up to ±0.8π, made non-normal by a similarity of condition at most e²."""
    if kind == "near":
        return rng.standard_normal((n, n)) * 0.5 / math.sqrt(n) + 2.0 * np.eye(n)
    if kind == "shifted":
        while True:
            a = rng.standard_normal((n, n)) * 2.0 / math.sqrt(n) + 3.0 * np.eye(n)
            lam = np.linalg.eigvals(a)
            if np.all(np.abs(np.angle(lam)) < 0.8 * np.pi) and np.all(np.abs(lam) > 0.1):
                return a
    d = np.zeros((n, n))
    i = 0
    while i < n:
        r = math.exp(rng.uniform(-2.0, 2.0))
        if i + 1 < n and rng.random() < 0.6:
            t = rng.uniform(-0.8, 0.8) * np.pi
            d[i:i + 2, i:i + 2] = r * np.array([[math.cos(t), -math.sin(t)],
                                                [math.sin(t), math.cos(t)]])
            i += 2
        else:
            d[i, i] = r
            i += 1
    v = orthogonal(rng, n) @ np.diag(np.exp(rng.uniform(-1.0, 1.0, n))) @ orthogonal(rng, n)
    return v @ d @ np.linalg.inv(v)


def relative(got, want):
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def block(*arrays):
    """The block-bidiagonal matrix with diagonal arrays[0::2], superdiagonal arrays[1::2]."""
    diagonal, upper = arrays[0::2], arrays[1::2]
    n, k = diagonal[0].shape[0], len(diagonal)
    out = np.zeros((n * k, n * k))
    for i, d in enumerate(diagonal):
        out[i * n:(i + 1) * n, i * n:(i + 1) * n] = d
    for i, c in enumerate(upper):
        out[i * n:(i + 1) * n, (i + 1) * n:(i + 2) * n] = c
    return out


# ---- values --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, database=None)
@given(SIZES, SEEDS, KINDS)
def test_values_agree_with_scipy(n, seed, kind):
    linalg = pytest.importorskip("scipy.linalg")
    a = domain_matrix(np.random.default_rng(seed), n, kind)
    assert relative(sqrtm_value(a), np.real(linalg.sqrtm(a))) < 1e-10
    assert relative(logm_value(a), np.real(linalg.logm(a))) < 1e-10


@settings(max_examples=40, deadline=None, database=None)
@given(SIZES, SEEDS, KINDS)
def test_square_of_the_root_and_exponential_of_the_logarithm(n, seed, kind):
    a = domain_matrix(np.random.default_rng(seed), n, kind)
    root = sqrtm_value(a)
    assert relative(root @ root, a) < 1e-12
    # the principal root: its eigenvalues have positive real part
    assert np.all(np.linalg.eigvals(root).real > 0)
    log = logm_value(a)
    assert relative(expm_value(log), a) < 1e-12
    assert np.all(np.abs(np.linalg.eigvals(log).imag) < np.pi)


@settings(max_examples=30, deadline=None, database=None)
@given(SIZES, SEEDS, st.floats(0.01, 0.99))
def test_logarithm_of_the_exponential(n, seed, size):
    b = np.random.default_rng(seed).standard_normal((n, n))
    b *= size / np.abs(b).sum(axis=0).max()  # ‖B‖₁ = size < 1: eigenvalues inside |Im| < π
    assert np.allclose(logm_value(expm_value(b)), b, rtol=0, atol=1e-14)
    root = sqrtm_value(expm_value(b))
    assert np.allclose(root, expm_value(b / 2), rtol=0, atol=1e-14)


def test_known_matrices():
    d = np.diag([4.0, 9.0, 0.25, 1e-3, 7e4])
    assert np.allclose(sqrtm_value(d), np.diag(np.sqrt(np.diag(d))), rtol=1e-14, atol=0)
    assert np.allclose(logm_value(d), np.diag(np.log(np.diag(d))), rtol=1e-14, atol=1e-15)
    eye = np.eye(4)
    assert np.array_equal(sqrtm_value(eye), eye)
    assert np.array_equal(logm_value(eye), np.zeros((4, 4)))
    for lam in (0.3, 2.0, 50.0):
        r, q = math.sqrt(lam), math.log(lam)
        jordan = np.array([[lam, 1.0], [0.0, lam]])
        assert np.allclose(sqrtm_value(jordan), [[r, 1 / (2 * r)], [0.0, r]], rtol=1e-14)
        assert np.allclose(logm_value(jordan), [[q, 1 / lam], [0.0, q]], rtol=1e-13)
        # three: f(J) = f(λ) I + f′(λ) N + f″(λ)/2 N²
        jordan = lam * np.eye(3) + np.eye(3, k=1)
        n1, n2 = np.eye(3, k=1), np.eye(3, k=2)
        assert np.allclose(sqrtm_value(jordan),
                           r * np.eye(3) + n1 / (2 * r) - n2 / (8 * r ** 3), rtol=1e-13)
        assert np.allclose(logm_value(jordan),
                           q * np.eye(3) + n1 / lam - n2 / (2 * lam ** 2), rtol=1e-13)
    rotation = 0.6 * np.array([[math.cos(2.5), -math.sin(2.5)], [math.sin(2.5), math.cos(2.5)]])
    assert np.allclose(logm_value(rotation), [[math.log(0.6), -2.5], [2.5, math.log(0.6)]],
                       rtol=1e-14)
    assert np.allclose(sqrtm_value(np.array([[6.25]])), [[2.5]])
    assert np.allclose(logm_value(np.array([[math.e]])), [[1.0]])
    assert sqrtm_value(np.zeros((0, 0))).shape == logm_value(np.zeros((0, 0))).shape == (0, 0)


def test_quadrature_and_threshold():
    """The nodes and weights are the Gauss–Legendre rule on [0, 1]; at ‖X‖ = THETA the
    rule's log(1 − THETA) is exact to double precision (its error there bounds the
    matrix one, Kenney and Laub 1989)."""
    assert len(NODES) == len(WEIGHTS) == PADE_POINTS
    assert math.isclose(sum(WEIGHTS), 1.0, rel_tol=1e-15)
    assert all(0 < t < 1 for t in NODES)
    x = -THETA
    approx = sum(w * x / (1 + t * x) for t, w in zip(NODES, WEIGHTS))
    assert math.isclose(approx, math.log1p(x), rel_tol=4e-16)


# ---- the Fréchet derivative from block-triangular arguments ---------------------------------


@settings(max_examples=25, deadline=None, database=None)
@given(SIZES, SEEDS, KINDS)
def test_the_upper_block_is_the_frechet_derivative(n, seed, kind):
    rng = np.random.default_rng(seed)
    a = domain_matrix(rng, n, kind)
    e = rng.standard_normal((n, n))
    h = 1e-5
    for f in (sqrtm_value, logm_value):
        got = f(block(a, e, a), [a, a])[:n, n:]
        want = (f(a + h * e) - f(a - h * e)) / (2 * h)
        assert np.allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max()), f.__name__
        # the default `diagonal` is the whole matrix, whose eigenvalues are the same
        assert np.allclose(f(block(a, e, a)), f(block(a, e, a), [a, a]), rtol=0, atol=0)


@settings(max_examples=25, deadline=None, database=None)
@given(SIZES, SEEDS, KINDS)
def test_the_root_derivative_solves_its_sylvester_equation(n, seed, kind):
    """L = d√A[E] solves √A L + L √A = E (the derivative of Y² = A): the block to the
    last digits, not to a difference's."""
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(seed)
    a = domain_matrix(rng, n, kind)
    e = rng.standard_normal((n, n))
    root = sqrtm_value(a)
    got = sqrtm_value(block(a, e, a), [a, a])[:n, n:]
    assert relative(got, linalg.solve_sylvester(root, root, e)) < 1e-11


@settings(max_examples=20, deadline=None, database=None)
@given(SIZES, SEEDS, KINDS)
def test_three_blocks_are_the_second_derivative(n, seed, kind):
    """(0, 2) blocks of f([[A, E, 0], [0, A, F], [0, 0, A]]) and of the same with E and F
    exchanged add up to the second derivative, a difference of the first in F."""
    rng = np.random.default_rng(seed)
    a = domain_matrix(rng, n, kind)
    e, f_ = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    h = 1e-5
    for f in (sqrtm_value, logm_value):
        got = (f(block(a, e, a, f_, a), [a, a, a])[:n, 2 * n:]
               + f(block(a, f_, a, e, a), [a, a, a])[:n, 2 * n:])

        def first(x, f=f):
            return f(block(x, e, x), [x, x])[:n, n:]
        want = (first(a + h * f_) - first(a - h * f_)) / (2 * h)
        assert np.allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max()), f.__name__


# ---- the domain ----------------------------------------------------------------------------


@settings(max_examples=20, deadline=None, database=None)
@given(st.integers(2, 6), SEEDS)
def test_nan_outside_the_domain(n, seed):
    rng = np.random.default_rng(seed)
    q = orthogonal(rng, n)
    spectrum = np.exp(rng.uniform(-1.0, 1.0, n))
    outside = {
        "negative": q @ np.diag(np.r_[-1.0, 2.0, spectrum[2:]]) @ q.T,
        "singular": q @ np.diag(np.r_[0.0, spectrum[1:]]) @ q.T,
        "rank one": np.outer(rng.standard_normal(n), rng.standard_normal(n)),
        "minus the identity": -np.eye(n),
        "negative Jordan": q @ (np.diag(np.r_[-1.0, -1.0, spectrum[2:]]) + np.eye(n, k=1)) @ q.T,
    }
    inside = domain_matrix(rng, n, "near")
    for f in (sqrtm_value, logm_value):
        for name, a in outside.items():
            assert np.isnan(f(a)).all(), (f.__name__, name)
            # a block-triangular matrix with such a diagonal block
            assert np.isnan(f(block(a, inside, a), [a, a])).all(), (f.__name__, name)
        for bad in (np.nan, np.inf, -np.inf):
            a = inside.copy()
            a[rng.integers(n), rng.integers(n)] = bad
            assert np.isnan(f(a)).all(), (f.__name__, bad)
        assert np.isnan(f(np.array([[-2.0]]))).all() and np.isnan(f(np.zeros((1, 1)))).all()
        # the eigenvalues that count are the diagonal blocks'
        assert np.isnan(f(inside, [outside["negative"]])).all()


def test_eigenvalues_of_very_different_sizes():
    for p in (3, 6):
        d = np.diag([10.0 ** p, 10.0 ** -p, 3.0])
        d[0, 2] = d[1, 2] = 1.0
        want_log = np.diag([p * math.log(10), -p * math.log(10), math.log(3)])
        got = logm_value(d)
        assert np.allclose(np.diag(got), np.diag(want_log), rtol=1e-12)
        assert relative(expm_value(got), d) < 1e-12
        root = sqrtm_value(d)
        assert relative(root @ root, d) < 1e-12
    # an eigenvalue within rounding of 0, against the norm, is 0
    assert np.isnan(logm_value(np.diag([1e10, 1e-10]))).all()
    assert MAX_ROOTS == 64


# ---- the generated-code helpers on every backend --------------------------------------------


def helpers(backend):
    """sqrtm and logm of the backend, as functions of a NumPy array (and the dtype to
    make it) returning one (JAX's under jax.jit), and the context to call them in."""
    context = contextlib.nullcontext
    if backend == "numpy":
        xp = pytest.importorskip("array_api_compat.numpy")
        space = {}

        def wrap(g):
            return lambda a, dtype="float64": checked(g(xp, xp.asarray(a)), dtype)
    elif backend == "jax":
        jax = pytest.importorskip("jax")
        import jax.numpy as jnp
        space, context = {"jax": jax, "jnp": jnp}, x64

        def wrap(g):
            g = jax.jit(g)
            return lambda a, dtype="float64": checked(g(jnp.asarray(a, dtype=dtype)), dtype)
    else:
        torch = pytest.importorskip("torch")
        space = {"torch": torch}

        def wrap(g):
            return lambda a, dtype="float64": checked(
                g(torch.as_tensor(a, dtype=getattr(torch, dtype))), dtype)
    for helper in (SQRTM_CODE[backend], LOGM_CODE[backend]):  # logm calls sqrtm
        exec(helper.source, space)
    return {name: wrap(space[name]) for name in ("sqrtm", "logm")}, context


def checked(out, dtype):
    """The backend's array as a NumPy one, checked to be of the argument's dtype."""
    assert str(out.dtype).endswith(dtype), out.dtype
    return np.asarray(out)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_helpers_agree_with_the_kernels(backend):
    functions, context = helpers(backend)
    kernels = {"sqrtm": sqrtm_value, "logm": logm_value}
    rng = np.random.default_rng(11)
    with context():
        # few sizes, so that JAX compiles few shapes: 1, 2, 3 and the blocks 2, 4, 6
        for n, kind in ((1, "near"), (2, "spread"), (3, "shifted"), (3, "spread"),
                        (2, "near")):
            a = domain_matrix(rng, n, kind)
            e = rng.standard_normal((n, n))
            for name, f in functions.items():
                got, want = f(a), kernels[name](a)
                assert relative(got, want) < 1e-10, (backend, name, n, kind)
                got, want = f(block(a, e, a)), kernels[name](block(a, e, a), [a, a])
                assert relative(got, want) < 1e-10, (backend, name, n, kind, "block")
        # where the iteration cannot converge, NaN
        q = orthogonal(rng, 3)
        negative = q @ np.diag([-1.0, 2.0, 0.5]) @ q.T
        for name, f in functions.items():
            assert np.isnan(f(negative)).all(), (backend, name)
            assert np.isnan(f(-np.eye(2))).all(), (backend, name)
            nan = np.eye(2)
            nan[0, 1] = np.nan
            assert np.isnan(f(nan)).all(), (backend, name)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_helpers_in_single_precision(backend):
    """The helpers' tolerances follow the argument's dtype: float32 converges too."""
    functions, _ = helpers(backend)
    kernels = {"sqrtm": sqrtm_value, "logm": logm_value}
    rng = np.random.default_rng(12)
    for n, kind in ((2, "near"), (3, "spread"), (4, "shifted")):
        a = domain_matrix(rng, n, kind)
        e = rng.standard_normal((n, n))
        for m, diagonal in ((a, [a]), (block(a, e, a), [a, a])):
            for name, f in functions.items():
                got = f(m.astype(np.float32), dtype="float32")
                assert relative(got.astype(float), kernels[name](m, diagonal)) < 1e-4, name
