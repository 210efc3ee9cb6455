"""Providers: the OpenAI-compatible endpoints the visitor's runs call, with their models'
prices; add one, delete one. A key is sealed when stored and never shown again: the page shows
its last four characters only, and a form sent back with a problem does not carry it.

The API holds `/providers`, so the page lives with the account's other secrets, at
`/account/providers`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import providers as provider_rules
from promptcrafter.errors import Conflict
from promptcrafter.schemas_runs import ProviderCreate
from promptcrafter.server.web.forms import FormProblems, validated
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member, Visitor

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = "/account/providers"
# The request model's field names, as the form names them.
FIELDS = {"baseUrl": "base_url", "apiKey": "api_key"}


def models_of(text: str) -> list[dict[str, Any]]:
    """Models typed one a line, `name input_price output_price` (USD per million tokens; the
    prices may be left out)."""
    models: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        if len(words) not in (1, 3):
            raise FormProblems({"models": f"Line {number}: write a model as name, or name input_price output_price."})
        model: dict[str, Any] = {"name": words[0]}
        if len(words) == 3:
            model["inputPer1M"], model["outputPer1M"] = (_price(number, word) for word in words[1:])
        models.append(model)
    return models


def _price(line: int, text: str) -> float | int:
    try:
        price = float(text.removeprefix("$"))
    except ValueError:
        raise FormProblems({"models": f"Line {line}: “{text[:20]}” is not a price (USD per million tokens)."}) from None
    return int(price) if price.is_integer() else price


async def _providers_page(visitor: Visitor, *, status: int = 200, **context: Any) -> Response:
    caller = visitor.caller
    found = await caller.read(provider_rules.listed, user_id=caller.user_id)
    return page(visitor, "providers.html", status=status, providers=found, **{"values": {}, "problems": {}, **context})


@router.get(PAGE)
async def providers_page(visitor: Member) -> Response:
    return await _providers_page(visitor)


@router.post(PAGE)
async def add_provider(visitor: Member) -> Response:
    fields = await visitor.form()
    # The key is never sent back: a form with a problem asks for it again.
    values = {name: fields.get(name, "") for name in ("name", "base_url", "models")}
    key = fields.get("api_key", "").strip()
    caller = visitor.caller
    try:
        body: dict[str, Any] = {
            "name": values["name"].strip(),
            "baseUrl": values["base_url"].strip(),
            "models": models_of(values["models"]),
        }
        if key:
            body["apiKey"] = key
        request = validated(ProviderCreate, body)
        await caller.write(
            provider_rules.create, user_id=caller.user_id, request=request, sealer=visitor.context.sealer
        )
    except FormProblems as invalid:
        problems = {FIELDS.get(name, name): problem for name, problem in invalid.problems.items()}
        return await _providers_page(visitor, status=400, values=values, problems=problems)
    except Conflict as refused:
        where = "name" if refused.message == messages.PROVIDER_NAME_TAKEN else "form"
        return await _providers_page(visitor, status=409, values=values, problems={where: refused.message})
    return visitor.redirect(f"{PAGE}?added=1")


@router.post(PAGE + "/{provider_id}/delete")
async def delete_provider(provider_id: str, visitor: Member) -> Response:
    await visitor.form()
    caller = visitor.caller
    await caller.write(provider_rules.delete, user_id=caller.user_id, provider_id=provider_id)
    return visitor.redirect(f"{PAGE}?deleted=1")
