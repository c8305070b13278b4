"""The web API, endpoint by endpoint: answers, errors with their columns, and limits.

The app runs in-process (httpx's ASGI transport); the last test starts `matgrad serve`.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import matgrad

from .web_client import assert_error, client_for, require

httpx = require("httpx")
require("starlette")
require("latex2mathml")

from matgrad.example import SHAPES, SOURCE, WRT  # noqa: E402
from matgrad.printing.mathml import to_mathml  # noqa: E402
from matgrad.web import Limits, create_app  # noqa: E402
from matgrad.web.app import API  # noqa: E402
from matgrad.web.markdown import to_html  # noqa: E402

pytestmark = pytest.mark.anyio

LSQ = "sum((X @ w - y)**2)"          # ∂/∂X = 2 r wᵀ, ∂/∂w = 2 Xᵀ r with r = X w − y
LSQ_SHAPES = "X: m,n; w: n"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def client():
    async with client_for(create_app()) as c:
        yield c


# ---- the page and its files -------------------------------------------------------------


async def test_page_is_self_contained(client):
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    refs = re.findall(r'(?:src|href)="([^"]*)"', r.text)
    assert refs, "the page links its script and style sheet"
    for ref in refs:  # nothing from elsewhere: same-origin paths or inline data only
        assert ref == "" or ref.startswith(("/", "data:")), ref
    for name in ("page.js", "theme.js", "page.css"):
        f = await client.get(f"/static/{name}")
        assert f.status_code == 200 and f.text
        assert not re.search(r"https?://", f.text), f"{name} refers to another site"
    assert (await client.get("/static/../app.py")).status_code == 404
    assert (await client.get("/static/nothing.js")).status_code == 404


async def test_openapi_describes_every_route(client):
    schema = (await client.get("/api/openapi.json")).json()
    assert schema["openapi"].startswith("3.")
    served = {route.path for route in create_app().routes}
    expected = {"/", "/static/{name}", "/api/openapi.json", "/api/example",
                "/api/features", "/api/gallery"} | {f"/api/{name}" for name in API}
    assert set(schema["paths"]) == served == expected
    for name, (_, accepted, required) in API.items():
        body = schema["paths"][f"/api/{name}"]["post"]["requestBody"]["content"][
            "application/json"]["schema"]
        assert set(body["properties"]) == set(accepted)
        assert set(body["required"]) == set(required)
    for path in expected - {"/", "/static/{name}"} - {f"/api/{n}" for n in API}:
        assert (await client.get(path)).status_code == 200
    # every $ref resolves
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(schema))
    assert refs and all(ref in schema["components"]["schemas"] for ref in refs)


async def test_example_and_features(client):
    assert (await client.get("/api/example")).json() == {
        "expr": SOURCE, "shapes": SHAPES, "wrt": ",".join(WRT)}
    features = (await client.get("/api/features")).json()
    assert features["steps"]["available"] == hasattr(matgrad, "derive")
    assert features["check"]["available"] == hasattr(matgrad, "check")
    for name, f in features.items():
        assert isinstance(f["available"], bool)
        assert (f["message"] is None) == f["available"], name
    assert features["code"]["backends"] == ["numpy", "jax", "torch"]


# ---- parse and derive -------------------------------------------------------------------


async def test_parse_infers_undeclared_shapes(client):
    r = await client.post("/api/parse", json={"expr": LSQ, "shapes": LSQ_SHAPES})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["shapes"] == "X: m,n; w: n; y: m"
    assert out["inferred"] == ["y"]
    assert {v["name"]: v["shape"] for v in out["variables"]} == {"X": "m×n", "w": "n",
                                                                 "y": "m"}


async def test_structured_declarations_come_back_and_give_their_gradients(client):
    """Each structure reaches the web page's shapes (so a reload keeps it), its gradient
    is projected and checked on the server, and a non-square one is an error in shapes."""
    shapes = "L: n,n lower; P: n,n spd; D: n,n diagonal; x: n"
    expr = "x.T @ L @ D @ x + logdet(P)"
    r = await client.post("/api/parse", json={"expr": expr, "shapes": shapes})
    assert r.status_code == 200, r.text
    assert r.json()["shapes"] == shapes
    r = await client.post("/api/derive", json={"expr": expr, "shapes": shapes,
                                               "wrt": "L,D"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["verification"]["ok"] is True, out["verification"]
    texts = {row["name"]: row["right_code"] for row in out["rows"]
             if row["kind"] == "gradient"}
    assert texts["L"].startswith("tril(") and texts["D"].startswith("diag(diag("), texts
    r = await client.post("/api/derive", json={"expr": expr, "shapes": "L: m,n lower",
                                               "wrt": "L"})
    err = assert_error(r, 400, "ShapeError", "shapes")
    assert "L is declared lower triangular but is not square" in err["message"]


async def test_derive_example(client):
    r = await client.post("/api/derive", json={"expr": SOURCE, "shapes": SHAPES,
                                               "wrt": ",".join(WRT)})
    assert r.status_code == 200, r.text
    out = r.json()
    gradients = [row for row in out["rows"] if row["kind"] == "gradient"]
    assert [row["name"] for row in gradients] == list(WRT)
    assert [row["shape"] for row in gradients] == ["n", "scalar", "m×n"]
    for row in out["rows"]:
        for side in ("left_mathml", "right_mathml"):
            assert row[side].startswith("<math") and row[side].endswith("</math>"), row
    names = {row["name"] for row in out["rows"] if row["kind"] == "intermediate"}
    assert {"z", "yhat"} <= names
    # The gradients are checked by central finite differences on the server.
    v = out["verification"]
    assert v["ok"] is True and v["max_error"] < 1e-6, v
    assert out["latex"].startswith("\\begin{aligned}")


async def test_derive_reproduces_from_its_own_shapes(client):
    """What the page puts in the URL (expr, the full shapes, wrt) gives the same result."""
    first = (await client.post("/api/derive", json={"expr": LSQ, "shapes": LSQ_SHAPES,
                                                    "wrt": ["w", "X"]})).json()
    again = (await client.post("/api/derive", json={
        "expr": LSQ, "shapes": first["shapes"], "wrt": "w,X"})).json()
    assert first["wrt"] == again["wrt"] == ["w", "X"]
    assert [r["right_text"] for r in first["rows"]] == [r["right_text"] for r in again["rows"]]
    assert again["inferred"] == []


async def test_derive_gradients_match_finite_differences(client):
    """The API's gradients, read back from their code form, against central differences
    at a random point with distinct sizes (m = 5, n = 3)."""
    out = (await client.post("/api/derive", json={"expr": SOURCE, "shapes": SHAPES,
                                                  "wrt": "X,w,b"})).json()
    # Substitute the named intermediates back, innermost last, to get plain expressions.
    named = [(r["name"], r["right_code"]) for r in out["rows"] if r["kind"] == "intermediate"]
    rng = np.random.default_rng(7)
    vals = {"X": rng.standard_normal((5, 3)), "w": rng.standard_normal(3),
            "b": rng.standard_normal(), "y": rng.standard_normal(5)}
    L = matgrad.parse(SOURCE, shapes=SHAPES)
    checked = 0
    for row in out["rows"]:
        if row["kind"] != "gradient":
            continue
        text = row["right_code"]
        for _ in named:  # intermediates may refer to earlier ones
            for name, code in named:
                text = re.sub(rf"\b{name}\b", f"({code})", text)
        G = np.asarray(matgrad.evaluate(matgrad.parse(text, shapes=SHAPES), vals))
        x, h = row["name"], 1e-6
        V = rng.standard_normal(np.shape(vals[x]))
        up, down = dict(vals), dict(vals)
        up[x], down[x] = vals[x] + h * V, vals[x] - h * V
        fd = (matgrad.evaluate(L, up) - matgrad.evaluate(L, down)) / (2 * h)
        assert np.isclose(fd, np.sum(np.reshape(G, np.shape(V)) * V), rtol=1e-5), x
        checked += 1
    assert checked == 3


BAD = [
    # (expr, shapes, wrt, status, kind, field, column)
    ("sum((X @ w)**2", "X: m,n; w: n", "", 400, "ParseError", "expr", 3),
    ("sum(foo(X))", "X: m,n", "", 400, "ParseError", "expr", 4),
    ("__import__('os').system('ls')", "", "", 400, "ParseError", "expr", 0),
    ("(lambda: 1)()", "", "", 400, "ParseError", "expr", None),
    ("x[0]", "x: n", "", 400, "ParseError", "expr", 0),
    ("sum(X @ X)", "X: m,n", "", 400, "ShapeError", "expr", 4),
    ("det(X)", "X: m,n", "", 400, "ShapeError", "expr", 0),
    ("sum(X)", "X: m,n; w n", "", 400, "ShapeError", "shapes", 8),
    ("sum(X)", "X: m,n,k", "", 400, "ShapeError", "shapes", 3),
    ("sum(X)", "X: m,n", "X, q", 400, "ParseError", "wrt", 3),
    ("X @ w", "X: m,n; w: n", "", 400, "DomainError", "expr", None),
    ("3", "", "", 400, "DomainError", "expr", None),
    ("   ", "", "", 400, "ParseError", "expr", None),
    ("(" * 300 + "x" + ")" * 300, "x: n", "", 400, "ParseError", "expr", None),
    ("sum(" + " + ".join(["x"] * 250) + ")", "x: n", "", 400, "LimitError", "expr", None),
    ("sum(x)" + " " * 5000, "x: n", "", 400, "LimitError", "expr", None),
    ("sum(x)", "x: n; " + "y: n; " * 400, "", 400, "LimitError", "shapes", None),
    ("sum(x)", "x: n", ",".join(f"v{i}" for i in range(400)), 400, "LimitError", "wrt", None),
]


@pytest.mark.parametrize("expr,shapes,wrt,status,kind,field,column", BAD,
                         ids=[f"bad{i}" for i in range(len(BAD))])
async def test_derive_bad_input(client, expr, shapes, wrt, status, kind, field, column):
    r = await client.post("/api/derive", json={"expr": expr, "shapes": shapes, "wrt": wrt})
    err = assert_error(r, status, kind, field)
    if column is not None:
        assert err["column"] == column, err
        assert err["source"] == {"expr": expr, "shapes": shapes, "wrt": wrt}[field]
        # the line shown with the caret, and the caret's place in it
        assert err["line"] in err["source"] and 0 <= err["line_column"] <= len(err["line"])
        assert "^" in err["text"]


async def test_every_endpoint_rejects_bad_input_without_500(client):
    """Malformed expressions on every endpoint: a 4xx with a message (501 where the
    feature is missing), never a 500."""
    bodies = {"parse": {}, "derive": {"wrt": ""}, "steps": {"wrt": ""},
              "code": {"wrt": "", "backend": "numpy"},
              "check": {"variable": "x", "claim": "2 * x"}}
    for expr in ("sum(x", "sum(x) +* 2", "f(x)", "x.__class__", "sum(x @ x)", "",
                 "sum(x) ≤ 1", "\x00", "import os", "sum(x); sum(x)", "x = ; sum(x)"):
        for name, extra in bodies.items():
            r = await client.post(f"/api/{name}", json={"expr": expr, "shapes": "x: n",
                                                        **extra})
            assert 400 <= r.status_code < 500 or r.status_code == 501, (name, expr, r.text)
            assert r.json()["error"]["message"]


async def test_request_errors(client):
    post = client.post
    assert_error(await post("/api/derive", content=b"{not json"), 400, "RequestError")
    assert_error(await post("/api/derive", json=["sum(x)"]), 400, "RequestError")
    assert_error(await post("/api/derive", json={"shapes": "x: n"}), 400, "RequestError")
    assert_error(await post("/api/derive", json={"expr": "sum(x)", "shape": "x: n"}), 400,
                 "RequestError")
    assert_error(await post("/api/derive", json={"expr": 3}), 400, "RequestError")
    assert_error(await post("/api/derive", content=b"\xff\xfe"), 400, "RequestError")
    big = json.dumps({"expr": "x" * 100_000}).encode()
    assert_error(await post("/api/derive", content=big), 413, "RequestError")
    # a body without a declared length is counted as it arrives

    async def chunks():
        for _ in range(100):
            yield b" " * 1024
    assert_error(await post("/api/derive", content=chunks()), 413, "RequestError")
    assert_error(await post("/api/code", json={"expr": "sum(x)", "backend": "fortran"}),
                 400, "ParseError", "backend")
    assert (await client.get("/api/derive")).status_code == 405


# a derivation that takes many seconds: the Hessian of a 190-deep tanh chain, whose
# matrix form is a sum of 190 products of up to 190 factors each
SLOW = "sum(" + "tanh(A @ " * 80 + "x" + ")" * 80 + ")"  # a Hessian that takes minutes
SLOW_SHAPES = "x: n; A: n,n"


async def test_time_limit():
    """A derivation over the time limit is answered with a LimitError, not a hang."""
    async with client_for(create_app(Limits(timeout_s=0.5))) as c:
        start = time.monotonic()
        r = await c.post("/api/hessian", json={"expr": SLOW, "shapes": SLOW_SHAPES})
        assert time.monotonic() - start < 5
    err = assert_error(r, 400, "LimitError", "expr")
    assert "longer than" in err["message"]


async def test_a_result_too_long_to_print_is_a_limit_error(client):
    """The Hessian of a 190-deep tanh chain is derived at once, but written out without
    names it would be billions of characters: a LimitError saying so, never an internal
    error or unbounded memory."""
    deep = "sum(" + "tanh(" * 190 + "x" + ")" * 190 + ")"
    r = await client.post("/api/hessian", json={"expr": deep, "shapes": "x: n"})
    err = assert_error(r, 400, "LimitError")
    assert "too long to print" in err["message"]


async def test_busy_when_too_many_derivations_are_in_flight():
    import anyio
    app = create_app(Limits(timeout_s=3, max_pending=1, workers=1))
    async with client_for(app) as c:
        answers = {}

        async def first():
            answers["slow"] = await c.post("/api/hessian",
                                           json={"expr": SLOW, "shapes": SLOW_SHAPES})
        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await anyio.sleep(0.5)
            answers["other"] = await c.post("/api/derive",
                                            json={"expr": "sum(x)", "shapes": "x: n"})
        assert_error(answers["other"], 503, "Busy")


async def test_a_runaway_is_stopped_and_frees_its_worker():
    """A derivation past its time is stopped (its process killed): the next request is
    served at once by a fresh worker, not refused as busy."""
    # 2 s: the quick request after the stopped one must fit it on a loaded machine too
    app = create_app(Limits(timeout_s=2, max_pending=1, workers=1))
    async with client_for(app) as c:
        first = await c.post("/api/hessian", json={"expr": SLOW, "shapes": SLOW_SHAPES})
        assert_error(first, 400, "LimitError")
        assert "was stopped" in first.json()["error"]["message"]
        start = time.perf_counter()
        second = await c.post("/api/derive", json={"expr": "sum(x)", "shapes": "x: n"})
        assert second.status_code == 200, second.text
        assert time.perf_counter() - start < 6
        pool = app.state.runner._pool
        assert all(w.alive for w in pool._all)  # the stopped worker was replaced


async def test_identical_requests_share_one_result(client):
    body = {"expr": LSQ, "shapes": LSQ_SHAPES}
    import anyio
    results = []

    async def one():
        results.append(await client.post("/api/derive", json=body))
    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(one)
    assert {r.status_code for r in results} == {200}
    assert len({r.text for r in results}) == 1


# ---- steps, code, check -----------------------------------------------------------------


def _without(monkeypatch, feature: str):
    if feature == "code":
        import matgrad.web.service as service

        def missing():
            raise service.Unavailable("code", "Code generation is not available in this "
                                      "version of matgrad (matgrad.codegen.generate_source "
                                      "is missing).")
        monkeypatch.setattr(service, "_codegen", missing)
    else:
        monkeypatch.delattr(matgrad, {"steps": "derive", "check": "check"}[feature],
                            raising=False)


@pytest.mark.parametrize("feature,path,body,name", [
    ("steps", "/api/steps", {"expr": LSQ, "shapes": LSQ_SHAPES}, "matgrad.derive"),
    ("code", "/api/code", {"expr": LSQ, "shapes": LSQ_SHAPES}, "generate_source"),
    ("check", "/api/check", {"expr": LSQ, "shapes": LSQ_SHAPES, "variable": "X",
                             "claim": "X"}, "matgrad.check"),
])
async def test_missing_feature_is_reported_not_faked(monkeypatch, feature, path, body, name):
    _without(monkeypatch, feature)
    # in_process: the patch is in this process, where the derivation must run to see it
    async with client_for(create_app(Limits(in_process=True))) as c:
        err = assert_error(await c.post(path, json=body), 501, "Unavailable")
        assert name in err["message"]
        assert (await c.get("/api/features")).json()[feature]["available"] is False


async def test_steps(client):
    if not hasattr(matgrad, "derive"):
        pytest.skip("matgrad.derive (step-by-step derivations) does not exist yet")
    r = await client.post("/api/steps", json={"expr": SOURCE, "shapes": SHAPES,
                                              "wrt": "w,X"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [d["variable"] for d in out["derivations"]] == ["w", "X"]
    for d in out["derivations"]:
        assert d["count"] > 0 and d["markdown"] and d["latex"]
        assert "<math" in d["html"] and "<script" not in d["html"]
        assert d["checked"] is True and d["failing"] == [] and d["unchecked"] is None
        assert "every line checked numerically" in d["markdown"]


async def test_steps_report_a_line_that_fails(monkeypatch):
    """The mark is the guard: were a line false, the answer lists it and the rendering
    marks it (a false line is simulated here; the derivation never produces one)."""
    from matgrad.steps import Derivation
    monkeypatch.setattr(Derivation, "verify",
                        lambda self, **kw: [0.0] * (len(self.steps) - 2) + [0.5, 0.0])
    async with client_for(create_app(Limits(in_process=True))) as client:
        r = await client.post("/api/steps", json={"expr": SOURCE, "shapes": SHAPES,
                                                  "wrt": "X", "sizes": "m=6, n=2"})
    assert r.status_code == 200, r.text
    d = r.json()["derivations"][0]
    assert d["failing"] == [d["count"] - 2]
    assert "DOES NOT HOLD" in d["markdown"] and "1 of" in d["markdown"]


async def test_steps_at_given_sizes(client):
    r = await client.post("/api/steps", json={"expr": "logdet(X.T @ X)", "shapes": "X: m,n",
                                              "sizes": "m=2, n=5"})
    assert r.status_code == 200, r.text
    d = r.json()["derivations"][0]
    assert d["checked"] is False and "singular" in d["unchecked"]
    r = await client.post("/api/steps", json={"expr": "logdet(X.T @ X)", "shapes": "X: m,n",
                                              "sizes": "m=7, n=3"})
    assert r.json()["derivations"][0]["failing"] == []


async def test_code(client):
    from matgrad.web.service import Unavailable, _codegen
    try:
        _codegen()
    except Unavailable:
        pytest.skip("matgrad.codegen.generate_source (code generation) does not exist yet")
    for backend in ("numpy", "jax", "torch"):
        r = await client.post("/api/code", json={"expr": LSQ, "shapes": LSQ_SHAPES,
                                                 "wrt": "X,w", "backend": backend})
        assert r.status_code in (200, 501), r.text
        if r.status_code == 200:
            out = r.json()
            assert out["backend"] == backend and out["wrt"] == ["X", "w"]
            compile(out["source"], f"<{backend}>", "exec")  # valid Python; not run here
        elif backend == "numpy":
            pytest.fail(r.text)


async def test_check(client):
    if not hasattr(matgrad, "check"):
        pytest.skip("matgrad.check (checking an answer) does not exist yet")
    claims = {"2 * (X @ w - y) @ w.T": "correct", "2 * w @ (X @ w - y).T": "transposed",
              "(X @ w - y) @ w.T": "wrong-value", "2 * X.T @ (X @ w - y)": "wrong-shape"}
    for claim, verdict in claims.items():
        r = await client.post("/api/check", json={"expr": LSQ, "shapes": LSQ_SHAPES,
                                                  "variable": "X", "claim": claim})
        assert r.status_code == 200, r.text
        assert r.json()["verdict"] == verdict, (claim, r.json())
        assert r.json()["message"]
    r = await client.post("/api/check", json={"expr": LSQ, "shapes": LSQ_SHAPES,
                                              "variable": "X", "claim": "2 * (X @ w - y"})
    err = assert_error(r, 400, "ParseError", "claim")
    assert err["source"] == "2 * (X @ w - y" and err["column"] is not None
    assert_error(await client.post("/api/check", json={
        "expr": LSQ, "shapes": LSQ_SHAPES, "variable": "q", "claim": "X"}), 400,
        "ParseError", "variable")


# ---- rendering ----------------------------------------------------------------------------


def test_mathml_is_sanitised():
    out = to_mathml(r"\text{<script>alert(1)</script>} + x")
    assert "<script" not in out and "alert" in out
    assert to_mathml(r"\frac{1}{").startswith(("<math", "<code"))
    assert to_mathml("{").startswith('<code class="latex">')
    table = to_mathml(r"\begin{aligned} a &= b \\ c &= d \end{aligned}", "block")
    assert table.count("<mtr>") == 2 and table.count("<mtd>") == 4


def test_markdown_escapes_everything_but_its_own_markup():
    html = to_html("<img src=x onerror=alert(1)> **bold** `<b>` $a<b$\n\n"
                   "| x | y |\n|---|---|\n| $a|b$ | c |")
    assert "<img" not in html and "&lt;img" in html
    assert "<strong>bold</strong>" in html and "<code>&lt;b&gt;</code>" in html
    assert html.count("<td>") == 2


def test_notebook_display():
    r = matgrad.report(matgrad.parse(LSQ, shapes=LSQ_SHAPES))
    assert r._repr_latex_().startswith("$$\\begin{aligned}")
    assert r._repr_markdown_().startswith("$$")
    r.run_check()
    assert "verified numerically" in r._repr_markdown_()
    assert matgrad.parse(LSQ, shapes=LSQ_SHAPES)._repr_latex_().startswith("$$")


# ---- the command --------------------------------------------------------------------------


def test_serve_prints_its_address_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "matgrad", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line + proc.stderr.read() if proc.poll() is not None else line
        url = m.group(0)
        for _ in range(50):
            try:
                r = httpx.post(url + "api/derive", json={"expr": LSQ, "shapes": LSQ_SHAPES})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["wrt"] == ["X", "w", "y"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_bad_port():
    out = subprocess.run([sys.executable, "-m", "matgrad", "serve", "--port", "70000"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--port" in out.stderr


@pytest.mark.parametrize("expr, notation", [
    ("sum((X @ w - y)**2)", "python"),
    ("‖X w − y‖²", "math"),
    (r"\|Xw - y\|^2", "latex"),
])
async def test_the_answer_says_which_notation_it_read(client, expr, notation):
    r = await client.post("/api/derive", json={"expr": expr, "shapes": "X: m,n; w: n; y: m"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["notation"] == notation
    from matgrad.web import service
    python = service.derive("sum((X @ w - y)**2)", "X: m,n; w: n; y: m")

    def gradient(rows):
        return next(row["right_text"] for row in rows if row["name"] == "w")
    assert gradient(out["rows"]) == gradient(python["rows"])  # the same ∂L/∂w
