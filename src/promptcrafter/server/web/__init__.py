"""The web pages, served beside the API by the same application: sign-in, the library, a
prompt's page, the account. Server-rendered HTML (Jinja2) with charts drawn as SVG on the
server; a little JavaScript of our own for live search, nothing loaded from elsewhere."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from promptcrafter.server.web import accounts, compare, library, logs, prompt, stats
from promptcrafter.server.web.render import STATIC


def routes() -> list[BaseRoute]:
    """The pages' routes, to be added after the API's."""
    modules = (library, accounts, prompt, logs, compare, stats)
    return [route for module in modules for route in module.router.routes]


def mount_static(app: FastAPI) -> None:
    """The stylesheet, script and icon at `/static/…`."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
