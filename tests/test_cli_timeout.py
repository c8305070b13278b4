"""`--timeout SECONDS` on every command but serve: the command runs in a worker process
that is stopped at the limit; its output is the same as without the option."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

# the Hessian of a 190-deep tanh chain takes many seconds: its matrix form is a sum of
# 190 products of up to 190 factors each
SLOW = "sum(" + "tanh(A @ " * 80 + "x" + ")" * 80 + ")"  # a Hessian that takes minutes
SLOW_SHAPES = "x: n; A: n,n"


def _matgrad(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "matgrad", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("args", [
    ["sum((X @ w - y)**2)", "--shape", "X: m,n; w: n; y: m"],
    ["hessian", "x.T @ A @ x", "--shape", "A: n,n; x: n"],
    ["check", "sum((X @ w)**2)", "--wrt", "w", "--claim", "2 * X.T @ X @ w",
     "--shape", "X: m,n; w: n"],
    ["code", "sum(exp(x))", "--shape", "x: n"],
])
def test_the_output_is_the_same_with_a_timeout(args):
    plain = _matgrad(*args)
    limited = _matgrad(*args, "--timeout", "60")
    assert plain.returncode == limited.returncode == 0, limited.stderr
    assert limited.stdout == plain.stdout


def test_a_runaway_is_stopped_at_the_limit():
    start = time.perf_counter()
    r = _matgrad("hessian", SLOW, "--shape", SLOW_SHAPES, "--timeout", "1.5")
    assert time.perf_counter() - start < 20  # the derivation alone takes many seconds
    assert r.returncode == 2
    assert "took longer than 1.5 s and was stopped" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("value", ["0", "-1", "abc", ""])
def test_a_bad_timeout_is_an_error(value):
    r = _matgrad("sum(x)", "--shape", "x: n", "--timeout", value)
    assert r.returncode == 2 and "--timeout must be a positive number" in r.stderr


@pytest.mark.parametrize("command", ["", "jacobian", "hessian", "check", "code", "example"])
def test_every_command_lists_the_option(command):
    r = _matgrad(*([command] if command else []), "--help")
    assert r.returncode == 0 and "--timeout SECONDS" in r.stdout
