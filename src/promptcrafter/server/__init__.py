"""The PromptCrafter server: create_app(settings)."""

from promptcrafter.server.app import create_app

__all__ = ["create_app"]
