"""What route handlers depend on: the settings, the service, the metrics and the API key.

Handlers receive these through `Depends`, never as imported globals: `create_app` puts
them on `app.state`, so a test builds an app around any service and settings it likes.
The key is compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.metrics import Metrics
from qa.errors import ModelUnavailable
from qa.service import QAService
from qa.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_service(request: Request) -> QAService:
    service: QAService | None = request.app.state.service
    if service is None:
        raise ModelUnavailable("the service is still starting (loading the model); retry shortly.")
    return service


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[QAService, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]

_bearer = HTTPBearer(
    auto_error=False,
    description="The server's QA_API_KEY. Needed for writes when the key is set, and for "
    "reads too when QA_API_KEY_READS is true.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check_key(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    expected = settings.api_key
    if not expected:
        return
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this server requires an API key: send the header 'Authorization: Bearer <key>' "
            "(the key is the server's QA_API_KEY; on the web page, fill in the API key field).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the API key is wrong: use the server's QA_API_KEY in 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_writer(settings: SettingsDep, credentials: Credentials) -> None:
    """Writes need the key whenever QA_API_KEY is set."""
    _check_key(settings, credentials)


def require_reader(settings: SettingsDep, credentials: Credentials) -> None:
    """Reads need the key only when QA_API_KEY_READS is also true."""
    if settings.api_key_reads:
        _check_key(settings, credentials)
