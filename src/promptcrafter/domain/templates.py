"""Template variables: `{{name}}` in a prompt's content, listed and filled in.

Deliberately no logic, sections or escaping: a `{{` that does not form a variable is text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def variables(content: str) -> list[str]:
    """The distinct variable names of a template, in order of first appearance."""
    if "{{" not in content:  # most prompts; lists show many
        return []
    return list(dict.fromkeys(match.group(1) for match in VARIABLE.finditer(content)))


def missing(content: str, values: Mapping[str, str]) -> list[str]:
    """The template's variables that `values` does not fill."""
    return [name for name in variables(content) if name not in values]


def render(content: str, values: Mapping[str, str]) -> str:
    """The template with every variable replaced by its value (each must have one)."""
    return VARIABLE.sub(lambda match: values[match.group(1)], content)
