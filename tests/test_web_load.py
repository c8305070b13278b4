"""A load test on loopback: 50 concurrent clients for 10 seconds against the example.

Bounded in count and time. Every answer must be a 200; the throughput and latencies are
printed and recorded in docs/web.md (between the load-test markers), for the record,
not asserted: speed belongs to benchmarks, correctness under load to this test.
"""
from __future__ import annotations

import asyncio
import datetime
import json
import os
import platform
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from matgrad.example import SHAPES, SOURCE, WRT

from .conftest import serving

CLIENTS = 50
SECONDS = 10.0
DOC = Path(__file__).resolve().parent.parent / "docs" / "web.md"
START, END = "<!-- load-test:start -->", "<!-- load-test:end -->"

try:
    import httpx
except ImportError:
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("httpx is not installed (pip install -e \".[web,test]\")",
                allow_module_level=True)


async def _client(host: str, port: int, request: bytes, deadline: float,
                  latencies: list, failures: list) -> None:
    """One client on one keep-alive connection, posting until the deadline. HTTP is
    written by hand so that the clients cost little next to the server they measure."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status = await reader.readline()
            length = None
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length is not None else b""
            latencies.append(time.perf_counter() - t0)
            if not status.startswith(b"HTTP/1.1 200") or b'"wrt":["w","b","X"]' not in body:
                failures.append(f"{status!r} {body[:200]!r}")
    finally:
        writer.close()


def _runaway_body(k: int) -> str:
    """A derivation that takes minutes (the Hessian of sum(tanh(A (tanh(A (… x)))))
    80 deep, in index notation); k makes each one distinct, so that none shares
    another's computation."""
    chain = "sum(" + "tanh(A @ " * 80 + f"x{k}" + ")" * 80 + ")"
    return json.dumps({"expr": chain, "shapes": f"x{k}: n; A: n,n"})


async def _runaway(url: str, k: int, answers: list) -> None:
    """One derivation that runs until the server stops it at its time limit."""
    async with httpx.AsyncClient(timeout=120) as c:
        r = await c.post(url + "api/hessian", content=_runaway_body(k),
                         headers={"content-type": "application/json"})
        answers.append(r)


async def _load(url: str, runaways: int = 0) -> dict:
    parts = urlsplit(url)
    body = json.dumps({"expr": SOURCE, "shapes": SHAPES, "wrt": ",".join(WRT)}).encode()
    request = (f"POST /api/derive HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body
    first = httpx.post(url + "api/derive", content=body, timeout=60)  # the one derivation
    assert first.status_code == 200, first.text
    latencies: list[float] = []
    failures: list[str] = []
    stopped: list = []
    slow = [asyncio.ensure_future(_runaway(url, k, stopped)) for k in range(runaways)]
    if runaways:
        await asyncio.sleep(0.5)  # they are deriving in the workers
    deadline = time.monotonic() + SECONDS
    t0 = time.monotonic()
    await asyncio.gather(*(_client(parts.hostname, parts.port, request, deadline, latencies,
                                   failures) for _ in range(CLIENTS)))
    elapsed = time.monotonic() - t0
    await asyncio.gather(*slow)
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
    return {"requests": len(latencies), "errors": len(failures), "failures": failures[:5],
            "seconds": elapsed, "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * pct(50), "p99_ms": 1000 * pct(99),
            "max_ms": 1000 * latencies[-1], "stopped": stopped}


def test_fifty_clients_for_ten_seconds(server):
    result = asyncio.run(_load(server))
    summary = (f"{CLIENTS} clients, {result['seconds']:.1f} s: {result['requests']} requests, "
               f"{result['errors']} errors, {result['rps']:.0f} requests/s, "
               f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
               f"max {result['max_ms']:.1f} ms")
    print(f"\nload test: {summary}")
    assert result["errors"] == 0, result["failures"]
    assert result["requests"] >= CLIENTS
    _record(result)


@pytest.fixture
def quick_server():
    """`matgrad serve` whose derivations are stopped after 2 s."""
    with serving("--timeout", "2") as url:
        yield url


def test_fifty_clients_while_four_runaways_are_stopped(quick_server):
    """Four derivations that would run for many seconds fill the four workers; the
    page's other requests are still answered, quickly, and the runaways are stopped at
    the server's time limit (their processes killed), each with a LimitError, not left
    running."""
    server = quick_server
    result = asyncio.run(_load(server, runaways=4))
    print(f"\nload test with 4 runaways: {result['requests']} requests, "
          f"{result['errors']} errors, p50 {result['p50_ms']:.1f} ms, "
          f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms")
    assert result["errors"] == 0, result["failures"]
    assert result["p99_ms"] < 1000
    assert len(result["stopped"]) == 4
    for r in result["stopped"]:
        assert r.status_code == 400 and "was stopped" in r.json()["error"]["message"]
    # the workers were replaced: an uncached derivation is served at once
    t0 = time.perf_counter()
    r = httpx.post(server + "api/derive", json={"expr": "sum(exp(q) * q)", "shapes": "q: n"},
                   timeout=60)
    assert r.status_code == 200, r.text
    assert time.perf_counter() - t0 < 5


def _record(result: dict) -> None:
    """With MATGRAD_RECORD=1, write the numbers into docs/web.md between the markers
    (a plain test run leaves the working tree as it found it)."""
    if os.environ.get("MATGRAD_RECORD") != "1" or not DOC.exists():
        return
    text = DOC.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return
    when = datetime.date.today().isoformat()
    block = "\n".join([
        START,
        f"Last run {when}, Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPU cores shared by server and clients:",
        "",
        "| clients | seconds | requests | errors | requests/s | p50 | p99 | max |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {CLIENTS} | {result['seconds']:.1f} | {result['requests']} | {result['errors']} | "
        f"{result['rps']:.0f} | {result['p50_ms']:.1f} ms | {result['p99_ms']:.1f} ms | "
        f"{result['max_ms']:.1f} ms |",
        END,
    ])
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + block + tail, encoding="utf-8")
