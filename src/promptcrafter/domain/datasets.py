"""Datasets: named sets of test cases (items), kept by their owner."""

from __future__ import annotations

from promptcrafter import messages
from promptcrafter.domain.ownership import owned
from promptcrafter.errors import Conflict, Invalid, NotFound
from promptcrafter.schemas import is_valid_id
from promptcrafter.schemas_runs import DatasetCreate, DatasetUpdate, ItemBatch
from promptcrafter.storage import datasets
from promptcrafter.storage.datasets import DatasetRecord, ItemRecord
from promptcrafter.storage.transaction import Transaction

MAX_ITEMS = 100_000


def check_id(dataset_id: str) -> None:
    if not is_valid_id(dataset_id):
        raise Invalid(messages.DATASET_BAD_ID)


def create(tx: Transaction, *, user_id: str, request: DatasetCreate) -> DatasetRecord:
    return datasets.create(tx, owner_id=user_id, name=request.name, description=request.description)


def get(tx: Transaction, *, user_id: str, dataset_id: str) -> DatasetRecord:
    """One of the user's datasets: 404 when there is none, 403 when it is another's."""
    check_id(dataset_id)
    found = datasets.get(tx, dataset_id=dataset_id)
    return owned(found, user_id, not_found=messages.DATASET_NOT_FOUND, forbidden=messages.DATASET_FORBIDDEN)


def update(tx: Transaction, *, user_id: str, dataset_id: str, request: DatasetUpdate | Invalid) -> DatasetRecord:
    """Rename or redescribe a dataset; fields left out keep their value (a null description clears it)."""
    found = get(tx, user_id=user_id, dataset_id=dataset_id)
    if isinstance(request, Invalid):
        raise request
    name = found["name"] if request.name is None else request.name
    sent = request.model_fields_set
    description = request.description if "description" in sent else found["description"]
    datasets.update_one(tx, dataset_id=dataset_id, name=name, description=description)
    return DatasetRecord(**{**found, "name": name, "description": description})


def delete(tx: Transaction, *, user_id: str, dataset_id: str) -> None:
    """Delete a dataset with its items and its runs (their logs stay)."""
    get(tx, user_id=user_id, dataset_id=dataset_id)
    if not datasets.delete_one(tx, dataset_id=dataset_id):
        raise NotFound(messages.DATASET_NOT_FOUND)


def add_items(tx: Transaction, *, user_id: str, dataset_id: str, request: ItemBatch | Invalid) -> list[ItemRecord]:
    """Append up to 1,000 items, all or none."""
    found = get(tx, user_id=user_id, dataset_id=dataset_id)
    if isinstance(request, Invalid):
        raise request
    items = request.items
    if found["item_count"] + len(items) > MAX_ITEMS:
        raise Conflict(messages.DATASET_FULL)
    rows = [{"input": item.input, "expected": item.expected, "metadata": item.metadata} for item in items]
    return datasets.add_items(tx, dataset_id=dataset_id, items=rows)


def require_readable(tx: Transaction, *, user_id: str, dataset_id: str) -> None:
    get(tx, user_id=user_id, dataset_id=dataset_id)


def delete_item(tx: Transaction, *, user_id: str, dataset_id: str, item_id: str) -> None:
    get(tx, user_id=user_id, dataset_id=dataset_id)
    if not is_valid_id(item_id):
        raise Invalid(messages.ITEM_BAD_ID)
    if not datasets.delete_item(tx, dataset_id=dataset_id, item_id=item_id):
        raise NotFound(messages.ITEM_NOT_FOUND)
