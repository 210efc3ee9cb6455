"""Turning a submitted form into the API's request models, and their problems into messages
shown beside each field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class FormProblems(Exception):
    """A form that failed validation: one message per field (`form` for the whole form)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


def validated(model: type[Model], data: dict[str, Any]) -> Model:
    """`model` built from the form's values, or FormProblems naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems: dict[str, str] = {}
        for item in error.errors(include_url=False, include_input=False, include_context=False):
            name = str(item["loc"][0]) if item["loc"] else "form"
            problems.setdefault(name, _sentence(item["msg"]))
        raise FormProblems(problems) from None


def prompt_values(fields: dict[str, str]) -> dict[str, str]:
    """What the prompt form sent, as typed (tags still one comma-separated text)."""
    return {name: fields.get(name, "") for name in ("title", "content", "model", "tags")}


def tags_of(text: str) -> list[str]:
    """Tags as typed in one box: separated by commas."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
