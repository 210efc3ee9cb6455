"""Sign up, sign in, sign out, and the account page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import accounts
from promptcrafter.domain import api_keys as key_rules
from promptcrafter.errors import Conflict, Forbidden, Invalid, TooManyRequests, Unauthorized
from promptcrafter.schemas import KeyCreate, LoginRequest, SignupRequest
from promptcrafter.server.scopes import SCOPES
from promptcrafter.server.web.forms import FormProblems, validated
from promptcrafter.server.web.render import PageRoute, page
from promptcrafter.server.web.visitors import AnyVisitor, Member, Visitor, local_path
from promptcrafter.storage import sessions

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/login")
async def login_page(visitor: AnyVisitor) -> Response:
    if visitor.user is not None:
        return visitor.redirect(local_path(visitor.request.query_params.get("next")))
    return page(visitor, "login.html", next=local_path(visitor.request.query_params.get("next")), values={})


@router.post("/login")
async def log_in(visitor: AnyVisitor) -> Response:
    fields = await visitor.form()
    next_path = local_path(fields.get("next"))
    values = {"email": fields.get("email", "")}
    context = visitor.context
    try:
        request = validated(LoginRequest, {"email": fields.get("email", ""), "password": fields.get("password", "")})
        user_id = await accounts.authenticate(context.db, context.passwords, context.settings, request)
    except FormProblems:
        return page(visitor, "login.html", status=400, next=next_path, values=values, problem=messages.FIELDS_INVALID)
    except (Unauthorized, Forbidden, TooManyRequests) as refused:
        status = refused.status_code
        return page(visitor, "login.html", status=status, next=next_path, values=values, problem=refused.message)
    await visitor.sign_in(user_id)
    return visitor.redirect(next_path)


@router.get("/signup")
async def signup_page(visitor: AnyVisitor) -> Response:
    return page(visitor, "signup.html", values={}, problems={})


@router.post("/signup")
async def sign_up(visitor: AnyVisitor) -> Response:
    fields = await visitor.form()
    values = {name: fields.get(name, "") for name in ("name", "email")}
    try:
        request = validated(SignupRequest, {**values, "password": fields.get("password", "")})
        user_id = await accounts.register(visitor.context.db, visitor.context.passwords, request)
    except FormProblems as invalid:
        return page(visitor, "signup.html", status=400, values=values, problems=invalid.problems)
    except Invalid as weak:
        return page(visitor, "signup.html", status=400, values=values, problems={"password": weak.message})
    except Conflict as taken:
        return page(visitor, "signup.html", status=409, values=values, problems={"email": taken.message})
    await visitor.sign_in(user_id)
    return visitor.redirect("/")


@router.post("/logout")
async def log_out(visitor: AnyVisitor) -> Response:
    await visitor.form()
    await visitor.sign_out()
    return visitor.redirect("/login")


@router.get("/account")
async def account_page(visitor: Member) -> Response:
    return page(visitor, "account.html")


@router.post("/account/sign-out-everywhere")
async def sign_out_everywhere(visitor: Member) -> Response:
    await visitor.form()
    assert visitor.user is not None
    await visitor.context.db.write(sessions.end_all, user_id=visitor.user["id"])
    await visitor.sign_out()
    return visitor.redirect("/login")


@router.get("/account/keys")
async def keys_page(visitor: Member) -> Response:
    return await _keys_page(visitor)


async def _keys_page(visitor: Visitor, *, status: int = 200, **context: Any) -> Response:
    caller = visitor.caller
    keys = await caller.read(key_rules.listed, user_id=caller.user_id)
    return page(visitor, "keys.html", status=status, keys=keys, scopes=SCOPES, **{"problems": {}, **context})


@router.post("/account/keys")
async def create_key(visitor: Member) -> Response:
    fields = await visitor.form()
    chosen = [scope for scope in SCOPES if fields.get(f"scope.{scope}") == "on"]
    expires = fields.get("expires", "").strip()
    body: dict[str, Any] = {"name": fields.get("name", ""), "scopes": chosen}
    if expires:
        body["expiresAt"] = f"{expires}T00:00:00Z" if len(expires) == 10 else expires
    try:
        request = validated(KeyCreate, body)
        record, key = await visitor.caller.write(key_rules.create, user_id=visitor.caller.user_id, request=request)
    except FormProblems as invalid:
        problems = {"expires" if name == "expiresAt" else name: problem for name, problem in invalid.problems.items()}
        return await _keys_page(visitor, status=400, problems=problems, values=fields)
    except Conflict as full:
        return await _keys_page(visitor, status=409, problems={"form": full.message}, values=fields)
    # Shown on this page only: a redirect would need to carry the key somewhere.
    return await _keys_page(visitor, status=201, created=record, key=key)


@router.post("/account/keys/{key_id}/revoke")
async def revoke_key(key_id: str, visitor: Member) -> Response:
    await visitor.form()
    await visitor.caller.write(key_rules.revoke, user_id=visitor.caller.user_id, key_id=key_id)
    return visitor.redirect("/account/keys")
