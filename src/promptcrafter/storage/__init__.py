"""All SQL lives here: the engine and unit of work, the schema, one module per resource."""

from promptcrafter.storage.database import Database

__all__ = ["Database"]
