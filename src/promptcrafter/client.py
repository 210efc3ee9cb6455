"""The Python SDK: `PromptCrafterClient` and `AsyncPromptCrafterClient` over httpx.

Both clients share `_BaseClient`, which builds every request and reads every answer;
they differ only in how a request is sent.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Generic, Self, TypeVar
from urllib.parse import quote

import httpx

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
from promptcrafter.client_files import Batch, ImportFile

URL_ENV = "PROMPTCRAFTER_URL"
API_KEY_ENV = "PROMPTCRAFTER_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
ITEMS_PER_BATCH = 1000
FINISHED_RUN = ("done", "failed", "cancelled")

T = TypeVar("T")
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
Json = dict[str, Any]

ERRORS_BY_STATUS: dict[int, type[PromptCrafterAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
}


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One API request and how to read its successful answer."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    json: Json | None = None
    params: dict[str, Any] | None = None


class _BaseClient(Generic[HttpT]):
    """Configuration, request building and answer reading shared by both clients."""

    _http: HttpT

    def __init__(self, base_url: str | None, token: str | None, api_key: str | None = None) -> None:
        self._base_url = (base_url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
        # An API key is sent as a bearer token too; without either, PROMPTCRAFTER_API_KEY.
        self._token = token or api_key or (os.environ.get(API_KEY_ENV) or None)
        try:
            httpx.URL(self._base_url)
        except httpx.InvalidURL as error:
            raise ValueError(f"Invalid server URL {self._base_url!r}: {error}") from None

    @property
    def base_url(self) -> str:
        """The server this client talks to, without a trailing slash."""
        return self._base_url

    @property
    def token(self) -> str | None:
        """The bearer token sent with each request, if any."""
        return self._token

    def set_token(self, token: str | None) -> None:
        """Authenticate the next requests with `token` (None sends none)."""
        self._token = token

    def _build(self, call: _Call[Any]) -> httpx.Request:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        return self._http.build_request(call.method, call.path, json=call.json, params=call.params, headers=headers)

    def _connection_error(self, error: httpx.TransportError) -> PromptCrafterConnectionError:
        reason = str(error) or type(error).__name__
        return PromptCrafterConnectionError(f"Cannot reach the PromptCrafter server at {self._base_url}: {reason}")

    def _read(self, call: _Call[T], response: httpx.Response) -> T:
        if not response.is_success:
            raise _api_error(response)
        return call.read(response)

    def _store_token(self, response: httpx.Response) -> str:
        token: str = _json(response)["token"]
        self._token = token
        return token

    def _signup(self, name: str, email: str, password: str) -> _Call[str]:
        body = {"name": name, "email": email, "password": password}
        return _Call("POST", "/auth/signup", self._store_token, json=body)

    def _login(self, email: str, password: str) -> _Call[str]:
        body = {"email": email, "password": password}
        return _Call("POST", "/auth/login", self._store_token, json=body)

    def _me(self) -> _Call[Json]:
        return _Call("GET", "/auth/me", _json)

    def _health(self) -> _Call[Json]:
        return _Call("GET", "/health", _json)

    def _create_prompt(self, title: str, content: str, model: str, tags: list[str] | None) -> _Call[Json]:
        body: Json = {"title": title, "content": content, "model": model}
        if tags is not None:
            body["tags"] = tags
        return _Call("POST", "/prompts", _json, json=body)

    def _get_prompt(self, prompt_id: str, version: int | None, label: str | None) -> _Call[Json]:
        return _Call("GET", _path("prompts", prompt_id), _json, params=_given(version=version, label=label))

    def _get_prompts(self) -> _Call[list[Json]]:
        return _Call("GET", "/prompts", _json)

    def _update_prompt(self, prompt_id: str, fields: Json) -> _Call[Json]:
        return _Call("PATCH", _path("prompts", prompt_id), _json, json=fields)

    def _delete_prompt(self, prompt_id: str) -> _Call[None]:
        return _Call("DELETE", _path("prompts", prompt_id), _nothing)

    def _search_prompts(self, query: str) -> _Call[list[Json]]:
        return _Call("GET", "/search", _json, params={"q": query})

    def _search_logs(self, query: str) -> _Call[list[Json]]:
        return _Call("GET", "/search", _json, params={"q": query, "in": "logs"})

    def _create_log(
        self,
        prompt_id: str,
        output: str,
        model_used: str,
        notes: str | None,
        score: float | None,
        prompt_version: int | None,
        input: dict[str, str] | None,
        latency_ms: float | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cost_usd: float | None,
    ) -> _Call[Json]:
        body: Json = {"promptId": prompt_id, "output": output, "modelUsed": model_used}
        optional = {
            "notes": notes,
            "score": score,
            "promptVersion": prompt_version,
            "input": input,
            "latencyMs": latency_ms,
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "costUsd": cost_usd,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        return _Call("POST", "/logs", _json, json=body)

    def _list_versions(self, prompt_id: str) -> _Call[list[Json]]:
        return _Call("GET", _path("prompts", prompt_id) + "/versions", _json)

    def _get_version(self, prompt_id: str, version: int) -> _Call[Json]:
        return _Call("GET", _path("prompts", prompt_id) + f"/versions/{int(version)}", _json)

    def _diff_versions(self, prompt_id: str, from_version: int, to_version: int) -> _Call[Json]:
        params = {"from": from_version, "to": to_version}
        return _Call("GET", _path("prompts", prompt_id) + "/diff", _json, params=params)

    def _restore_version(self, prompt_id: str, version: int) -> _Call[Json]:
        return _Call("POST", _path("prompts", prompt_id) + f"/versions/{int(version)}/restore", _json)

    def _set_label(self, prompt_id: str, label: str, version: int) -> _Call[Json]:
        return _Call("PUT", _path("prompts", prompt_id) + _path("labels", label), _json, json={"version": version})

    def _delete_label(self, prompt_id: str, label: str) -> _Call[None]:
        return _Call("DELETE", _path("prompts", prompt_id) + _path("labels", label), _nothing)

    def _create_logs(self, logs: list[Json]) -> _Call[list[Json]]:
        return _Call("POST", "/logs/batch", lambda response: _json(response)["logs"], json={"logs": logs})

    def _export_logs(self, format: str, prompt_id: str | None, model_used: list[str] | None) -> _Call[bytes]:
        params = _given(format=format, promptId=prompt_id, modelUsed=model_used)
        return _Call("GET", "/logs/export", lambda response: response.content, params=params)

    def _export_prompts(self) -> _Call[bytes]:
        return _Call("GET", "/prompts/export", lambda response: response.content, params={"format": "jsonl"})

    def _exports(self, format: str) -> list[_Call[bytes]]:
        """What `export_to` writes, one after the other: prompts (JSON Lines only), then logs."""
        logs = self._export_logs(format, None, None)
        return [self._export_prompts(), logs] if format == "jsonl" else [logs]

    def _stats(self, prompt_id: str, group_by: str, filters: Json) -> _Call[Json]:
        params = _given(groupBy=group_by, **_log_filters(filters))
        return _Call("GET", _path("prompts", prompt_id) + "/stats", _json, params=params)

    def _compare(
        self, prompt_id: str, by: str, a: str | int, b: str | int, target: float | None, filters: Json
    ) -> _Call[Json]:
        params = _given(by=by, a=a, b=b, target=target, **_log_filters(filters))
        return _Call("GET", _path("prompts", prompt_id) + "/compare", _json, params=params)

    def _compare_across(self, by: str, a: str | int, b: str | int, target: float | None, filters: Json) -> _Call[Json]:
        params = _given(by=by, a=a, b=b, target=target, **_log_filters(filters))
        return _Call("GET", "/compare", _json, params=params)

    def _leaderboard(self, by: str, method: str, prompt_id: str | None, filters: Json) -> _Call[Json]:
        params = _given(by=by, method=method, promptId=prompt_id, **_log_filters(filters))
        return _Call("GET", "/stats/leaderboard", _json, params=params)

    def _import_records(self, body: Json) -> _Call[Json]:
        return _Call("POST", "/import", _json, json=body)

    def _list_logs(
        self,
        prompt_id: str | None,
        model_used: list[str] | None,
        prompt_version: int | None,
        min_score: float | None,
        max_score: float | None,
        scored: bool | None,
        since: str | None,
        until: str | None,
        sort: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> _Call[Json]:
        params = _given(
            promptId=prompt_id,
            modelUsed=model_used,
            promptVersion=prompt_version,
            minScore=min_score,
            maxScore=max_score,
            scored=None if scored is None else str(scored).lower(),
            since=since,
            until=until,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return _Call("GET", "/logs", _page, params=params)

    def _list_prompts(
        self, tag: list[str] | None, model: str | None, sort: str | None, limit: int | None, cursor: str | None
    ) -> _Call[Json]:
        params = _given(tag=tag, model=model, sort=sort, limit=limit, cursor=cursor)
        return _Call("GET", "/prompts", _page, params=params)

    def _render_prompt(
        self, prompt_id: str, variables: dict[str, str], version: int | None, label: str | None
    ) -> _Call[Json]:
        body: Json = {"variables": variables, **_given(version=version, label=label)}
        return _Call("POST", _path("prompts", prompt_id) + "/render", _json, json=body)

    def _create_key(self, name: str, scopes: list[str], expires_at: str | None) -> _Call[Json]:
        body: Json = {"name": name, "scopes": scopes, **_given(expiresAt=expires_at)}
        return _Call("POST", "/auth/keys", _json, json=body)

    def _list_keys(self) -> _Call[list[Json]]:
        return _Call("GET", "/auth/keys", _json)

    def _revoke_key(self, key_id: str) -> _Call[None]:
        return _Call("DELETE", _path("auth/keys", key_id), _nothing)

    def _get_logs(self) -> _Call[list[Json]]:
        return _Call("GET", "/logs", _json)

    def _get_logs_by_prompt(self, prompt_id: str) -> _Call[list[Json]]:
        return _Call("GET", "/logs", _json, params={"promptId": prompt_id})

    def _review_log(self, log_id: str, fields: Json) -> _Call[Json]:
        return _Call("PATCH", _path("logs", log_id), _json, json=fields)

    def _delete_log(self, log_id: str) -> _Call[None]:
        return _Call("DELETE", _path("logs", log_id), _nothing)

    def _create_dataset(self, name: str, description: str | None) -> _Call[Json]:
        return _Call("POST", "/datasets", _json, json=_given(name=name, description=description))

    def _list_datasets(self) -> _Call[list[Json]]:
        return _Call("GET", "/datasets", _json)

    def _get_dataset(self, dataset_id: str) -> _Call[Json]:
        return _Call("GET", _path("datasets", dataset_id), _json)

    def _update_dataset(self, dataset_id: str, fields: Json) -> _Call[Json]:
        return _Call("PATCH", _path("datasets", dataset_id), _json, json=fields)

    def _delete_dataset(self, dataset_id: str) -> _Call[None]:
        return _Call("DELETE", _path("datasets", dataset_id), _nothing)

    def _add_items(self, dataset_id: str, items: list[Json]) -> _Call[list[Json]]:
        path = _path("datasets", dataset_id) + "/items"
        return _Call("POST", path, lambda response: _json(response)["items"], json={"items": items})

    def _list_items(self, dataset_id: str) -> _Call[list[Json]]:
        return _Call("GET", _path("datasets", dataset_id) + "/items", _json)

    def _delete_item(self, dataset_id: str, item_id: str) -> _Call[None]:
        return _Call("DELETE", _path("datasets", dataset_id) + _path("items", item_id), _nothing)

    def _create_provider(self, body: Json) -> _Call[Json]:
        return _Call("POST", "/providers", _json, json=body)

    def _list_providers(self) -> _Call[list[Json]]:
        return _Call("GET", "/providers", _json)

    def _get_provider(self, provider_id: str) -> _Call[Json]:
        return _Call("GET", _path("providers", provider_id), _json)

    def _update_provider(self, provider_id: str, fields: Json) -> _Call[Json]:
        return _Call("PATCH", _path("providers", provider_id), _json, json=fields)

    def _delete_provider(self, provider_id: str) -> _Call[None]:
        return _Call("DELETE", _path("providers", provider_id), _nothing)

    def _start_run(self, body: Json) -> _Call[Json]:
        return _Call("POST", "/runs", _json, json=body)

    def _list_runs(self) -> _Call[list[Json]]:
        return _Call("GET", "/runs", _json)

    def _get_run(self, run_id: str) -> _Call[Json]:
        return _Call("GET", _path("runs", run_id), _json)

    def _run_results(self, run_id: str) -> _Call[list[Json]]:
        return _Call("GET", _path("runs", run_id) + "/results", _json)

    def _cancel_run(self, run_id: str) -> _Call[Json]:
        return _Call("POST", _path("runs", run_id) + "/cancel", _json)


class PromptCrafterClient(_BaseClient[httpx.Client]):
    """A blocking client for the PromptCrafter API; use it as a context manager to close it."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        *,
        api_key: str | None = None,
    ) -> None:
        super().__init__(base_url, token, api_key)
        self._http = httpx.Client(base_url=self._base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def _send(self, call: _Call[T]) -> T:
        try:
            response = self._http.send(self._build(call))
        except httpx.TransportError as error:
            raise self._connection_error(error) from error
        return self._read(call, response)

    def signup(self, name: str, email: str, password: str) -> str:
        """Create an account; returns its token, which this client then uses."""
        return self._send(self._signup(name, email, password))

    def login(self, email: str, password: str) -> str:
        """Log in; returns a token, which this client then uses."""
        return self._send(self._login(email, password))

    def me(self) -> Json:
        """The account the token belongs to."""
        return self._send(self._me())

    def health(self) -> Json:
        """The server's health: `{"status": "ok"}` when it and its database answer."""
        return self._send(self._health())

    def create_key(self, name: str, scopes: list[str], *, expires_at: str | None = None) -> Json:
        """An API key for a program (needs a login token): its `key` is in this answer only."""
        return self._send(self._create_key(name, scopes, expires_at))

    def list_keys(self) -> list[Json]:
        """Your API keys, without the keys themselves."""
        return self._send(self._list_keys())

    def revoke_key(self, key_id: str) -> None:
        """Revoke an API key: it fails at once."""
        self._send(self._revoke_key(key_id))

    def create_prompt(self, title: str, content: str, model: str, tags: list[str] | None = None) -> Json:
        """Save a prompt; returns it as stored."""
        return self._send(self._create_prompt(title, content, model, tags))

    def get_prompt(self, prompt_id: str, *, version: int | None = None, label: str | None = None) -> Json:
        """One of your prompts; with `version` or `label`, the prompt as of that version."""
        return self._send(self._get_prompt(prompt_id, version, label))

    def get_prompts(self) -> list[Json]:
        """All your prompts, oldest first."""
        return self._send(self._get_prompts())

    def update_prompt(self, prompt_id: str, **fields: Any) -> Json:
        """Change some of `title`, `content`, `model`, `tags`; returns the updated prompt."""
        return self._send(self._update_prompt(prompt_id, fields))

    def delete_prompt(self, prompt_id: str) -> None:
        """Delete a prompt and its logs."""
        self._send(self._delete_prompt(prompt_id))

    def search_prompts(self, query: str) -> list[Json]:
        """Your prompts containing every whitespace-separated term of `query`."""
        return self._send(self._search_prompts(query))

    def create_log(
        self,
        prompt_id: str,
        output: str,
        model_used: str,
        notes: str | None = None,
        score: float | None = None,
        *,
        prompt_version: int | None = None,
        input: dict[str, str] | None = None,
        latency_ms: float | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> Json:
        """Record what a prompt produced on a model; returns the log. Without `prompt_version`,
        the output came from the prompt's current version; `input` holds the variables used."""
        call = self._create_log(
            prompt_id,
            output,
            model_used,
            notes,
            score,
            prompt_version,
            input,
            latency_ms,
            input_tokens,
            output_tokens,
            cost_usd,
        )
        return self._send(call)

    def get_logs(self) -> list[Json]:
        """All your logs, oldest first."""
        return self._send(self._get_logs())

    def get_logs_by_prompt(self, prompt_id: str) -> list[Json]:
        """One prompt's logs, oldest first."""
        return self._send(self._get_logs_by_prompt(prompt_id))

    def review_log(self, log_id: str, **fields: Any) -> Json:
        """Score a log by hand (`score`, `notes`): the score replaces `score`; `scores` stays."""
        return self._send(self._review_log(log_id, fields))

    def delete_log(self, log_id: str) -> None:
        """Delete a log."""
        self._send(self._delete_log(log_id))

    def list_versions(self, prompt_id: str) -> list[Json]:
        """A prompt's versions, newest first, each with the labels naming it."""
        return self._send(self._list_versions(prompt_id))

    def get_version(self, prompt_id: str, version: int) -> Json:
        """One version of a prompt."""
        return self._send(self._get_version(prompt_id, version))

    def diff_versions(self, prompt_id: str, from_version: int, to_version: int) -> Json:
        """The fields that differ between two versions, and a unified diff of the content."""
        return self._send(self._diff_versions(prompt_id, from_version, to_version))

    def restore_version(self, prompt_id: str, version: int) -> Json:
        """Make an earlier version current again (as a new version); returns the prompt."""
        return self._send(self._restore_version(prompt_id, version))

    def set_label(self, prompt_id: str, label: str, version: int) -> Json:
        """Point a label such as `production` at a version."""
        return self._send(self._set_label(prompt_id, label, version))

    def delete_label(self, prompt_id: str, label: str) -> None:
        """Remove a label."""
        self._send(self._delete_label(prompt_id, label))

    def create_logs(self, logs: list[Json]) -> list[Json]:
        """Record up to 1,000 logs at once, all or none; each is a dict of the API's fields
        (`promptId`, `output`, `modelUsed`, …). A bad item raises `BadRequestError` whose
        `details` name its `index`."""
        return self._send(self._create_logs(logs))

    def export_logs(
        self, format: str = "jsonl", *, prompt_id: str | None = None, model_used: list[str] | None = None
    ) -> bytes:
        """Your logs (or one prompt's, or some models') as a JSON Lines or CSV file's bytes."""
        return self._send(self._export_logs(format, prompt_id, model_used))

    def export_prompts(self) -> bytes:
        """Your prompts as JSON Lines, each with all its versions and their labels."""
        return self._send(self._export_prompts())

    def export_to(
        self, file: BinaryIO, *, format: str = "jsonl", on_progress: Callable[[int], None] | None = None
    ) -> int:
        """Stream your whole library into `file`: JSON Lines of every prompt (with its versions
        and labels) then every log, which `import_file` reads back; or, with `format="csv"`,
        every log as CSV. `on_progress(bytes_written)` follows along; returns the bytes written."""
        written = 0
        for call in self._exports(format):
            written = self._stream_to(call, file, written, on_progress)
        return written

    def _stream_to(
        self, call: _Call[Any], file: BinaryIO, written: int, on_progress: Callable[[int], None] | None
    ) -> int:
        try:
            response = self._http.send(self._build(call), stream=True)
            try:
                if not response.is_success:
                    response.read()
                    raise _api_error(response)
                for chunk in response.iter_bytes():
                    file.write(chunk)
                    written += len(chunk)
                    if on_progress is not None:
                        on_progress(written)
            finally:
                response.close()
        except httpx.TransportError as error:
            raise self._connection_error(error) from error
        return written

    def stats(self, prompt_id: str, *, group_by: str = "promptVersion", **filters: Any) -> Json:
        """The prompt's score statistics per `group_by` (promptVersion, modelUsed or day): n,
        mean with its 95% interval, sd, median, histogram, latency and cost. `filters` are the
        log filters by their Python names (`model_used=[…]`, `min_score=…`, `since=…`)."""
        return self._send(self._stats(prompt_id, group_by, filters))

    def compare(
        self,
        prompt_id: str,
        a: str | int,
        b: str | int,
        *,
        by: str = "promptVersion",
        target: float | None = None,
        **filters: Any,
    ) -> Json:
        """Whether b scores better than a (two versions or two models of the prompt) and by how
        much: over all logs, paired on shared inputs, the data needed to settle it, a verdict."""
        return self._send(self._compare(prompt_id, by, a, b, target, filters))

    def compare_across(
        self, a: str, b: str, *, by: str = "modelUsed", target: float | None = None, **filters: Any
    ) -> Json:
        """`compare` over all your prompts (an input pairs only within its prompt)."""
        return self._send(self._compare_across(by, a, b, target, filters))

    def leaderboard(
        self, *, by: str = "modelUsed", method: str = "mean", prompt_id: str | None = None, **filters: Any
    ) -> Json:
        """Models (or a prompt's versions) ranked by mean score or Bradley–Terry rating, with
        bootstrap intervals of each rating and rank."""
        return self._send(self._leaderboard(by, method, prompt_id, filters))

    def import_records(self, *, prompts: list[Json] | None = None, logs: list[Json] | None = None) -> Json:
        """Add up to 1,000 prompts (with their versions) and logs in all, all or none, keeping
        their ids where free (`POST /import`); returns the counts and where each id went."""
        return self._send(self._import_records(_given(prompts=prompts, logs=logs)))

    def import_file(self, path: str | Path, *, on_progress: Callable[[int, int], None] | None = None) -> Json:
        """Import a file that `export_to` (or `promptcrafter export`) wrote, or the public sample
        data, in batches, prompts first; `on_progress(done, total)` after each. A second import
        of the same file adds nothing. A refused item raises `BadRequestError` whose `details`
        say where in the file it is (`origin`); the batches before it stay imported."""
        file = ImportFile.open(Path(path))
        counts = _ImportCounts(file.total)
        for batch in file.batches():
            try:
                answer = self._send(self._import_records(batch.body()))
            except BadRequestError as error:
                raise _located(error, batch) from None
            counts.add(batch, answer, on_progress)
        return counts.summary()

    def search_logs(self, query: str) -> list[Json]:
        """Your logs whose output or notes contain every term of `query`, newest first."""
        return self._send(self._search_logs(query))

    def list_logs(
        self,
        *,
        prompt_id: str | None = None,
        model_used: list[str] | None = None,
        prompt_version: int | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        scored: bool | None = None,
        since: str | None = None,
        until: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Json:
        """Your logs, filtered and sorted, a page at a time: `{"items": [...], "next_cursor": …}`.

        With `limit`, pass `next_cursor` back as `cursor` (with the same filters and sort) for
        the next page until it is None; without it, every matching log comes at once. `sort`
        is `createdAt`, `-createdAt`, `score` or `-score`; `since`/`until` are ISO 8601.
        """
        call = self._list_logs(
            prompt_id, model_used, prompt_version, min_score, max_score, scored, since, until, sort, limit, cursor
        )
        return self._send(call)

    def list_prompts(
        self,
        *,
        tag: list[str] | None = None,
        model: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Json:
        """Your prompts with all of `tag` and for `model`, a page at a time, as `list_logs`.
        `sort` is `createdAt`, `-createdAt`, `updatedAt`, `-updatedAt` or `title`."""
        return self._send(self._list_prompts(tag, model, sort, limit, cursor))

    def render_prompt(
        self, prompt_id: str, variables: dict[str, str], *, version: int | None = None, label: str | None = None
    ) -> Json:
        """A version's content (default: the current one) with its `{{variables}}` filled in:
        `{"text", "version"}`."""
        return self._send(self._render_prompt(prompt_id, variables, version, label))

    def create_dataset(self, name: str, *, description: str | None = None) -> Json:
        """A new, empty dataset of test cases."""
        return self._send(self._create_dataset(name, description))

    def list_datasets(self) -> list[Json]:
        """Your datasets, oldest first."""
        return self._send(self._list_datasets())

    def get_dataset(self, dataset_id: str) -> Json:
        """One of your datasets, with its `itemCount`."""
        return self._send(self._get_dataset(dataset_id))

    def update_dataset(self, dataset_id: str, **fields: Any) -> Json:
        """Rename a dataset (`name`) or change its `description`."""
        return self._send(self._update_dataset(dataset_id, fields))

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset with its items and runs (their logs stay)."""
        self._send(self._delete_dataset(dataset_id))

    def list_items(self, dataset_id: str) -> list[Json]:
        """A dataset's items, in the order they were added."""
        return self._send(self._list_items(dataset_id))

    def delete_item(self, dataset_id: str, item_id: str) -> None:
        """Remove one item from a dataset."""
        self._send(self._delete_item(dataset_id, item_id))

    def list_providers(self) -> list[Json]:
        """Your providers, by name (never their keys)."""
        return self._send(self._list_providers())

    def get_provider(self, provider_id: str) -> Json:
        """One of your providers."""
        return self._send(self._get_provider(provider_id))

    def update_provider(self, provider_id: str, **fields: Any) -> Json:
        """Change a provider: `name`, `baseUrl`, `apiKey` (None removes it), `models`, `concurrency`,
        `timeoutSeconds`."""
        return self._send(self._update_provider(provider_id, fields))

    def delete_provider(self, provider_id: str) -> None:
        """Delete a provider."""
        self._send(self._delete_provider(provider_id))

    def list_runs(self) -> list[Json]:
        """Your runs, oldest first."""
        return self._send(self._list_runs())

    def get_run(self, run_id: str) -> Json:
        """A run and its progress; once done, with its `leaderboard`."""
        return self._send(self._get_run(run_id))

    def run_results(self, run_id: str) -> list[Json]:
        """A run item by item: input, expected answer, and each model's output, score and error."""
        return self._send(self._run_results(run_id))

    def cancel_run(self, run_id: str) -> Json:
        """Stop a run: no call starts after this."""
        return self._send(self._cancel_run(run_id))

    def add_items(self, dataset_id: str, items: list[Json]) -> list[Json]:
        """Add items (`{"input": {…}, "expected": …, "metadata": …}`) to a dataset, in batches of
        1,000 (each all or none); returns them as stored."""
        added: list[Json] = []
        for start in range(0, len(items), ITEMS_PER_BATCH):
            batch = self._add_items(dataset_id, items[start : start + ITEMS_PER_BATCH])
            stored: list[Json] = self._send(batch)
            added.extend(stored)
        return added

    def create_provider(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str | None = None,
        models: list[Json] | None = None,
        concurrency: int | None = None,
        timeout_seconds: float | None = None,
    ) -> Json:
        """An OpenAI-compatible endpoint for runs; `models` each `{"name", "inputPer1M", "outputPer1M"}`.
        The key is stored encrypted and never returned."""
        body = _given(
            name=name,
            baseUrl=base_url,
            apiKey=api_key,
            models=models,
            concurrency=concurrency,
            timeoutSeconds=timeout_seconds,
        )
        return self._send(self._create_provider(body))

    def start_run(
        self,
        prompt_id: str,
        dataset_id: str,
        models: list[Json | str],
        *,
        version: int | None = None,
        label: str | None = None,
        repeats: int | None = None,
        scorers: list[Json | str] | None = None,
    ) -> Json:
        """Queue a run of a prompt version over a dataset: `models` as `{"provider", "model",
        "params"}` or `"provider:model"`, `scorers` as `{"type", …options}` or a type name."""
        body = _given(
            promptId=prompt_id,
            datasetId=dataset_id,
            models=[_run_model(model) for model in models],
            version=version,
            label=label,
            repeats=repeats,
            scorers=None if scorers is None else [{"type": s} if isinstance(s, str) else s for s in scorers],
        )
        return self._send(self._start_run(body))

    def wait_for_run(
        self,
        run_id: str,
        *,
        poll_seconds: float = 0.5,
        timeout: float | None = None,
        on_progress: Callable[[Json], None] | None = None,
    ) -> Json:
        """The run once it is done, failed or cancelled; `on_progress(run)` after each look.
        TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.get_run(run_id)
            if on_progress is not None:
                on_progress(run)
            if run["status"] in FINISHED_RUN:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} is still {run['status']}")
            time.sleep(poll_seconds)


class AsyncPromptCrafterClient(_BaseClient[httpx.AsyncClient]):
    """The asyncio/trio twin of `PromptCrafterClient`, with the same methods to await."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        api_key: str | None = None,
    ) -> None:
        super().__init__(base_url, token, api_key)
        self._http = httpx.AsyncClient(base_url=self._base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def _send(self, call: _Call[T]) -> T:
        try:
            response = await self._http.send(self._build(call))
        except httpx.TransportError as error:
            raise self._connection_error(error) from error
        return self._read(call, response)

    async def signup(self, name: str, email: str, password: str) -> str:
        """Create an account; returns its token, which this client then uses."""
        return await self._send(self._signup(name, email, password))

    async def login(self, email: str, password: str) -> str:
        """Log in; returns a token, which this client then uses."""
        return await self._send(self._login(email, password))

    async def me(self) -> Json:
        """The account the token belongs to."""
        return await self._send(self._me())

    async def health(self) -> Json:
        """The server's health: `{"status": "ok"}` when it and its database answer."""
        return await self._send(self._health())

    async def create_key(self, name: str, scopes: list[str], *, expires_at: str | None = None) -> Json:
        """An API key for a program (needs a login token): its `key` is in this answer only."""
        return await self._send(self._create_key(name, scopes, expires_at))

    async def list_keys(self) -> list[Json]:
        """Your API keys, without the keys themselves."""
        return await self._send(self._list_keys())

    async def revoke_key(self, key_id: str) -> None:
        """Revoke an API key: it fails at once."""
        await self._send(self._revoke_key(key_id))

    async def create_prompt(self, title: str, content: str, model: str, tags: list[str] | None = None) -> Json:
        """Save a prompt; returns it as stored."""
        return await self._send(self._create_prompt(title, content, model, tags))

    async def get_prompt(self, prompt_id: str, *, version: int | None = None, label: str | None = None) -> Json:
        """One of your prompts; with `version` or `label`, the prompt as of that version."""
        return await self._send(self._get_prompt(prompt_id, version, label))

    async def get_prompts(self) -> list[Json]:
        """All your prompts, oldest first."""
        return await self._send(self._get_prompts())

    async def update_prompt(self, prompt_id: str, **fields: Any) -> Json:
        """Change some of `title`, `content`, `model`, `tags`; returns the updated prompt."""
        return await self._send(self._update_prompt(prompt_id, fields))

    async def delete_prompt(self, prompt_id: str) -> None:
        """Delete a prompt and its logs."""
        await self._send(self._delete_prompt(prompt_id))

    async def search_prompts(self, query: str) -> list[Json]:
        """Your prompts containing every whitespace-separated term of `query`."""
        return await self._send(self._search_prompts(query))

    async def create_log(
        self,
        prompt_id: str,
        output: str,
        model_used: str,
        notes: str | None = None,
        score: float | None = None,
        *,
        prompt_version: int | None = None,
        input: dict[str, str] | None = None,
        latency_ms: float | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> Json:
        """Record what a prompt produced on a model; returns the log. Without `prompt_version`,
        the output came from the prompt's current version; `input` holds the variables used."""
        call = self._create_log(
            prompt_id,
            output,
            model_used,
            notes,
            score,
            prompt_version,
            input,
            latency_ms,
            input_tokens,
            output_tokens,
            cost_usd,
        )
        return await self._send(call)

    async def get_logs(self) -> list[Json]:
        """All your logs, oldest first."""
        return await self._send(self._get_logs())

    async def get_logs_by_prompt(self, prompt_id: str) -> list[Json]:
        """One prompt's logs, oldest first."""
        return await self._send(self._get_logs_by_prompt(prompt_id))

    async def review_log(self, log_id: str, **fields: Any) -> Json:
        """Score a log by hand (`score`, `notes`): the score replaces `score`; `scores` stays."""
        return await self._send(self._review_log(log_id, fields))

    async def delete_log(self, log_id: str) -> None:
        """Delete a log."""
        await self._send(self._delete_log(log_id))

    async def list_versions(self, prompt_id: str) -> list[Json]:
        """A prompt's versions, newest first, each with the labels naming it."""
        return await self._send(self._list_versions(prompt_id))

    async def get_version(self, prompt_id: str, version: int) -> Json:
        """One version of a prompt."""
        return await self._send(self._get_version(prompt_id, version))

    async def diff_versions(self, prompt_id: str, from_version: int, to_version: int) -> Json:
        """The fields that differ between two versions, and a unified diff of the content."""
        return await self._send(self._diff_versions(prompt_id, from_version, to_version))

    async def restore_version(self, prompt_id: str, version: int) -> Json:
        """Make an earlier version current again (as a new version); returns the prompt."""
        return await self._send(self._restore_version(prompt_id, version))

    async def set_label(self, prompt_id: str, label: str, version: int) -> Json:
        """Point a label such as `production` at a version."""
        return await self._send(self._set_label(prompt_id, label, version))

    async def delete_label(self, prompt_id: str, label: str) -> None:
        """Remove a label."""
        await self._send(self._delete_label(prompt_id, label))

    async def create_logs(self, logs: list[Json]) -> list[Json]:
        """Record up to 1,000 logs at once, all or none; each is a dict of the API's fields
        (`promptId`, `output`, `modelUsed`, …). A bad item raises `BadRequestError` whose
        `details` name its `index`."""
        return await self._send(self._create_logs(logs))

    async def export_logs(
        self, format: str = "jsonl", *, prompt_id: str | None = None, model_used: list[str] | None = None
    ) -> bytes:
        """Your logs (or one prompt's, or some models') as a JSON Lines or CSV file's bytes."""
        return await self._send(self._export_logs(format, prompt_id, model_used))

    async def export_prompts(self) -> bytes:
        """Your prompts as JSON Lines, each with all its versions and their labels."""
        return await self._send(self._export_prompts())

    async def export_to(
        self, file: BinaryIO, *, format: str = "jsonl", on_progress: Callable[[int], None] | None = None
    ) -> int:
        """Stream your whole library into `file`: JSON Lines of every prompt (with its versions
        and labels) then every log, which `import_file` reads back; or, with `format="csv"`,
        every log as CSV. `on_progress(bytes_written)` follows along; returns the bytes written."""
        written = 0
        for call in self._exports(format):
            written = await self._stream_to(call, file, written, on_progress)
        return written

    async def _stream_to(
        self, call: _Call[Any], file: BinaryIO, written: int, on_progress: Callable[[int], None] | None
    ) -> int:
        try:
            response = await self._http.send(self._build(call), stream=True)
            try:
                if not response.is_success:
                    await response.aread()
                    raise _api_error(response)
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    written += len(chunk)
                    if on_progress is not None:
                        on_progress(written)
            finally:
                await response.aclose()
        except httpx.TransportError as error:
            raise self._connection_error(error) from error
        return written

    async def stats(self, prompt_id: str, *, group_by: str = "promptVersion", **filters: Any) -> Json:
        """The prompt's score statistics per `group_by` (promptVersion, modelUsed or day): n,
        mean with its 95% interval, sd, median, histogram, latency and cost. `filters` are the
        log filters by their Python names (`model_used=[…]`, `min_score=…`, `since=…`)."""
        return await self._send(self._stats(prompt_id, group_by, filters))

    async def compare(
        self,
        prompt_id: str,
        a: str | int,
        b: str | int,
        *,
        by: str = "promptVersion",
        target: float | None = None,
        **filters: Any,
    ) -> Json:
        """Whether b scores better than a (two versions or two models of the prompt) and by how
        much: over all logs, paired on shared inputs, the data needed to settle it, a verdict."""
        return await self._send(self._compare(prompt_id, by, a, b, target, filters))

    async def compare_across(
        self, a: str, b: str, *, by: str = "modelUsed", target: float | None = None, **filters: Any
    ) -> Json:
        """`compare` over all your prompts (an input pairs only within its prompt)."""
        return await self._send(self._compare_across(by, a, b, target, filters))

    async def leaderboard(
        self, *, by: str = "modelUsed", method: str = "mean", prompt_id: str | None = None, **filters: Any
    ) -> Json:
        """Models (or a prompt's versions) ranked by mean score or Bradley–Terry rating, with
        bootstrap intervals of each rating and rank."""
        return await self._send(self._leaderboard(by, method, prompt_id, filters))

    async def import_records(self, *, prompts: list[Json] | None = None, logs: list[Json] | None = None) -> Json:
        """Add up to 1,000 prompts (with their versions) and logs in all, all or none, keeping
        their ids where free (`POST /import`); returns the counts and where each id went."""
        return await self._send(self._import_records(_given(prompts=prompts, logs=logs)))

    async def import_file(self, path: str | Path, *, on_progress: Callable[[int, int], None] | None = None) -> Json:
        """Import a file that `export_to` (or `promptcrafter export`) wrote, or the public sample
        data, in batches, prompts first; `on_progress(done, total)` after each. A second import
        of the same file adds nothing. A refused item raises `BadRequestError` whose `details`
        say where in the file it is (`origin`); the batches before it stay imported."""
        file = ImportFile.open(Path(path))
        counts = _ImportCounts(file.total)
        for batch in file.batches():
            try:
                answer = await self._send(self._import_records(batch.body()))
            except BadRequestError as error:
                raise _located(error, batch) from None
            counts.add(batch, answer, on_progress)
        return counts.summary()

    async def search_logs(self, query: str) -> list[Json]:
        """Your logs whose output or notes contain every term of `query`, newest first."""
        return await self._send(self._search_logs(query))

    async def list_logs(
        self,
        *,
        prompt_id: str | None = None,
        model_used: list[str] | None = None,
        prompt_version: int | None = None,
        min_score: float | None = None,
        max_score: float | None = None,
        scored: bool | None = None,
        since: str | None = None,
        until: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Json:
        """Your logs, filtered and sorted, a page at a time: `{"items": [...], "next_cursor": …}`.

        With `limit`, pass `next_cursor` back as `cursor` (with the same filters and sort) for
        the next page until it is None; without it, every matching log comes at once. `sort`
        is `createdAt`, `-createdAt`, `score` or `-score`; `since`/`until` are ISO 8601.
        """
        call = self._list_logs(
            prompt_id, model_used, prompt_version, min_score, max_score, scored, since, until, sort, limit, cursor
        )
        return await self._send(call)

    async def list_prompts(
        self,
        *,
        tag: list[str] | None = None,
        model: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Json:
        """Your prompts with all of `tag` and for `model`, a page at a time, as `list_logs`.
        `sort` is `createdAt`, `-createdAt`, `updatedAt`, `-updatedAt` or `title`."""
        return await self._send(self._list_prompts(tag, model, sort, limit, cursor))

    async def render_prompt(
        self, prompt_id: str, variables: dict[str, str], *, version: int | None = None, label: str | None = None
    ) -> Json:
        """A version's content (default: the current one) with its `{{variables}}` filled in:
        `{"text", "version"}`."""
        return await self._send(self._render_prompt(prompt_id, variables, version, label))

    async def create_dataset(self, name: str, *, description: str | None = None) -> Json:
        """A new, empty dataset of test cases."""
        return await self._send(self._create_dataset(name, description))

    async def list_datasets(self) -> list[Json]:
        """Your datasets, oldest first."""
        return await self._send(self._list_datasets())

    async def get_dataset(self, dataset_id: str) -> Json:
        """One of your datasets, with its `itemCount`."""
        return await self._send(self._get_dataset(dataset_id))

    async def update_dataset(self, dataset_id: str, **fields: Any) -> Json:
        """Rename a dataset (`name`) or change its `description`."""
        return await self._send(self._update_dataset(dataset_id, fields))

    async def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset with its items and runs (their logs stay)."""
        await self._send(self._delete_dataset(dataset_id))

    async def list_items(self, dataset_id: str) -> list[Json]:
        """A dataset's items, in the order they were added."""
        return await self._send(self._list_items(dataset_id))

    async def delete_item(self, dataset_id: str, item_id: str) -> None:
        """Remove one item from a dataset."""
        await self._send(self._delete_item(dataset_id, item_id))

    async def list_providers(self) -> list[Json]:
        """Your providers, by name (never their keys)."""
        return await self._send(self._list_providers())

    async def get_provider(self, provider_id: str) -> Json:
        """One of your providers."""
        return await self._send(self._get_provider(provider_id))

    async def update_provider(self, provider_id: str, **fields: Any) -> Json:
        """Change a provider: `name`, `baseUrl`, `apiKey` (None removes it), `models`, `concurrency`,
        `timeoutSeconds`."""
        return await self._send(self._update_provider(provider_id, fields))

    async def delete_provider(self, provider_id: str) -> None:
        """Delete a provider."""
        await self._send(self._delete_provider(provider_id))

    async def list_runs(self) -> list[Json]:
        """Your runs, oldest first."""
        return await self._send(self._list_runs())

    async def get_run(self, run_id: str) -> Json:
        """A run and its progress; once done, with its `leaderboard`."""
        return await self._send(self._get_run(run_id))

    async def run_results(self, run_id: str) -> list[Json]:
        """A run item by item: input, expected answer, and each model's output, score and error."""
        return await self._send(self._run_results(run_id))

    async def cancel_run(self, run_id: str) -> Json:
        """Stop a run: no call starts after this."""
        return await self._send(self._cancel_run(run_id))

    async def add_items(self, dataset_id: str, items: list[Json]) -> list[Json]:
        """Add items (`{"input": {…}, "expected": …, "metadata": …}`) to a dataset, in batches of
        1,000 (each all or none); returns them as stored."""
        added: list[Json] = []
        for start in range(0, len(items), ITEMS_PER_BATCH):
            batch = self._add_items(dataset_id, items[start : start + ITEMS_PER_BATCH])
            stored: list[Json] = await self._send(batch)
            added.extend(stored)
        return added

    async def create_provider(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str | None = None,
        models: list[Json] | None = None,
        concurrency: int | None = None,
        timeout_seconds: float | None = None,
    ) -> Json:
        """An OpenAI-compatible endpoint for runs; `models` each `{"name", "inputPer1M", "outputPer1M"}`.
        The key is stored encrypted and never returned."""
        body = _given(
            name=name,
            baseUrl=base_url,
            apiKey=api_key,
            models=models,
            concurrency=concurrency,
            timeoutSeconds=timeout_seconds,
        )
        return await self._send(self._create_provider(body))

    async def start_run(
        self,
        prompt_id: str,
        dataset_id: str,
        models: list[Json | str],
        *,
        version: int | None = None,
        label: str | None = None,
        repeats: int | None = None,
        scorers: list[Json | str] | None = None,
    ) -> Json:
        """Queue a run of a prompt version over a dataset: `models` as `{"provider", "model",
        "params"}` or `"provider:model"`, `scorers` as `{"type", …options}` or a type name."""
        body = _given(
            promptId=prompt_id,
            datasetId=dataset_id,
            models=[_run_model(model) for model in models],
            version=version,
            label=label,
            repeats=repeats,
            scorers=None if scorers is None else [{"type": s} if isinstance(s, str) else s for s in scorers],
        )
        return await self._send(self._start_run(body))

    async def wait_for_run(
        self,
        run_id: str,
        *,
        poll_seconds: float = 0.5,
        timeout: float | None = None,
        on_progress: Callable[[Json], None] | None = None,
    ) -> Json:
        """The run once it is done, failed or cancelled; `on_progress(run)` after each look.
        TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = await self.get_run(run_id)
            if on_progress is not None:
                on_progress(run)
            if run["status"] in FINISHED_RUN:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} is still {run['status']}")
            await asyncio.sleep(poll_seconds)


_LOG_FILTERS = {
    "model_used": "modelUsed",
    "prompt_version": "promptVersion",
    "min_score": "minScore",
    "max_score": "maxScore",
    "scored": "scored",
    "since": "since",
    "until": "until",
    "run_id": "runId",
}


def _log_filters(filters: Json) -> Json:
    """Log filters by their Python names as the API's query parameters."""
    unknown = set(filters) - set(_LOG_FILTERS)
    if unknown:
        raise TypeError(f"unknown log filters: {', '.join(sorted(unknown))}")
    return {
        _LOG_FILTERS[name]: str(value).lower() if isinstance(value, bool) else value
        for name, value in filters.items()
        if value is not None
    }


def _run_model(model: Json | str) -> Json:
    """A run's model from `"provider:model"` (the provider's name or id), or as given."""
    if isinstance(model, str):
        provider, colon, name = model.partition(":")
        if not colon or not provider or not name:
            raise ValueError(f"Give a model as provider:model, not {model!r}")
        return {"provider": provider, "model": name}
    return model


def _given(**values: Any) -> dict[str, Any]:
    """The values that are not None, as query parameters or body fields."""
    return {name: value for name, value in values.items() if value is not None}


def _path(collection: str, resource_id: str) -> str:
    # Fully escaped, dots too, so that an id like `a/b`, `?x` or `..` stays one path segment for
    # the server to refuse, instead of becoming another route; real ids hold none of these.
    return f"/{collection}/{quote(resource_id, safe='').replace('.', '%2E')}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PromptCrafterAPIError(
            "The server's answer is not JSON.", status_code=response.status_code, response=response
        ) from None


def _page(response: httpx.Response) -> Json:
    """A list answer as `{"items", "next_cursor"}`, the cursor taken from its `Link` header."""
    following = response.links.get("next", {}).get("url")
    cursor = None if following is None else httpx.URL(following).params.get("cursor")
    return {"items": _json(response), "next_cursor": cursor}


def _nothing(_response: httpx.Response) -> None:
    return None


class _ImportCounts:
    """What an import file's batches added, and the progress reported along the way."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.counts = {kind: {"created": 0, "existing": 0} for kind in ("prompts", "logs")}

    def add(self, batch: Batch, answer: Json, on_progress: Callable[[int, int], None] | None) -> None:
        for kind, counts in self.counts.items():
            for key in counts:
                counts[key] += answer[kind][key]
        self.done += len(batch.items)
        if on_progress is not None:
            on_progress(self.done, self.total)

    def summary(self) -> Json:
        return {kind: dict(counts) for kind, counts in self.counts.items()}


def _located(error: BadRequestError, batch: Batch) -> BadRequestError:
    """The server's refusal of a batch, each detail saying where in the file its item is."""
    details = [{**detail, "origin": batch.origin(str(detail.get("field", "")))} for detail in error.details or []]
    return BadRequestError(error.message, status_code=error.status_code, details=details, response=error.response)


def _api_error(response: httpx.Response) -> PromptCrafterAPIError:
    """The exception for a refusal: its class from the status, its text from the `error` field."""
    body = _error_body(response)
    message = body.get("error")
    if not isinstance(message, str):
        message = f"HTTP {response.status_code} {response.reason_phrase}"
    details = body.get("details")
    context: dict[str, Any] = {
        "status_code": response.status_code,
        "details": details if isinstance(details, list) else None,
        "response": response,
    }
    if response.status_code == 429:
        return RateLimitError(message, retry_after=_retry_after(response), **context)
    return _error_class(response.status_code)(message, **context)


def _error_class(status_code: int) -> type[PromptCrafterAPIError]:
    if status_code >= 500:
        return ServerError
    return ERRORS_BY_STATUS.get(status_code, PromptCrafterAPIError)


def _error_body(response: httpx.Response) -> Json:
    # Proxies and load balancers answer errors with HTML; those keep only their status.
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None
