"""GET /docs: Swagger UI, served from the installed bundle so it works offline."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from promptcrafter.server.routing import DirectRoute

ASSETS = "/docs/assets"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>PromptCrafter API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

# A separate file rather than an inline script, so the page's CSP can forbid inline code.
# The installed Swagger UI (4.x) refuses any document not labelled OpenAPI 3.0, and the server's
# is 3.1; what 3.1 adds is either shown (`null` among the types) or ignored (schemas' `examples`:
# the document repeats each beside its schema, where 4.x looks).
INIT = """fetch("/openapi.json")
  .then((response) => response.json())
  .then((spec) => {
    window.ui = SwaggerUIBundle({
      spec: { ...spec, openapi: "3.0.3" },
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  });
"""

router = APIRouter(include_in_schema=False, route_class=DirectRoute)


@router.get("/docs")
async def docs_page() -> Response:
    return HTMLResponse(PAGE)


@router.get("/docs/init.js")
async def docs_script() -> Response:
    return Response(INIT, media_type="text/javascript")


def mount_docs(app: FastAPI) -> None:
    """Serve the viewer and its assets."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")
