"""Random expressions made hostile: every number replaced by an extreme one, variables
renamed after what generated code uses, literal sizes past the budget. Each of derive,
check, verify, compile (and a call of the compiled function) and evaluate ends with a
result or a MatgradError, within a time bound, and every such error has a message."""
from __future__ import annotations

import math
import re
import signal
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad import budget
from matgrad.expr import variables

from .strategies import SIZES, expressions

BOUND = 30  # seconds per call: a guard against hangs, not a speed test

EXTREMES = ["1e308", "1e-320", "0", "0.0", "1" + "0" * 300, "4.9e-324", "1e154", "2**1023",
            "99999999999999999999", "1e-308", "3"]
HOSTILE_NAMES = ["sigmoid", "softplus", "logdet", "xp", "dtype", "device", "grads", "L",
                 "t1", "float", "jnp", "torch", "n_", "mask"]
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])")


@st.composite
def hostile_cases(draw):
    case = draw(expressions(max_depth=5))
    text = case.text
    numbers = list(NUMBER.finditer(text))
    # replace some numbers by extreme ones (from the end, so offsets stay valid)
    for m in reversed(numbers):
        if draw(st.booleans()):
            text = text[:m.start()] + f"({draw(st.sampled_from(EXTREMES))})" + text[m.end():]
    shapes = dict(case.shapes)
    names = sorted(shapes)
    if names and draw(st.booleans()):
        old = draw(st.sampled_from(names))
        new = draw(st.sampled_from(HOSTILE_NAMES))
        if new not in shapes:
            text = re.sub(rf"\b{re.escape(old)}\b", new, text)
            shapes[new] = shapes.pop(old)
    return text, shapes


class Hung(Exception):
    pass


def _bounded(call):
    def alarm(signum, frame):
        raise Hung
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(BOUND)
    start = time.perf_counter()
    try:
        return call()
    except mg.MatgradError as err:
        assert str(err).strip(), "an error without a message"
        return err
    except Hung:
        pytest.fail(f"no answer after {BOUND} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        assert time.perf_counter() - start < BOUND + 1


def _values(L, rng):
    """Random values for L's variables; None where one would be past the element budget
    (a person passing such an array has made it already: there is nothing to bound)."""
    out = {}
    for v in variables(L):
        shape = tuple(SIZES.get(d, d) if not isinstance(d, int) else d for d in v.shape)
        if math.prod(shape) > budget.max_elements():
            return None
        out[v.params[0]] = rng.standard_normal(shape)
    return out


@pytest.mark.slow
@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(hostile_cases())
def test_hostile_inputs_end_with_a_result_or_a_matgrad_error(case):
    text, shapes = case
    L = _bounded(lambda: mg.parse(text, shapes))
    if isinstance(L, mg.MatgradError):
        return
    xs = variables(L)
    if not xs:
        return
    x = xs[0]
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf and nan are values here
        _bounded(lambda: str(mg.derive(L, x)))
        _bounded(lambda: mg.check(L, x, "0", points=2))
        _bounded(lambda: mg.verify(L, [x], points=2))
        values = _values(L, rng)
        if values is not None:
            _bounded(lambda: mg.evaluate(L, values))
        f = _bounded(lambda: mg.compile(L, [x]))
        if values is not None and not isinstance(f, mg.MatgradError):
            _bounded(lambda: f(values))
