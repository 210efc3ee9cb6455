"""Request and response bodies. Requests are parsed strictly: no coercion, no unknown fields."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

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

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PASSWORD_MIN, PASSWORD_MAX = 10, 128
MAX_TAGS = 20


def is_valid_id(value: str) -> bool:
    """Whether a path or query identifier has the contract's format."""
    return ID_PATTERN.fullmatch(value) is not None


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000; refusing it everywhere keeps both stores alike.
    if "\x00" in value:
        raise ValueError("must not contain U+0000")
    return value


def _not_blank(value: str) -> str:
    # The contract counts a whitespace-only string as missing, but stores strings unchanged.
    if not value.strip():
        raise ValueError("must not be blank")
    return _no_nul(value)


def _email(value: str) -> str:
    local, at, domain = value.partition("@")
    if (
        len(value) > 254
        or not at
        or not local
        or "@" in domain
        or "." not in domain
        or any(ch.isspace() for ch in value)
    ):
        raise ValueError("must be a valid email address")
    return _no_nul(value)


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


# Required text: its length limits, and whitespace alone counts as missing.
Name = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_not_blank)]
Title = Annotated[str, StringConstraints(min_length=3, max_length=100), AfterValidator(_not_blank)]
Content = Annotated[str, StringConstraints(min_length=1, max_length=100_000), AfterValidator(_not_blank)]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_not_blank)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_not_blank)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique_tags)]
Output = Annotated[str, StringConstraints(min_length=1, max_length=200_000), AfterValidator(_not_blank)]
Notes = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_no_nul)]
Score = Annotated[
    float | int | None,
    BeforeValidator(_score),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": 10}, {"type": "null"}]}),
]
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN.pattern)]


class RequestBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class SignupRequest(RequestBody):
    name: Name
    email: Annotated[str, AfterValidator(_email)]
    password: Annotated[str, AfterValidator(_not_blank)]


class LoginRequest(RequestBody):
    email: Annotated[str, AfterValidator(_not_blank)]
    password: Annotated[str, AfterValidator(_not_blank)]


class PromptCreate(RequestBody):
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

    model_config = ConfigDict(json_schema_extra=_no_nulls_at_least_one)

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
    model_config = ConfigDict(json_schema_extra=_model_alias)

    prompt_id: Identifier = Field(alias="promptId")
    output: Output
    model_used: ModelName = Field(alias="modelUsed")
    notes: Notes | None = None
    score: Score = None

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


# Responses: used for the OpenAPI document; handlers render rows directly.


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    error: str
    details: list[ErrorDetail] | None = None
    moreDetails: int | None = Field(None, description="How many problems past the first 20 were not listed.")  # noqa: N815


class SignupResponse(BaseModel):
    message: str
    token: str


class TokenResponse(BaseModel):
    token: str


class UserRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    name: str
    email: str
    createdAt: str


class PromptRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    ownerId: str
    title: str
    content: str
    model: str
    tags: list[str]
    createdAt: str
    updatedAt: str


class LogRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    promptId: str
    output: str
    notes: str | None
    modelUsed: str
    score: float | None
    createdAt: str


class HealthResponse(BaseModel):
    status: str
