"""A prompt's page: its current version, its versions and labels, a side-by-side diff, the
prompt rendered with values, and the forms that edit it, label a version, log an output and
delete it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter.domain import logs as log_rules
from promptcrafter.domain import prompts as prompt_rules
from promptcrafter.domain import templates
from promptcrafter.domain import versions as version_rules
from promptcrafter.errors import ApiError, Invalid
from promptcrafter.schemas import LabelSet, LogCreate, PromptUpdate, RenderRequest
from promptcrafter.server.web.forms import FormProblems, prompt_values, tags_of, validated
from promptcrafter.server.web.library import prompt_form
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import Member, Visitor
from promptcrafter.storage import versions

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SHOWN_VERSIONS = 100


@dataclass(frozen=True)
class DiffRow:
    """One line of a side-by-side diff: `equal`, `replace`, `delete` or `insert`."""

    kind: str
    left: str | None
    right: str | None


def side_by_side(before: str, after: str) -> list[DiffRow]:
    """The lines of two texts paired up as a side-by-side diff shows them."""
    old, new = before.splitlines(), after.splitlines()
    rows: list[DiffRow] = []
    for kind, old_start, old_end, new_start, new_end in difflib.SequenceMatcher(None, old, new).get_opcodes():
        left, right = old[old_start:old_end], new[new_start:new_end]
        for index in range(max(len(left), len(right))):
            rows.append(
                DiffRow(
                    kind,
                    left[index] if index < len(left) else None,
                    right[index] if index < len(right) else None,
                )
            )
    return rows


def input_of(text: str) -> dict[str, str] | None:
    """A log's input as typed: a JSON object, or `name = value` lines; None when empty."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise FormProblems({"input": 'Not a JSON object: use {"name": "value"} or name = value lines.'}) from None
        if not isinstance(parsed, dict):
            raise FormProblems({"input": "Not a JSON object."})
        return {str(name): str(value) for name, value in parsed.items()}
    values = {}
    for line in text.splitlines():
        if line.strip():
            name, equals, value = line.partition("=")
            if not equals or not name.strip():
                raise FormProblems({"input": f"Write each value as name = value (not “{line.strip()[:40]}”)."})
            values[name.strip()] = value.strip()
    return values


async def _prompt_page(visitor: Member, prompt_id: str, *, status: int = 200, **context: Any) -> Response:
    caller = visitor.caller
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    prompt = await caller.read(prompt_rules.get, user_id=caller.user_id, prompt_id=prompt_id)
    shown, _ = await caller.read(versions.page_newest_first, prompt_id=prompt_id, after=None, size=SHOWN_VERSIONS)
    query = visitor.request.query_params
    rendered = None
    if query.get("render") == "1" and "rendered" not in context:
        values = {name[4:]: value for name, value in query.items() if name.startswith("var.")}
        try:
            request = RenderRequest(variables=values)
            rendered = await caller.read(
                version_rules.render, user_id=caller.user_id, prompt_id=prompt_id, request=request
            )
        except ApiError as error:
            context.setdefault("problems", {})["render"] = error.message
    diff = None
    if query.get("from") and query.get("to"):
        diff = await _diff(visitor, prompt_id, query["from"], query["to"])
    return page(
        visitor,
        "prompt.html",
        status=status,
        prompt=prompt,
        versions=shown,
        variables=templates.variables(prompt["content"]),
        rendered=rendered,
        diff=diff,
        values=context.pop("values", {}),
        problems=context.pop("problems", {}),
        **context,
    )


async def _diff(visitor: Visitor, prompt_id: str, old: str, new: str) -> dict[str, Any]:
    caller = visitor.caller
    try:
        numbers = version_rules.parse_version(old), version_rules.parse_version(new)
        before = await caller.read(version_rules.get, user_id=caller.user_id, prompt_id=prompt_id, version=numbers[0])
        after = await caller.read(version_rules.get, user_id=caller.user_id, prompt_id=prompt_id, version=numbers[1])
    except ApiError as error:
        return {"problem": error.message}
    changed = [name for name in ("title", "model", "tags") if before[name] != after[name]]
    return {"from": before, "to": after, "rows": side_by_side(before["content"], after["content"]), "changed": changed}


@router.get("/p/{prompt_id}")
async def prompt_page(prompt_id: str, visitor: Member) -> Response:
    return await _prompt_page(visitor, prompt_id)


@router.get("/p/{prompt_id}/edit")
async def edit_page(prompt_id: str, visitor: Member) -> Response:
    caller = visitor.caller
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    prompt = await caller.read(prompt_rules.get, user_id=caller.user_id, prompt_id=prompt_id)
    values = {**prompt, "tags": ", ".join(prompt["tags"])}
    heading = f"Edit “{prompt['title']}”"
    return prompt_form(visitor, action=f"/p/{prompt_id}/edit", heading=heading, values=values, prompt=prompt)


@router.post("/p/{prompt_id}/edit")
async def edit(prompt_id: str, visitor: Member) -> Response:
    values = prompt_values(await visitor.form())
    prompt_rules.check_id(prompt_id, prompt_rules.CHANGING)
    caller = visitor.caller
    try:
        request = validated(PromptUpdate, {**values, "tags": tags_of(values["tags"])})
    except FormProblems as invalid:
        action, problems = f"/p/{prompt_id}/edit", invalid.problems
        return prompt_form(visitor, action=action, heading="Edit prompt", values=values, problems=problems)
    await caller.write(prompt_rules.update, user_id=caller.user_id, prompt_id=prompt_id, request=request)
    return visitor.redirect(f"/p/{prompt_id}")


@router.post("/p/{prompt_id}/labels")
async def set_label(prompt_id: str, visitor: Member) -> Response:
    fields = await visitor.form()
    prompt_rules.check_id(prompt_id, prompt_rules.CHANGING)
    name = fields.get("name", "").strip()
    caller = visitor.caller
    try:
        version_rules.check_label_name(name, settable=True)
        request = validated(LabelSet, {"version": version_rules.parse_version(fields.get("version", ""))})
        await caller.write(
            version_rules.set_label, user_id=caller.user_id, prompt_id=prompt_id, name=name, request=request
        )
    except FormProblems as invalid:
        return await _prompt_page(
            visitor, prompt_id, status=400, problems={"label": next(iter(invalid.problems.values()))}
        )
    except Invalid as refused:
        detail = refused.details[0]["message"] if refused.details else refused.message
        return await _prompt_page(visitor, prompt_id, status=400, problems={"label": detail})
    return visitor.redirect(f"/p/{prompt_id}#versions")


@router.post("/p/{prompt_id}/labels/{name}/delete")
async def delete_label(prompt_id: str, name: str, visitor: Member) -> Response:
    await visitor.form()
    prompt_rules.check_id(prompt_id, prompt_rules.CHANGING)
    caller = visitor.caller
    await caller.write(version_rules.delete_label, user_id=caller.user_id, prompt_id=prompt_id, name=name)
    return visitor.redirect(f"/p/{prompt_id}#versions")


@router.post("/p/{prompt_id}/logs")
async def log_output(prompt_id: str, visitor: Member) -> Response:
    fields = await visitor.form()
    prompt_rules.check_id(prompt_id, prompt_rules.CHANGING)
    values = {
        name: fields.get(name, "") for name in ("output", "modelUsed", "score", "notes", "input", "promptVersion")
    }
    caller = visitor.caller
    try:
        log: dict[str, Any] = {"promptId": prompt_id, "output": values["output"], "modelUsed": values["modelUsed"]}
        if values["score"].strip():
            log["score"] = _score(values["score"])
        if values["notes"].strip():
            log["notes"] = values["notes"]
        if values["promptVersion"].strip():
            log["promptVersion"] = version_rules.parse_version(values["promptVersion"].strip())
        log["input"] = input_of(values["input"])
        request = validated(LogCreate, log)
        await caller.write(log_rules.create, user_id=caller.user_id, request=request)
    except FormProblems as invalid:
        return await _prompt_page(visitor, prompt_id, status=400, values=values, problems=invalid.problems)
    except Invalid as refused:
        problems = {str(detail["field"]): str(detail["message"]) for detail in refused.details or []}
        return await _prompt_page(
            visitor, prompt_id, status=400, values=values, problems=problems or {"form": refused.message}
        )
    return visitor.redirect(f"/p/{prompt_id}?logged=1#log")


def _score(text: str) -> float | int:
    try:
        number = float(text.strip())
    except ValueError:
        raise FormProblems({"score": "Give a number from 0 to 10."}) from None
    return int(number) if number.is_integer() else number


@router.get("/p/{prompt_id}/delete")
async def delete_page(prompt_id: str, visitor: Member) -> Response:
    caller = visitor.caller
    prompt_rules.check_id(prompt_id, prompt_rules.READING)
    prompt = await caller.read(prompt_rules.get, user_id=caller.user_id, prompt_id=prompt_id)
    versions = prompt["version"]
    return page(
        visitor,
        "delete.html",
        subject=prompt["title"],
        consequence=f"The prompt, its {versions} version{'' if versions == 1 else 's'} and every log of it will be "
        "deleted.",
        action=f"/p/{prompt_id}/delete",
        button="Delete the prompt and its logs",
        back=f"/p/{prompt_id}",
    )


@router.post("/p/{prompt_id}/delete")
async def delete(prompt_id: str, visitor: Member) -> Response:
    await visitor.form()
    prompt_rules.check_id(prompt_id, prompt_rules.CHANGING)
    caller = visitor.caller
    await caller.write(prompt_rules.delete, user_id=caller.user_id, prompt_id=prompt_id)
    return visitor.redirect("/?deleted=1")
