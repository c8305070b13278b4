"""Hostile and malformed input: every attempt either works or raises a MatgradError with
a clear message. Never a RecursionError, MemoryError, another exception or a hang, and no
path from text to eval/exec, attribute access or imports."""
from __future__ import annotations

import builtins
import contextlib
import signal
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad.parser import MAX_DEPTH, MAX_LENGTH
from matgrad.printing.text import to_text

SHAPES = {"X": "m,n", "A": "n,n", "x": "n", "y": "m", "a": "scalar"}
HANG = 120  # seconds after which a call counts as hung (a guard, not a speed test)


@contextlib.contextmanager
def no_hang(seconds: int = HANG):
    """Fail, rather than wait forever, if the body runs longer than `seconds`."""
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - not on this platform
        yield
        return

    def hung(signum, frame):
        raise AssertionError(f"no answer after {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def outcome(f):
    """f()'s value, or the MatgradError it raised; anything else fails the test."""
    with no_hang():
        try:
            return f()
        except mg.MatgradError as err:
            assert str(err).strip(), "an error without a message"
            return err


def parse_outcome(text, shapes=SHAPES):
    return outcome(lambda: mg.parse(text, shapes))


def assert_parse_error(text, *words, shapes=SHAPES):
    got = parse_outcome(text, shapes)
    assert isinstance(got, mg.MatgradError), f"{text[:60]!r} parsed to {got}"
    for w in words:
        assert w in str(got), (str(got), w)
    return got


# ---- random text --------------------------------------------------------------------

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(data):
    for text in (data.decode("latin-1"), data.decode("utf-8", "replace")):
        parse_outcome(text)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("XAxya()[]{}@*+-/.T ,_=:;'\"\\0123456789e"
                                              "sumtracedlogexpinv\n\t")), max_size=80))
def test_random_language_like_text_never_crashes(text):
    got = parse_outcome(text)
    if isinstance(got, mg.Expr):  # whatever parses must also differentiate and print
        if got.shape == (1, 1):
            for v in mg.expr.variables(got):
                outcome(lambda: mg.grad(got, v))
        outcome(lambda: to_text(got))


# ---- malformed text -----------------------------------------------------------------

@pytest.mark.parametrize("text", ["sum((x)", "sum(x))", "(((x", "x)))", "[x", "x]", "{x",
                                  "x}", "(x]", "inv(A", "X @ (x"])
def test_unbalanced_brackets_point_at_the_column(text):
    err = assert_parse_error(text)
    assert "^" in str(err)


@pytest.mark.parametrize("text", ["", "   ", "\n", "# a comment", "x +", "@ x", "x @@ x",
                                  "x ** ** 2", "sum(axis=1)", "sum(x, axis=2)",
                                  "sum(x, axis=x)", "mean(axis=0)", "eye(0)", "ones(-1)", "zeros(m, 1.5)",
                                  "x = ", "1 = x", "x.T.", "x..T", "\x00", "x\x00",
                                  "\ufeffx", "é", "x ; ; x", "\\"])
def test_malformed_text_is_a_matgrad_error(text):
    assert_parse_error(text)


# ---- huge numbers and long names ------------------------------------------------------

def test_huge_numbers_are_errors_or_work():
    assert_parse_error("x * 1e400", "too large")
    assert_parse_error("x * " + "9" * 5000)
    big = parse_outcome("sum(x ** 99999999999999999999)")
    assert isinstance(big, mg.Expr)
    g = outcome(lambda: mg.grad(big, "x"))
    assert isinstance(g, mg.Expr)
    # the value overflows to inf: a number, not an exception
    value = outcome(lambda: mg.evaluate(big, {"x": np.full(3, 2.0)}))
    assert value == np.inf
    powered = parse_outcome("x * 10 ** 400")
    assert isinstance(powered, mg.Expr)
    outcome(lambda: mg.evaluate(powered, {"x": np.ones(3)}))
    outcome(lambda: mg.simplify(powered))


def test_very_long_names():
    name = "a" * 90_000
    got = parse_outcome(f"{name} * x")
    assert isinstance(got, mg.Expr)
    assert name in to_text(got, unicode=False)
    g = outcome(lambda: mg.grad(mg.sum(got), name))
    assert isinstance(g, mg.Expr)
    err = assert_parse_error("b" * (MAX_LENGTH + 1))
    assert isinstance(err, mg.LimitError) and str(MAX_LENGTH) in str(err)


def test_text_longer_than_the_limit_is_refused():
    err = assert_parse_error("x + " * (MAX_LENGTH // 4) + "x")
    assert isinstance(err, mg.LimitError)


# ---- deep nesting ------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "(" * 10_000 + "x" + ")" * 10_000,
    "-" * 10_000 + "x",
    "+".join(["x"] * 10_000),
    "*".join(["x"] * 10_000),
    "tanh(" * 10_000 + "x" + ")" * 10_000,
    "inv(" * 10_000 + "A" + ")" * 10_000,
    "x" + ".T" * 10_000,
    "2 ** " * 10_000 + "2",
])
def test_ten_thousand_levels_are_refused_cleanly(text):
    err = assert_parse_error(text)
    assert isinstance(err, (mg.LimitError, mg.ParseError))


@pytest.mark.parametrize("op", ["+", "*", "-", "/"])
def test_nesting_up_to_the_limit_works_end_to_end(op):
    """A chain just under MAX_DEPTH parses, differentiates, simplifies, prints and
    evaluates; one deeper is a LimitError."""
    n = MAX_DEPTH - 5
    L = parse_outcome("sum(" + op.join(["x"] * n) + ")")
    assert isinstance(L, mg.Expr), L
    g = outcome(lambda: mg.grad(L, "x"))
    assert isinstance(g, mg.Expr), g
    for e in (L, g):
        assert isinstance(outcome(lambda: to_text(e)), str)
    value = outcome(lambda: mg.evaluate(g, {"x": np.full(4, 1.0)}, {"n": 4}))
    assert np.all(np.isfinite(value)), value
    deep = assert_parse_error("sum(" + op.join(["x"] * (MAX_DEPTH + 50)) + ")")
    assert isinstance(deep, mg.LimitError)


def test_ten_thousand_levels_built_in_python():
    """Expressions built with the API are not limited by the parser: a 10 000-level
    chain of negations, sums and double transposes differentiates, simplifies, prints
    and evaluates."""
    n = mg.dims("n")[0]
    x = mg.vector("x", n)
    e, c = x, 1  # e = c x throughout
    for i in range(10_000):
        e, c = ((e + x).T.T, c + 1) if i % 2 else (-e, -c)
    L = mg.sum(e)
    assert L.depth > 10_000
    g = outcome(lambda: mg.grad(L, x))
    assert isinstance(g, mg.Expr), g
    assert np.allclose(outcome(lambda: mg.evaluate(g, {"x": np.ones(4)}, {"n": 4})), c)
    assert outcome(lambda: mg.evaluate(L, {"x": np.ones(4)})) == pytest.approx(4.0 * c)
    assert isinstance(outcome(lambda: to_text(L)), (str, mg.LimitError))


def test_deep_chain_of_functions_differentiates_without_recursion():
    """The reverse pass is iterative: 5 000 nested tanh give the chain-rule product."""
    n = mg.dims("n")[0]
    x = mg.vector("x", n)
    e = x
    for _ in range(5_000):
        e = mg.tanh(e)
    (g,) = outcome(lambda: mg.gradients(mg.sum(e), [x], simplify=False))
    at = np.array([0.3, -0.2, 0.1, 0.5])
    want, y = np.ones(4), at
    for _ in range(5_000):
        y = np.tanh(y)
        want = want * (1 - y ** 2)
    assert np.allclose(outcome(lambda: mg.evaluate(g, {"x": at})), want)


# ---- expressions that would blow up if expanded naively ------------------------------------

def test_product_of_200_factors():
    factors = [f"x{i}" for i in range(200)]
    shapes = {f: "n" for f in factors}
    L = parse_outcome("sum(" + " * ".join(factors) + ")", shapes)
    assert isinstance(L, mg.Expr), L
    some = factors[::40]
    grads = outcome(lambda: mg.gradients(L, some))
    assert isinstance(grads, list) and len(grads) == len(some)
    rng = np.random.default_rng(0)
    values = {f: 1 + 0.01 * rng.standard_normal(3) for f in factors}
    prod = np.prod([values[f] for f in factors], axis=0)
    for f, g in zip(some, grads):
        assert np.allclose(mg.evaluate(g, values), prod / values[f])


def test_product_of_200_matrices():
    L = parse_outcome("trace(" + " @ ".join(["A"] * 200) + ")")
    g = outcome(lambda: mg.grad(L, "A"))
    assert isinstance(g, mg.Expr), g
    A = np.eye(4) + 0.01 * np.random.default_rng(1).standard_normal((4, 4))
    want = 200 * np.linalg.matrix_power(A, 199).T  # ∂ tr(A²⁰⁰)/∂A = 200 (A¹⁹⁹)ᵀ
    assert np.allclose(mg.evaluate(g, {"A": A}), want)


@pytest.mark.parametrize("depth", [99, 100])
def test_inverse_of_inverse_100_deep(depth):
    L = parse_outcome("trace(" + "inv(" * depth + "A" + ")" * depth + " @ X.T @ X)",
                      {"A": "n,n", "X": "m,n"})
    assert isinstance(L, mg.Expr), L
    check = outcome(lambda: mg.verify(L, ["A", "X"]))
    assert check.ok, str(check)
    assert isinstance(outcome(lambda: mg.simplify(L)), mg.Expr)


# ---- no path to eval, exec, attributes or imports -------------------------------------------

@pytest.mark.parametrize("text", [
    "__import__('os')",
    "__import__('os').system('echo hacked')",
    "X.__class__",
    "X.__class__.__mro__",
    "x.T.__dict__",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 1",
    "(lambda x: x)(X)",
    "[x for x in X]",
    "{x: 1 for x in X}",
    "(x for x in X)",
    "f'{X}'",
    "f'{__import__(\"os\")}'",
    "eval('1')",
    "exec('x = 1')",
    "open('/etc/passwd')",
    "getattr(X, 'T')",
    "globals()",
    "X[0]",
    "X if a else A",
    "x := X",
    "import os",
    "from os import system",
    "del X",
    "X.T = A",
    "assert X",
    "__builtins__",
    "__name__",
    "x.__len__()",
    "'a' * 3",
    "b'x'",
    "...",
    "None",
    "True + X",
    "1j * X",
])
def test_code_is_never_executed(text, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("user text reached eval/exec/open")

    imported = []
    real_import = builtins.__import__

    def watch_import(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    for name in ("eval", "exec", "open"):
        monkeypatch.setattr(builtins, name, refuse)
    monkeypatch.setattr(builtins, "__import__", watch_import)
    try:
        err = assert_parse_error(text)
    finally:
        monkeypatch.undo()
    assert isinstance(err, mg.ParseError)
    assert not {"os", "posix", "subprocess"} & set(imported), imported
    assert "Traceback" not in str(err)


def test_the_parser_has_no_call_to_eval_exec_or_import():
    """The modules that read text call none of eval, exec, compile or __import__
    (checked on their source); text is read with ast.parse and walked over a whitelist."""
    import ast as python_ast
    import inspect

    import matgrad.parser
    import matgrad.shapespec
    for module in (matgrad.parser, matgrad.shapespec):
        tree = python_ast.parse(inspect.getsource(module))
        called = {node.func.id for node in python_ast.walk(tree)
                  if isinstance(node, python_ast.Call) and isinstance(node.func, python_ast.Name)}
        assert not called & {"eval", "exec", "compile", "__import__"}, module


# ---- hostile shapes --------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", ["X: m,n,k", "X: 0,n", "X: -1", "X: m;X: n", "X m,n",
                                    ": m", "X: m,n symmetric", "__class__: n", "X: 1e9,n",
                                    {"X": object()}, {"X": (1, 2, 3)}, {1: "n"}, 42])
def test_hostile_shape_declarations(shapes):
    got = outcome(lambda: mg.parse("sum(X)", shapes))
    assert isinstance(got, mg.MatgradError), got


def test_recursion_limit_is_restored():
    before = sys.getrecursionlimit()
    parse_outcome("sum(" + "+".join(["x"] * 900) + ")")
    parse_outcome("-" * 10_000 + "x")
    assert sys.getrecursionlimit() == before


@pytest.mark.parametrize("text", ["\rÜ", "x\r+", "x +\r\ny", "\r\r(x"])
def test_carriage_returns_end_lines_as_python_reads_them(text):
    """Python ends a line at \\r as well as \\n: positions must agree with it."""
    got = parse_outcome(text)
    assert isinstance(got, (mg.Expr, mg.MatgradError))
