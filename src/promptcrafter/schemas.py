"""Request and response bodies. Requests are parsed strictly: no coercion, no unknown fields."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from promptcrafter import messages

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PASSWORD_MIN, PASSWORD_MAX = 10, 128
MAX_TAGS = 20
EMAIL_MAX = 254
INPUT_MAX = 100_000


def is_valid_id(value: str) -> bool:
    """Whether a path or query identifier has the contract's format."""
    return ID_PATTERN.fullmatch(value) is not None


def no_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; refusing it everywhere keeps both stores alike.
    if "\x00" in value:
        raise ValueError("must not contain U+0000")
    return value


def _not_blank(value: str) -> str:
    # The contract counts a whitespace-only string as missing, but stores strings unchanged.
    if not value.strip():
        raise ValueError("must not be blank")
    return no_nul(value)


def _email(value: str) -> str:
    local, at, domain = value.partition("@")
    if (
        len(value) > EMAIL_MAX
        or not at
        or not local
        or "@" in domain
        or "." not in domain
        or any(ch.isspace() for ch in value)
    ):
        raise ValueError("must be a valid email address")
    return no_nul(value)


def _unique_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _score(value: Any) -> Any:
    # JSON booleans arrive as bool, a subclass of int: reject them explicitly.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number or null")
    if not math.isfinite(value) or not 0 <= value <= 10:
        raise ValueError("must be between 0 and 10")
    return value


def _non_negative_number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number or null")
    if not math.isfinite(value) or value < 0 or value > 1e15:
        raise ValueError("must be a number from 0 to 10^15")
    return value


def _bounded_input(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is not None and sum(len(key) + len(text) for key, text in value.items()) > INPUT_MAX:
        raise ValueError(f"must hold at most {INPUT_MAX} characters in all")
    return value


# Required text: its length limits, and whitespace alone counts as missing.
Name = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_not_blank)]
Title = Annotated[str, StringConstraints(min_length=3, max_length=100), AfterValidator(_not_blank)]
Content = Annotated[str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(_not_blank)]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_not_blank)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_not_blank)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique_tags)]
Output = Annotated[str, StringConstraints(min_length=1, max_length=200_000), AfterValidator(_not_blank)]
Notes = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(no_nul)]
Score = Annotated[
    float | int | None,
    BeforeValidator(_score),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": 10}, {"type": "null"}]}),
]
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN.pattern)]
VersionNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]
TokenCount = Annotated[int, Field(ge=0, le=10**15)]
NonNegativeNumber = Annotated[
    float | int | None,
    BeforeValidator(_non_negative_number),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]}),
]
LogInput = Annotated[
    dict[str, Annotated[str, AfterValidator(no_nul)]] | None,
    AfterValidator(_bounded_input),
    Field(description=f"The variables the output was produced with; at most {INPUT_MAX:,} characters in all."),
]
# The server renders timestamps as `2026-11-26T05:43:40.123Z`: an RFC 3339 date-time.
Timestamp = Annotated[str, Field(description="Set by the server, in UTC.", json_schema_extra={"format": "date-time"})]

# Examples for the OpenAPI document, shaped like what the server stores and returns.
_USER_ID = "user_01M8KJPQQRM2WE8Z38HK37592G"
_PROMPT_ID = "prompt_01M8KJT9G029GMMM8WXDWBP2XJ"
_LOG_ID = "log_01M8KK11GQ57PJF8HE9SSBGTZ0"
_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJ1c2VyXzAxTThLSlBRUVJNMldFOFozOEhLMzc1OTJHIiwiaWF0IjoxNzk1OTUzNDgzLCJleHAiOjE3OTYwMzk4ODN9"
    ".XyECEejWL99PMUrFdeenotXYcw3ru5Yum4j42-n9O6E"
)
_NAME, _EMAIL, _PASSWORD = "Ada Lovelace", "ada@example.com", "correct horse battery"
_PROMPT: dict[str, Any] = {
    "title": "Summarise a support ticket",
    "content": "Summarise this support ticket in two sentences for the on-call engineer:\n\n{{ticket}}",
    "model": "gpt-4o",
    "tags": ["support", "summary"],
}
_LOG: dict[str, Any] = {
    "promptId": _PROMPT_ID,
    "promptVersion": 3,
    "output": "The customer cannot sign in since the 2.4 update, and a password reset did not help. "
    "They need access before Monday's audit.",
    "modelUsed": "gpt-4o",
    "notes": "Accurate, but it left out the ticket number.",
    "score": 8,
    "input": {"ticket": "Since the 2.4 update I cannot sign in; resetting my password did not help. Audit is Monday!"},
    "latencyMs": 1840,
    "inputTokens": 112,
    "outputTokens": 41,
    "costUsd": 0.00069,
}
# `runId`, `itemId` and `scores` are null here (not made by a run): the document leaves nulls out.
_LOG_READ: dict[str, Any] = {"_id": _LOG_ID, **_LOG, "createdAt": "2026-11-29T12:03:41.207Z"}
_TOO_SHORT: dict[str, Any] = {"field": "title", "message": "String should have at least 3 characters"}


def _with_examples(edit: Callable[[dict[str, Any]], None], *examples: Any) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` that edits the generated schema, then adds `examples`."""

    def extra(schema: dict[str, Any]) -> None:
        edit(schema)
        schema["examples"] = list(examples)

    return extra


class RequestBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class SignupRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": _NAME, "email": _EMAIL, "password": _PASSWORD}]})

    name: Annotated[Name, Field(description="1–100 characters, not only whitespace.")]
    email: Annotated[
        str,
        AfterValidator(_email),
        Field(
            description=(
                f"One `@` with something before it, a domain containing a dot, no whitespace, at most {EMAIL_MAX} "
                "characters. Unique regardless of case; stored as sent."
            ),
            # The same rule as `_email`, for readers and generated clients.
            json_schema_extra={"maxLength": EMAIL_MAX, "pattern": r"^[^@\s]+@[^@\s]*\.[^@\s]*$"},
        ),
    ]
    password: Annotated[
        str,
        AfterValidator(_not_blank),
        Field(
            description=(
                f"{PASSWORD_MIN}–{PASSWORD_MAX} characters (Unicode code points), not only whitespace, never "
                f'trimmed. Any other length is refused with 400 "{messages.PASSWORD_WEAK}"'
            ),
            # Not a pydantic constraint: a wrong length has its own message, checked after the other fields.
            json_schema_extra={"minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX},
        ),
    ]


class LoginRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": _EMAIL, "password": _PASSWORD}]})

    email: Annotated[str, AfterValidator(_not_blank), Field(description="As signed up with, in any case.")]
    password: Annotated[str, AfterValidator(_not_blank)]


class PromptCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [_PROMPT]})

    title: Title
    content: Content
    model: ModelName
    tags: Tags = []


def _no_nulls_at_least_one(schema: dict[str, Any]) -> None:
    # Optional in Python, but in JSON a field is either absent or a real value.
    for name, field in schema["properties"].items():
        branches = [branch for branch in field.get("anyOf", []) if branch.get("type") != "null"]
        if len(branches) == 1:
            schema["properties"][name] = {**branches[0], "title": field.get("title", name)}
    schema["minProperties"] = 1


def _model_alias(schema: dict[str, Any]) -> None:
    schema["properties"]["model"] = {
        "type": "string",
        "minLength": 1,
        "maxLength": 100,
        "deprecated": True,
        "description": "Alias of modelUsed; when both are given they must be equal.",
    }
    schema["required"] = [name for name in schema["required"] if name != "modelUsed"]
    schema["anyOf"] = [{"required": ["modelUsed"]}, {"required": ["model"]}]


class PromptUpdate(RequestBody):
    """Any non-empty subset of a prompt's editable fields; `null` is never a value."""

    model_config = ConfigDict(
        json_schema_extra=_with_examples(_no_nulls_at_least_one, {"tags": ["support", "summary", "on-call"]})
    )

    title: Title | None = None
    content: Content | None = None
    model: ModelName | None = None
    tags: Tags | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls_and_not_empty(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if not data:
                raise ValueError("at least one field is required")
            nulls = [key for key, value in data.items() if value is None]
            if nulls:
                raise ValueError(f"{', '.join(nulls)} must not be null")
        return data

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, by storage name."""
        return self.model_dump(include=self.model_fields_set)


class LogCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra=_with_examples(_model_alias, _LOG))

    prompt_id: Identifier = Field(alias="promptId")
    output: Output
    model_used: ModelName = Field(alias="modelUsed")
    notes: Notes | None = None
    score: Score = None
    prompt_version: VersionNumber | None = Field(None, alias="promptVersion")
    input: LogInput = None
    latency_ms: NonNegativeNumber = Field(None, alias="latencyMs")
    input_tokens: TokenCount | None = Field(None, alias="inputTokens")
    output_tokens: TokenCount | None = Field(None, alias="outputTokens")
    cost_usd: NonNegativeNumber = Field(None, alias="costUsd")

    @model_validator(mode="before")
    @classmethod
    def _model_alias(cls, data: Any) -> Any:
        # The public OpenAPI file called this field `model`; accept it when unambiguous.
        if isinstance(data, dict) and "model" in data:
            data = dict(data)
            model = data.pop("model")
            if "modelUsed" in data and data["modelUsed"] != model:
                raise ValueError("model and modelUsed differ")
            data["modelUsed"] = model
        return data


BATCH_MAX = 1000


class LogReview(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"score": 6, "notes": "Correct but curt."}]})

    score: Score = Field(None, description="A person's score; replaces `score`, while `scores` keeps the scorers'.")
    notes: Notes | None = None


class LogBatch(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"logs": [_LOG, {**_LOG, "modelUsed": "claude"}]}]})

    logs: list[LogCreate] = Field(min_length=1, max_length=BATCH_MAX, description="1 to 1,000 logs; all or none.")


def iso_milliseconds(text: str) -> int:
    """An ISO 8601 date or date-time as milliseconds since the Unix epoch, UTC unless it says;
    ValueError for anything else."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


_YEAR_10000_MS = 253_402_300_800_000


def _imported_time(value: Any) -> Any:
    problem = "must be an ISO 8601 date-time such as 2024-02-01T08:00:00Z"
    if not isinstance(value, str):
        raise ValueError(problem)
    try:
        milliseconds = iso_milliseconds(value)
    except ValueError:
        raise ValueError(problem) from None
    if not 0 <= milliseconds < _YEAR_10000_MS:
        raise ValueError("must lie between the years 1970 and 9999")
    return milliseconds


ImportedTime = Annotated[
    int, BeforeValidator(_imported_time), WithJsonSchema({"type": "string", "format": "date-time"})
]
LabelName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,31}$")]
_IMPORTED_PROMPT: dict[str, Any] = {
    "_id": "prompt1",
    **_PROMPT,
    "createdAt": "2024-02-01T08:00:00Z",
    "versions": [{"version": 1, **_PROMPT, "labels": ["production"], "createdAt": "2024-02-01T08:00:00Z"}],
}
_IMPORTED_LOG: dict[str, Any] = {
    "_id": "log1",
    **_LOG,
    "promptId": "prompt1",
    "promptVersion": 1,
    "createdAt": "2024-03-01T11:00:00Z",
}


class ImportedVersion(PromptCreate):
    """A version of an imported prompt, as `GET /prompts/export` writes it."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [_IMPORTED_PROMPT["versions"][0]]})

    version: VersionNumber
    labels: list[LabelName] = Field([], max_length=20)
    created_at: ImportedTime | None = Field(None, alias="createdAt")


class ImportedPrompt(PromptCreate):
    """A prompt from an export or the public sample data; other fields (`ownerId`) are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [_IMPORTED_PROMPT]})

    id: Identifier | None = Field(None, alias="_id", description="Kept when free; otherwise the prompt gets a new id.")
    version: VersionNumber | None = Field(None, description="The current version; default the newest of `versions`.")
    versions: list[ImportedVersion] = Field([], max_length=BATCH_MAX, description="Earlier versions, with labels.")
    created_at: ImportedTime | None = Field(None, alias="createdAt")
    updated_at: ImportedTime | None = Field(None, alias="updatedAt")

    @model_validator(mode="after")
    def _versions_consistent(self) -> ImportedPrompt:
        numbers = [version.version for version in self.versions]
        if len(set(numbers)) != len(numbers):
            raise ValueError("versions must have distinct numbers")
        if self.version is not None and any(number > self.version for number in numbers):
            raise ValueError("version must be the newest of versions")
        return self

    def current_version(self) -> int:
        """The number the prompt's own fields are stored as."""
        return self.version or max((version.version for version in self.versions), default=1)


class ImportedLog(LogCreate):
    """A log from an export or the public sample data; `promptId` names a prompt of the same
    import (by its id in the file) or one of the caller's."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_with_examples(_model_alias, _IMPORTED_LOG))

    id: Identifier | None = Field(None, alias="_id", description="Kept when free; otherwise the log gets a new id.")
    created_at: ImportedTime | None = Field(None, alias="createdAt")


class ImportBatch(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"prompts": [_IMPORTED_PROMPT], "logs": [_IMPORTED_LOG]}]}
    )

    prompts: list[ImportedPrompt] = Field([], max_length=BATCH_MAX)
    logs: list[ImportedLog] = Field([], max_length=BATCH_MAX)

    @model_validator(mode="after")
    def _bounded(self) -> ImportBatch:
        if not 1 <= len(self.prompts) + len(self.logs) <= BATCH_MAX:
            raise ValueError(f"send 1 to {BATCH_MAX:,} prompts and logs in all")
        return self


# Responses: used for the OpenAPI document; handlers render rows directly.


class ErrorDetail(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TOO_SHORT]})

    index: int | None = Field(None, description="In a batch, the position of the item at fault (from 0).")
    field: str = Field(description="The field at fault (`tags.3` for an item of a list), or `body` for the whole body.")
    message: str


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error": messages.FIELDS_INVALID, "details": [_TOO_SHORT]}]}
    )

    error: str
    details: list[ErrorDetail] | None = None
    moreDetails: int | None = Field(None, description="How many problems past the first 20 were not listed.")  # noqa: N815


class SignupResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "User account created successfully.", "token": _TOKEN}]}
    )

    message: str
    token: str


class TokenResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"token": _TOKEN}]})

    token: str


class UserRead(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [{"_id": _USER_ID, "name": _NAME, "email": _EMAIL, "createdAt": "2026-11-29T11:58:03.512Z"}]
        },
    )

    id: str = Field(alias="_id")
    name: str
    email: str
    createdAt: Timestamp


class PromptRead(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "_id": _PROMPT_ID,
                    "ownerId": _USER_ID,
                    **_PROMPT,
                    "version": 3,
                    "variables": ["ticket"],
                    "createdAt": "2026-11-29T12:00:00.000Z",
                    "updatedAt": "2026-11-29T12:00:00.000Z",
                }
            ]
        },
    )

    id: str = Field(alias="_id")
    ownerId: str
    title: str
    content: str
    model: str
    tags: list[str]
    version: int = Field(description="The current version (or the one asked for with `version` or `label`).")
    variables: list[str] = Field(description="The `{{name}}` variables of `content`, in order of first appearance.")
    createdAt: Timestamp
    updatedAt: Timestamp


class LogRead(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={"examples": [_LOG_READ]},
    )

    id: str = Field(alias="_id")
    promptId: str
    output: str
    notes: str | None
    modelUsed: str
    score: float | None
    promptVersion: int = Field(description="The version of the prompt that produced the output.")
    input: dict[str, str] | None = Field(description="The variables the output was produced with.")
    latencyMs: float | None
    inputTokens: int | None
    outputTokens: int | None
    costUsd: float | None
    runId: str | None = Field(None, description="The run that made the output (EVALUATION.md §10), or null.")
    itemId: str | None = Field(None, description="The dataset item the run rendered the prompt with, or null.")
    scores: dict[str, float | None] | None = Field(
        None, description="Every scorer's result for a run's output, by scorer; `score` is the first's."
    )
    createdAt: Timestamp


_VERSION_EXAMPLE: dict[str, Any] = {
    "version": 3,
    **_PROMPT,
    "variables": ["ticket"],
    "labels": ["production"],
    "createdAt": "2026-11-29T12:00:00.000Z",
}


class LogBatchRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"logs": [_LOG_READ]}]})

    logs: list[LogRead]


class ImportCounts(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"created": 1, "existing": 0}]})

    created: int = Field(description="Stored by this request.")
    existing: int = Field(description="Already there: imported before, or the caller's own record.")


class ImportedIds(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"prompts": {"prompt1": "prompt1"}, "logs": {}}]})

    prompts: dict[str, str] = Field(description="Each prompt's id in the file → its stored id.")
    logs: dict[str, str] = Field(description="Each log's id in the file → its stored id.")


class ImportRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prompts": {"created": 1, "existing": 0},
                    "logs": {"created": 1, "existing": 0},
                    "ids": {"prompts": {"prompt1": "prompt1"}, "logs": {"log1": "log_01M8KK11GQ57PJF8HE9SSBGTZ0"}},
                }
            ]
        }
    )

    prompts: ImportCounts
    logs: ImportCounts
    ids: ImportedIds


class VersionRead(BaseModel):
    """An immutable snapshot of a prompt's fields."""

    model_config = ConfigDict(json_schema_extra={"examples": [_VERSION_EXAMPLE]})

    version: int
    title: str
    content: str
    model: str
    tags: list[str]
    variables: list[str]
    labels: list[str] = Field(description="The labels naming this version, sorted (`latest` is never listed).")
    createdAt: Timestamp


class FieldChange(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"from": "gpt-4o-mini", "to": "gpt-4o"}]})

    from_: Any = Field(alias="from")
    to: Any


class DiffRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from": 2,
                    "to": 3,
                    "changes": {"model": {"from": "gpt-4o-mini", "to": "gpt-4o"}},
                    "contentDiff": "",
                }
            ]
        }
    )

    from_: int = Field(alias="from")
    to: int
    changes: dict[str, FieldChange] = Field(description="Those of title, content, model and tags that differ.")
    contentDiff: str = Field(description="A unified diff of the content with 3 lines of context; empty when equal.")


class LabelSet(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"version": 3}]})

    version: VersionNumber


class LabelRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"label": "production", "version": 3, "updatedAt": "2026-11-29T12:05:00.000Z"}]}
    )

    label: str
    version: int
    updatedAt: Timestamp


class RenderRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"variables": {"ticket": "I cannot sign in."}, "label": "production"}]}
    )

    variables: dict[str, Annotated[str, AfterValidator(no_nul)]]
    version: VersionNumber | None = Field(None, description="Render this version; default the current one.")
    label: str | None = Field(None, description="Render the version this label names.")


class RenderRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "Summarise this support ticket …\n\nI cannot sign in.", "version": 3}]}
    )

    text: str
    version: int


class Migrations(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"current": "0008", "head": "0008", "upToDate": True}]})

    current: str | None = Field(description="The schema revision the database is at.")
    head: str = Field(description="The newest revision this server knows.")
    upToDate: bool


class StoreRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "sqlite",
                    "version": "3.40.1",
                    "migrations": {"current": "0008", "head": "0008", "upToDate": True},
                }
            ]
        }
    )

    kind: Literal["sqlite", "postgresql"]
    version: str = Field(description="The database server's (or SQLite library's) version.")
    migrations: Migrations


class HealthResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "ok"},
                {
                    "status": "ok",
                    "store": {
                        "kind": "postgresql",
                        "version": "15.19",
                        "migrations": {"current": "0008", "head": "0008", "upToDate": True},
                    },
                },
            ]
        }
    )

    status: str
    store: StoreRead | None = Field(None, description="With `?deep=1` only.")


# Evaluation statistics (EVALUATION.md §8). Every interval is 95 %, two-sided; a figure that
# cannot be computed (too few scores) is null.

Interval = list[float] | None
_SUMMARY: dict[str, Any] = {
    "key": 3,
    "n": 40,
    "scored": 38,
    "mean": 7.2,
    "sd": 1.1,
    "median": 7.0,
    "min": 4,
    "max": 10,
    "ci95": [6.84, 7.56],
    "histogram": [0, 0, 0, 0, 1, 2, 5, 12, 10, 6, 2],
    "latencyMs": {"median": 812, "p95": 1430},
    "costUsd": {"sum": 0.41},
}
_DIFFERENCE: dict[str, Any] = {
    "mean": 0.8,
    "ci95": [0.3, 1.3],
    "welch": {"t": 3.1, "df": 71.4, "p": 0.0027},
    "mannWhitney": {"u": 412.0, "p": 0.004},
    "cohensD": 0.71,
}
_PAIRED: dict[str, Any] = {
    "n": 25,
    "meanDifference": 0.9,
    "ci95": [0.5, 1.3],
    "wins": 17,
    "ties": 5,
    "losses": 3,
    "winRate": 0.78,
    "winRateCi95": [0.6, 0.9],
    "wilcoxon": {"statistic": 38.5, "p": 0.001},
    "correlation": 0.52,
}
_POWER: dict[str, Any] = {"minimumDetectableDifference": 0.62, "targetDifference": 0.5, "logsPerSideNeeded": 61}
_ENTRY: dict[str, Any] = {
    "key": "gpt-4o",
    "n": 120,
    "mean": 7.9,
    "ci95": [7.5, 8.3],
    "rating": 1084.2,
    "ratingCi95": [1051.0, 1120.5],
    "rank": 1,
    "rankCi95": [1, 2],
}


class GroupSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY]})

    key: int | str = Field(description="The version number, model name or day (`2026-11-29`, UTC).")
    n: int = Field(description="Logs in the group, scored or not.")
    scored: int
    mean: float | None
    sd: float | None = Field(description="Sample standard deviation (n − 1).")
    median: float | None
    min: float | None
    max: float | None
    ci95: Interval = Field(description="Student-t interval of the mean; cluster-robust when an input repeats.")
    histogram: list[int] = Field(description="Scores in [0,1), [1,2), … [9,10), and 10 exactly.")
    latencyMs: dict[str, float | None] = Field(description="`median` and `p95` of the logs that have a latency.")
    costUsd: dict[str, float | None] = Field(description="`sum` over the logs that have a cost.")


class StatsRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"groupBy": "promptVersion", "groups": [_SUMMARY]}]})

    groupBy: str
    groups: list[GroupSummary]


class DifferenceRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_DIFFERENCE]})

    mean: float | None = Field(description="Mean of b minus mean of a, over all scored logs.")
    ci95: Interval = Field(description="Welch interval of the difference.")
    welch: dict[str, float | None] = Field(description="Welch's t-test: `t`, `df`, two-sided `p`.")
    mannWhitney: dict[str, float | None] = Field(description="Mann–Whitney U of b, two-sided `p`.")
    cohensD: float | None = Field(description="Standardised difference with the pooled SD.")


class PairedRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PAIRED]})

    n: int = Field(description="Inputs both sides scored.")
    meanDifference: float
    ci95: Interval
    wins: int = Field(description="Inputs on which b scored higher.")
    ties: int
    losses: int
    winRate: float = Field(description="(wins + ties/2) / n.")
    winRateCi95: Interval = Field(description="Wilson interval.")
    wilcoxon: dict[str, float | None] | None = Field(description="Signed-rank test: `statistic`, two-sided `p`.")
    correlation: float | None = Field(description="Pearson's r between the sides' per-input means.")


class PowerRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_POWER]})

    minimumDetectableDifference: float | None = Field(description="At α = 0.05 with 80 % power, with the data so far.")
    targetDifference: float
    logsPerSideNeeded: int | None = Field(description="Scored logs per side to detect `targetDifference`.")


class CompareRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by": "modelUsed",
                    "a": {**_SUMMARY, "key": "gpt-4o-mini"},
                    "b": {**_SUMMARY, "key": "gpt-4o"},
                    "difference": _DIFFERENCE,
                    "paired": _PAIRED,
                    "power": _POWER,
                    "verdict": "gpt-4o scores higher than gpt-4o-mini by 0.9 points (95% CI 0.5 to 1.3, p = 0.001).",
                }
            ]
        }
    )

    by: str
    a: GroupSummary
    b: GroupSummary
    difference: DifferenceRead | None
    paired: PairedRead | None = Field(description="On the inputs both sides scored; null with fewer than 2.")
    power: PowerRead
    verdict: str


class LeaderboardEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ENTRY]})

    key: int | str
    n: int
    mean: float | None
    ci95: Interval
    rating: float | None = Field(description="The mean score, or the Bradley–Terry rating (Elo scale).")
    ratingCi95: Interval = Field(description="Bootstrap percentiles (1,000 resamples, fixed seed).")
    rank: int | None = Field(description="1 = best; null for a key with no battle (Bradley–Terry).")
    rankCi95: list[int] | None = Field(
        description="Best and worst rank across resamples: keys whose rank intervals overlap are not told apart."
    )


class LeaderboardRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"method": "mean", "by": "modelUsed", "entries": [_ENTRY]}]}
    )

    method: str
    by: str
    entries: list[LeaderboardEntry]


# OPERATIONS.md: API keys.
KeyScope = Literal["prompts:read", "prompts:write", "logs:read", "logs:write", "stats:read", "runs:read", "runs:write"]


class KeyCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "nightly evaluation", "scopes": ["logs:write", "prompts:read"]}]}
    )

    name: Name
    scopes: list[KeyScope] = Field(min_length=1, max_length=7, description="What the key allows; at least one.")
    expires_at: ImportedTime | None = Field(
        None, alias="expiresAt", description="When the key stops working (ISO 8601); never, if left out."
    )


_KEY: dict[str, Any] = {
    "_id": "key_01M8KJT9G029GMMM8WXDWBP2XJ",
    "name": "nightly evaluation",
    "scopes": ["logs:write"],
    "prefix": "pc_live_7Gq2",
    "createdAt": "2026-11-29T11:58:03.512Z",
    "expiresAt": "2027-11-29T00:00:00.000Z",
    "lastUsedAt": "2026-11-30T08:15:00.000Z",
}


class KeyRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [_KEY]})

    id: str = Field(alias="_id")
    name: str
    scopes: list[str]
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    createdAt: Timestamp
    expiresAt: Timestamp | None
    lastUsedAt: Timestamp | None = Field(description="Updated at most once a minute.")


class KeyCreated(KeyRead):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_KEY, "key": "pc_live_7Gq2mW0vXbN3cR8tLk5ZpA1sHd9FyJe4QuVi6Oo2Bx"}]}
    )

    key: str = Field(description="The key itself: shown this once, never again.")
