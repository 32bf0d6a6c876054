"""The routes around the answers: health, Prometheus metrics and the web page at `/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from api.deps import MetricsDep, ServiceDep
from api.schemas import HealthOut

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
# The page loads nothing from elsewhere: no CDN, no external fonts.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(tags=["system"])


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    """The OpenAPI UI, from the swagger-ui-bundle package's files: it works offline."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Persian & English document QA: API",
        swagger_js_url="/swagger/swagger-ui-bundle.js",
        swagger_css_url="/swagger/swagger-ui.css",
        swagger_favicon_url="/swagger/favicon-32x32.png",
    )


@router.get("/health", response_model=HealthOut)
def health(service: ServiceDep) -> dict[str, object]:
    """The model name and how many documents, paragraphs and vectors are stored."""
    return service.health()


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(service: ServiceDep, metrics: MetricsDep) -> Response:
    """Prometheus text: requests by route and status, latencies, corpus size."""
    return Response(metrics.render(service.health()), media_type=metrics.content_type)


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The web page: ask, read the cited answer, manage documents."""
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)
