"""Shared by the web API tests: the web and test extras required, an in-process client
for an app, and the check of an error answer."""
from __future__ import annotations

import os

import pytest


def require(module: str):
    """The web and test extras' modules; under CI their absence is a failure, not a
    skip. Called at a test module's import."""
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{module} is not installed (pip install -e \".[web,test]\")",
                    allow_module_level=True)


def client_for(app, base_url: str = "http://matgrad.test"):
    """An HTTP client that calls the ASGI app in this process."""
    import httpx
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def assert_error(r, status: int, kind: str, field=None) -> dict:
    """The error of an answer, checked to have this status, kind and (if given) field."""
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["kind"] == kind, err
    assert err["message"]
    if field is not None:
        assert err["field"] == field, err
    return err
