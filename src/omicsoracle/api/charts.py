"""Chart data of a search (``/api/v1/charts/results``) and the charting library's file.

plotly.js is served from the PyPI package ``plotly`` (pinned), which ships it as package
data, so the page's charts work offline and no CDN sees what a researcher searches. Its
URL names the version: a year of caching is safe, and a new pin gets a new URL (the page
names it in ``tabs/charts.js``; a test checks the two agree).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from omicsoracle.api.deps import json_response, runtime
from omicsoracle.api.search import Filters, Literal_, QueryText
from omicsoracle.charts import result_charts
from omicsoracle.search.base import SearchRequest

router = APIRouter(tags=["charts"])

PLOTLY_URL = "/static/vendor/plotly-{version}.min.js"
# A year, and never revalidated: the version is in the URL.
IMMUTABLE = "public, max-age=31536000, immutable"
JS_TYPE = "text/javascript; charset=utf-8"
_VERSION = re.compile(rb"plotly\.js v(\d+\.\d+\.\d+)")
CSS_URL = "/static/vendor/plotly-{version}.css"
CSS_TYPE = "text/css; charset=utf-8"
# plotly.js injects its base styles as <style> rules, which the page's CSP (style-src
# 'self') blocks. It skips them when the page already has an element with the id
# "plotly.js-style-global" and class "no-inline-styles" (its strict-CSP switch), so the
# page links the same rules as a stylesheet, read out of the bundle's rule table:
# {"X,X div":'direction:ltr;...', ...}, X and Y being the selectors below.
_RULES_START = b'{"X,X div":'
_RULE = re.compile(
    rb"""\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*)\s*:\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*([,}])"""
)
_SELECTORS = {"X": ".js-plotly-plot .plotly", "Y": ".plotly-notifier"}
# The bundled maplibre-gl adds its stylesheet as a <style> unless an element with its id
# exists: the page makes one (tabs/charts.js, MAPLIBRE_STYLE_ID), and its rules are
# appended to the stylesheet here.
_GUARDED_STYLE = re.compile(
    rb'document\.getElementById\("([0-9a-f]{64})"\)\)\{var (\w+)=document\.createElement'
    rb"""\("style"\);\2\.id="\1",\2\.textContent='((?:[^'\\]|\\.)*)'"""
)


@dataclass
class PlotlyAsset:
    """plotly.min.js of the installed ``plotly`` package, read and gzipped once."""

    path: Path

    @classmethod
    def installed(cls) -> PlotlyAsset:
        spec = importlib.util.find_spec("plotly")
        if spec is None or spec.origin is None:
            raise RuntimeError("the plotly package is missing (pinned in pyproject.toml)")
        return cls(Path(spec.origin).parent / "package_data" / "plotly.min.js")

    @cached_property
    def body(self) -> bytes:
        return self.path.read_bytes()

    @cached_property
    def version(self) -> str:
        with self.path.open("rb") as f:
            found = _VERSION.search(f.read(512))
        if found is None:
            raise RuntimeError(f"no plotly.js version in the header of {self.path}")
        return found.group(1).decode()

    @cached_property
    def gzipped(self) -> bytes:
        # 4.8 MB -> about 1.4 MB; compressed once per process instead of per request.
        return gzip.compress(self.body, compresslevel=9, mtime=0)

    @cached_property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.body).hexdigest()[:32]}"'

    @property
    def url(self) -> str:
        return PLOTLY_URL.format(version=self.version)

    @property
    def css_url(self) -> str:
        return CSS_URL.format(version=self.version)

    @cached_property
    def css(self) -> bytes:
        guarded = "".join(f"{css}\n" for css in guarded_styles(self.body).values())
        return (plotly_css(self.body) + guarded).encode()


def guarded_styles(bundle: bytes) -> dict[str, str]:
    """Stylesheets a bundle injects unless an element with their id exists: id -> CSS."""
    return {m.group(1).decode(): m.group(3).decode() for m in _GUARDED_STYLE.finditer(bundle)}


def plotly_css(bundle: bytes) -> str:
    """The base stylesheet of a plotly.js bundle, from the rule table it would inject."""
    start = bundle.find(_RULES_START)
    if start < 0:
        raise RuntimeError("plotly.js's style rules were not found in the bundle")
    pos = start + 1
    rules = []
    while True:
        found = _RULE.match(bundle, pos)
        if found is None:
            raise RuntimeError(f"unexpected text in plotly.js's style rules at byte {pos}")
        key, value = found.group(1, 2)
        # A key is a quoted string or a bare identifier (the minifier unquotes "Y").
        selector = (key[1:-1] if key[:1] in (b'"', b"'") else key).decode()
        style = value[1:-1].decode()
        # As plotly.js builds the selector (src/css/plotcss.js and lib/dom.js).
        selector = re.sub(r"^,", " ,", selector)
        for short, full in _SELECTORS.items():
            selector = selector.replace(short, full)
        rules.append(f"{selector}{{{style}}}")
        pos = found.end()
        if found.group(3) == b"}":
            return "\n".join(rules) + "\n"


def plotly_asset(request: Request) -> PlotlyAsset:
    asset: PlotlyAsset | None = getattr(request.app.state, "plotly", None)
    if asset is None:
        asset = request.app.state.plotly = PlotlyAsset.installed()
    return asset


@router.api_route(
    "/static/vendor/plotly-{version}.min.js", methods=["GET", "HEAD"], include_in_schema=False
)
async def plotly_js(request: Request, version: str) -> Response:
    asset = plotly_asset(request)
    if version != await to_thread.run_sync(lambda: asset.version):
        raise HTTPException(
            404, f"plotly.js {version} is not installed; this server has {asset.version}"
        )
    headers = {"cache-control": IMMUTABLE, "etag": await to_thread.run_sync(lambda: asset.etag)}
    if request.headers.get("if-none-match") == headers["etag"]:
        return Response(status_code=304, headers=headers)
    headers["vary"] = "Accept-Encoding"
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = await to_thread.run_sync(lambda: asset.gzipped)
        headers["content-encoding"] = "gzip"  # the gzip middleware leaves it as it is
    else:
        body = await to_thread.run_sync(lambda: asset.body)
    return Response(body, media_type=JS_TYPE, headers=headers)


@router.api_route(
    "/static/vendor/plotly-{version}.css", methods=["GET", "HEAD"], include_in_schema=False
)
async def plotly_css_file(request: Request, version: str) -> Response:
    asset = plotly_asset(request)
    if version != await to_thread.run_sync(lambda: asset.version):
        raise HTTPException(
            404, f"plotly.js {version} is not installed; this server has {asset.version}"
        )
    css = await to_thread.run_sync(lambda: asset.css)
    return Response(css, media_type=CSS_TYPE, headers={"cache-control": IMMUTABLE})


@router.get("/api/v1/charts/results", summary="Chart data of a search's result set")
async def results(
    request: Request, filters: Filters, q: QueryText = "", literal: Literal_ = False
) -> Response:
    """Bars of organisms, experiment types and platforms, the release-year timeline and
    the sample-size histogram of every match, from the search's facets (the same
    numbers as ``/api/v1/facets``), plus the charting library the page draws them with."""
    rt = runtime(request)
    search_request = SearchRequest(query=q, limit=1, filters=filters, literal=literal)
    response = await to_thread.run_sync(rt.search, search_request)
    body = response.to_dict()
    asset = plotly_asset(request)
    library = {
        "name": "plotly.js",
        "version": asset.version,
        "url": asset.url,
        "css_url": asset.css_url,
    }
    return json_response(
        {"query": q, **result_charts(body["total"], body["facets"]), "library": library}
    )
