"""Request and response bodies of datasets, providers and runs (EVALUATION.md §10)."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from promptcrafter.schemas import (
    INPUT_MAX,
    Identifier,
    LabelName,
    ModelName,
    Name,
    NonNegativeNumber,
    RequestBody,
    Timestamp,
    VersionNumber,
    no_nul,
)

ITEMS_MAX = 1000
METADATA_MAX = 10_000
EXPECTED_MAX = 100_000
DESCRIPTION_MAX = 2_000
MODELS_MAX = 10
REPEATS_MAX = 10
# What a run may pass on to a model, by the chat-completions parameter names.
MODEL_PARAMS = ("temperature", "max_tokens", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")


def _bounded_variables(value: dict[str, str]) -> dict[str, str]:
    if sum(len(key) + len(text) for key, text in value.items()) > INPUT_MAX:
        raise ValueError(f"must hold at most {INPUT_MAX} characters in all")
    return value


def _small_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(orjson.dumps(value)) > METADATA_MAX:
        raise ValueError(f"must take at most {METADATA_MAX} bytes as JSON")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("must be an http or https URL without a query, such as https://api.openai.com/v1")
    return value.rstrip("/")


def _model_params(value: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(value) - set(MODEL_PARAMS))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]}; use {', '.join(MODEL_PARAMS)}")
    for name, setting in value.items():
        if name == "stop":
            if not (
                isinstance(setting, str) or (isinstance(setting, list) and all(isinstance(s, str) for s in setting))
            ):
                raise ValueError("stop must be a string or a list of strings")
        elif isinstance(setting, bool) or not isinstance(setting, int | float) or not math.isfinite(setting):
            raise ValueError(f"{name} must be a number")
    if len(orjson.dumps(value)) > 2_000:
        raise ValueError("must take at most 2,000 bytes as JSON")
    return value


Variables = Annotated[
    dict[str, Annotated[str, AfterValidator(no_nul)]],
    AfterValidator(_bounded_variables),
    Field(description=f"The variables the prompt is rendered with; at most {INPUT_MAX:,} characters in all."),
]
Expected = Annotated[str, StringConstraints(max_length=EXPECTED_MAX), AfterValidator(no_nul)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX), AfterValidator(no_nul)]
Metadata = Annotated[dict[str, Any] | None, AfterValidator(_small_metadata)]
BaseUrl = Annotated[str, StringConstraints(min_length=8, max_length=2_000), AfterValidator(_http_url)]
ProviderKey = Annotated[str, StringConstraints(min_length=1, max_length=1_000), AfterValidator(no_nul)]
Price = NonNegativeNumber

_DATASET: dict[str, Any] = {"name": "support tickets", "description": "Fifty real tickets with the reply we want."}
_ITEM: dict[str, Any] = {
    "input": {"ticket": "My invoice shows the wrong VAT number."},
    "expected": "billing",
    "metadata": {"source": "zendesk"},
}


class DatasetCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [_DATASET]})

    name: Name
    description: Description | None = None


class DatasetUpdate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"description": "Sixty tickets."}]})

    name: Name | None = None
    description: Description | None = None


class ItemCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM]})

    input: Variables
    expected: Expected | None = None
    metadata: Metadata = None


class ItemBatch(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ITEM]}]})

    items: list[ItemCreate] = Field(min_length=1, max_length=ITEMS_MAX, description="1 to 1,000 items; all or none.")


_PRICE: dict[str, Any] = {"name": "gpt-4o-mini", "inputPer1M": 0.15, "outputPer1M": 0.6}


class ModelPrice(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [_PRICE]})

    name: ModelName
    input_per_1m: Price = Field(None, alias="inputPer1M", description="USD per million input tokens.")
    output_per_1m: Price = Field(None, alias="outputPer1M", description="USD per million output tokens.")


_PROVIDER: dict[str, Any] = {
    "name": "openai",
    "baseUrl": "https://api.openai.com/v1",
    "apiKey": "sk-proj-…",
    "models": [{"name": "gpt-4o-mini", "inputPer1M": 0.15, "outputPer1M": 0.6}],
}


class ProviderCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [_PROVIDER]})

    name: Annotated[Name, Field(description="How runs name it: `provider` in a run's models.")]
    base_url: BaseUrl = Field(alias="baseUrl")
    api_key: ProviderKey | None = Field(None, alias="apiKey", description="Stored encrypted; never shown again.")
    models: list[ModelPrice] = Field(default_factory=list, max_length=100)
    concurrency: int = Field(4, ge=1, le=64, description="Calls to this provider at once, per server process.")
    timeout_seconds: float = Field(60.0, alias="timeoutSeconds", ge=1, le=600, description="Per call attempt.")


class ProviderUpdate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"apiKey": "sk-proj-new…", "concurrency": 8}]})

    name: Name | None = None
    base_url: BaseUrl | None = Field(None, alias="baseUrl")
    api_key: ProviderKey | None = Field(None, alias="apiKey", description="null removes the key.")
    models: list[ModelPrice] | None = Field(None, max_length=100)
    concurrency: int | None = Field(None, ge=1, le=64)
    timeout_seconds: float | None = Field(None, alias="timeoutSeconds", ge=1, le=600)


class RunModel(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"provider": "openai", "model": "gpt-4o-mini", "params": {"temperature": 0}}]}
    )

    provider: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="A provider's `_id` or name."
    )
    model: ModelName
    params: Annotated[dict[str, Any], AfterValidator(_model_params)] = Field(
        default_factory=dict, description=f"Passed to the model: {', '.join(MODEL_PARAMS)}."
    )


_RUN: dict[str, Any] = {
    "promptId": "prompt_01M8KJT9G029GMMM8WXDWBP2XJ",
    "label": "production",
    "datasetId": "dataset_01M8KJV3Q0A7T4SJ7Z0W1YB9QK",
    "models": [
        {"provider": "openai", "model": "gpt-4o-mini", "params": {"temperature": 0}},
        {"provider": "local", "model": "llama3.1:8b"},
    ],
    "repeats": 1,
    "scorers": [{"type": "exact"}],
}


class RunCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [_RUN]})

    prompt_id: Identifier = Field(alias="promptId")
    version: VersionNumber | None = Field(None, description="The version to run; the current one if neither is given.")
    label: LabelName | None = Field(None, description="A label naming the version to run.")
    dataset_id: Identifier = Field(alias="datasetId")
    models: list[RunModel] = Field(min_length=1, max_length=MODELS_MAX)
    repeats: int = Field(1, ge=1, le=REPEATS_MAX)
    scorers: list[dict[str, Any]] = Field(
        default_factory=list, max_length=10, description="exact, contains, regex, json-schema, numeric, judge."
    )

    @model_validator(mode="after")
    def _one_way_to_name_the_version(self) -> RunCreate:
        if self.version is not None and self.label is not None:
            raise ValueError("give version or label, not both")
        return self


# Responses

_DATASET_READ: dict[str, Any] = {
    "_id": "dataset_01M8KJV3Q0A7T4SJ7Z0W1YB9QK",
    **_DATASET,
    "itemCount": 50,
    "createdAt": "2026-11-29T12:00:00.000Z",
}
_ITEM_READ: dict[str, Any] = {
    "_id": "item_01M8KJVB2ZJ6N9M4GZ7J3C1Q5W",
    **_ITEM,
    "createdAt": "2026-11-29T12:00:01.000Z",
}


class DatasetRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [_DATASET_READ]})

    id: str = Field(alias="_id")
    name: str
    description: str | None
    itemCount: int
    createdAt: Timestamp


class ItemRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [_ITEM_READ]})

    id: str = Field(alias="_id")
    input: dict[str, str]
    expected: str | None
    metadata: dict[str, Any] | None
    createdAt: Timestamp


class ItemBatchRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ITEM_READ]}]})

    items: list[ItemRead]


class ModelPriceRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PRICE]})

    name: str
    inputPer1M: float | None
    outputPer1M: float | None


_PROVIDER_READ: dict[str, Any] = {
    "_id": "provider_01M8KJW0D5X2C8H1T6N4R7P3ZB",
    "name": "openai",
    "baseUrl": "https://api.openai.com/v1",
    "apiKeyHint": "…x7Qa",
    "models": [{"name": "gpt-4o-mini", "inputPer1M": 0.15, "outputPer1M": 0.6}],
    "concurrency": 4,
    "timeoutSeconds": 60.0,
    "createdAt": "2026-11-29T12:00:00.000Z",
    "updatedAt": "2026-11-29T12:00:00.000Z",
}


class ProviderRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [_PROVIDER_READ]})

    id: str = Field(alias="_id")
    name: str
    baseUrl: str
    apiKeyHint: str | None = Field(description="The key's last four characters; the key is never returned.")
    models: list[ModelPriceRead]
    concurrency: int
    timeoutSeconds: float
    createdAt: Timestamp
    updatedAt: Timestamp


class RunModelRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider": "provider_01M8KJW0D5X2C8H1T6N4R7P3ZB",
                    "providerName": "openai",
                    "model": "gpt-4o-mini",
                    "modelUsed": "openai/gpt-4o-mini",
                    "params": {"temperature": 0},
                }
            ]
        }
    )

    provider: str = Field(description="The provider's `_id`.")
    providerName: str
    model: str
    modelUsed: str = Field(description="What its logs' `modelUsed` say: `<provider name>/<model>`.")
    params: dict[str, Any]


class Progress(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"done": 12, "failed": 1, "total": 50}]})

    done: int
    failed: int
    total: int


_RUN_READ: dict[str, Any] = {
    "_id": "run_01M8KJWQ4V3T8X0F2B5N7C9D1E",
    "promptId": "prompt_01M8KJT9G029GMMM8WXDWBP2XJ",
    "version": 3,
    "datasetId": "dataset_01M8KJV3Q0A7T4SJ7Z0W1YB9QK",
    "models": [
        {
            "provider": "provider_01M8KJW0D5X2C8H1T6N4R7P3ZB",
            "providerName": "openai",
            "model": "gpt-4o-mini",
            "modelUsed": "openai/gpt-4o-mini",
            "params": {"temperature": 0},
        }
    ],
    "repeats": 1,
    "scorers": [{"type": "exact"}],
    "status": "running",
    "progress": {"done": 12, "failed": 1, "total": 50},
    "createdAt": "2026-11-29T12:05:00.000Z",
    "finishedAt": None,
}


class RunRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [_RUN_READ]})

    id: str = Field(alias="_id")
    promptId: str
    version: int
    datasetId: str
    models: list[RunModelRead]
    repeats: int
    scorers: list[dict[str, Any]]
    status: str = Field(description="queued, running, done, failed or cancelled.")
    progress: Progress
    createdAt: Timestamp
    finishedAt: Timestamp | None = Field(None, description="When it ended; null until then.")
    leaderboard: dict[str, Any] | None = Field(
        None, description="When done: the models ranked by mean score over the run's logs (§8, method=mean)."
    )


_RESULT_OUTPUTS: list[Any] = [
    {
        "modelUsed": "openai/gpt-4o-mini",
        "repeat": 0,
        "status": "done",
        "error": None,
        "logId": "log_01M8KJX8R1C6V0B3N5M7Q9T2Y4",
        "output": "billing",
        "score": 10,
        "scores": {"exact": 10},
        "notes": None,
        "latencyMs": 412.0,
        "costUsd": 0.000021,
    }
]
_RESULT_READ: dict[str, Any] = {
    "itemId": "item_01M8KJVB2ZJ6N9M4GZ7J3C1Q5W",
    "input": {"ticket": "My invoice shows the wrong VAT number."},
    "expected": "billing",
    "outputs": _RESULT_OUTPUTS,
}


class RunOutputRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": _RESULT_OUTPUTS})

    modelUsed: str
    repeat: int
    status: str = Field(description="pending, calling, done, failed or cancelled.")
    error: str | None = Field(None, description="Why the call failed, after its retries.")
    logId: str | None
    output: str | None
    score: float | None
    scores: dict[str, float | None] | None
    notes: str | None = Field(None, description="What the scorers said (a judge's reasoning).")
    latencyMs: float | None
    costUsd: float | None


class RunResultRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RESULT_READ]})

    itemId: str
    input: dict[str, str] | None = Field(description="null when the item was deleted since.")
    expected: str | None
    outputs: list[RunOutputRead]
