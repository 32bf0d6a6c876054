"""Errors to HTTP responses, in one place: each `qa.errors` type has one status code.

Bad input never becomes a 500: the service's errors map to 4xx here, request validation
errors get a `detail` a person can read, and malformed JSON is a 400 saying where it broke.
Every error body is `{"detail": "..."}` (validation errors add the raw `errors` list).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.schemas import ErrorOut
from qa.errors import (
    USER_ERRORS,
    DocumentNotFound,
    InvalidInput,
    ModelMismatch,
    ModelUnavailable,
    TooLarge,
    UnsupportedFile,
)

STATUS_CODES: dict[type[Exception], int] = {
    InvalidInput: 422,
    UnsupportedFile: 415,
    TooLarge: 413,
    DocumentNotFound: 404,
    ModelMismatch: 409,
    ModelUnavailable: 503,
}
JSON_HINT = "Send a JSON object with Content-Type: application/json; /docs lists the fields."
MAX_LISTED = 5

# For route decorators, so /docs shows the error shape next to each status code.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": description}
    for code, description in (
        (400, "Malformed JSON or an unreadable request"),
        (401, "Missing or wrong API key (when QA_API_KEY is set)"),
        (422, "A field is missing or out of range"),
        (503, "The embedding model is not available"),
    )
}


def status_code(exc: Exception) -> int:
    """The HTTP status for a service error; subclasses inherit their parent's."""
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 400


def error_response(status: int, detail: str, **extra: object) -> JSONResponse:
    """The one error body shape."""
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header") and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


def describe(errors: Sequence[dict[str, Any]], content_type: str) -> tuple[int, str]:
    """A status and one readable sentence for a list of pydantic errors.

    Example:
        >>> describe([{"loc": ("body", "question"), "msg": "Field required"}], "application/json")
        (422, 'question: Field required.')
    """
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        loc = malformed.get("loc") or ()
        where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        reason = (malformed.get("ctx") or {}).get("error") or _message(malformed)
        return 400, f"malformed JSON{where}: {reason}. {JSON_HINT}"
    whole_body = [e for e in errors if tuple(e.get("loc") or ()) == ("body",)]
    if whole_body and "json" not in content_type:
        return 422, f"the body is not JSON (Content-Type: {content_type or 'none'}). {JSON_HINT}"
    listed = "; ".join(f"{_location(e.get('loc') or ())}: {_message(e)}" for e in errors[:MAX_LISTED])
    more = f" (and {len(errors) - MAX_LISTED} more)" if len(errors) > MAX_LISTED else ""
    return 422, f"{listed}{more}."


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, USER_ERRORS)
    return error_response(status_code(exc), str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    status, detail = describe(errors, request.headers.get("content-type", ""))
    plain = [
        {"loc": [str(p) for p in e.get("loc") or ()], "msg": _message(e), "type": str(e.get("type"))} for e in errors
    ]
    return error_response(status, detail, errors=plain)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app (FastAPI's own HTTPException handler already uses `detail`)."""
    for error in USER_ERRORS:
        app.add_exception_handler(error, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
