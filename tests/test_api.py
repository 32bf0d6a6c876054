"""The HTTP API through FastAPI's TestClient: every route, every bad input, auth, metrics.

The service under the app is real (the bundled E5 model, a seeded store on each backend:
SQLite + FAISS and PostgreSQL + pgvector, for every test taking `client`), so
these tests prove the plumbing end to end: shapes and status codes from the contract,
citations that quote the stored paragraph exactly, and bad requests that change nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_service
from fastapi.testclient import TestClient

from api.main import create_app
from embeddings.e5 import E5Embedder
from qa.errors import (
    DocumentNotFound,
    InvalidInput,
    ModelMismatch,
    ModelUnavailable,
    QAError,
    TooLarge,
    UnsupportedFile,
)
from qa.service import QAService
from qa.settings import Settings

PERSIAN_QUESTION = "بشار اسد با چه کسی تلفنی گفتگو کرد؟"
ENGLISH_QUESTION = "How many safe zones did the 2017 agreement create in Syria?"
ZAYANDEH = "The Zayandeh River flows through Isfahan and is crossed by the Si-o-se-pol bridge, built in 1602."
SNAPSHOT_QUERY = "آتش بس"


@pytest.fixture
def client(backend_service: QAService) -> Iterator[TestClient]:
    """The app over a seeded service, once on each backend (SQLite + FAISS, PostgreSQL + pgvector)."""
    with TestClient(create_app(backend_service)) as test_client:
        yield test_client


def paragraph_text(client: TestClient, doc_id: str, n: int) -> str:
    response = client.get(f"/documents/{doc_id}")
    assert response.status_code == 200, response.text
    return next(p["text"] for p in response.json()["paragraphs"] if p["n"] == n)


def assert_answer_shape(client: TestClient, body: dict[str, Any], top_k: int) -> None:
    """The contract's /ask body, with quotes checked against the stored paragraphs."""
    assert set(body) >= {"question", "language", "answered", "answer", "confidence"}
    assert set(body) >= {"citations", "passages", "took_ms"}
    assert isinstance(body["answered"], bool)
    assert (body["answer"] is not None) == body["answered"] == bool(body["citations"])
    for citation in body["citations"]:
        text = paragraph_text(client, citation["doc_id"], citation["paragraph"])
        assert citation["quote"] == text[citation["start"] : citation["end"]]
        assert citation["quote"]
    assert_passages(body["passages"], top_k)


def assert_passages(passages: list[dict[str, Any]], top_k: int) -> None:
    assert len(passages) <= top_k
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)
    for passage in passages:
        assert set(passage) >= {"doc_id", "title", "paragraph", "text", "score"}


def snapshot(client: TestClient) -> tuple[object, object]:
    """What is stored, seen from outside: the documents and a search result."""
    documents = client.get("/documents").json()
    passages = client.get("/search", params={"q": SNAPSHOT_QUERY, "k": 5}).json()
    return documents, [(p["doc_id"], p["paragraph"]) for p in passages["passages"]]


def assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and len(detail) > 10, detail


# -- answers and search -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "top_k"),
    [(PERSIAN_QUESTION, 5), (ENGLISH_QUESTION, 3), ("Capital of Peru?", 1)],
    ids=["fa", "en", "off-corpus"],
)
def test_ask_returns_the_contract_shape(client: TestClient, question: str, top_k: int) -> None:
    response = client.post("/ask", json={"question": question, "top_k": top_k})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["question"] == question
    assert_answer_shape(client, body, top_k)


def test_ask_persian_question_is_answered_with_a_citation(client: TestClient) -> None:
    body = client.post("/ask", json={"question": PERSIAN_QUESTION}).json()
    assert body["language"] == "fa"
    assert body["answered"] and body["citations"][0]["n"] == 1
    assert len(body["passages"]) <= 5


def test_search_ranks_passages(client: TestClient) -> None:
    response = client.get("/search", params={"q": SNAPSHOT_QUERY, "k": 3})
    assert response.status_code == 200, response.text
    passages = response.json()["passages"]
    assert 0 < len(passages) <= 3
    assert_passages(passages, 3)
    default = client.get("/search", params={"q": ENGLISH_QUESTION}).json()["passages"]
    assert len(default) <= 5


# -- documents ----------------------------------------------------------------------------


def test_document_lifecycle(client: TestClient) -> None:
    before = len(client.get("/documents").json()["documents"])
    created = client.post("/documents", json={"id": "zayandeh", "title": "Rivers", "text": ZAYANDEH})
    assert created.status_code == 201, created.text
    assert created.json()["id"] == "zayandeh" and created.json()["paragraphs"] == 1

    listed = client.get("/documents").json()["documents"]
    assert len(listed) == before + 1
    assert any(d["id"] == "zayandeh" and d["title"] == "Rivers" for d in listed)
    detail = client.get("/documents/zayandeh").json()
    assert detail["document"]["id"] == "zayandeh"
    assert detail["paragraphs"] == [{"n": 0, "text": ZAYANDEH, "section": "", "citable_start": 0}]

    answer = client.post("/ask", json={"question": "Which bridge crosses the Zayandeh River?"}).json()
    assert answer["passages"][0]["doc_id"] == "zayandeh"
    assert_answer_shape(client, answer, 5)

    replaced = client.post("/documents", json={"id": "zayandeh", "text": ZAYANDEH + " It has 33 arches."})
    assert replaced.status_code == 201, replaced.text
    assert len(client.get("/documents").json()["documents"]) == before + 1
    assert "33 arches" in client.get("/documents/zayandeh").json()["paragraphs"][0]["text"]

    assert client.delete("/documents/zayandeh").status_code == 204
    assert_error(client.get("/documents/zayandeh"), 404)
    assert_error(client.delete("/documents/zayandeh"), 404)
    passages = client.get("/search", params={"q": "Zayandeh bridge"}).json()["passages"]
    assert all(p["doc_id"] != "zayandeh" for p in passages)


def test_upload_a_text_file_with_id_and_title(client: TestClient) -> None:
    response = client.post(
        "/documents",
        files={"file": ("rivers.txt", ZAYANDEH.encode(), "text/plain")},
        data={"id": "rivers", "title": "رودها"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == "rivers" and body["paragraphs"] == 1
    assert body["documents"] == [{"id": "rivers", "title": "رودها", "paragraphs": 1, "unchanged": False}]
    assert client.get("/documents/rivers").json()["document"]["title"] == "رودها"


def test_upload_a_squad_file_stores_each_context(client: TestClient) -> None:
    squad = {
        "data": [
            {
                "title": "Iran",
                "paragraphs": [
                    {"context": ZAYANDEH, "qas": []},
                    {"context": "Tehran is the capital of Iran and its largest city.", "qas": []},
                ],
            }
        ]
    }
    response = client.post("/documents", files={"file": ("iran.json", json.dumps(squad).encode())})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == "iran-0-0"
    assert [d["id"] for d in body["documents"]] == ["iran-0-0", "iran-0-1"]
    ids = {d["id"] for d in client.get("/documents").json()["documents"]}
    assert {"iran-0-0", "iran-0-1"} <= ids


# -- bad input: a 4xx that says what was wrong, and nothing stored changes -----------------

BROKEN_SQUAD = json.dumps(
    {"data": [{"paragraphs": [{"context": ZAYANDEH, "qas": []}, {"context": "", "qas": []}]}]}
).encode()

BAD_REQUESTS: list[tuple[str, dict[str, Any], int]] = [
    ("empty question", {"method": "POST", "url": "/ask", "json": {"question": ""}}, 422),
    ("blank question", {"method": "POST", "url": "/ask", "json": {"question": " \n\t "}}, 422),
    ("long question", {"method": "POST", "url": "/ask", "json": {"question": "چرا " * 600}}, 422),
    ("top_k 0", {"method": "POST", "url": "/ask", "json": {"question": "x", "top_k": 0}}, 422),
    ("top_k 51", {"method": "POST", "url": "/ask", "json": {"question": "x", "top_k": 51}}, 422),
    ("top_k text", {"method": "POST", "url": "/ask", "json": {"question": "x", "top_k": "a"}}, 422),
    ("no question", {"method": "POST", "url": "/ask", "json": {"top_k": 3}}, 422),
    ("array body", {"method": "POST", "url": "/ask", "json": ["question"]}, 422),
    (
        "malformed JSON",
        {
            "method": "POST",
            "url": "/ask",
            "content": b'{"question": "x",',
            "headers": {"content-type": "application/json"},
        },
        400,
    ),
    (
        "not JSON",
        {"method": "POST", "url": "/ask", "content": b"question=x", "headers": {"content-type": "text/plain"}},
        422,
    ),
    (
        "lone surrogate",
        {
            "method": "POST",
            "url": "/ask",
            "content": b'{"question": "\\ud800"}',
            "headers": {"content-type": "application/json"},
        },
        422,
    ),
    ("empty query", {"method": "GET", "url": "/search", "params": {"q": ""}}, 422),
    ("no query", {"method": "GET", "url": "/search"}, 422),
    ("k 0", {"method": "GET", "url": "/search", "params": {"q": "x", "k": 0}}, 422),
    ("k 500", {"method": "GET", "url": "/search", "params": {"q": "x", "k": 500}}, 422),
    ("k text", {"method": "GET", "url": "/search", "params": {"q": "x", "k": "many"}}, 422),
    ("unknown document", {"method": "GET", "url": "/documents/no-such-doc"}, 404),
    ("delete unknown", {"method": "DELETE", "url": "/documents/no-such-doc"}, 404),
    ("no text", {"method": "POST", "url": "/documents", "json": {"id": "x"}}, 422),
    ("empty text", {"method": "POST", "url": "/documents", "json": {"id": "x", "text": "   "}}, 422),
    ("id with slash", {"method": "POST", "url": "/documents", "json": {"id": "a/b", "text": ZAYANDEH}}, 422),
    ("long id", {"method": "POST", "url": "/documents", "json": {"id": "x" * 300, "text": ZAYANDEH}}, 422),
    (
        "malformed document JSON",
        {
            "method": "POST",
            "url": "/documents",
            "content": b'{"text": ',
            "headers": {"content-type": "application/json"},
        },
        400,
    ),
    (
        "plain text body",
        {
            "method": "POST",
            "url": "/documents",
            "content": ZAYANDEH.encode(),
            "headers": {"content-type": "text/plain"},
        },
        415,
    ),
    ("unsupported file", {"method": "POST", "url": "/documents", "files": {"file": ("tool.exe", b"MZ\x90\x00")}}, 415),
    (
        "binary as txt",
        {"method": "POST", "url": "/documents", "files": {"file": ("a.txt", bytes(range(256)) * 8)}},
        415,
    ),
    (
        "latin-1 txt",
        {"method": "POST", "url": "/documents", "files": {"file": ("a.txt", "café ".encode("latin-1") * 30)}},
        415,
    ),
    ("broken PDF", {"method": "POST", "url": "/documents", "files": {"file": ("a.pdf", b"%PDF-1.7\n1 0 obj<<")}}, 415),
    ("broken DOCX", {"method": "POST", "url": "/documents", "files": {"file": ("a.docx", b"PK\x03\x04broken")}}, 415),
    ("invalid JSON file", {"method": "POST", "url": "/documents", "files": {"file": ("a.json", b"{not json")}}, 415),
    (
        "squad with empty context",
        {"method": "POST", "url": "/documents", "files": {"file": ("s.json", BROKEN_SQUAD)}},
        422,
    ),
    (
        "surrogate in jsonl",
        {
            "method": "POST",
            "url": "/documents",
            "files": {"file": ("a.jsonl", b'{"text": "\\ud800 ' + ZAYANDEH.encode() + b'"}')},
        },
        415,
    ),
    ("empty file", {"method": "POST", "url": "/documents", "files": {"file": ("a.txt", b"")}}, 422),
    ("no file field", {"method": "POST", "url": "/documents", "files": {"upload": ("a.txt", ZAYANDEH.encode())}}, 422),
]


@pytest.mark.parametrize(("request_kwargs", "status"), [r[1:] for r in BAD_REQUESTS], ids=[r[0] for r in BAD_REQUESTS])
def test_bad_input_gets_a_4xx_and_changes_nothing(
    client: TestClient, request_kwargs: dict[str, Any], status: int
) -> None:
    before = snapshot(client)
    assert_error(client.request(**request_kwargs), status)
    assert snapshot(client) == before


@pytest.fixture
def small_limit_client(tmp_path: Path, seeded_dir: Path, embedder: E5Embedder) -> Iterator[TestClient]:
    shutil.copytree(seeded_dir, tmp_path / "data")
    service = make_service(tmp_path / "data", embedder, max_upload_mb=0.01)
    with TestClient(create_app(service)) as test_client:
        yield test_client


def test_upload_over_the_limit_is_413_by_header_and_by_bytes(small_limit_client: TestClient) -> None:
    client = small_limit_client
    before = snapshot(client)
    big = (ZAYANDEH + "\n\n").encode() * 200
    response = client.post("/documents", files={"file": ("big.txt", big)})
    assert_error(response, 413)
    assert "QA_MAX_UPLOAD_MB" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bytes actually read count
        yield b'{"text": "'
        for _ in range(50):
            yield b"river " * 100
        yield b'"}'

    chunked = client.post("/documents", content=chunks(), headers={"content-type": "application/json"})
    assert_error(chunked, 413)
    assert snapshot(client) == before


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput, 422),
        (UnsupportedFile, 415),
        (TooLarge, 413),
        (DocumentNotFound, 404),
        (ModelMismatch, 409),
        (ModelUnavailable, 503),
    ],
)
def test_each_service_error_has_one_status(
    client: TestClient,
    backend_service: QAService,
    monkeypatch: pytest.MonkeyPatch,
    error: type[QAError],
    status: int,
) -> None:
    def refuse(*args: object) -> None:
        raise error("what went wrong, and what to do about it")

    monkeypatch.setattr(backend_service, "search", refuse)
    response = client.get("/search", params={"q": "x"})
    assert response.status_code == status
    assert response.json() == {"detail": "what went wrong, and what to do about it"}


# -- auth ---------------------------------------------------------------------------------


@pytest.fixture
def keyed(tmp_path: Path, seeded_dir: Path, embedder: E5Embedder) -> Any:
    """A client factory over a seeded copy whose settings set QA_API_KEY=k."""
    shutil.copytree(seeded_dir, tmp_path / "data")

    def build(**settings: object) -> TestClient:
        return TestClient(create_app(make_service(tmp_path / "data", embedder, api_key="k", **settings)))

    return build


def test_writes_need_the_key_and_reads_stay_open(keyed: Any) -> None:
    client = keyed()
    doc = {"id": "zayandeh", "text": ZAYANDEH}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic az"}, {"Authorization": "Bearer "}):
        response = client.post("/documents", json=doc, headers=headers)
        assert_error(response, 401)
        assert "Bearer" in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"
        assert_error(client.delete("/documents/000-f690af9dd8b06e27", headers=headers), 401)
    assert len(client.get("/documents").json()["documents"]) == 2

    assert client.post("/documents", json=doc, headers={"Authorization": "Bearer k"}).status_code == 201
    assert client.post("/ask", json={"question": PERSIAN_QUESTION}).status_code == 200
    assert client.get("/search", params={"q": "Zayandeh"}).status_code == 200
    assert client.get("/documents/zayandeh").status_code == 200
    assert client.delete("/documents/zayandeh", headers={"Authorization": "Bearer k"}).status_code == 204


def test_api_key_reads_guards_reads_too(keyed: Any) -> None:
    client = keyed(api_key_reads=True)
    key = {"Authorization": "Bearer k"}
    assert_error(client.post("/ask", json={"question": PERSIAN_QUESTION}), 401)
    assert_error(client.get("/search", params={"q": "x"}), 401)
    assert_error(client.get("/documents"), 401)
    assert_error(client.get("/documents/000-f690af9dd8b06e27", headers={"Authorization": "Bearer no"}), 401)
    assert client.post("/ask", json={"question": PERSIAN_QUESTION}, headers=key).status_code == 200
    assert client.get("/documents", headers=key).status_code == 200
    assert client.get("/health").status_code == 200


# -- system routes ------------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["model"]
    assert body["documents"] == 2 and body["paragraphs"] > 0


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.post("/ask", json={"question": PERSIAN_QUESTION})
    client.post("/ask", json={"question": ""})
    client.get("/documents/no-such-doc")
    client.get("/no/such/route")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'qa_http_requests_total{method="POST",route="/ask",status="200"} 1.0' in text
    assert 'qa_http_requests_total{method="POST",route="/ask",status="422"} 1.0' in text
    assert 'qa_http_requests_total{method="GET",route="/documents/{doc_id}",status="404"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'qa_http_request_duration_seconds_bucket{le="0.5",method="POST",route="/ask"}' in text
    assert "qa_documents 2.0" in text and "qa_index_vectors" in text


def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/ask", "/search", "/documents", "/documents/{doc_id}", "/health", "/metrics"} <= set(schema["paths"])
    upload = schema["paths"]["/documents"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(upload)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # The OpenAPI UI works offline: every script and style it loads is served here.
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', docs.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200


def test_web_page_and_its_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for element in ('id="question"', 'id="ask"', 'id="answer"', 'id="citations"', 'id="passages"'):
        assert element in page.text
    for element in ('id="not-found"', 'id="documents"', 'id="upload-file"', 'id="upload-button"'):
        assert element in page.text
    assert "innerHTML" not in client.get("/static/app.js").text
    assert "Vazirmatn" in client.get("/static/style.css").text


def test_cors_only_when_origins_are_configured(service: QAService) -> None:
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    with TestClient(create_app(service)) as closed:
        assert "access-control-allow-origin" not in closed.options("/ask", headers=preflight).headers
    settings = service.settings.model_copy(update={"cors_origins": ["https://example.org"]})
    with TestClient(create_app(service, settings)) as open_client:
        response = open_client.options("/ask", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://example.org"


def test_app_without_a_service_builds_one_at_startup(tmp_path: Path, seeded_dir: Path) -> None:
    shutil.copytree(seeded_dir, tmp_path / "data")
    app = create_app(settings=Settings(data_dir=tmp_path / "data"))
    assert_error(TestClient(app).get("/health"), 503)  # no lifespan ran: not started yet
    with TestClient(app) as client:
        assert client.get("/health").json()["documents"] == 2


# -- concurrency --------------------------------------------------------------------------


def test_writes_racing_reads_never_fail_or_cite_a_missing_paragraph(client: TestClient) -> None:
    stop = threading.Event()
    statuses: list[int] = []
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()

    def read(question: str) -> None:
        while not stop.is_set():
            asked = client.post("/ask", json={"question": question, "top_k": 3})
            searched = client.get("/search", params={"q": question, "k": 3})
            with lock:
                statuses.extend([asked.status_code, searched.status_code])
                if asked.status_code == 200:
                    answers.append(asked.json())
                if searched.status_code == 200:
                    answers.append({"citations": [], **searched.json()})

    def write() -> None:
        try:
            for _ in range(3):
                created = client.post("/documents", json={"id": "race", "text": ZAYANDEH})
                deleted = client.delete("/documents/race")
                with lock:
                    statuses.extend([created.status_code, deleted.status_code])
        finally:
            stop.set()

    questions = ["Which bridge crosses the Zayandeh River?", PERSIAN_QUESTION, ENGLISH_QUESTION]
    threads = [threading.Thread(target=read, args=(q,)) for q in questions]
    threads.append(threading.Thread(target=write))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)

    assert len(answers) >= 6 and set(statuses) <= {200, 201, 204}, sorted(set(statuses))
    stored = {("race", 0): ZAYANDEH}
    for body in answers:
        for item in [*body["citations"], *body["passages"]]:
            key = (item["doc_id"], item["paragraph"])
            if key not in stored:
                stored[key] = paragraph_text(client, *key)
            if "quote" in item:
                assert item["quote"] == stored[key][item["start"] : item["end"]]
            else:
                assert item["text"] == stored[key]
    assert len(client.get("/documents").json()["documents"]) == 2
