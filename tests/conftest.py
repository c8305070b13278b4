"""Shared fixtures and helpers for the tests."""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.verify import check_gradients


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def assert_gradients_match(L, wrt, points=3, tol=1e-5, sizes=None):
    """Every gradient of L with respect to wrt agrees with central finite differences."""
    wrt = [wrt] if not isinstance(wrt, (list, tuple)) else list(wrt)
    grads = mg.gradients(L, wrt)
    report = check_gradients(L, [mg.differentiate.resolve(L, x) for x in wrt], grads,
                             points=points, sizes=sizes)
    assert report.errors, "nothing was checked"
    assert report.max_error < tol, (str(report), [str(g) for g in grads])
    return grads
