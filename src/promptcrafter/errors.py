"""Domain errors. Code raises these; the server turns each into a status and `{"error": ...}`."""

from __future__ import annotations

from typing import Any, ClassVar

from promptcrafter import messages

# The most problems an error lists in `details`; `moreDetails` counts the rest.
MAX_DETAILS = 20


class ApiError(Exception):
    """A failure the client caused or must know about, with the contract's exact message."""

    status_code: ClassVar[int] = 400

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, more_details: int = 0) -> None:
        super().__init__(message)
        self.message = message
        # A body of a hundred thousand bad items still gets a short answer.
        self.details = None if details is None else details[:MAX_DETAILS]
        self.more_details = more_details + (len(details) - MAX_DETAILS if details and len(details) > MAX_DETAILS else 0)

    @property
    def headers(self) -> dict[str, str]:
        return {}


class Invalid(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class RequestTimeout(ApiError):
    status_code = 408

    @property
    def headers(self) -> dict[str, str]:
        # The rest of the body may still come; the connection cannot carry another request.
        return {"Connection": "close"}


class Conflict(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class UnsupportedMediaType(ApiError):
    status_code = 415


class TooManyRequests(ApiError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ApiError):
    status_code = 503

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @classmethod
    def busy(cls) -> Unavailable:
        """Every connection, thread or the write lock stayed taken past the wait timeout."""
        return cls(messages.SERVER_BUSY, retry_after=1)

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
