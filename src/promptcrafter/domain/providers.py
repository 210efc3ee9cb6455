"""Providers: the OpenAI-compatible endpoints a user's runs call, with prices per model.
Their API keys are sealed before they are stored, and never shown again."""

from __future__ import annotations

from typing import Any

from promptcrafter import messages
from promptcrafter.domain.ownership import owned
from promptcrafter.errors import Conflict, Invalid, NotFound
from promptcrafter.schemas import is_valid_id
from promptcrafter.schemas_runs import ModelPrice, ProviderCreate, ProviderUpdate
from promptcrafter.sealing import Sealer, hint
from promptcrafter.storage import providers
from promptcrafter.storage.providers import NameTaken, ProviderRecord
from promptcrafter.storage.transaction import Transaction

MAX_PROVIDERS = 100


def _prices(models: list[ModelPrice]) -> list[dict[str, Any]]:
    unique = {model.name: model for model in models}
    return [
        {"name": model.name, "inputPer1M": model.input_per_1m, "outputPer1M": model.output_per_1m}
        for model in unique.values()
    ]


def create(tx: Transaction, *, user_id: str, request: ProviderCreate, sealer: Sealer) -> ProviderRecord:
    if len(providers.of_owner(tx, owner_id=user_id)) >= MAX_PROVIDERS:
        raise Conflict(messages.PROVIDERS_TOO_MANY)
    fields = {
        "name": request.name,
        "base_url": request.base_url,
        "api_key_sealed": None if request.api_key is None else sealer.seal(request.api_key),
        "api_key_hint": None if request.api_key is None else hint(request.api_key),
        "models": _prices(request.models),
        "concurrency": request.concurrency,
        "timeout_seconds": request.timeout_seconds,
    }
    try:
        return providers.create(tx, owner_id=user_id, fields=fields)
    except NameTaken:
        raise Conflict(messages.PROVIDER_NAME_TAKEN) from None


def get(tx: Transaction, *, user_id: str, provider_id: str) -> ProviderRecord:
    if not is_valid_id(provider_id):
        raise Invalid(messages.PROVIDER_BAD_ID)
    found = providers.get(tx, provider_id=provider_id)
    return owned(found, user_id, not_found=messages.PROVIDER_NOT_FOUND, forbidden=messages.PROVIDER_FORBIDDEN)


def listed(tx: Transaction, *, user_id: str) -> list[ProviderRecord]:
    return providers.of_owner(tx, owner_id=user_id)


def update(
    tx: Transaction, *, user_id: str, provider_id: str, request: ProviderUpdate | Invalid, sealer: Sealer
) -> ProviderRecord:
    """Change what is sent; `apiKey: null` removes the key."""
    record = get(tx, user_id=user_id, provider_id=provider_id)
    if isinstance(request, Invalid):
        raise request
    sent = request.model_fields_set
    changed: dict[str, Any] = {}
    for field in ("name", "base_url", "concurrency", "timeout_seconds"):
        value = getattr(request, field)
        if field in sent and value is not None:
            changed[field] = value
    if "models" in sent and request.models is not None:
        changed["models"] = _prices(request.models)
    if "api_key" in sent:
        key = request.api_key
        changed["api_key_sealed"] = None if key is None else sealer.seal(key)
        changed["api_key_hint"] = None if key is None else hint(key)
    try:
        return providers.replace(tx, record=ProviderRecord(**{**record, **changed}))  # type: ignore[typeddict-item]
    except NameTaken:
        raise Conflict(messages.PROVIDER_NAME_TAKEN) from None


def delete(tx: Transaction, *, user_id: str, provider_id: str) -> None:
    get(tx, user_id=user_id, provider_id=provider_id)
    if not providers.delete_one(tx, provider_id=provider_id):
        raise NotFound(messages.PROVIDER_NOT_FOUND)


def find(tx: Transaction, *, user_id: str, reference: str) -> ProviderRecord | None:
    """One of the user's providers, by `_id` or by name."""
    if reference.startswith("provider_"):
        found = providers.get(tx, provider_id=reference)
        if found is not None and found["owner_id"] == user_id:
            return found
    return providers.named(tx, owner_id=user_id, name=reference)


def cost(record: ProviderRecord, model: str, input_tokens: int | None, output_tokens: int | None) -> float | None:
    """What a call cost in USD by the provider's price table; None when a price or count is missing."""
    price = next((entry for entry in record["models"] if entry["name"] == model), None)
    if price is None or input_tokens is None or output_tokens is None:
        return None
    if price["inputPer1M"] is None or price["outputPer1M"] is None:
        return None
    return float(input_tokens * price["inputPer1M"] + output_tokens * price["outputPer1M"]) / 1_000_000
