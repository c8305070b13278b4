"""The ASGI application: the page, its static files and the JSON API (Starlette).

Each API route reads a small JSON body (bounded in size), hands the work to the Runner
(worker threads, a time limit, a cache) and returns what `service` computed. The page is
plain HTML, CSS and JavaScript from this package; the Content-Security-Policy allows
nothing from elsewhere.
"""
from __future__ import annotations

import contextlib
import json
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


def create_app(limits: Limits | None = None):
    """The Starlette application serving the page and the API.

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
        fn = getattr(service, fn_name)

        async def handle(request):
            try:
                body = await _read_json(request, limits.max_body_bytes)
                args = _fields(body, accepted, required)
            except RequestError as err:
                return JSONResponse({"error": {"kind": "RequestError", "field": None,
                                               "message": err.message}},
                                    status_code=err.status)
            key = (name,) + tuple(args.get(f, "") for f in accepted)
            status, out = await runner.run(key, lambda: fn(**args, limits=limits))
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
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.limits = limits
    app.state.runner = runner
    return _with_headers(app)


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


async def _read_json(request, limit: int) -> dict:
    """The request body as a JSON object, refusing bodies over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the request body is {declared} bytes; this server "
                                f"accepts up to {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the request body is larger than {limit} bytes, the "
                                    "limit on this server")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks) or b"null")
    except (ValueError, UnicodeDecodeError) as err:
        raise RequestError(400, f"the request body is not JSON ({err})") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    return body


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
