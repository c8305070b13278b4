"""`matgrad code`: prints a pasteable function; bad input is a clear error, exit status 2."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import matgrad as mg
from matgrad.cli import COMMANDS, main
from matgrad.example import SHAPES, SOURCE


def run(capsys, *argv):
    status = main(["code", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_code_is_registered():
    assert COMMANDS["code"][0] == "matgrad.cli.code"


def test_prints_a_function_that_runs(capsys, tmp_path):
    status, out, _ = run(capsys, SOURCE, "--shape", SHAPES, "--wrt", "w,b")
    assert status == 0
    assert out.startswith("import array_api_compat")
    assert "def L_and_gradients(X, w, b, y):" in out and "z = X @ w + b" in out
    path = tmp_path / "generated_code.py"
    path.write_text(out)
    spec = importlib.util.spec_from_file_location("generated_code", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    X, w, y = rng.standard_normal((6, 3)), rng.standard_normal((3, 1)), rng.standard_normal((6, 1))
    value, grads = module.L_and_gradients(X, w, np.asarray(0.2), y)
    assert set(grads) == {"w", "b"}
    p = mg.parse_program(SOURCE, SHAPES)
    values = {"X": X, "w": w, "b": 0.2, "y": y}
    assert np.isclose(value, mg.evaluate(p.result, values))
    assert np.allclose(grads["w"][:, 0], mg.evaluate(mg.grad(p.result, "w"), values))


@pytest.mark.parametrize("backend,marker", [("jax", "import jax.numpy as jnp"),
                                            ("torch", "import torch")])
def test_backends_and_name(capsys, backend, marker):
    status, out, _ = run(capsys, "sum(sigmoid(X @ w))", "--shape", "X: m,n; w: n",
                         "--backend", backend, "--name", "loss_grad")
    assert status == 0 and marker in out and "def loss_grad(X, w):" in out


def test_empty_wrt_prints_the_value_alone(capsys):
    status, out, _ = run(capsys, "X @ w", "--shape", "X: m,n; w: n", "--wrt", "")
    assert status == 0 and "def L_value(X, w):" in out and "return L, {}" in out


@pytest.mark.parametrize("argv,message", [
    (["sum(X @ w", "--shape", "X: m,n; w: n"], "never closed"),
    (["sum(X @ w)", "--shape", "X: m,n; w: n", "--wrt", "q"], "--wrt names q"),
    (["sum(X @ w)", "--shape", "X: m,n; w: n", "--name", "not a name"], "not a Python identifier"),
    (["X @ w", "--shape", "X: m,n; w: n", "--wrt", "w"], "scalar"),
])
def test_bad_input_is_a_clear_error(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_unknown_backend_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["code", "sum(X)", "--shape", "X: m,n", "--backend", "cuda"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'cuda'" in capsys.readouterr().err
