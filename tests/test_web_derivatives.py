"""The web API's Jacobians and Hessians (/api/jacobian, /api/hessian, /api/code with a
kind): each answer is compared with what the library computes for the same input, and
checked as numbers (a matrix form read back and evaluated, generated code run, both
against central finite differences at random points with distinct sizes); and every new
field's bad values are errors that name the field, never a 500.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import matgrad as mg
from matgrad import tensor_report
from matgrad.dims import fmt_size

from .web_client import assert_error, client_for, require

httpx = require("httpx")
require("starlette")

from matgrad.codegen.load import load  # noqa: E402
from matgrad.web import Limits, create_app  # noqa: E402

pytestmark = pytest.mark.anyio
SIZES = {"m": 5, "n": 3, "k": 4}
H = 1e-6


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def client():
    async with client_for(create_app()) as c:
        yield c


# ---- numbers, independent of the derivatives under test ---------------------------------


def point(program, rng):
    """A random point: each variable at the sizes SIZES (a vector as a column)."""
    out = {}
    for name, v in program.variables.items():
        shape = tuple(SIZES[str(s)] if not isinstance(s, int) else s for s in v.shape)
        a = rng.standard_normal(shape)
        if v.params[1]:  # symmetric
            a = (a + a.T) / 2 + 3 * np.eye(shape[0])
        out[name] = a
    return out


def fd_jacobian(F, values, name):
    """∂F/∂x by central differences: F's axes, then x's (size-1 axes dropped)."""
    x = np.asarray(values[name], dtype=float)

    def f(v):
        return np.asarray(mg.evaluate(F, v), dtype=float)
    f0 = f(values)
    out = np.zeros(f0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        up, down = dict(values), dict(values)
        e = np.zeros_like(x)
        e[idx] = H
        up[name], down[name] = x + e, x - e
        out[(...,) + idx] = (f(up) - f(down)) / (2 * H)
    keep = [s for s in out.shape if s != 1]
    return out.reshape(keep)


def close(a, b, tol=1e-5):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.size == b.size, (a.shape, b.shape)
    a = a.reshape(b.shape)
    scale = max(1.0, float(np.max(np.abs(b))))
    assert float(np.max(np.abs(a - b))) <= tol * scale, (a, b)


# ---- /api/jacobian and /api/hessian against the library -------------------------------------

CASES = [
    # (kind, expr, shapes, wrt, order, layout)
    ("jacobian", "z = X @ w", "X: m,n; w: n", "X", "", ""),
    ("jacobian", "tanh(A @ x)", "A: m,n; x: n", "x", "", ""),
    ("jacobian", "A @ x", "A: m,n; x: n", "x", "", "denominator"),
    ("jacobian", "softmax(x)", "x: n", "x", "", ""),
    ("jacobian", "X @ w", "X: m,n; w: n", "X", "2", ""),
    ("hessian", "sum((A @ x - b)**2)", "A: m,n; x: n; b: m", "x", "", ""),
    ("hessian", "logdet(S)", "S: n,n", "S", "", ""),
    ("hessian", "sum(x**3)", "x: n", "x", "3", ""),
]


def library(kind, expr, shapes, wrt, order, layout):
    """What the library gives for the same input (the command line's choice)."""
    program = mg.parse_program(expr, shapes)
    d = tensor_report.derivative_of(kind, program.result, program.variables[wrt],
                                    int(order) if order else None, layout or "numerator",
                                    name=program.result_name or None)
    return program, tensor_report.named(d)


@pytest.mark.parametrize("kind,expr,shapes,wrt,order,layout", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[4] or 'd'}" for c in CASES])
async def test_derivative_is_the_librarys(client, kind, expr, shapes, wrt, order, layout):
    body = {"expr": expr, "shapes": shapes, "wrt": wrt}
    if order:
        body["order"] = order
    if layout:
        body["layout"] = layout
    r = await client.post(f"/api/{kind}", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["kind"] == kind and out["wrt"] == [wrt]
    [one] = out["derivatives"]
    _, d = library(kind, expr, shapes, wrt, order, layout)
    assert one["axes"] == [fmt_size(a) for a in d.axes]
    assert one["shape"] == "×".join(one["axes"])
    assert one["tensor_order"] == len(d.axes) and one["order"] == d.order
    assert one["matrix"] == (d.expr is not None)
    assert one["label_text"] == d.label()
    forms = {f["form"]: f for f in one["forms"]}
    assert list(forms) == [f for f, _, _ in tensor_report.latex_forms(d)]
    assert forms["index"]["left_text"] + " = " + forms["index"]["right_text"] == \
        d.index_notation()
    if d.expr is not None:
        assert forms["matrix"]["right_text"] == d.expr.to_text()
    if d.vec is not None:
        assert forms["vec"]["left_text"] + " = " + forms["vec"]["right_text"] == d.vec_text()
    for f in one["forms"]:
        for side in ("left_mathml", "right_mathml"):
            assert f[side].startswith("<math") and "<script" not in f[side]
    assert out["latex"] == tensor_report.aligned([d])
    # verified by the library's own check of the derivative, and said so
    assert one["verification"]["ok"] is True, one["verification"]
    assert one["verification"]["max_error"] < 1e-6
    assert out["verification"]["ok"] is True


async def test_matrix_forms_read_back_match_finite_differences(client):
    """The matrix form the page shows, parsed back from its code and evaluated, is the
    Jacobian by central differences (numerator and denominator layout)."""
    rng = np.random.default_rng(3)
    for expr, shapes, wrt, layout in (("tanh(A @ x)", "A: m,n; x: n", "x", "numerator"),
                                      ("tanh(A @ x)", "A: m,n; x: n", "x", "denominator"),
                                      ("softmax(W @ x)", "W: k,n; x: n", "x", "numerator")):
        out = (await client.post("/api/jacobian", json={
            "expr": expr, "shapes": shapes, "wrt": wrt, "layout": layout})).json()
        form = next(f for f in out["derivatives"][0]["forms"] if f["form"] == "matrix")
        program = mg.parse_program(expr, shapes)
        J = mg.parse(form["right_code"], shapes=out["shapes"])
        values = point(program, rng)
        fd = fd_jacobian(program.result, values, wrt)
        close(mg.evaluate(J, values), fd if layout == "numerator" else fd.T)


async def test_hessian_of_a_matrix_is_a_fourth_order_tensor(client):
    r = await client.post("/api/hessian", json={"expr": "logdet(S)", "shapes": "S: n,n"})
    one = r.json()["derivatives"][0]
    assert one["tensor_order"] == 4 and one["matrix"] is False
    assert [f["form"] for f in one["forms"]] == ["index", "vec"]
    assert "tensor of order 4" in one["summary"]
    assert one["explanation_html"] is None  # explained for tensor-valued Jacobians only


async def test_tensor_jacobian_is_explained(client):
    r = await client.post("/api/jacobian", json={"expr": "z = X @ w",
                                                 "shapes": "X: m,n; w: n", "wrt": "X"})
    one = r.json()["derivatives"][0]
    _, d = library("jacobian", "z = X @ w", "X: m,n; w: n", "X", "", "")
    assert len(one["explanation_html"]) == len(d.explain().splitlines())
    assert all("<math" in line for line in one["explanation_html"][:2])


async def test_several_variables_and_their_shared_definition(client):
    r = await client.post("/api/jacobian", json={"expr": "z = X @ w",
                                                 "shapes": "X: m,n; w: n"})
    out = r.json()
    assert [d["variable"] for d in out["derivatives"]] == ["X", "w"]
    assert out["latex"].count("z &= X w") == 1  # the definition is written once
    assert [d["shape"] for d in out["derivatives"]] == ["m×m×n", "m×n"]


async def test_generated_code_for_each_kind_runs(client):
    """/api/code with a kind: one function per variable, which runs and gives the
    derivative by central differences."""
    rng = np.random.default_rng(5)
    for kind, expr, shapes, wrt in (("jacobian", "X @ w", "X: m,n; w: n", "X"),
                                    ("jacobian", "tanh(A @ x)", "A: m,n; x: n", "x"),
                                    ("hessian", "sum((A @ x - b)**2)", "A: m,n; x: n; b: m",
                                     "x")):
        r = await client.post("/api/code", json={"expr": expr, "shapes": shapes, "wrt": wrt,
                                                 "kind": kind})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["kind"] == kind and out["wrt"] == [wrt]
        program = mg.parse_program(expr, shapes)
        values = point(program, rng)
        fn = load(out["source"], f"{kind}_{wrt}")
        signature = re.search(rf"def {kind}_{wrt}\(([^)]*)\)", out["source"]).group(1)
        got, extra = fn(*[values[a.strip()] for a in signature.split(",")])
        if kind == "jacobian":
            want = fd_jacobian(program.result, values, wrt)
        else:
            g = mg.grad(program.result, wrt)
            want = fd_jacobian(g, values, wrt)
        close(got, want, tol=1e-4)
        assert extra == {}
    r = await client.post("/api/code", json={"expr": "z = X @ w", "shapes": "X: m,n; w: n",
                                             "kind": "jacobian"})
    source = r.json()["source"]
    assert "def jacobian_X(" in source and "def jacobian_w(" in source
    compile(source, "<jacobians>", "exec")


# ---- a vector where a scalar is needed: the Jacobian is offered ---------------------------


@pytest.mark.parametrize("path", ["/api/derive", "/api/hessian", "/api/steps"])
async def test_a_vector_offers_its_jacobian(client, path):
    r = await client.post(path, json={"expr": "X @ w", "shapes": "X: m,n; w: n"})
    err = assert_error(r, 400, "DomainError", "expr")
    assert err["suggest"] == "jacobian"
    assert "m×1" in err["message"] and "Jacobian" in err["message"]
    assert "use jacobian" not in err["message"]
    r = await client.post("/api/code", json={"expr": "X @ w", "shapes": "X: m,n; w: n",
                                             "kind": "hessian"})
    assert assert_error(r, 400, "DomainError", "expr")["suggest"] == "jacobian"


async def test_other_errors_suggest_nothing(client):
    err = assert_error(await client.post("/api/derive", json={"expr": "sum(x"}), 400,
                       "ParseError", "expr")
    assert err["suggest"] is None


# ---- the new fields' bad values ---------------------------------------------------------------

BAD = [
    # (path, extra fields, status, kind, field)
    ("/api/jacobian", {"order": "two"}, 400, "ParseError", "order"),
    ("/api/jacobian", {"order": "1.5"}, 400, "ParseError", "order"),
    ("/api/jacobian", {"order": "0"}, 400, "DomainError", "order"),
    ("/api/jacobian", {"order": "9"}, 400, "LimitError", "order"),
    ("/api/jacobian", {"order": "9" * 60}, 400, "LimitError", "order"),
    ("/api/hessian", {"order": "1"}, 400, "DomainError", "order"),
    ("/api/hessian", {"order": "5"}, 400, "LimitError", "order"),
    ("/api/jacobian", {"layout": "diagonal"}, 400, "ParseError", "layout"),
    ("/api/jacobian", {"layout": "denominator", "order": "2"}, 400, "DomainError", "layout"),
    ("/api/hessian", {"layout": "numerator"}, 400, "RequestError", None),
    ("/api/jacobian", {"kind": "hessian"}, 400, "RequestError", None),
    ("/api/jacobian", {"order": 2.5}, 400, "RequestError", None),
    ("/api/jacobian", {"order": [2]}, 400, "RequestError", None),
    ("/api/jacobian", {"order": True}, 400, "RequestError", None),
    ("/api/code", {"kind": "laplacian"}, 400, "ParseError", "kind"),
    ("/api/code", {"kind": "jacobian", "order": "x"}, 400, "ParseError", "order"),
    ("/api/code", {"kind": "jacobian", "layout": "sideways"}, 400, "ParseError", "layout"),
    ("/api/code", {"kind": "gradient" * 10}, 400, "LimitError", "kind"),
    ("/api/jacobian", {"wrt": "X, q"}, 400, "ParseError", "wrt"),
    ("/api/jacobian", {"sizes": "m=999"}, 400, None, "sizes"),
]


@pytest.mark.parametrize("path,extra,status,kind,field", BAD,
                         ids=[f"bad{i}" for i in range(len(BAD))])
async def test_bad_fields(client, path, extra, status, kind, field):
    body = {"expr": "z = X @ w", "shapes": "X: m,n; w: n", **extra}
    if path == "/api/hessian":
        body["expr"] = "sum((X @ w)**2)"
    r = await client.post(path, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"]
    if kind is not None:
        assert err["kind"] == kind, err
    assert err["field"] == field, err


async def test_order_as_a_number_and_at_the_limit(client):
    r = await client.post("/api/jacobian", json={"expr": "softmax(x)", "shapes": "x: n",
                                                 "order": 2})
    assert r.status_code == 200 and r.json()["derivatives"][0]["tensor_order"] == 3
    r = await client.post("/api/hessian", json={"expr": "sum(x**4)", "shapes": "x: n",
                                                "order": str(Limits().max_order)})
    assert r.status_code == 200, r.text
    assert r.json()["derivatives"][0]["verification"]["ok"] is True
    async with client_for(create_app(Limits(max_order=2))) as c:
        assert_error(await c.post("/api/hessian", json={"expr": "sum(x**3)", "shapes": "x: n",
                                                        "order": "3"}),
                     400, "LimitError", "order")


async def test_new_endpoints_reject_bad_input_without_500(client):
    bodies = {"jacobian": {"wrt": "", "order": "", "layout": ""},
              "hessian": {"wrt": "", "order": ""},
              "code": {"kind": "jacobian", "backend": "numpy"}}
    for expr in ("sum(x", "sum(x) +* 2", "f(x)", "x.__class__", "sum(x @ x)", "",
                 "import os", "x = ; sum(x)", "(" * 300 + "x" + ")" * 300, "x" * 5000):
        for name, extra in bodies.items():
            r = await client.post(f"/api/{name}", json={"expr": expr, "shapes": "x: n",
                                                        **extra})
            assert 400 <= r.status_code < 500, (name, expr, r.text)
            assert r.json()["error"]["message"]


async def test_limits_hold_for_jacobians():
    slow = "inv(A) @ " * 120 + "A"
    async with client_for(create_app(Limits(timeout_s=0.01))) as c:
        r = await c.post("/api/jacobian", json={"expr": slow, "shapes": "A: n,n"})
    assert "longer than" in assert_error(r, 400, "LimitError", "expr")["message"]
    async with client_for(create_app(Limits(max_expr_length=10))) as c:
        assert_error(await c.post("/api/hessian", json={"expr": "sum(x**2) + sum(x)"}), 400,
                     "LimitError", "expr")
