"""The SDK's public surface: exactly `__all__`, one exception tree, and no server code imported."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import promptcrafter

PUBLIC_NAMES = {
    "__version__",
    "PromptCrafterClient",
    "AsyncPromptCrafterClient",
    "PromptCrafterAPIError",
    "BadRequestError",
    "AuthenticationError",
    "ForbiddenError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "ServerError",
    "PromptCrafterConnectionError",
}
# The names and arguments of the public documentation's SDK page, which scripts rely on.
DOCUMENTED_METHODS = {
    "signup": ["name", "email", "password"],
    "login": ["email", "password"],
    "set_token": ["token"],
    "me": [],
    "health": [],
    "create_prompt": ["title", "content", "model", "tags"],
    "get_prompt": ["prompt_id"],
    "get_prompts": [],
    "update_prompt": ["prompt_id", "fields"],
    "delete_prompt": ["prompt_id"],
    "search_prompts": ["query"],
    "create_log": ["prompt_id", "output", "model_used", "notes", "score"],
    "get_logs": [],
    "get_logs_by_prompt": ["prompt_id"],
    "delete_log": ["log_id"],
}
SERVER_STACK = {
    "fastapi",
    "sqlalchemy",
    "uvicorn",
    "starlette",
    "typer",
    "alembic",
    "pydantic_settings",
}


def test_all_is_exactly_the_public_surface() -> None:
    assert set(promptcrafter.__all__) == PUBLIC_NAMES
    assert len(promptcrafter.__all__) == len(PUBLIC_NAMES)


def test_every_public_name_resolves() -> None:
    for name in promptcrafter.__all__:
        assert getattr(promptcrafter, name) is not None


def test_version_is_0_1_0() -> None:
    assert promptcrafter.__version__ == "0.1.0"


def test_every_exception_derives_from_the_root_error() -> None:
    root = promptcrafter.PromptCrafterAPIError
    assert issubclass(root, Exception)
    for name in PUBLIC_NAMES - {"__version__", "PromptCrafterClient", "AsyncPromptCrafterClient"}:
        assert issubclass(getattr(promptcrafter, name), root), name


@pytest.mark.parametrize(
    "client_class", [promptcrafter.PromptCrafterClient, promptcrafter.AsyncPromptCrafterClient]
)
def test_clients_have_the_documented_methods_and_arguments(client_class: type) -> None:
    for name, arguments in DOCUMENTED_METHODS.items():
        parameters = list(inspect.signature(getattr(client_class, name)).parameters)
        assert parameters == ["self", *arguments], name


def test_importing_the_package_loads_no_server_code() -> None:
    script = "import json, sys, promptcrafter; print(json.dumps(sorted(sys.modules)))"
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    modules = json.loads(finished.stdout)
    assert not {name.split(".")[0] for name in modules} & SERVER_STACK
    assert {name for name in modules if name.startswith("promptcrafter.")} == {
        "promptcrafter.client",
        "promptcrafter.client_exceptions",
    }
