"""The SDK's exceptions: one tree under `PromptCrafterAPIError`, one class per kind of answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class PromptCrafterAPIError(Exception):
    """The server refused a request; `message` is its `error`, `details` its field errors."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        details: list[dict[str, Any]] | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.details = details
        self.response = response

    @property
    def error(self) -> str:
        """The `error` field of the server's answer (the same text as `message`)."""
        return self.message


class BadRequestError(PromptCrafterAPIError):
    """400: a missing or invalid field, id or query parameter."""


class AuthenticationError(PromptCrafterAPIError):
    """401: no token, a bad or expired one, or a wrong email or password."""


class ForbiddenError(PromptCrafterAPIError):
    """403: the prompt or log belongs to another user."""


class NotFoundError(PromptCrafterAPIError):
    """404: no prompt or log has that id."""


class ConflictError(PromptCrafterAPIError):
    """409: the email is already in use."""


class RateLimitError(PromptCrafterAPIError):
    """429: too many failed logins; `retry_after` says how many seconds to wait."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: int | None = None,
        status_code: int | None = None,
        details: list[dict[str, Any]] | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, details=details, response=response)
        self.retry_after = retry_after


class ServerError(PromptCrafterAPIError):
    """5xx: the server failed or its database is unavailable."""


class PromptCrafterConnectionError(PromptCrafterAPIError):
    """The server could not be reached, or did not answer in time."""
