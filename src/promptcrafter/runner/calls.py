"""Calls to OpenAI-compatible chat-completions endpoints, through the official `openai` client:
it retries 429s, 5xx answers, timeouts and lost connections with exponential backoff and
honours `Retry-After`. What still fails is a `CallFailed` with a message for the run's results."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import openai

# Attempts after the first; the client waits between them (0.5 s doubling to 8 s, with jitter,
# or what the server's Retry-After asks, up to a minute).
RETRIES = 4
# A key is required by the client; endpoints that need none (Ollama, llama.cpp) ignore it.
NO_KEY = "unused"
ERROR_MAX = 1_000


class CallFailed(Exception):
    """A call that failed for good (after its retries), with what to tell the user."""


@dataclass(frozen=True)
class Answer:
    text: str
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float


def client(base_url: str, api_key: str | None, timeout_seconds: float) -> openai.AsyncOpenAI:
    """A client for one provider (its connections are kept between calls; the runner bounds how
    many calls it makes at once)."""
    return openai.AsyncOpenAI(
        base_url=base_url, api_key=api_key or NO_KEY, timeout=timeout_seconds, max_retries=RETRIES
    )


async def complete(
    provider: openai.AsyncOpenAI, *, model: str, messages: list[dict[str, str]], params: dict[str, Any]
) -> Answer:
    """The model's answer to `messages`; CallFailed when there is none after the retries."""
    started = time.perf_counter()
    try:
        response = await provider.chat.completions.create(model=model, messages=messages, **params)  # type: ignore[arg-type]
    except openai.APIStatusError as error:
        said = error.body.get("message") if isinstance(error.body, dict) else None
        raise CallFailed(_short(f"The provider answered {error.status_code}: {said or error.message}")) from None
    except openai.APITimeoutError:
        raise CallFailed("The model did not answer in time.") from None
    except openai.APIConnectionError as error:
        raise CallFailed(_short(f"Could not reach the provider: {error}")) from None
    except (json.JSONDecodeError, openai.APIResponseValidationError):
        raise CallFailed("The provider's answer was not a chat completion.") from None
    latency_ms = (time.perf_counter() - started) * 1000
    if not getattr(response, "choices", None) or not isinstance(response.choices[0].message.content, str):
        raise CallFailed("The provider's answer held no message.")
    usage = response.usage
    return Answer(
        text=response.choices[0].message.content,
        input_tokens=None if usage is None else usage.prompt_tokens,
        output_tokens=None if usage is None else usage.completion_tokens,
        latency_ms=round(latency_ms, 1),
    )


def _short(text: str) -> str:
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"
