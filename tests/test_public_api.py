"""The SDK's public surface: exactly `__all__`, one exception tree, and no server code imported."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import promptcrafter
from promptcrafter.client import _BaseClient
from promptcrafter.config import Settings
from promptcrafter.server import create_app

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
    """The documented arguments come first, in order; anything added since is keyword-only
    and optional, so no documented call changes meaning."""
    for name, arguments in DOCUMENTED_METHODS.items():
        parameters = list(inspect.signature(getattr(client_class, name)).parameters.values())
        assert [parameter.name for parameter in parameters[: len(arguments) + 1]] == ["self", *arguments], name
        for added in parameters[len(arguments) + 1 :]:
            assert added.kind is inspect.Parameter.KEYWORD_ONLY and added.default is None, (name, added.name)


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
        "promptcrafter.client_files",
    }


def request_builders() -> dict[str, Callable[..., Any]]:
    """The SDK's request builders (`_BaseClient._get_prompt` …), one per API call it can make."""
    return {
        name.removeprefix("_"): function
        for name, function in inspect.getmembers(_BaseClient, inspect.isfunction)
        if str(inspect.signature(function).return_annotation).startswith("_Call")
    }


def test_both_clients_offer_every_request_the_sdk_builds() -> None:
    for name in request_builders():
        sync_method = getattr(promptcrafter.PromptCrafterClient, name)
        async_method = getattr(promptcrafter.AsyncPromptCrafterClient, name)
        assert inspect.iscoroutinefunction(async_method), name
        assert inspect.signature(sync_method) == inspect.signature(async_method), name


PLACEHOLDERS = {"str": "an_id", "int": 1, "Json": {}, "dict[str, str]": {}}


def test_the_sdk_can_call_every_operation_of_the_api(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "api.db"
    shutil.copyfile(sqlite_template, database)
    document = create_app(Settings(database_url=f"sqlite:///{database}")).openapi()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}

    client = promptcrafter.PromptCrafterClient("http://127.0.0.1:9")
    called = []
    for builder in request_builders().values():
        parameters = list(inspect.signature(builder).parameters.values())[1:]
        call = builder(client, *(PLACEHOLDERS.get(str(p.annotation)) for p in parameters))
        called.append((call.method, call.path))
    client.close()

    def reaches(operation: tuple[str, str]) -> bool:
        pattern = re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(operation[1]))
        return any(method == operation[0] and re.fullmatch(pattern, path) for method, path in called)

    assert [operation for operation in sorted(operations) if not reaches(operation)] == []
