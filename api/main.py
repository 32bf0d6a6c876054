"""Builds the FastAPI app around one `QAService`: routers, error handlers, middleware, page.

`create_app` is a factory, not a module-level app: the CLI passes the service it already
seeded, tests pass a service over a temporary data dir, and with no service the app
builds one from the settings at startup (indexing the seeds into an empty data dir).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from api.errors import error_response, install_error_handlers
from api.logging import RequestLog
from api.metrics import Metrics, MetricsMiddleware
from api.routers import ask, documents, search, system
from api.routers.system import STATIC_DIR
from qa import logs
from qa.service import QAService
from qa.settings import Settings, get_settings

DESCRIPTION = (
    "Cited answers from Persian and English documents. Every answer quotes a stored "
    "paragraph (`quote == text[start:end]`), or says the documents do not hold it. "
    "The web page is at [/](/)."
)


class BodyLimit:
    """Refuses request bodies over QA_MAX_UPLOAD_MB with a 413, before and while reading.

    A declared Content-Length over the limit is refused at once; a body that turns out
    longer than declared (or is chunked) is cut off when the limit is crossed.
    """

    def __init__(self, app: ASGIApp, max_mb: float) -> None:
        self.app = app
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.message = f"the request body is over the {max_mb:g} MB limit (QA_MAX_UPLOAD_MB)."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(400, "the Content-Length header is not a number.")(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await error_response(413, self.message)(scope, receive, send)
                return
        seen = 0

        async def receive_within_limit() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, self.message)
            return message

        await self.app(scope, receive_within_limit, send)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if app.state.service is None:
        service = QAService(app.state.settings)
        await run_in_threadpool(service.ensure_seeded)
        app.state.service = service
    await run_in_threadpool(app.state.service.warm_up)
    yield


def create_app(service: QAService | None = None, settings: Settings | None = None) -> FastAPI:
    """The app serving `service` (or, from startup, one built from `settings`)."""
    if settings is None:
        settings = service.settings if service is not None else get_settings()
    logs.configure(settings)
    app = FastAPI(
        title="Persian & English document QA",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,  # served by api/routers/system.py from local files, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.metrics = Metrics()
    install_error_handlers(app)
    for router in (ask.router, search.router, documents.router, system.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")
    app.add_middleware(BodyLimit, max_mb=settings.max_upload_mb)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestLog, log_questions=settings.log_questions)
    return app


def app_from_environment() -> FastAPI:
    """The app for one of several `qa serve --workers N` processes: settings from QA_* only."""
    return create_app(settings=get_settings())
