"""Limits, auth and logs: refusals come before any work, the key stays secret, logs parse.

Each limit (body size, question length, top_k, documents per upload) is set small through
the settings and must refuse with a 4xx before the model embeds anything: the service's
embedder is the session model behind a proxy that counts calls. Write routes refuse a
missing or wrong key, and the key never reaches the log. With QA_LOG_FORMAT=json every
request gives one JSON line, from the app in-process and from `qa serve` in a subprocess;
question text appears only with QA_LOG_QUESTIONS.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import make_service
from fastapi.testclient import TestClient
from live_server import qa_serve

from api.main import create_app
from embeddings.e5 import E5Embedder
from qa import logs
from qa.service import QAService
from qa.settings import Settings

KEY = "s3cret-key-7f1c2a9b"
WRONG_KEY = "s3cret-key-7f1c2a9X"
QUESTION = "What colour are the tiles of the Zanjirabad mosque?"  # a marker: no such place


class CountingEmbedder:
    """The session's model, counting every call that embeds something."""

    def __init__(self, inner: E5Embedder) -> None:
        self.inner, self.name, self.dim, self.calls = inner, inner.name, inner.dim, 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return self.inner.embed_queries(texts)


@pytest.fixture
def counting(embedder: E5Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def app_client(tmp_path: Path, embedder: object, **settings: object) -> tuple[TestClient, QAService]:
    """A client of the app over a new data dir (no lifespan: nothing is embedded at start)."""
    service = make_service(tmp_path / "data", embedder, **settings)  # type: ignore[arg-type]
    return TestClient(create_app(service)), service


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Where `capture` sends the root logger's lines; handler and level are restored after the test."""
    root = logging.getLogger()
    level, buffer = root.level, io.StringIO()
    yield buffer
    for handler in [h for h in root.handlers if getattr(h, "stream", None) is buffer]:
        root.removeHandler(handler)
    root.setLevel(level)


def capture(buffer: io.StringIO, settings: Settings, level: int = logging.INFO) -> None:
    """Send log lines to `buffer` in the settings' format (after `create_app`, which configures stderr)."""
    logs.configure(settings, stream=buffer, level=level)


def server_side(buffer: io.StringIO) -> list[dict[str, object]]:
    """The JSON log lines, each parsed, without the test client's own (httpx logs the URLs it calls)."""
    parsed = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    return [line for line in parsed if not str(line["logger"]).startswith("httpx")]


# -- limits -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_before_any_work(tmp_path: Path, counting: CountingEmbedder) -> None:
    client, service = app_client(tmp_path, counting, max_upload_mb=0.01)  # 10 KiB
    text = "The caravanserai stood beside the old road to Kerman. " * 400  # 22 KB
    chunks = (json.dumps({"text": text})[i : i + 4096].encode() for i in range(0, 30_000, 4096))
    for response in (
        client.post("/documents", json={"text": text}),
        client.post("/documents", files={"file": ("big.txt", text.encode())}),
        client.post("/documents", content=chunks, headers={"Content-Type": "application/json"}),  # no length
    ):
        assert response.status_code == 413 and "QA_MAX_UPLOAD_MB" in response.json()["detail"], response.text
    assert counting.calls == 0 and service.store.counts() == (0, 0)

    assert client.post("/documents", json={"text": text[:5000]}).status_code == 201
    assert counting.calls > 0


def test_a_long_question_is_refused_before_embedding(tmp_path: Path, counting: CountingEmbedder) -> None:
    client, _ = app_client(tmp_path, counting, max_question_chars=40)
    too_long = "Which caravanserai stood on the road, Ki?"  # 41 characters
    assert len(too_long) == 41
    for response in (client.post("/ask", json={"question": too_long}), client.get("/search", params={"q": too_long})):
        assert response.status_code == 422 and "QA_MAX_QUESTION_CHARS" in response.json()["detail"], response.text
    assert counting.calls == 0

    assert client.post("/ask", json={"question": too_long[:40]}).status_code == 200
    assert counting.calls == 1


def test_top_k_over_the_limit_is_refused_before_embedding(tmp_path: Path, counting: CountingEmbedder) -> None:
    client, _ = app_client(tmp_path, counting, max_top_k=3)
    for response in (
        client.post("/ask", json={"question": QUESTION, "top_k": 4}),
        client.get("/search", params={"q": QUESTION, "k": 4}),
    ):
        assert response.status_code == 422 and "3" in response.json()["detail"], response.text
    assert counting.calls == 0

    assert client.get("/search", params={"q": QUESTION, "k": 3}).status_code == 200
    assert counting.calls == 1


def test_too_many_documents_in_one_upload_are_refused_before_embedding(
    tmp_path: Path, counting: CountingEmbedder
) -> None:
    client, service = app_client(tmp_path, counting, max_documents_per_upload=3)
    records = [{"id": f"inn-{i}", "text": f"Caravanserai number {i} stood on the road to Kerman."} for i in range(4)]
    squad = {"data": [{"title": "Inns", "paragraphs": [{"context": r["text"]} for r in records]}]}
    for name, data in (
        ("inns.jsonl", "\n".join(json.dumps(r) for r in records).encode()),
        ("inns.json", json.dumps(squad).encode()),
    ):
        response = client.post("/documents", files={"file": (name, data)})
        assert response.status_code == 413, response.text
        assert "QA_MAX_DOCUMENTS_PER_UPLOAD" in response.json()["detail"] and "4" in response.json()["detail"]
    assert counting.calls == 0 and service.store.counts() == (0, 0)

    jsonl = "\n".join(json.dumps(r) for r in records[:3]).encode()
    assert client.post("/documents", files={"file": ("inns.jsonl", jsonl)}).status_code == 201
    assert service.store.counts()[0] == 3


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("QA_MAX_UPLOAD_MB", "0.5", "max_upload_mb", 0.5),
        ("QA_MAX_QUESTION_CHARS", "99", "max_question_chars", 99),
        ("QA_MAX_TOP_K", "7", "max_top_k", 7),
        ("QA_MAX_DOCUMENTS_PER_UPLOAD", "12", "max_documents_per_upload", 12),
        ("QA_LOG_FORMAT", "json", "log_format", "json"),
        ("QA_LOG_QUESTIONS", "true", "log_questions", True),
    ],
)
def test_each_limit_and_log_setting_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(Settings(), field) == expected


def test_defaults_of_the_new_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("QA_MAX_DOCUMENTS_PER_UPLOAD", "QA_LOG_FORMAT", "QA_LOG_QUESTIONS"):
        monkeypatch.delenv(variable, raising=False)
    settings = Settings()
    assert (settings.max_documents_per_upload, settings.log_format, settings.log_questions) == (1000, "text", False)
    monkeypatch.setenv("QA_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()


# -- auth -------------------------------------------------------------------------------------


def test_writes_refuse_a_missing_or_wrong_key(tmp_path: Path, counting: CountingEmbedder) -> None:
    client, service = app_client(tmp_path, counting, api_key=KEY)
    body = {"id": "inn", "text": "The caravanserai of Zein-o-din is round and stands in the desert."}
    for headers in ({}, {"Authorization": f"Bearer {WRONG_KEY}"}, {"Authorization": f"Basic {KEY}"}):
        for response in (client.post("/documents", json=body, headers=headers), client.delete("/documents/inn")):
            assert response.status_code == 401, response.text
            assert KEY not in response.text and KEY not in str(response.headers)
    assert counting.calls == 0 and service.store.counts() == (0, 0)

    auth = {"Authorization": f"Bearer {KEY}"}
    assert client.post("/documents", json=body, headers=auth).status_code == 201
    assert client.get("/search", params={"q": "round caravanserai"}).status_code == 200  # reads stay open
    assert client.delete("/documents/inn").status_code == 401
    assert client.delete("/documents/inn", headers=auth).status_code == 204


def test_reads_need_the_key_only_when_configured(tmp_path: Path, embedder: E5Embedder) -> None:
    client, _ = app_client(tmp_path, embedder, api_key=KEY, api_key_reads=True)
    for response in (
        client.get("/search", params={"q": QUESTION}),
        client.post("/ask", json={"question": QUESTION}),
        client.get("/documents"),
    ):
        assert response.status_code == 401
    assert client.get("/health").status_code == 200
    assert client.get("/documents", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_the_key_never_reaches_the_log(tmp_path: Path, embedder: E5Embedder, log_lines: io.StringIO) -> None:
    client, service = app_client(tmp_path, embedder, api_key=KEY, log_format="json")
    capture(log_lines, service.settings, level=logging.DEBUG)
    body = {"id": "inn", "text": "The caravanserai of Zein-o-din is round and stands in the desert."}
    for key in (KEY, WRONG_KEY):
        client.post("/documents", json=body, headers={"Authorization": f"Bearer {key}"})
        client.delete("/documents/nothing", headers={"Authorization": f"Bearer {key}"})
    client.post("/documents", files={"file": ("a.txt", body["text"].encode())}, headers={"Authorization": KEY})
    text = log_lines.getvalue()
    assert "/documents" in text, "nothing was logged: the check below would be moot"
    assert KEY not in text and WRONG_KEY not in text and "Bearer" not in text
    server_side(log_lines)  # every line is JSON


# -- request logs -----------------------------------------------------------------------------


def test_one_json_line_per_request(tmp_path: Path, embedder: E5Embedder, log_lines: io.StringIO) -> None:
    client, service = app_client(tmp_path, embedder, log_format="json")
    capture(log_lines, service.settings)
    requests = [
        ("POST", "/documents", 201, lambda: client.post("/documents", json={"id": "inn", "text": QUESTION + " Blue."})),
        ("GET", "/documents/{doc_id}", 200, lambda: client.get("/documents/inn")),
        ("GET", "/documents/{doc_id}", 404, lambda: client.get("/documents/nothing-here")),
        ("POST", "/ask", 200, lambda: client.post("/ask", json={"question": QUESTION})),
        ("POST", "/ask", 400, lambda: client.post("/ask", content=b"{", headers={"Content-Type": "application/json"})),
        ("GET", "/search", 200, lambda: client.get("/search", params={"q": QUESTION})),
        ("GET", "/health", 200, lambda: client.get("/health")),
        ("DELETE", "/documents/{doc_id}", 204, lambda: client.delete("/documents/inn")),
    ]  # fmt: skip
    for _, _, status, send in requests:
        assert send().status_code == status

    lines = [line for line in server_side(log_lines) if line["logger"] == "api.request"]
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [r[:3] for r in requests]
    for line in lines:
        assert {"ts", "level", "msg", "client"} <= set(line) and line["level"] == "INFO"
        assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert "nothing-here" not in json.dumps(lines), "a matched route is logged by its template"


@pytest.mark.parametrize("log_questions", [False, True])
def test_question_text_is_logged_only_when_configured(
    tmp_path: Path, embedder: E5Embedder, log_lines: io.StringIO, log_questions: bool
) -> None:
    client, service = app_client(tmp_path, embedder, log_format="json", log_questions=log_questions)
    capture(log_lines, service.settings, level=logging.DEBUG)
    client.post("/ask", json={"question": QUESTION})
    client.get("/search", params={"q": QUESTION})
    lines = server_side(log_lines)
    requests = [line for line in lines if line["logger"] == "api.request"]
    assert len(requests) == 2
    if log_questions:
        assert [line["question"] for line in requests] == [QUESTION, QUESTION]
    else:
        assert not any(QUESTION in json.dumps(line, ensure_ascii=False) for line in lines)


def test_text_format_is_one_readable_line_per_request(
    tmp_path: Path, embedder: E5Embedder, log_lines: io.StringIO
) -> None:
    client, service = app_client(tmp_path, embedder)
    capture(log_lines, service.settings)
    client.get("/health")
    client.get("/documents/%0Aforged%20line")
    request_lines = [line for line in log_lines.getvalue().splitlines() if " api.request: " in line]
    assert len(request_lines) == 2
    assert request_lines[0].endswith(" ms") and " GET /health 200 " in request_lines[0]
    assert " GET /documents/{doc_id} 404 " in request_lines[1]


def test_qa_serve_logs_json_lines_without_questions_or_key(tmp_path: Path, seeded_dir: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeded_dir, data)
    env = {**os.environ, "QA_LOG_FORMAT": "json", "QA_API_KEY": KEY}
    env.pop("QA_LOG_QUESTIONS", None)
    log = tmp_path / "serve.log"
    with qa_serve(data, log, env) as url, httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/ask", json={"question": QUESTION}).status_code == 200
        assert client.get("/search", params={"q": QUESTION, "k": 2}).status_code == 200
        body = {"id": "inn", "text": "The round caravanserai of Zein-o-din stands in the desert."}
        assert client.post("/documents", json=body, headers={"Authorization": f"Bearer {WRONG_KEY}"}).status_code == 401
        assert client.post("/documents", json=body, headers={"Authorization": f"Bearer {KEY}"}).status_code == 201

    text = log.read_text()
    assert QUESTION not in text and KEY not in text and WRONG_KEY not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    routes = [(line["method"], line["route"], line["status"]) for line in lines if line["logger"] == "api.request"]
    for expected in (
        ("POST", "/ask", 200),
        ("GET", "/search", 200),
        ("POST", "/documents", 401),
        ("POST", "/documents", 201),
    ):
        assert expected in routes, routes
    assert any(line["logger"].startswith("uvicorn") for line in lines), "uvicorn's own lines go through the root logger"
