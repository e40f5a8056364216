"""The web page: index.html at ``/`` and its ES modules under ``/static/``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from omicsoracle.web import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> Response:
    # The page is tiny and names its modules; revalidate it each time so a deploy is
    # picked up, while the modules themselves are cached by ETag.
    return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})


@router.get("/docs")
async def docs() -> Response:
    return FileResponse(STATIC_DIR / "docs.html", headers={"cache-control": "no-cache"})


def _swagger_assets() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("the swagger-ui-py package is missing (pinned in pyproject.toml)")
    return Path(spec.origin).parent / "static"


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Swagger UI's files as the swagger-ui-py package ships them: the docs work offline.
    app.mount("/docs/assets", StaticFiles(directory=_swagger_assets()), name="docs-assets")
