"""The ASGI application: the page, its static files and the JSON API (Starlette).

Each API route reads a small JSON body (bounded in size), hands the work to the Runner
(worker processes, a time limit, a cache) and returns what `service` computed. The page is
plain HTML, CSS and JavaScript from this package; the Content-Security-Policy allows
nothing from elsewhere.
"""
from __future__ import annotations

import contextlib
import json
import re
from importlib import resources

from .limits import Limits

STATIC = {"page.js": "text/javascript; charset=utf-8",
          "theme.js": "text/javascript; charset=utf-8",  # before the page is drawn
          "page.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
     b"img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]

# endpoint -> (service function, accepted fields, required fields)
API = {
    "parse": ("parse_only", ("expr", "shapes"), ("expr",)),
    "derive": ("derive", ("expr", "shapes", "wrt", "sizes"), ("expr",)),
    "jacobian": ("jacobian", ("expr", "shapes", "wrt", "sizes", "order", "layout"), ("expr",)),
    "hessian": ("hessian", ("expr", "shapes", "wrt", "sizes", "order"), ("expr",)),
    "steps": ("steps", ("expr", "shapes", "wrt", "sizes"), ("expr",)),
    "code": ("code", ("expr", "shapes", "wrt", "backend", "kind", "order", "layout"),
             ("expr",)),
    "check": ("check", ("expr", "shapes", "variable", "claim", "sizes"),
              ("expr", "variable", "claim")),
}


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(limits: Limits | None = None, *, hosts: tuple = ()):
    """The Starlette application serving the page and the API.

    `hosts` are the Host headers the server answers to (`matgrad serve` passes the
    address it is bound to, e.g. "127.0.0.1:8765" and "localhost:8765"), so that a
    page elsewhere that renames itself to 127.0.0.1 (DNS rebinding) is refused; empty,
    any Host is accepted. Either way a request that names an Origin must come from the
    page's own.

    >>> app = create_app(Limits(timeout_s=5))
    >>> app.state.limits.timeout_s
    5
    """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from . import service
    from .openapi import SCHEMA
    from .runner import Runner

    limits = limits or Limits()
    runner = Runner(limits)
    files = resources.files("matgrad.web") / "static"
    page = (files / "index.html").read_bytes()
    static = {name: ((files / name).read_bytes(), media) for name, media in STATIC.items()}

    async def index(request):
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={"cache-control": "no-cache"})

    async def static_file(request):
        name = request.path_params["name"]
        if name not in static:
            return Response("not found", status_code=404, media_type="text/plain")
        body, media = static[name]
        return Response(body, media_type=media, headers={"cache-control": "no-cache"})

    async def openapi(request):
        return JSONResponse(SCHEMA)

    async def example(request):
        return JSONResponse(service.example())

    async def features(request):
        return JSONResponse(service.features())

    async def gallery(request):
        return JSONResponse(service.gallery())

    def endpoint(name: str):
        fn_name, accepted, required = API[name]

        async def handle(request):
            try:
                body = await _read_json(request, limits.max_body_bytes)
                args = _fields(body, accepted, required)
            except RequestError as err:
                return JSONResponse({"error": {"kind": "RequestError", "field": None,
                                               "message": err.message}},
                                    status_code=err.status)
            key = (name,) + tuple(args.get(f, "") for f in accepted)
            status, out = await runner.run(key, fn_name, args)
            return JSONResponse(out, status_code=status)

        return handle

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        runner.close()

    routes = [Route("/", index), Route("/static/{name}", static_file),
              Route("/api/openapi.json", openapi), Route("/api/example", example),
              Route("/api/features", features), Route("/api/gallery", gallery)]
    routes += [Route(f"/api/{name}", endpoint(name), methods=["POST"]) for name in API]
    async def not_found(request, exc):
        return JSONResponse({"error": {"kind": "NotFound", "field": None,
                                       "message": f"nothing at {request.url.path}"}},
                            status_code=404)

    async def not_allowed(request, exc):
        return JSONResponse({"error": {"kind": "MethodNotAllowed", "field": None,
                                       "message": f"{request.method} is not accepted at "
                                                  f"{request.url.path}"}},
                            status_code=405)

    async def failed(request, exc):  # a bug in matgrad: still an answer in JSON
        return JSONResponse({"error": {"kind": "InternalError", "field": None,
                                       "message": "the server failed on this request; "
                                                  "this is a bug in matgrad"}},
                            status_code=500)

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: not_found, 405: not_allowed, 500: failed})
    app.state.limits = limits
    app.state.runner = runner
    return _with_headers(_same_origin(app, tuple(h.lower() for h in hosts)))


def _refuse(status: int, kind: str, message: str):
    body = json.dumps({"error": {"kind": kind, "field": None, "message": message}}).encode()

    async def respond(send):
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return respond


def _same_origin(app, hosts: tuple):
    """Refuse a request whose Host is not one the server answers to, or whose Origin is
    not the page's own: a page elsewhere cannot use the local server (cross-site
    requests, DNS rebinding)."""

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "").lower()
        if hosts and host not in hosts:
            return await _refuse(421, "WrongHost", f"this server does not answer to the "
                                 f"host {host[:100]!r}")(send)
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in (f"http://{host}",
                                                          f"https://{host}"):
            return await _refuse(403, "CrossOrigin", "requests from other pages are not "
                                 "accepted: open the page this server serves")(send)
        return await app(scope, receive, send)

    guarded.state = app.state  # type: ignore[attr-defined]
    guarded.routes = app.routes  # type: ignore[attr-defined]
    return guarded


def _with_headers(app):
    """Wrap an ASGI app so every HTTP response carries the security headers."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        return await app(scope, receive, send_with_headers)

    wrapped.state = app.state  # type: ignore[attr-defined]
    wrapped.routes = app.routes  # type: ignore[attr-defined]
    return wrapped


MAX_JSON_DEPTH = 20  # nesting of a request body: the fields are strings, lists of them
BODY_SECONDS = 10  # to receive a whole request body (a trickle is cut off)


async def _read_json(request, limit: int) -> dict:
    """The request body as a JSON object, refusing bodies over `limit` bytes, nested
    deeper than MAX_JSON_DEPTH or not received within BODY_SECONDS."""
    import asyncio
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the request body is {declared} bytes; this server "
                                f"accepts up to {limit}")
    chunks: list = []

    async def receive():
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"the request body is larger than {limit} bytes, "
                                        "the limit on this server")
            chunks.append(chunk)
    try:
        await asyncio.wait_for(receive(), BODY_SECONDS)
    except asyncio.TimeoutError:
        raise RequestError(408, f"the request body did not arrive within {BODY_SECONDS} "
                                "s") from None
    raw = b"".join(chunks) or b"null"
    if _depth(raw) > MAX_JSON_DEPTH:
        raise RequestError(400, f"the request body is nested more than {MAX_JSON_DEPTH} "
                                "levels deep")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise RequestError(400, f"the request body is not JSON ({err})") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    return body


_BRACKETS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _depth(raw: bytes) -> int:
    """The deepest nesting of brackets in JSON text, strings skipped (before parsing, so
    that a body nested 30 000 deep costs a scan, not the parser's recursion)."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(raw):
        token = m.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _fields(body: dict, accepted: tuple, required: tuple) -> dict:
    """The known string fields of a request body (a list is accepted for wrt, and a
    whole number for order)."""
    unknown = sorted(set(body) - set(accepted))
    if unknown:
        raise RequestError(400, f"unknown field(s) {', '.join(map(repr, unknown))}; "
                                f"accepted: {', '.join(accepted)}")
    missing = [f for f in required if f not in body]
    if missing:
        raise RequestError(400, f"missing field(s): {', '.join(missing)}")
    out = {}
    for name, value in body.items():
        if name == "wrt" and isinstance(value, list) and all(isinstance(v, str)
                                                             for v in value):
            value = ",".join(value)
        if value is None:
            value = ""
        if name == "order" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise RequestError(400, f"the field {name!r} must be a string")
        out[name] = value
    return out
