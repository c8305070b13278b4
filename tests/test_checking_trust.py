"""Numeric checking that can be trusted: random points that honour the domain, tolerances
scaled to the magnitudes involved, a verdict in every case, and sizes settable everywhere.

Every expectation is numeric: gradients are compared with entrywise central differences
computed here, at random points where the dimensions have different sizes.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import matgrad as mg
from matgrad.check import VERDICTS
from matgrad.cli import main
from matgrad.errors import DomainError, LimitError, MatgradError, ParseError, ShapeError
from matgrad.numeric import evaluate_2d
from matgrad.printing.text import to_text
from matgrad.verify import MAX_CONDITION, parse_sizes, sample

from .strategies import expressions

m, n, k = mg.dims("m n k")


def claim_of(g) -> str:
    return to_text(g, unicode=False)


def entrywise_fd(L, values, sizes, name, h=1e-6) -> np.ndarray:
    """∂L/∂x by central differences, entry by entry (independent of matgrad.verify)."""
    X = values[name]
    out = np.zeros_like(X)
    for idx in np.ndindex(*X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        up, down = dict(values), dict(values)
        up[name], down[name] = X + E, X - E
        out[idx] = (evaluate_2d(L, up, sizes)[0, 0] - evaluate_2d(L, down, sizes)[0, 0]) / (2 * h)
    return out


def assert_gradient_at_sampled_points(L, x, points=2, seed=0, sizes=None):
    """At points drawn by `sample`: sizes are distinct, the gradient is finite and equals
    entrywise central differences."""
    g = mg.grad(L, x)
    rng = np.random.default_rng(seed)
    for _ in range(points):
        values, sz = sample([L, g], rng, sizes)
        if sizes is None:
            assert len(set(sz.values())) == len(sz), sz  # a transpose cannot hide
        G = np.broadcast_to(evaluate_2d(g, values, sz), values[x.name].shape)
        fd = entrywise_fd(L, values, sz, x.name)
        np.testing.assert_allclose(G, fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())
    return values, sz


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# ---- 1. random points honour the domain --------------------------------------------------

X = mg.matrix("X", m, n)
W, A, B = mg.matrix("W", n, k), mg.matrix("A", n, n), mg.matrix("B", n, n)
TRACE_RATIO = mg.trace(mg.inv(W.T @ B @ W) @ (W.T @ A @ W))

GRAM_CASES = {
    "logdet(XᵀX)": (mg.logdet(X.T @ X), X),
    "logdet(X Xᵀ)": (mg.logdet(X @ X.T), X),
    "trace ratio": (TRACE_RATIO, W),
    "inv(WᵀBW) for B": (mg.sum(mg.inv(W.T @ B @ W)), B),
    "det(XᵀX)": (mg.log(mg.det(X.T @ X)), X),
}


@pytest.mark.parametrize("case", list(GRAM_CASES), ids=list(GRAM_CASES))
def test_gram_matrices_are_full_rank_at_the_points_drawn(case):
    L, x = GRAM_CASES[case]
    values, sz = assert_gradient_at_sampled_points(L, x)
    for node in mg.expr.walk(L):
        if node.op in ("inv", "logdet", "det"):
            arg = evaluate_2d(node.children[0], values, sz)
            assert np.linalg.cond(arg) <= MAX_CONDITION
    report = mg.verify(L, [x])
    assert report.ok, str(report)
    assert mg.check(L, x, claim_of(mg.grad(L, x))).verdict == "correct"


def test_the_sizes_follow_the_gram_matrix():
    """XᵀX (n×n) needs m ≥ n, X Xᵀ needs n ≥ m: the sampler finds the order each needs."""
    _, sz = sample([mg.logdet(X.T @ X)], np.random.default_rng(0))
    assert sz[m] > sz[n]
    _, sz = sample([mg.logdet(X @ X.T)], np.random.default_rng(0))
    assert sz[n] > sz[m]
    _, sz = sample([TRACE_RATIO], np.random.default_rng(0))
    assert sz[n] > sz[k]


def test_positive_values_under_log_and_sqrt_and_positive_definite_forms():
    x, y, z = mg.vector("x", n), mg.vector("y", m), mg.vector("z", n)
    u = mg.vector("u", m)
    S = mg.matrix("S", n, n, symmetric=True)
    L = mg.sum(mg.log(x)) + mg.sqrt(mg.sum(y)) + mg.sqrt(z.T @ S @ z) + mg.sum(u ** 3)
    rng = np.random.default_rng(3)
    negative_seen = False
    for _ in range(5):
        values, _ = sample([L], rng)
        assert (values["x"] > 0).all() and (values["y"] > 0).all()
        assert np.linalg.eigvalsh(values["S"]).min() > 0
        assert (values["z"].T @ values["S"] @ values["z"]).item() > 0
        negative_seen |= bool((values["u"] < 0).any())  # u needs no positive values
    assert negative_seen
    for v in (x, y, z, S, u):
        assert_gradient_at_sampled_points(L, v, points=1)
    assert mg.verify(L, [x, y, z, S, u]).ok


def test_points_outside_the_domain_are_drawn_again():
    """logdet(diag(x)) is defined only where the product of the entries of x is positive
    (half of the normal draws): every point returned is inside."""
    x = mg.vector("x", n)
    L = mg.logdet(mg.diag(x))
    rng = np.random.default_rng(0)
    for _ in range(10):
        values, _ = sample([L], rng, {"n": 7})
        assert np.prod(values["x"]) > 0
    assert mg.verify(L, [x], sizes={"n": 7}).ok
    assert_gradient_at_sampled_points(L, x, points=2, sizes={"n": 7})


def test_sizes_given_are_kept_exactly():
    L = mg.logdet(X.T @ X)
    for fixed in ({m: 9, n: 2}, {"m": 5, "n": 4}):
        rng = np.random.default_rng(1)
        for _ in range(3):
            _, sz = sample([L], rng, fixed)
            assert {d.name: v for d, v in sz.items()} == {str(d): v for d, v in fixed.items()}


# ---- 2. tolerances scaled to the magnitudes ----------------------------------------------

x, y = mg.vector("x", n), mg.vector("y", n)
RBF = mg.exp(-mg.sum((x - y) ** 2))


@pytest.mark.parametrize("scale", [1e-30, 1e-8, 1.0, 1e30])
def test_rbf_kernel_judged_the_same_at_every_scale(scale):
    L = scale * RBF * mg.exp(-3 * mg.sum(x ** 2))  # values down to ~1e-40 at the points
    g = mg.grad(L, x)
    assert_gradient_at_sampled_points(L, x, points=1)
    assert mg.check(L, x, claim_of(g)).verdict == "correct"
    assert mg.check(L, x, f"1.001 * ({claim_of(g)})").verdict == "wrong-value"
    assert mg.check(L, x, f"(1 + 1e-6) * ({claim_of(g)})").verdict == "wrong-value"
    assert mg.verify(L, [x]).ok
    assert not mg.verify(L, [x], [1.001 * g]).ok


def test_terms_that_cancel_set_the_rounding_scale():
    """A correct claim computed as the difference of terms 10⁸ times larger than itself
    is correct; 1.001 times it is still wrong; one whose terms cancel so much that
    rounding would hide an error of 10⁻⁴ is undetermined, never correct."""
    L = 3e-9 * mg.sum(x * y)
    assert mg.check(L, x, "(x + 3e-9 * y) - x").verdict == "correct"
    assert mg.check(L, x, "(x + 3.003e-9 * y) - x").verdict == "wrong-value"
    assert mg.check(L, x, "3e-9 * y").verdict == "correct"
    r = mg.check(L, x, "(1e6 * x + 3e-9 * y) - 1e6 * x")
    assert r.verdict == "undetermined" and "cancel" in r.message
    assert mg.check(L, x, "(1e6 * x + 3e-7 * y) - 1e6 * x").verdict == "wrong-value"


PROPERTY = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@PROPERTY
@given(expressions(max_depth=5))
def test_the_true_gradient_is_correct_and_a_factor_off_is_wrong(case):
    L = case.expr
    v = case.variables[0]
    text = claim_of(mg.grad(L, v))
    assert mg.check(L, v, text).verdict == "correct", (case.text, text)
    # a gradient that is zero at the points cannot be off by a factor
    assume(mg.check(L, v, f"0 * {v.name}").verdict != "correct")
    r = mg.check(L, v, f"1.001 * ({text})")
    assert r.verdict == "wrong-value", (case.text, text, r.message)


# ---- 3. always a verdict -------------------------------------------------------------------


def test_a_singular_trace_ratio_is_undetermined_not_an_exception():
    claim = claim_of(mg.grad(TRACE_RATIO, W))
    r = mg.check(TRACE_RATIO, W, claim, sizes={"n": 3, "k": 4})  # WᵀBW is 4×4 of rank 3
    assert r.verdict == "undetermined" and not r.ok
    assert "singular" in r.message and "n = 3, k = 4" in r.message
    assert "The correct answer" in r.message
    with pytest.raises(DomainError, match="singular"):
        mg.verify(TRACE_RATIO, [W], sizes={"n": 3, "k": 4})
    # at sizes where it is defined, the same claim is correct, checked numerically
    assert mg.check(TRACE_RATIO, W, claim, sizes={"n": 6, "k": 2}).verdict == "correct"
    assert_gradient_at_sampled_points(TRACE_RATIO, W, points=1, sizes={"n": 6, "k": 2})


def test_undetermined_is_a_documented_verdict():
    import importlib
    check_module = importlib.import_module("matgrad.check")
    assert "undetermined" in VERDICTS
    assert '"undetermined"' in check_module.__doc__
    L = mg.logdet(X.T @ X) + mg.logdet(X @ X.T)  # defined only where m = n
    r = mg.check(L, X, claim_of(mg.grad(L, X)))
    assert r.verdict == "undetermined" and "singular" in r.message
    assert mg.check(L, X, claim_of(mg.grad(L, X)), sizes={"m": 4, "n": 4}).verdict == \
        "correct"


def test_a_claim_undefined_where_the_gradient_is_defined_is_a_wrong_value():
    L = mg.logdet(X.T @ X)
    r = mg.check(L, X, "2 * inv(X @ X.T) @ X")  # X Xᵀ is singular wherever XᵀX is not
    assert r.verdict == "wrong-value" and "not defined" in r.message


def test_verify_raises_only_matgrad_errors():
    B2 = mg.matrix("B", n, n)
    for L, wrt in [(mg.log(mg.logdet(B2) - 1e6), [B2]),
                   (mg.logdet(X.T @ X) + mg.logdet(X @ X.T), [X])]:
        with pytest.raises(DomainError, match="could not find a random point") as err:
            mg.verify(L, wrt)
        assert isinstance(err.value, MatgradError)


def test_cli_undetermined_exits_1(capsys):
    code, out, _ = run(capsys, "check", "trace(inv(W.T @ B @ W) @ (W.T @ A @ W))",
                       "--wrt", "W", "--shape", "W: n,k; A: n,n; B: n,n",
                       "--claim", "A @ W", "--sizes", "n=3, k=4")
    assert code == 1 and out.startswith("verdict: undetermined") and "singular" in out


# ---- 4. sizes settable everywhere ------------------------------------------------------------

LSQ = mg.sum((X @ mg.vector("w", n) - mg.vector("y", m)) ** 2)


@pytest.mark.parametrize("sizes", [{"m": 7, "n": 5}, {m: 7, n: 5}, "m=7, n=5", "n=5;m = 7"])
def test_check_and_verify_take_sizes(sizes):
    wrong = mg.check(LSQ, X, "(X @ w - y) @ w.T", sizes=sizes)
    assert wrong.verdict == "wrong-value"
    assert wrong.counterexample.sizes == {"m": 7, "n": 5}
    assert wrong.counterexample.point["X"].shape == (7, 5)
    assert "m = 7, n = 5" in wrong.message
    assert mg.check(LSQ, X, "2 * (X @ w - y) @ w.T", sizes=sizes).verdict == "correct"
    report = mg.verify(LSQ, [X], sizes=sizes)
    assert report.ok and report.sizes == {"m": 7, "n": 5}
    assert_gradient_at_sampled_points(LSQ, X, points=1, sizes=parse_sizes(sizes))


def test_partial_sizes_keep_the_rest_distinct():
    _, sz = sample([mg.logdet(X.T @ X)], np.random.default_rng(0), {"m": 8})
    assert sz[m] == 8 and sz[n] not in (8,) and sz[n] < 8


@pytest.mark.parametrize("text,kind,column,width", [
    ("q=3", ParseError, 0, 1),
    ("m=7, q=3", ParseError, 5, 1),
    ("m=0", ParseError, 2, 1),
    ("m=-2", ParseError, 2, 2),
    ("m=2.5", ParseError, 2, 3),
    ("m=", ParseError, 0, 2),
    ("m 7", ParseError, 0, 3),
    ("m=7 n=5", ParseError, 2, 5),
    ("m=3, m=4", ParseError, 5, 1),
    ("3=4", ParseError, 0, 1),
    ("m=1001", LimitError, 2, 4),
    ("m=" + "9" * 5000, LimitError, 2, 5000),
])
def test_bad_sizes_text_points_at_the_column(text, kind, column, width):
    with pytest.raises(kind) as err:
        mg.check(LSQ, X, "2 * (X @ w - y) @ w.T", sizes=text)
    assert err.value.source == text and err.value.column == column
    assert err.value.width == width
    assert "^" in str(err.value)


@pytest.mark.parametrize("sizes,kind", [({"q": 3}, ShapeError), ({"m": 0}, ShapeError),
                                        ({"m": 2.5}, ShapeError), ({"m": 10**6}, LimitError),
                                        ({3: 4}, ShapeError), ([("m", 3)], ShapeError)])
def test_bad_sizes_mapping_is_an_error(sizes, kind):
    with pytest.raises(kind):
        mg.check(LSQ, X, "2 * (X @ w - y) @ w.T", sizes=sizes)
    with pytest.raises(kind):
        mg.verify(LSQ, [X], sizes=sizes)


def test_cli_sizes(capsys):
    base = ["check", "sum((X @ w - y)**2)", "--wrt", "X", "--shape", "X: m,n; w: n",
            "--claim"]
    code, out, _ = run(capsys, *base, "(X @ w - y) @ w.T", "--sizes", "m=7, n=5")
    assert code == 1 and "verdict: wrong-value" in out and "m = 7, n = 5" in out
    code, out, _ = run(capsys, *base, "2 * (X @ w - y) @ w.T", "--sizes", "m=7, n=5")
    assert code == 0 and "m = 7, n = 5" in out
    code, _, err = run(capsys, *base, "2 * (X @ w - y) @ w.T", "--sizes", "m=7, k=5")
    assert code == 2 and "no dimension k" in err and "^" in err
    derive = ["logdet(X.T @ X)", "--shape", "X: m,n"]
    code, out, _ = run(capsys, *derive, "--verify")  # sizes chosen: m > n
    assert code == 0 and "verified numerically" in out
    code, out, _ = run(capsys, *derive, "--verify", "--sizes", "m=9, n=4")
    assert code == 0 and "verified numerically" in out
    code, _, err = run(capsys, *derive, "--verify", "--sizes", "m=3, n=5")
    assert code == 2 and "singular" in err and "Traceback" not in err
    code, _, err = run(capsys, *derive, "--sizes", "m=9, n=4")
    assert code == 2 and "--verify" in err


# ---- the web API and page ----------------------------------------------------------------------


def _web():
    pytest.importorskip("httpx")
    pytest.importorskip("starlette")
    pytest.importorskip("latex2mathml")
    import httpx

    from matgrad.web import create_app
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()),
                             base_url="http://matgrad.test")


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_web_sizes_field():
    async with _web() as c:
        body = {"expr": "sum((X @ w - y)**2)", "shapes": "X: m,n; w: n", "variable": "X"}
        r = await c.post("/api/check", json={**body, "claim": "(X @ w - y) @ w.T",
                                             "sizes": "m=7, n=5"})
        assert r.status_code == 200, r.text
        assert r.json()["verdict"] == "wrong-value" and "m = 7, n = 5" in r.json()["message"]
        r = await c.post("/api/check", json={**body, "claim": "X", "sizes": "m=7, q=5"})
        err = r.json()["error"]
        assert r.status_code == 400 and err["kind"] == "ParseError"
        assert err["field"] == "sizes" and err["column"] == 5
        r = await c.post("/api/check", json={**body, "claim": "X", "sizes": "m=65"})
        assert r.status_code == 400 and r.json()["error"]["kind"] == "LimitError"
        assert r.json()["error"]["field"] == "sizes"
        r = await c.post("/api/check", json={
            "expr": "trace(inv(W.T @ B @ W) @ (W.T @ A @ W))",
            "shapes": "W: n,k; A: n,n; B: n,n", "variable": "W", "claim": "A @ W",
            "sizes": "n=3, k=4"})
        assert r.status_code == 200 and r.json()["verdict"] == "undetermined"
        r = await c.post("/api/derive", json={"expr": "logdet(X.T @ X)", "shapes": "X: m,n",
                                              "sizes": "m=9, n=4"})
        assert r.status_code == 200 and r.json()["verification"]["ok"] is True
        r = await c.post("/api/derive", json={"expr": "logdet(X.T @ X)", "shapes": "X: m,n",
                                              "sizes": "m=3, n=4"})
        v = r.json()["verification"]
        assert r.status_code == 200 and v["ok"] is None and "singular" in v["text"]
        r = await c.post("/api/derive", json={"expr": "logdet(X.T @ X)", "shapes": "X: m,n"})
        assert r.json()["verification"]["ok"] is True
        schema = (await c.get("/api/openapi.json")).json()
        verdict = schema["components"]["schemas"]["Verdict"]["properties"]["verdict"]
        assert "undetermined" in verdict["enum"]


@pytest.mark.browser
def test_page_sizes_input(server):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed")
    if not os.access("/usr/bin/chromium", os.X_OK):
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server)
            page.wait_for_selector("body[data-ready=true]", state="attached")
            page.fill("#expr", "sum((X @ w - y)**2)")
            page.fill("#shapes", "X: m,n; w: n")
            page.fill("#sizes", "m=7, n=5")
            page.click("#derive")
            page.wait_for_selector("#result-panel:not([hidden]) #result tr.row-gradient")
            assert "sizes=" in page.get_attribute("#share", "href")
            page.select_option("#check-var", "X")
            page.fill("#claim", "(X @ w - y) @ w.T")
            page.click("#check")
            page.wait_for_selector("#verdict .verdict[data-verdict=wrong-value]")
            assert "m = 7, n = 5" in page.text_content("#verdict .explanation")
            page.fill("#sizes", "m=7, q=5")
            page.click("#derive")
            page.wait_for_selector("#sizes-error:not([hidden])")
            assert page.text_content("#sizes-error mark") == "q"
            assert not errors, errors
        finally:
            browser.close()
