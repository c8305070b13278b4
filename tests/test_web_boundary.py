"""The web server's boundary: only its own page may use it (Origin, Host), bodies are
bounded in depth and time, every answer is JSON, the variable limit holds however the
variables are chosen, and `matgrad serve` stops promptly on SIGINT and SIGTERM even with
a runaway derivation in flight."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from . import web_client

httpx = pytest.importorskip("httpx", reason='the web tests need pip install -e ".[web,test]"')
pytest.importorskip("starlette", reason='the web tests need pip install -e ".[web,test]"')

from matgrad.web import create_app  # noqa: E402

pytestmark = pytest.mark.anyio
BODY = {"expr": "sum((X @ w - y)**2)", "shapes": "X: m,n; w: n"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


def client_for(app, base="http://127.0.0.1:8765"):
    return web_client.client_for(app, base)


async def test_a_request_from_another_page_is_refused():
    async with client_for(create_app()) as c:
        ok = await c.post("/api/derive", json=BODY, headers={"origin": "http://127.0.0.1:8765"})
        assert ok.status_code == 200
        for origin in ("http://evil.example", "http://127.0.0.1:9999", "null"):
            r = await c.post("/api/derive", json=BODY, headers={"origin": origin})
            assert r.status_code == 403, origin
            assert r.json()["error"]["kind"] == "CrossOrigin"
        assert (await c.post("/api/derive", json=BODY)).status_code == 200  # no Origin


async def test_a_host_the_server_is_not_bound_to_is_refused():
    app = create_app(hosts=("127.0.0.1:8765", "localhost:8765"))
    async with client_for(app) as c:
        assert (await c.get("/")).status_code == 200
    async with client_for(app, base="http://localhost:8765") as c:
        assert (await c.get("/")).status_code == 200
    async with client_for(app, base="http://rebound.example:8765") as c:  # DNS rebinding
        for r in (await c.get("/"), await c.post("/api/derive", json=BODY)):
            assert r.status_code == 421
            assert r.json()["error"]["kind"] == "WrongHost"


@pytest.mark.parametrize("depth", [21, 30_000])
async def test_deeply_nested_json_is_answered_as_json(depth):
    async with client_for(create_app()) as c:
        text = '{"expr": ' + "[" * depth + "]" * depth + "}"
        r = await c.post("/api/derive", content=text,
                         headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert "nested more than 20" in r.json()["error"]["message"]


async def test_every_error_is_json():
    async with client_for(create_app()) as c:
        for r, status in ((await c.get("/api/nothing"), 404), (await c.get("/api/derive"), 405),
                          (await c.post("/api/derive", content=b"{not json"), 400)):
            assert r.status_code == status
            assert r.headers["content-type"].startswith("application/json")
            assert r.json()["error"]["message"]


async def test_the_variable_limit_holds_when_no_variable_is_named():
    names = [f"v{i}" for i in range(40)]
    expr = "sum(" + " + ".join(names) + ")"
    async with client_for(create_app()) as c:
        r = await c.post("/api/derive", json={"expr": expr, "shapes": "; ".join(
            f"{n}: n" for n in names)})
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["kind"] == "LimitError" and "none was named" in err["message"]
        assert "at most 32" in err["message"]


def _serve():
    proc = subprocess.Popen([sys.executable, "-m", "matgrad", "serve", "--port", "0",
                             "--timeout", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, to check
    line = proc.stdout.readline()
    if "serving on" not in line:
        proc.kill()
        pytest.fail(f"matgrad serve did not start: {line}{proc.stderr.read()}")
    return proc, line.split("serving on ")[1].split()[0]


def _post(url, body, timeout=60, endpoint="derive"):
    req = urllib.request.Request(url + "api/" + endpoint, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_promptly_with_a_runaway_in_flight(sig):
    import threading
    proc, url = _serve()
    try:
        assert _post(url, BODY) == 200
        # the Hessian of sum(tanh(A (tanh(A (… x))))) 80 deep: minutes
        slow = {"expr": "sum(" + "tanh(A @ " * 80 + "x" + ")" * 80 + ")",
                "shapes": "x: n; A: n,n"}
        runaway = threading.Thread(target=_post, args=(url, slow, 30, "hessian"),
                                   daemon=True)
        runaway.start()
        time.sleep(1.0)  # the runaway is deriving in a worker
        start = time.perf_counter()
        proc.send_signal(sig)
        proc.wait(timeout=15)
        assert time.perf_counter() - start < 10
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    _assert_group_ended(proc.pid)


def _assert_group_ended(pgid: int) -> None:
    """No process of the server's group is left: its workers (and the runaway's CPU)
    ended with it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    pytest.fail("processes of the stopped server are still running")


def test_serve_refuses_a_foreign_host_header():
    proc, url = _serve()
    try:
        req = urllib.request.Request(url, headers={"host": "rebound.example"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 421
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
