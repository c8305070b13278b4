"""The `matgrad` command, run as a subprocess: the built-in example, an expression with
--wrt and --shape, --latex, --verify and --ascii. The ASCII output is read back and its
gradients evaluated, so the printed answers are checked as numbers."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matgrad as mg

ROW = re.compile(r"^\s*(\w+) = (.*?)\s{3,}\((.*)\)$")


def matgrad(*args, script: bool = False):
    cmd = [str(Path(sys.executable).with_name("matgrad"))] if script else \
        [sys.executable, "-m", "matgrad"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, encoding="utf-8",
                          timeout=120)


def rows(stdout: str) -> dict:
    """name -> (expression text, shape label) for each 'name = expr   (shape)' row."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("verified") or line.startswith("VERIFICATION") or \
                line.startswith("steps"):
            break  # the summary ends here; derivation steps may follow
        hit = ROW.match(line)
        if hit:
            out[hit.group(1)] = (hit.group(2), hit.group(3))
    return out


def read_back(stdout: str, shapes: str) -> dict:
    """The --ascii report parsed as a program: every named row as an expression."""
    named = rows(stdout)
    loss = next(iter(named))
    body = [f"{k} = {v}" for k, (v, _) in named.items() if k != loss]
    prog = mg.parse_program("; ".join(body + [f"{loss} = {named[loss][0]}"]), shapes)
    return {**prog.definitions, loss: prog.result}


def example_values(rng, mm=6, nn=4):
    return {"X": rng.standard_normal((mm, nn)), "w": rng.standard_normal(nn),
            "b": float(rng.standard_normal()), "y": rng.standard_normal(mm)}


def example_closed_forms(v):
    z = v["X"] @ v["w"] + v["b"]
    g = 2 / len(v["y"]) * (z > 0) * (np.maximum(z, 0) - v["y"])
    return {"w": v["X"].T @ g, "b": g.sum(), "X": np.outer(g, v["w"])}


@pytest.mark.parametrize("script", [False, True], ids=["python -m matgrad", "matgrad"])
def test_no_arguments_runs_the_example(script):
    r = matgrad(script=script)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for line in ("∂L/∂w = Xᵀ g", "∂L/∂b = sum(g)", "∂L/∂X = g wᵀ", "g = 2/m · H(z) ⊙ ("):
        assert line in out
    verified = re.search(r"verified numerically: 3 gradients match central finite "
                         r"differences at \d+ random points \(largest relative error "
                         r"([0-9.e+-]+)\)", out)
    assert verified and float(verified.group(1)) < 1e-6
    assert {"L", "z", "g"} <= set(rows(out))


def test_the_example_printed_in_ascii_evaluates_to_the_closed_forms(rng):
    r = matgrad("--ascii")
    assert r.returncode == 0, r.stderr
    got = read_back(r.stdout, "X: m,n; w: n; b: scalar; y: m")
    assert set(got) >= {"dL_dw", "dL_db", "dL_dX", "z", "g", "L"}
    for _ in range(3):
        v = example_values(rng)
        want = example_closed_forms(v)
        for name in "wbX":
            np.testing.assert_allclose(mg.evaluate(got[f"dL_d{name}"], v), want[name],
                                       rtol=1e-10)


def test_expression_with_wrt_and_shapes(rng):
    shapes = "X: m,n; w: n; b: scalar; y: m"
    r = matgrad("sum((relu(X @ w + b) - y)**2) / m", "--wrt", "X,w", "--shape", shapes,
                "--ascii")
    assert r.returncode == 0, r.stderr
    got = read_back(r.stdout, shapes)
    assert "dL_dX" in got and "dL_dw" in got and "dL_db" not in got
    assert rows(r.stdout)["dL_dX"][1] == "m,n" and rows(r.stdout)["dL_dw"][1] == "n"
    v = example_values(rng, 3, 7)
    want = example_closed_forms(v)
    np.testing.assert_allclose(mg.evaluate(got["dL_dX"], v), want["X"], rtol=1e-10)
    np.testing.assert_allclose(mg.evaluate(got["dL_dw"], v), want["w"], rtol=1e-10)


def test_structured_shapes_give_the_projected_gradient(rng):
    """--shape takes a structure; the printed gradient reads back and is the projection
    of the unconstrained one, x yᵀ, onto it."""
    for structure, project in (("lower", np.tril), ("upper", np.triu),
                               ("diagonal", lambda a: np.diag(np.diag(a))),
                               ("spd", lambda a: (a + a.T) / 2)):
        shapes = f"T: n,n {structure}; x: n; y: n"
        r = matgrad("x.T @ T @ y", "--wrt", "T", "--shape", shapes, "--ascii", "--verify")
        assert r.returncode == 0, r.stderr
        assert "verified" in r.stdout, r.stdout
        got = read_back(r.stdout, shapes)
        x, y = rng.standard_normal(4), rng.standard_normal(4)
        np.testing.assert_allclose(mg.evaluate(got["dL_dT"], {"x": x, "y": y}),
                                   project(np.outer(x, y)), rtol=1e-12)
    r = matgrad("x.T @ T @ y", "--shape", "T: m,n lower; x: m; y: n")
    assert r.returncode != 0 and "T is declared lower triangular but is not square" in r.stderr


def test_assignments_and_inferred_shapes(rng):
    r = matgrad("r = A @ x - c; L = r.T @ r", "--shape", "A: m,n; x: n", "--ascii")
    assert r.returncode == 0, r.stderr
    # a note about the input, not part of the result: on standard error
    assert r.stderr == "inferred shapes: c: m\n"
    assert "inferred" not in r.stdout
    got = read_back(r.stdout, "A: m,n; x: n; c: m")
    A, x, c = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(5)
    v = {"A": A, "x": x, "c": c}
    np.testing.assert_allclose(mg.evaluate(got["dL_dx"], v), 2 * A.T @ (A @ x - c))
    np.testing.assert_allclose(mg.evaluate(got["dL_dA"], v), 2 * np.outer(A @ x - c, x))


def test_unicode_is_the_default_and_ascii_is_the_language():
    args = ("trace(inv(A) @ B) + logdet(A)", "--shape", "A: n,n; B: n,n")
    uni, asc = matgrad(*args), matgrad(*args, "--ascii")
    assert uni.returncode == asc.returncode == 0
    assert "⁻" in "".join(v for v, _ in rows(uni.stdout).values())
    grads = {k: v for k, (v, _) in rows(asc.stdout).items() if k.startswith("dL_d")}
    assert set(grads) == {"dL_dA", "dL_dB"}
    for text in grads.values():
        assert text.isascii() and "inv(" in text


def test_latex():
    r = matgrad("trace(inv(A) @ B) + logdet(A)", "--shape", "A: n,n; B: n,n", "--latex")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.lstrip().startswith(r"\begin{aligned}") and r"\end{aligned}" in out
    assert r"\frac{\partial L}{\partial A}" in out and r"\frac{\partial L}{\partial B}" in out
    assert "verified" not in out


def test_latex_with_verify_adds_a_comment_line():
    r = matgrad("trace(inv(A) @ B) + logdet(A)", "--shape", "A: n,n; B: n,n", "--latex",
                "--verify")
    assert r.returncode == 0, r.stderr
    last = r.stdout.rstrip().splitlines()[-1]
    hit = re.match(r"% verified numerically: 2 gradients .*largest relative error "
                   r"([0-9.e+-]+)\)", last)
    assert hit and float(hit.group(1)) < 1e-6


def test_verify_checks_each_gradient():
    r = matgrad("sum(log(softmax(W @ x)) * y)", "--shape", "W: k,n; x: n; y: k", "--verify")
    assert r.returncode == 0, r.stderr
    hit = re.search(r"verified numerically: 3 gradients .*largest relative error "
                    r"([0-9.e+-]+)\)", r.stdout)
    assert hit and float(hit.group(1)) < 1e-6


def test_help_and_version():
    h = matgrad("--help")
    assert h.returncode == 0 and "matgrad" in h.stdout and "derive" in h.stdout
    v = matgrad("--version")
    assert v.returncode == 0 and v.stdout.strip() == f"matgrad {mg.__version__}"
