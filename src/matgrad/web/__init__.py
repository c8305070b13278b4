"""The local web page: `matgrad serve` runs this ASGI application.

The page (static HTML, CSS and JavaScript in `static/`) calls a JSON API; the API calls
the library through `service`, in worker threads bounded by `limits`. Mathematics is
rendered to MathML on the server, so the page needs no network access.

Needs the `web` extra (Starlette, uvicorn), imported only when the app is
created.
"""
from .app import create_app
from .limits import Limits

__all__ = ["Limits", "create_app"]
