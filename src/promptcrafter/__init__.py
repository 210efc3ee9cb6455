"""PromptCrafter: keep, test and evaluate generative-AI prompts.

The package itself is the SDK; the server lives in `promptcrafter.server` and is not imported here.
"""

from promptcrafter.client import AsyncPromptCrafterClient, PromptCrafterClient
from promptcrafter.client_exceptions import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PromptCrafterAPIError,
    PromptCrafterConnectionError,
    RateLimitError,
    ServerError,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncPromptCrafterClient",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "NotFoundError",
    "PromptCrafterAPIError",
    "PromptCrafterClient",
    "PromptCrafterConnectionError",
    "RateLimitError",
    "ServerError",
    "__version__",
]
