"""The command line: `--steps`, the demo's steps, and `matgrad check`."""
from __future__ import annotations

from matgrad.cli import main
from matgrad.example import SHAPES, SOURCE


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_demo_shows_the_steps_of_each_gradient(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    for v in ("w", "b", "X"):
        assert f"steps for ∂L/∂{v}" in out
    assert "g wᵀ : dX" in out and "Xᵀ g : dw" in out and "sum(g) : db" in out
    assert "(A : BC = A Cᵀ : B)" in out
    assert "verified numerically" in out


def test_steps_flag(capsys):
    code, out, _ = run(capsys, "trace(A @ B)", "--wrt", "A", "--shape", "A: n,k; B: k,n",
                       "--steps")
    assert code == 0
    assert "steps for ∂L/∂A" in out and "dL = tr(dA B)" in out and "Bᵀ : dA" in out
    code, out, _ = run(capsys, "trace(A @ B)", "--wrt", "A", "--shape", "A: n,k; B: k,n")
    assert "steps for" not in out
    code, out, _ = run(capsys, "trace(A @ B)", "--wrt", "A", "--shape", "A: n,k; B: k,n",
                       "--steps", "--latex")
    assert r"\begin{aligned}" in out and r"\mathrm{d}A" in out


def test_steps_are_checked_and_a_failing_line_is_marked(capsys, monkeypatch):
    code, out, _ = run(capsys, "trace(A @ B)", "--wrt", "A", "--shape", "A: n,k; B: k,n",
                       "--steps", "--sizes", "n=2, k=5")
    assert code == 0 and "every line checked numerically" in out
    from matgrad.steps import Derivation
    monkeypatch.setattr(Derivation, "verify",
                        lambda self, **kw: [0.0] * (len(self.steps) - 1) + [0.5])
    code, out, _ = run(capsys, "trace(A @ B)", "--wrt", "A", "--shape", "A: n,k; B: k,n",
                       "--steps")
    assert code == 1
    assert "DOES NOT HOLD" in out.splitlines()[-2] and "lines do not hold" in out


def test_check_verdicts_and_exit_status(capsys):
    base = ["check", SOURCE, "--wrt", "X", "--shape", SHAPES, "--claim"]
    code, out, _ = run(capsys, *base, "2/m * (heaviside(z) * (yhat - y)) @ w.T")
    assert code == 0 and out.startswith("verdict: correct")
    code, out, _ = run(capsys, *base, "2/m * (yhat - y).T @ diag(heaviside(z)) @ w")
    assert code == 1 and "verdict: wrong-shape" in out
    assert "(1×m)(m×m) times n×1: inner dimensions m and n differ" in out
    assert "third-order tensor" in out
    code, out, _ = run(capsys, *base, "2/m * w @ (heaviside(z) * (yhat - y)).T")
    assert code == 1 and "verdict: transposed" in out
    code, out, _ = run(capsys, *base, "4/m * (heaviside(z) * (yhat - y)) @ w.T")
    assert code == 1 and "verdict: wrong-value" in out and "Counterexample" in out


def test_check_bad_input_is_a_message(capsys):
    code, out, err = run(capsys, "check", SOURCE, "--wrt", "X", "--shape", SHAPES,
                         "--claim", "2 * q")
    assert code == 2 and err.startswith("error: the claim uses q") and "^" in err
    assert "Traceback" not in err
