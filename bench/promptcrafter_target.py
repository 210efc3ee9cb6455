"""PromptCrafter under test: started by its CLI, seeded through its HTTP API."""

from __future__ import annotations

import asyncio
import os
import secrets
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

import dataset
from processes import ManagedProcess, find_executable, free_port
from target import Case, Target, expect_status, to_json

WORKERS = 2


def start_promptcrafter(
    *, stack: ExitStack, workdir: Path, command: list[str], db_url: str | None, seed_concurrency: int
) -> Target:
    """Start ``promptcrafter serve`` on a free port and seed it.

    Without ``db_url`` the server gets a fresh SQLite file in ``workdir``.
    """
    process, base_url = launch_promptcrafter(stack=stack, workdir=workdir, command=command, db_url=db_url)
    target = Target(name="promptcrafter", base_url=base_url, process=process, version=version())
    ids = asyncio.run(_seed(base_url, seed_concurrency))
    target.cases = _cases(ids)
    return target


def launch_promptcrafter(
    *,
    stack: ExitStack,
    workdir: Path,
    command: list[str],
    db_url: str | None,
    workers: int = WORKERS,
    access_log: bool = True,
    name: str = "promptcrafter",
) -> tuple[ManagedProcess, str]:
    """Start ``promptcrafter serve`` on a free port, stopped when ``stack`` closes; return it and its URL.

    Without ``db_url`` the server gets a fresh SQLite file in ``workdir``; its log is ``<name>.log``.
    """
    executable = find_executable(command[0]) if command else None
    if executable is None:
        raise RuntimeError(f"PromptCrafter CLI not found ({command[0] if command else 'empty command'}): "
                           'pip install -e ".[bench]", or pass --promptcrafter-cmd')
    port = free_port()
    database = db_url or f"sqlite:///{workdir / 'promptcrafter.db'}"
    env = dict(os.environ)
    # A fixed key for the run, so the workers never race to create one.
    env["PROMPTCRAFTER_SECRET_KEY"] = secrets.token_urlsafe(48)
    process = ManagedProcess(
        name=name,
        argv=[executable, *command[1:], "serve", "--host", "127.0.0.1", "--port", str(port),
              "--db", database, "--workers", str(workers), *([] if access_log else ["--no-access-log"])],
        log_path=workdir / f"{name}.log",
        env=env,
    )
    process.start()
    stack.callback(process.stop)
    base_url = f"http://127.0.0.1:{port}"
    process.wait_http_ok(base_url + "/health")
    return process, base_url


def version() -> str:
    """The installed PromptCrafter version, if the package metadata is there."""
    try:
        return "promptcrafter " + metadata.version("promptcrafter")
    except metadata.PackageNotFoundError:
        return "promptcrafter (version unknown)"


async def _seed(base_url: str, concurrency: int) -> dict[str, str]:
    """Sign up one user and create the data set with concurrent requests."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:
        token = await sign_up(client)

        async def create_prompt(prompt: dataset.PromptData) -> str:
            body = {"title": prompt.title, "content": prompt.content, "model": prompt.model, "tags": prompt.tags}
            response = await client.post("/prompts", json=body)
            return str(expect_status(response, 201, "create prompt")["_id"])

        async def create_log(item: tuple[str, dataset.LogData]) -> None:
            prompt_id, log = item
            response = await client.post("/logs", json=_log_body(prompt_id, log))
            expect_status(response, 201, "create log")

        prompt_ids = await dataset.run_bounded(dataset.prompts(), create_prompt, concurrency)
        sink_id = await create_prompt(dataset.sink_prompt())
        pairs = [(pid, log) for i, pid in enumerate(prompt_ids) for log in dataset.logs_for(i)]
        await dataset.run_bounded(pairs, create_log, concurrency)
        return {"token": token, "prompt": prompt_ids[0], "sink": sink_id}


async def sign_up(client: httpx.AsyncClient) -> str:
    """Sign up a new user, make ``client`` send its token from now on, and return the token.

    The email is unique per call, so a reused PostgreSQL database still works:
    every query of a benchmark is scoped to this user.
    """
    email, password = f"bench-{secrets.token_hex(6)}@bench.invalid", secrets.token_urlsafe(18)
    signup = await client.post("/auth/signup", json={"name": "Bench User", "email": email, "password": password})
    token: str = expect_status(signup, 201, "signup")["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return token


def _log_body(prompt_id: str, log: dataset.LogData) -> dict[str, Any]:
    """A log in PromptCrafter's field names."""
    return {"promptId": prompt_id, "output": log.output, "modelUsed": log.model_used,
            "notes": log.notes, "score": log.score}


def _cases(ids: dict[str, str]) -> dict[str, Case]:
    """The four API cases."""
    auth = f"Bearer {ids['token']}"
    return {
        "create_log": Case("create_log", "POST", "/logs",
                           body=to_json(_log_body(ids["sink"], dataset.benchmark_log())), authorization=auth),
        "list_logs": Case("list_logs", "GET", f"/logs?promptId={ids['prompt']}",
                          authorization=auth, expect_items=dataset.LOGS_PER_PROMPT),
        "get_prompt": Case("get_prompt", "GET", f"/prompts/{ids['prompt']}", authorization=auth),
        "search": Case("search", "GET", f"/search?q={quote(dataset.SEARCH_TERM)}",
                       authorization=auth, expect_items=dataset.TRANSLATION_PROMPTS),
    }
