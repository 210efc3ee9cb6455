"""Who is looking at a page: the session cookie, the form tokens that guard every form, and
reading a submitted form.

A session is a random cookie (`HttpOnly`, `SameSite=Lax`, `Secure` over HTTPS) whose SHA-256
is stored server-side, so signing out ends it at once on every server process. Forms carry a
token that is an HMAC of a second random cookie (signed double submit): a page of another
site can make a browser send our cookies, but cannot read them, so it cannot forge the token.
API routes never read either cookie: they accept bearer tokens only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from starlette.responses import RedirectResponse, Response

from promptcrafter.server.context import ServerContext
from promptcrafter.server.deps import Caller
from promptcrafter.storage import sessions
from promptcrafter.storage.sessions import SessionUser

SESSION_COOKIE = "pc_session"
FORM_COOKIE = "pc_form"
SESSION_LIFETIME_SECONDS = 14 * 86_400
FORM_FIELD = "form_token"
# A form is a few fields of text; the largest is a prompt's content or a log's output.
MAX_FORM_BYTES = 1024 * 1024


class FormRefused(Exception):
    """A form without a valid token, or too large or malformed to read: a 403 or 400 page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Visitor:
    """The browser asking for a page: its account when signed in, and its form cookie."""

    context: ServerContext
    request: Request
    user: SessionUser | None
    form_cookie: str
    new_form_cookie: bool
    cookies_to_set: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def form_token(self) -> str:
        """The value every form of this page carries in `form_token`."""
        return hmac.new(self.context.form_key, self.form_cookie.encode(), hashlib.sha256).hexdigest()

    @property
    def caller(self) -> Caller:
        """The signed-in account as the API's handlers see a caller (already confirmed)."""
        assert self.user is not None
        caller = Caller(self.context, self.request.url.path, {}, self.user["id"])
        caller.confirmed = True
        return caller

    async def form(self) -> dict[str, str]:
        """The submitted form's fields (the last value of each), after checking its token."""
        if self.request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise FormRefused(400, "This form was not sent as a form.")
        body = bytearray()
        try:
            async with asyncio.timeout(self.context.settings.body_timeout):
                async for chunk in self.request.stream():
                    body += chunk
                    if len(body) > MAX_FORM_BYTES:
                        raise FormRefused(413, "This form is too large (at most 1 MB).")
        except TimeoutError:
            raise FormRefused(408, "This form took too long to arrive. Try again.") from None
        try:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=200))
        except (UnicodeDecodeError, ValueError):
            raise FormRefused(400, "This form could not be read.") from None
        if not hmac.compare_digest(fields.pop(FORM_FIELD, ""), self.form_token):
            raise FormRefused(
                403, "This form has expired or did not come from this site. Reload the page and try again."
            )
        return fields

    async def sign_in(self, user_id: str) -> None:
        """Start a session for the account; a fresh form cookie with it."""
        token = secrets.token_urlsafe(32)
        await self.context.db.write(
            sessions.create, token_hash=_hashed(token), user_id=user_id, lifetime_ms=SESSION_LIFETIME_SECONDS * 1000
        )
        self.cookies_to_set.append((SESSION_COOKIE, token, SESSION_LIFETIME_SECONDS))
        self._renew_form_cookie()

    async def sign_out(self) -> None:
        """End this browser's session."""
        token = self.request.cookies.get(SESSION_COOKIE)
        if token:
            await self.context.db.write(sessions.end, token_hash=_hashed(token))
        self.cookies_to_set.append((SESSION_COOKIE, "", 0))
        self._renew_form_cookie()

    def finish(self, response: Response) -> Response:
        """The response with the cookies this visit set."""
        if self.new_form_cookie:
            self.cookies_to_set.append((FORM_COOKIE, self.form_cookie, SESSION_LIFETIME_SECONDS))
        secure = self.request.url.scheme == "https"
        for name, value, max_age in self.cookies_to_set:
            response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def redirect(self, location: str) -> Response:
        """A 303 to `location` (after a form, the browser asks for it with GET)."""
        return self.finish(RedirectResponse(location, status_code=303))

    def _renew_form_cookie(self) -> None:
        self.form_cookie, self.new_form_cookie = secrets.token_urlsafe(32), True


async def visit(request: Request) -> Visitor:
    """The visitor of this request: their session's account, if any, and their form cookie."""
    context: ServerContext = request.app.state.context
    token = request.cookies.get(SESSION_COOKIE, "")
    user = None
    if token and len(token) <= 100:
        user = await context.db.read(sessions.user_of, token_hash=_hashed(token))
    if user is not None:
        request.state.user_id = user["id"]
    form_cookie = request.cookies.get(FORM_COOKIE, "")
    new = not (20 <= len(form_cookie) <= 100)
    return Visitor(context, request, user, secrets.token_urlsafe(32) if new else form_cookie, new)


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


AnyVisitor = Annotated[Visitor, Depends(visit)]
"""The visitor of a page anyone may see."""


class SignInFirst(Exception):
    """A page for signed-in visitors only: the answer is the sign-in page, then back here."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.location = f"/login?next={quote(path, safe='/')}"


async def _member(visitor: AnyVisitor) -> Visitor:
    if visitor.user is None:
        raise SignInFirst(visitor.request.url.path)
    return visitor


Member = Annotated[Visitor, Depends(_member)]
"""The signed-in visitor of a page; others are sent to sign in."""


def local_path(next_path: str | None) -> str:
    """Where to go after signing in: a path of this site only (never `//other.site`)."""
    # Browsers drop tabs and newlines from a URL and read `\` as `/`: `/\t/evil.site` is `//evil.site`.
    if (
        next_path
        and next_path.startswith("/")
        and not next_path.startswith("//")
        and "\\" not in next_path
        and all(ord(character) > 32 for character in next_path)
    ):
        return next_path
    return "/"
