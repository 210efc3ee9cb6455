"""The library: the visitor's prompts, filtered, sorted and searched, a page at a time; and the
form that creates a prompt."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter.domain import listing
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.domain.search import terms_of
from promptcrafter.errors import Invalid
from promptcrafter.schemas import PromptCreate
from promptcrafter.server.web.forms import FormProblems, tags_of, validated
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member
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


@router.get("/new")
async def new_prompt_page(visitor: Member) -> Response:
    return page(visitor, "prompt_form.html", values={}, problems={}, action="/new", heading="New prompt")


@router.post("/new")
async def create_prompt(visitor: Member) -> Response:
    fields = await visitor.form()
    values: dict[str, Any] = {name: fields.get(name, "") for name in ("title", "content", "model", "tags")}
    try:
        request = validated(PromptCreate, {**values, "tags": tags_of(values["tags"])})
        created = await visitor.caller.write(prompt_rules.create, user_id=visitor.caller.user_id, request=request)
    except FormProblems as invalid:
        return page(
            visitor,
            "prompt_form.html",
            status=400,
            values=values,
            problems=invalid.problems,
            action="/new",
            heading="New prompt",
        )
    except Invalid as refused:
        return page(
            visitor,
            "prompt_form.html",
            status=400,
            values=values,
            problems={"form": refused.message},
            action="/new",
            heading="New prompt",
        )
    return visitor.redirect(f"/p/{created['id']}")
