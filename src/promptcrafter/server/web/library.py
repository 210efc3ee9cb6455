"""The library: the visitor's prompts, filtered, sorted and searched, a page at a time; and the
form that creates a prompt."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter.domain import listing
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.domain.search import terms_of
from promptcrafter.schemas import PromptCreate
from promptcrafter.server.web.forms import FormProblems, prompt_values, tags_of, validated
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member, Visitor
from promptcrafter.storage import prompts, search

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
SORTS = {
    "-updatedAt": "Recently changed",
    "-createdAt": "Newest",
    "createdAt": "Oldest",
    "title": "Title",
}


@router.get("/")
async def library(visitor: Member) -> Response:
    """The library, or with `q` the search results; `partial=1` gives only the results, for
    the search box's live updates."""
    query = visitor.request.query_params
    text, searched = query.get("q", "").strip(), query.get("in", "prompts")
    params: dict[str, list[str]] = {"sort": [query.get("sort") or "-updatedAt"]}
    for name in ("tag", "model", "cursor"):
        if query.get(name):
            params[name] = [query[name]]
    caller = visitor.caller
    if text:
        terms = terms_of([text])
        read_page = search.log_page if searched == "logs" else search.page
        after = listing.decode_cursor(params["cursor"][0], "") if "cursor" in params else None
        items, key = await caller.scan(read_page, owner_id=caller.user_id, terms=terms, after=after, size=PAGE_SIZE)
        cursor_order = ""
    else:
        request = listing.prompts_request(params)
        filters = {**request.filters, "owner_id": caller.user_id}
        items, key = await caller.read(
            prompts.page, filters=filters, order=request.order, after=request.after, size=PAGE_SIZE
        )
        cursor_order = request.order
    next_query = None
    if key is not None:
        next_query = {**dict(query), "cursor": listing.encode_cursor(cursor_order, key)}
        next_query.pop("partial", None)
    template = "library_results.html" if query.get("partial") == "1" else "library.html"
    return page(
        visitor,
        template,
        items=items,
        searched="logs" if text and searched == "logs" else "prompts",
        query=query,
        sorts=SORTS,
        sort=params["sort"][0],
        next_query=next_query,
    )


def prompt_form(
    visitor: Visitor,
    *,
    action: str,
    heading: str,
    values: dict[str, Any],
    problems: dict[str, str] | None = None,
    prompt: Any = None,
) -> Response:
    """The form that creates or edits a prompt; a 400 when it shows problems."""
    status = 400 if problems else 200
    return page(
        visitor,
        "prompt_form.html",
        status=status,
        values=values,
        problems=problems or {},
        action=action,
        heading=heading,
        prompt=prompt,
    )


@router.get("/new")
async def new_prompt_page(visitor: Member) -> Response:
    return prompt_form(visitor, action="/new", heading="New prompt", values={})


@router.post("/new")
async def create_prompt(visitor: Member) -> Response:
    values = prompt_values(await visitor.form())
    try:
        request = validated(PromptCreate, {**values, "tags": tags_of(values["tags"])})
    except FormProblems as invalid:
        return prompt_form(visitor, action="/new", heading="New prompt", values=values, problems=invalid.problems)
    created = await visitor.caller.write(prompt_rules.create, user_id=visitor.caller.user_id, request=request)
    return visitor.redirect(f"/p/{created['id']}")
