"""A prompt's logs: filtered, sorted, a hundred to a page, each output opened on click; delete
one; export what the filters select."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter.domain import listing
from promptcrafter.domain import logs as log_rules
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.server.api import exports
from promptcrafter.server.deps import Caller
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member
from promptcrafter.storage import logs, versions

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 100
SORTS = {"-createdAt": "Newest", "createdAt": "Oldest", "-score": "Best score", "score": "Worst score"}
# Date boxes send `2026-11-29`; the list filters read ISO 8601 times.
DATES = ("since", "until")


def filter_params(query: dict[str, str]) -> dict[str, list[str]]:
    """The list filters and sort of the form's non-empty fields, as the API reads them."""
    params: dict[str, list[str]] = {}
    for name in (*listing.LOG_FILTERS, "sort", "cursor"):
        value = query.get(name, "").strip()
        if value:
            params[name] = [f"{value}T00:00:00Z" if name in DATES and len(value) == 10 else value]
    return params


@router.get("/p/{prompt_id}/logs")
async def logs_page(prompt_id: str, visitor: Member) -> Response:
    caller = visitor.caller
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    prompt = await caller.read(prompt_rules.get, user_id=caller.user_id, prompt_id=prompt_id)
    query = dict(visitor.request.query_params)
    params = filter_params(query)
    params.setdefault("sort", ["-createdAt"])
    request = listing.logs_request(params)
    items, key = await caller.read(
        logs.page,
        filters={**request.filters, "prompt_id": prompt_id},
        order=request.order,
        after=request.after,
        size=PAGE_SIZE,
    )
    shown, _ = await caller.read(versions.page_newest_first, prompt_id=prompt_id, after=None, size=100)
    next_query = None if key is None else {**query, "cursor": listing.encode_cursor(request.order, key)}
    exported = {name: values[0] for name, values in params.items() if name not in ("cursor",)}
    return page(
        visitor,
        "logs.html",
        prompt=prompt,
        items=items,
        query=query,
        sorts=SORTS,
        sort=request.order,
        versions=shown,
        next_query=next_query,
        exported=exported,
        tab="logs",
    )


@router.get("/p/{prompt_id}/logs/export")
async def export(prompt_id: str, visitor: Member) -> Response:
    """The API's export of this prompt's logs, with the page's filters."""
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    query = dict(visitor.request.query_params)
    params = {**filter_params(query), "promptId": [prompt_id], "format": [query.get("format", "csv")]}
    params.pop("cursor", None)
    caller = Caller(visitor.context, visitor.request.url.path, params, visitor.caller.user_id)
    caller.confirmed = True
    return await exports.export_logs(caller)


@router.post("/p/{prompt_id}/logs/{log_id}/delete")
async def delete(prompt_id: str, log_id: str, visitor: Member) -> Response:
    fields = await visitor.form()
    log_rules.check_id(log_id)
    caller = visitor.caller
    await caller.write(log_rules.delete, user_id=caller.user_id, log_id=log_id)
    back = fields.get("back", "")
    return visitor.redirect(back if back.startswith(f"/p/{prompt_id}/logs") else f"/p/{prompt_id}/logs")
