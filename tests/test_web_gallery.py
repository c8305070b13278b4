"""The page's gallery: every entry derives through the API and is verified numerically,
its steps (for a gradient) hold line by line, and its code is generated. An entry that
fails here is a bug in matgrad or in the entry, never one to hide.
"""
from __future__ import annotations

import pytest

from .web_client import client_for, require

httpx = require("httpx")
require("starlette")

from matgrad.web import create_app  # noqa: E402
from matgrad.web.gallery import GALLERY  # noqa: E402

pytestmark = pytest.mark.anyio
ENDPOINT = {"gradient": "/api/derive", "jacobian": "/api/jacobian", "hessian": "/api/hessian"}
# what the gallery must show: each a topic of the library
TOPICS = {"relu-network", "ridge", "logistic", "softmax", "two-layer", "gp-likelihood",
          "logdet", "hessian-least-squares", "tensor"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def client():
    async with client_for(create_app()) as c:
        yield c


def body(entry: dict, *fields: str) -> dict:
    out = {"expr": entry["expr"], "shapes": entry["shapes"], "wrt": entry["wrt"]}
    for f in fields:
        if entry[f]:
            out[f] = entry[f]
    return out


async def test_the_gallery_is_served_from_one_place(client):
    r = await client.get("/api/gallery")
    assert r.status_code == 200
    entries = r.json()["entries"]
    assert entries == GALLERY
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids)) and TOPICS <= set(ids)
    assert {e["kind"] for e in entries} == set(ENDPOINT)
    from matgrad.example import SHAPES, SOURCE
    assert (entries[0]["expr"], entries[0]["shapes"]) == (SOURCE, SHAPES)
    # the third-order tensor is one; the Hessian of a matrix a fourth-order one
    tensor = next(e for e in entries if e["id"] == "tensor")
    out = (await client.post("/api/jacobian", json=body(tensor))).json()
    assert out["derivatives"][0]["tensor_order"] == 3


@pytest.mark.parametrize("entry", GALLERY, ids=[e["id"] for e in GALLERY])
async def test_every_entry_derives_and_is_verified(client, entry):
    kind = entry["kind"]
    fields = {"gradient": (), "jacobian": ("order", "layout"), "hessian": ("order",)}[kind]
    r = await client.post(ENDPOINT[kind], json=body(entry, *fields))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["verification"]["ok"] is True, out["verification"]
    if kind == "gradient":
        assert out["verification"]["max_error"] < 1e-6
        rows = [row for row in out["rows"] if row["kind"] == "gradient"]
        assert [row["name"] for row in rows] == [n for n in entry["wrt"].split(",") if n]
        steps = (await client.post("/api/steps", json=body(entry))).json()
        for d in steps["derivations"]:
            assert d["checked"] is True and d["failing"] == [], (entry["id"], d["variable"])
    else:
        for one in out["derivatives"]:
            assert one["verification"]["ok"] is True, (entry["id"], one["verification"])
            assert one["verification"]["max_error"] < 1e-6
    code = await client.post("/api/code", json={
        **body(entry, *fields), "kind": kind, "backend": "numpy"})
    assert code.status_code == 200, code.text
    compile(code.json()["source"], f"<{entry['id']}>", "exec")
