"""`--syntax` on the command line: the same answers from each notation."""
from __future__ import annotations

import subprocess
import sys

import pytest


def _matgrad(*args):
    return subprocess.run([sys.executable, "-m", "matgrad", *args], capture_output=True,
                          text=True, timeout=120)


def _gradient(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if "∂L/∂w" in line)


@pytest.mark.parametrize("expr, syntax", [
    ("‖X w − y‖²", "math"), ("‖X w − y‖²", "auto"),
    (r"\|Xw - y\|^2", "latex"), (r"\|Xw - y\|^2", "auto"),
])
def test_each_notation_gives_the_same_gradient(expr, syntax):
    shapes = "X: m,n; w: n; y: m"
    python = _matgrad("sum((X @ w - y)**2)", "--shape", shapes, "--wrt", "w")
    other = _matgrad(expr, "--shape", shapes, "--wrt", "w", "--syntax", syntax)
    assert python.returncode == other.returncode == 0, other.stderr
    assert _gradient(other.stdout) == _gradient(python.stdout)


def test_python_syntax_refuses_a_superscript_with_a_caret():
    r = _matgrad("xᵀ x", "--shape", "x: n", "--syntax", "python")
    assert r.returncode == 2 and "^" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("command", ["", "jacobian", "hessian", "check", "code"])
def test_every_command_lists_the_option(command):
    r = _matgrad(*([command] if command else []), "--help")
    assert r.returncode == 0 and "--syntax" in r.stdout
