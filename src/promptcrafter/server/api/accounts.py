"""POST /auth/signup, POST /auth/login, GET /auth/me."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from promptcrafter import messages
from promptcrafter.domain import accounts
from promptcrafter.schemas import (
    LoginRequest,
    SignupRequest,
    SignupResponse,
    TokenResponse,
    UserRead,
)
from promptcrafter.server import shapes
from promptcrafter.server.deps import Anyone, Authenticated, Body, parse_body
from promptcrafter.server.openapi import PUBLIC, body, errors
from promptcrafter.server.responses import JSONResponse
from promptcrafter.server.routing import DirectRoute

router = APIRouter(prefix="/auth", tags=["accounts"], route_class=DirectRoute)


@router.post(
    "/signup",
    status_code=201,
    response_model=SignupResponse,
    responses=errors(
        413, 415, saying={400: (messages.FIELDS_INVALID, messages.PASSWORD_WEAK), 409: messages.EMAIL_TAKEN}
    ),
    openapi_extra={**body(SignupRequest), **PUBLIC},
)
async def sign_up(caller: Anyone, raw: Body) -> Response:
    """Create an account; the token in the answer saves a log-in call."""
    request = parse_body(raw, SignupRequest, messages.FIELDS_INVALID)
    context = caller.context
    token = await accounts.sign_up(context.db, context.passwords, context.tokens, request)
    return JSONResponse(
        {"message": "User account created successfully.", "token": token}, status_code=201
    )


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=errors(
        413,
        415,
        saying={
            400: messages.FIELDS_INVALID,
            401: messages.LOGIN_FAILED,
            403: messages.ACCOUNT_DISABLED,
            429: messages.LOGIN_THROTTLED,
        },
    ),
    openapi_extra={**body(LoginRequest), **PUBLIC},
)
async def log_in(caller: Anyone, raw: Body) -> Response:
    """Exchange an email and password for a token."""
    request = parse_body(raw, LoginRequest, messages.FIELDS_INVALID)
    context = caller.context
    token = await accounts.log_in(
        context.db, context.passwords, context.tokens, context.settings, request
    )
    return JSONResponse({"token": token})


@router.get("/me", response_model=UserRead, responses=errors(400, 401))
async def me(caller: Authenticated) -> Response:
    """The caller's account."""
    return JSONResponse(shapes.user(await caller.account()))
