"""PromptCrafter: keep, test and evaluate generative-AI prompts."""

__version__ = "0.1.0"

__all__ = ["__version__"]
