"""The smallest FastAPI app: one route returning a constant JSON object.

Served by uvicorn with as many workers as PromptCrafter, it shows how fast a
Python ASGI stack can answer at all on this machine: the ceiling for
PromptCrafter's numbers.
"""

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/")
def constant() -> dict[str, str]:
    """A small constant body, about the size of an error or health reply."""
    return {"status": "ok"}
