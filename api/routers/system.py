"""The routes around the answers: health, Prometheus metrics and the web page at `/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

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
