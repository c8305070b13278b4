"""Shared fixtures and helpers for the tests."""
from __future__ import annotations

import contextlib
import re
import subprocess
import sys

import numpy as np
import pytest

import matgrad as mg
from matgrad.verify import check_gradients


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def x64():
    """Double precision in JAX for one block (not for the tests after it: never the
    global config, which would leak into later tests and doctests)."""
    import jax
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # older JAX
    return enable_x64()


def hessian_check(L, x, vals, sizes, rng, h=1e-5):
    """H applied to a random direction against the central difference of the gradient,
    and H symmetric."""
    H = mg.hessian(L, x)
    shape = vals[x.name].shape
    size = int(np.prod(shape))
    Hm = np.asarray(mg.evaluate(H, vals, sizes), dtype=float).reshape(size, size)
    V = rng.standard_normal(shape)
    G = mg.grad(L, x)
    up = np.asarray(mg.evaluate(G, dict(vals, **{x.name: vals[x.name] + h * V}), sizes))
    down = np.asarray(mg.evaluate(G, dict(vals, **{x.name: vals[x.name] - h * V}), sizes))
    assert np.allclose(Hm @ V.reshape(-1), ((up - down) / (2 * h)).reshape(-1),
                       rtol=1e-5, atol=1e-6), str(L)
    assert np.allclose(Hm, Hm.T, rtol=1e-7, atol=1e-8), str(L)


def assert_gradients_match(L, wrt, points=3, tol=1e-5, sizes=None):
    """Every gradient of L with respect to wrt agrees with central finite differences."""
    wrt = [wrt] if not isinstance(wrt, (list, tuple)) else list(wrt)
    grads = mg.gradients(L, wrt)
    report = check_gradients(L, [mg.differentiate.resolve(L, x) for x in wrt], grads,
                             points=points, sizes=sizes)
    assert report.errors, "nothing was checked"
    assert report.max_error < tol, (str(report), [str(g) for g in grads])
    return grads


@contextlib.contextmanager
def serving(*options):
    """`matgrad serve --port 0 [options]` on a free loopback port; its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "matgrad", "serve", "--port", "0",
                             *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not m:
        proc.kill()
        pytest.fail(f"matgrad serve did not start: {line}{proc.stderr.read()}")
    try:
        yield m.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server():
    """`matgrad serve` on a free loopback port, for the module's tests; its base URL."""
    with serving() as url:
        yield url
