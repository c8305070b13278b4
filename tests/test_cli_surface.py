"""The command line as a program: help, exit statuses, standard output against standard
error, internal errors, and output into a closed pipe."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from matgrad.cli import COMMANDS, main
from matgrad.example import SHAPES, SOURCE

OPTIONS = ("--wrt", "--shape", "--sizes", "--latex", "--ascii", "--verify", "--steps")


def matgrad(*args, **kw):
    return subprocess.run([sys.executable, "-m", "matgrad", *args], capture_output=True,
                          text=True, encoding="utf-8", timeout=120, check=False, **kw)


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# ---- help ---------------------------------------------------------------------------------


def test_help_lists_every_command_and_every_option_with_examples():
    r = matgrad("--help")
    assert r.returncode == 0 and r.stderr == ""
    out = r.stdout
    assert out.startswith("usage: matgrad [EXPR]")
    commands = out.split("\ncommands:\n")[1].split("\n\n")[0]
    assert [line.split()[0] for line in commands.splitlines()] == list(COMMANDS)
    options = out.split("\noptions:\n")[1].split("\n\n")[0]
    examples = out.split("\nexamples:\n")[1]
    for option in OPTIONS:
        assert re.search(rf"^  {option}\b", options, re.MULTILINE), option
        assert re.search(rf"^ .*{option}\b", examples, re.MULTILINE), option
    for command in ("jacobian", "hessian", "check", "code"):
        assert f"  matgrad {command} " in examples
    # the module's notes for developers are not help
    for internal in ("Subcommands", "module", "dispatch", "holds no mathematics"):
        assert internal not in out
    assert main(["--help"]) == 0  # the same in-process


@pytest.mark.parametrize("command", [c for c in COMMANDS])
def test_each_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0 and err == ""
    assert out.startswith(f"usage: matgrad{'' if command == 'derive' else ' ' + command}")
    examples = out.split("\nexamples:\n")[1]
    assert re.search(rf"^  matgrad {'' if command == 'derive' else command}", examples, re.MULTILINE)


def test_example_help_is_help_and_does_not_run_the_example():
    r = matgrad("example", "--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: matgrad example")
    assert "verified numerically" not in r.stdout and "∂L/∂w" not in r.stdout
    ex = matgrad("example", "--ascii")
    assert ex.returncode == 0 and "dL_dX = g @ w.T" in ex.stdout and ex.stderr == ""


def _into_closed_pipe(*args) -> subprocess.CompletedProcess:
    """Run matgrad with its standard output a pipe whose reader has already gone (as in
    `matgrad --help | head -1` once head has exited)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "matgrad", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120,
                              check=False)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [("--help",), ("jacobian", "--help"),
                                  ("jacobian", "X @ w", "--shape", "X: m,n; w: n"),
                                  ("example",)],
                         ids=["help", "jacobian help", "jacobian", "example"])
def test_a_closed_pipe_is_not_an_error(args):
    r = _into_closed_pipe(*args)
    assert r.stderr == "", r.stderr  # no BrokenPipeError, no traceback
    assert r.returncode == 0


def test_help_into_head():
    r = subprocess.run(f"{sys.executable} -m matgrad --help | head -1", shell=True,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.stdout.startswith("usage: matgrad") and len(r.stdout.splitlines()) == 1
    assert r.stderr == ""


# ---- exit statuses --------------------------------------------------------------------------

BASE = ["check", SOURCE, "--wrt", "X", "--shape", SHAPES, "--claim"]


@pytest.mark.parametrize("argv,status", [
    (["sum(X @ w)", "--shape", "X: m,n; w: n"], 0),
    (["sum(X @ w)", "--shape", "X: m,n; w: n", "--verify"], 0),
    (["jacobian", "X @ w", "--shape", "X: m,n; w: n", "--verify"], 0),
    (["hessian", "sum((X @ w)**2)", "--shape", "X: m,n; w: n", "--wrt", "w", "--verify"], 0),
    (["code", "sum(X @ w)", "--shape", "X: m,n; w: n"], 0),
    (BASE + ["2/m * (heaviside(z) * (yhat - y)) @ w.T"], 0),
    (BASE + ["2/m * w @ (heaviside(z) * (yhat - y)).T"], 1),
    (BASE + ["4/m * (heaviside(z) * (yhat - y)) @ w.T"], 1),
    (["sum(X @ w", "--shape", "X: m,n; w: n"], 2),
    (["jacobian", "X @ v", "--shape", "X: m,n; v: m"], 2),
    (["hessian", "X @ w", "--shape", "X: m,n; w: n"], 2),
    (["code", "X @ w", "--shape", "X: m,n; w: n"], 2),
    (BASE + ["2 * q"], 2),
    (["X @ w", "--shape", "X: m,n; w: n"], 2),
])
def test_exit_status(capsys, argv, status):
    got, out, err = run(capsys, *argv)
    assert got == status, (out, err)
    if status == 2:
        assert out == "" and err.startswith("error: ") and "Traceback" not in err
    else:
        assert out and err == ""


@pytest.mark.parametrize("argv", [["--bogus"], ["jacobian"], ["hessian", "sum(x)", "--order",
                                                              "two"],
                                  ["code", "sum(x)", "--kind", "tensor"], ["check", "sum(x)"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2 and out == "" and err.startswith("usage: matgrad")


def test_a_failed_verification_exits_1(capsys, monkeypatch):
    verify = sys.modules["matgrad.verify"]  # (matgrad.verify is also a function)
    real = verify.check_gradients

    def wrong(*a, **kw):
        result = real(*a, **kw)
        result.errors = {k: 0.5 for k in result.errors}
        return result

    monkeypatch.setattr(verify, "check_gradients", wrong)
    status, out, err = run(capsys, "sum(X @ w)", "--shape", "X: m,n; w: n", "--verify")
    assert status == 1 and "VERIFICATION FAILED" in out and err == ""
    from matgrad.jacobian import Derivative
    monkeypatch.setattr(Derivative, "verify", lambda self, **kw: 1.0)
    status, out, _ = run(capsys, "hessian", "sum(x**4)", "--shape", "x: n", "--verify")
    assert status == 1 and "VERIFICATION FAILED" in out


# ---- internal errors: one line, exit status 2 -----------------------------------------------


@pytest.mark.parametrize("target,argv", [
    ("matgrad.report.report", ["sum(X @ w)", "--shape", "X: m,n; w: n"]),
    ("matgrad.jacobian.jacobian", ["jacobian", "X @ w", "--shape", "X: m,n; w: n"]),
    ("matgrad.jacobian.hessian", ["hessian", "sum(x**2)", "--shape", "x: n"]),
    ("matgrad.codegen.generate_source", ["code", "sum(x**2)", "--shape", "x: n"]),
    ("matgrad.check.check", BASE + ["w"]),
    ("matgrad.cli.derive.parser", ["sum(x)"]),  # outside any command's own guard
])
def test_an_internal_error_is_one_line_and_exits_2(capsys, monkeypatch, target, argv):
    module, name = target.rsplit(".", 1)

    def broken(*a, **kw):
        raise RuntimeError("something broke\nacross two lines")

    monkeypatch.setattr(sys.modules.get(module) or __import__(module, fromlist=[name]), name,
                        broken)
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err == ("internal error: RuntimeError: something broke across two lines -- this "
                   "is a bug in matgrad; please report it with the command that caused it\n")


def test_an_internal_error_in_a_subprocess_has_no_traceback():
    code = ("import sys, matgrad\n"
            "j = sys.modules['matgrad.jacobian']\n"
            "def broken(*a, **k): raise ZeroDivisionError('division by zero')\n"
            "j.jacobian = broken\n"
            "from matgrad.cli import main\n"
            "sys.exit(main(['jacobian', 'X @ w', '--shape', 'X: m,n; w: n']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("internal error: ZeroDivisionError: division by zero")
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr


# ---- standard output against standard error ------------------------------------------------


def test_latex_into_a_file_is_latex(tmp_path):
    path = tmp_path / "f.tex"
    with open(path, "w", encoding="utf-8") as f:
        r = subprocess.run([sys.executable, "-m", "matgrad", "r = A @ x - c; L = r.T @ r",
                            "--shape", "A: m,n; x: n", "--latex", "--verify"], stdout=f,
                           stderr=subprocess.PIPE, text=True, encoding="utf-8", timeout=120,
                           check=False)
    assert r.returncode == 0
    assert r.stderr == "inferred shapes: c: m\n"
    tex = path.read_text(encoding="utf-8")
    assert tex.startswith("\\begin{aligned}\n")
    _, after = tex.split("\\end{aligned}\n")
    assert all(line.startswith("% ") for line in after.splitlines())
    from .latex_engine import compile_fragments
    assert compile_fragments([tex]) == [None]


def test_the_example_in_latex_has_its_heading_as_comments(capsys):
    status, out, err = run(capsys, "example", "--latex")
    assert status == 0 and err == ""
    lines = [x for x in out.splitlines() if x.strip()]
    assert all(x.startswith("% ") for x in lines[:3])
    assert lines[0] == "% matgrad: the built-in example, a one-layer ReLU network"
    assert lines[3] == "\\begin{aligned}"
    for x in lines:  # the text lines of the plain output are comments here
        assert not x.startswith(("matgrad", "verified", "steps for", "  ")), x


def test_notes_go_to_stderr_and_results_to_stdout(capsys):
    for argv in (["sum(x - c)", "--shape", "x: n"],
                 ["jacobian", "x * c", "--shape", "x: n"],
                 ["hessian", "sum((x - c)**2)", "--shape", "x: n", "--wrt", "x"],
                 ["code", "sum((x - c)**2)", "--shape", "x: n"]):
        status, out, err = run(capsys, *argv)
        assert status == 0, err
        assert err == "inferred shapes: c: n\n"
        assert "inferred" not in out
