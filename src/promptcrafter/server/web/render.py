"""Pages from Jinja2 templates, and the route class that turns failures into pages."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from promptcrafter.domain.templates import VARIABLE
from promptcrafter.errors import ApiError
from promptcrafter.server.web.visitors import FormRefused, SignInFirst, Visitor, visit

HERE = Path(__file__).parent
STATIC = HERE / "static"

templates = Jinja2Templates(directory=HERE / "templates")


def highlighted(content: str) -> Markup:
    """A prompt's text, escaped, with each `{{variable}}` marked."""
    parts, start = [], 0
    for match in VARIABLE.finditer(content):
        parts.append(escape(content[start : match.start()]))
        parts.append(Markup('<mark class="variable">{}</mark>').format(match.group(0)))
        start = match.end()
    parts.append(escape(content[start:]))
    return Markup("").join(parts)


def moment(milliseconds: int | None) -> str:
    """A stored time as people read it: `2026-11-29 19:30 UTC`."""
    if milliseconds is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(milliseconds / 1000))


def number(value: float | None, digits: int = 2) -> str:
    """A figure with `digits` decimals, or an en dash when there is none."""
    return "–" if value is None else f"{value:.{digits}f}"


templates.env.filters.update(highlighted=highlighted, moment=moment, number=number)


def page(visitor: Visitor, name: str, *, status: int = 200, **context: Any) -> Response:
    """The template `name` rendered for the visitor, with its cookies."""
    response = templates.TemplateResponse(
        visitor.request,
        name,
        {"user": visitor.user, "form_token": visitor.form_token, "status": status, **context},
        status_code=status,
    )
    return visitor.finish(response)


async def _failure(request: Request, status: int, message: str) -> Response:
    return page(await visit(request), "error.html", status=status, message=message)


class PageRoute(APIRoute):
    """A web page: a domain error becomes a page saying what went wrong with its status, and
    a visitor who must sign in first is sent to the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                # FastAPI's handler expects the exit stack its own outer middleware would add,
                # which this application leaves out (see `app._Application`).
                async with AsyncExitStack() as stack:
                    request.scope["fastapi_middleware_astack"] = stack
                    return await handler(request)
            except SignInFirst as redirect:
                return RedirectResponse(redirect.location, status_code=303)
            except FormRefused as refused:
                return await _failure(request, refused.status, refused.message)
            except ApiError as error:
                return await _failure(request, error.status_code, error.message)

        return page_handler
