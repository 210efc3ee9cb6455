"""The web pages, served beside the API by the same application: sign-in, the library, a
prompt's page, datasets, providers and runs, the account. Server-rendered HTML (Jinja2) with
charts drawn as SVG on the server; a little JavaScript of our own for live search and a running
run's progress, nothing loaded from elsewhere."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from promptcrafter.server.web import accounts, compare, datasets, library, logs, prompt, providers, runs, stats
from promptcrafter.server.web.render import STATIC


def routes() -> list[BaseRoute]:
    """The pages' routes, to be added after the API's."""
    modules = (library, accounts, providers, prompt, logs, compare, stats, datasets, runs)
    return [route for module in modules for route in module.router.routes]


def mount_static(app: FastAPI) -> None:
    """The stylesheet, script and icon at `/static/…`."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
