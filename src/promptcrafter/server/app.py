"""create_app(settings): the ASGI application."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from promptcrafter import __version__, messages
from promptcrafter.config import Settings
from promptcrafter.domain import api_keys
from promptcrafter.errors import ApiError
from promptcrafter.server import web
from promptcrafter.server.api import (
    accounts,
    datasets,
    evaluation,
    exports,
    health,
    keys,
    logs,
    prompts,
    providers,
    runs,
    search,
    versions,
)
from promptcrafter.server.context import ServerContext
from promptcrafter.server.docs import mount_docs
from promptcrafter.server.middleware import EdgeMiddleware
from promptcrafter.server.openapi import build_openapi
from promptcrafter.server.responses import JSONResponse

logger = logging.getLogger("promptcrafter")
KEY_USES_EVERY_SECONDS = 5
DESCRIPTION = (
    "Keep, test and evaluate generative-AI prompts: a prompt library and the record of "
    "what each prompt produced on each model, with notes and scores."
)


class _Application(FastAPI):
    """FastAPI with only the middleware this server uses.

    `EdgeMiddleware` answers crashes with a JSON 500 and `read_body` limits bodies, so
    FastAPI's outer layers (its 500 page, telemetry, a body limit, an exit stack for file
    uploads) would only add time to every request: here the stack is our middleware,
    then the exception handlers, then the router.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # FastAPI's own entry looks up its telemetry switches on every request.
            await Starlette.__call__(self, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        handlers = {key: handler for key, handler in self.exception_handlers.items() if key not in (500, Exception)}
        app: ASGIApp = ExceptionMiddleware(self.router, handlers=handlers)
        for middleware in reversed(self.user_middleware):
            app = middleware.cls(app, *middleware.args, **middleware.kwargs)
        return app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The server for a migrated database (`promptcrafter migrate` or `serve` migrates)."""
    context = ServerContext.start(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        recorder = asyncio.create_task(_record_key_uses(context))
        if context.settings.runner:
            context.runner.start()
        yield
        if context.settings.runner:
            await context.runner.stop()
        recorder.cancel()
        await _write_key_uses(context)
        await context.db.aclose()

    app = _Application(
        title="PromptCrafter API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # A redirect is not an answer the contract knows: `/prompts/` is an id route.
        redirect_slashes=False,
    )
    app.state.context = context
    # The router tries routes in order: the busiest first, but a prompt's sub-resources before
    # `/prompts/{id:path}`, which would take them for ids.
    for module in (
        exports,
        versions,
        evaluation,
        prompts,
        logs,
        search,
        accounts,
        keys,
        datasets,
        runs,
        providers,
        health,
    ):
        # Added flat rather than with include_router: nested routers are matched level by
        # level on every request, which costs about a tenth of a simple request.
        app.router.routes.extend(module.router.routes)
    observe_request = None
    if context.settings.metrics:
        # Imported only when asked for: prometheus-client reads its multi-process directory then.
        from promptcrafter.server import metrics

        app.router.routes.append(metrics.ROUTE)
        context.db.observer = metrics.observe_connections
        observe_request = metrics.observe_request
    app.router.routes.extend(web.routes())
    web.mount_static(app)
    mount_docs(app)
    _match_paths_exactly(app.router.routes)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_middleware(EdgeMiddleware, send_timeout=context.settings.send_timeout, observe=observe_request)
    return app


async def _record_key_uses(context: ServerContext) -> None:
    """Write when API keys were last used, every few seconds, in one transaction."""
    while True:
        await asyncio.sleep(KEY_USES_EVERY_SECONDS)
        try:
            await _write_key_uses(context)
        except Exception:  # a busy or unreachable database: the next round tries again
            logger.warning("could not record when API keys were last used", exc_info=True)


async def _write_key_uses(context: ServerContext) -> None:
    uses = context.key_usage.take()
    if uses:
        await context.db.write(api_keys.record_uses, uses=sorted(uses.items()))


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _api_error(_request: Request, error: ApiError) -> Response:
    content: dict[str, object] = {"error": error.message}
    if error.details:
        content["details"] = error.details
    if error.more_details:
        content["moreDetails"] = error.more_details
    return JSONResponse(content, status_code=error.status_code, headers=error.headers)


def _match_paths_exactly(routes: list[BaseRoute]) -> None:
    """Make `$` in route patterns mean the end of the path.

    Python's `$` also matches before a final newline, so `/health%0A` would be `/health`
    and `DELETE /prompts/<id>%0A` would delete the prompt.
    """
    for route in routes:
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and pattern.pattern.endswith("$"):
            route.path_regex = re.compile(pattern.pattern[:-1] + r"\Z")  # type: ignore[attr-defined]


def _allowed_methods(request: Request) -> str:
    """Every method some route accepts on this path (HEAD wherever GET is)."""
    path = request.scope["path"]
    allowed: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            allowed |= route.methods
    if "GET" in allowed:
        allowed.add("HEAD")
    return ", ".join(sorted(allowed))


async def _http_error(request: Request, error: HTTPException) -> Response:
    if error.status_code == 404:
        return _error(404, messages.NOT_FOUND)
    if error.status_code == 405:
        return _error(405, messages.METHOD_NOT_ALLOWED, {"Allow": _allowed_methods(request)})
    return _error(error.status_code, str(error.detail), error.headers)


async def _validation_error(_request: Request, _error_: RequestValidationError) -> Response:
    return _error(400, messages.BAD_PARAMETERS)
