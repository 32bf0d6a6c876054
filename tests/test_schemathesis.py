"""Property-based requests from the app's own OpenAPI schema: no operation may answer 5xx.

Schemathesis generates valid and invalid bodies, queries and paths for every operation
in /openapi.json and sends them through ASGI to an app over a seeded copy; whatever it
sends, the API must answer with a 2xx or a 4xx, never a server error.

The schema is loaded at import time (schemathesis' `from_fixture` does not work with
this pytest), from an app without a service; a fixture hands it the seeded service.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.main import create_app
from qa.service import QAService
from qa.settings import Settings

app = create_app(settings=Settings())
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(autouse=True)
def seeded_app(service: QAService) -> Iterator[None]:
    app.state.service, app.state.settings = service, service.settings
    yield
    app.state.service = None


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_no_operation_answers_with_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
