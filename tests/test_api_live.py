"""The API over a real socket: uvicorn in a thread, plain HTTP clients, the shared eval script.

TestClient skips the server; these tests catch what only a real one shows (lifespan,
threadpool, multipart over the wire) and run ../shared/eval/qa_eval.py against it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import serve_seeded_copy

from embeddings.e5 import E5Embedder
from qa.settings import REPO_ROOT

# The outside evaluation lives in ../shared beside the checkout (as in CI).
EVAL_SCRIPT = REPO_ROOT.parent / "shared" / "eval" / "qa_eval.py"
ZAYANDEH = "The Zayandeh River flows through Isfahan and is crossed by the Si-o-se-pol bridge, built in 1602."


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, seeded_dir: Path, embedder: E5Embedder) -> Iterator[str]:
    with serve_seeded_copy(seeded_dir, tmp_path_factory.mktemp("live"), embedder) as url:
        yield url


def post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("بشار اسد با چه کسی تلفنی گفتگو کرد؟", "fa"),
        ("How many safe zones did the 2017 agreement create in Syria?", "en"),
    ],
    ids=["fa", "en"],
)
def test_ask_over_http(base_url: str, question: str, language: str) -> None:
    status, body = post_json(f"{base_url}/ask", {"question": question, "top_k": 3})
    assert status == 200
    assert body["question"] == question and body["language"] == language
    assert len(body["passages"]) <= 3
    for citation in body["citations"]:
        paragraphs = httpx.get(f"{base_url}/documents/{citation['doc_id']}").json()["paragraphs"]
        text = paragraphs[citation["paragraph"]]["text"]
        assert citation["quote"] == text[citation["start"] : citation["end"]]


def test_upload_over_http_then_ask(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        before = client.get("/health").json()["documents"]
        response = client.post("/documents", files={"file": ("isfahan.txt", ZAYANDEH.encode())}, data={"id": "isfahan"})
        assert response.status_code == 201, response.text
        assert response.json()["id"] == "isfahan"
        assert client.get("/health").json()["documents"] == before + 1
        answer = client.post("/ask", json={"question": "Which bridge crosses the Zayandeh River?"})
        assert answer.json()["passages"][0]["doc_id"] == "isfahan"
        bad = client.post("/documents", files={"file": ("x.txt", b"\x00\xff" * 64)})
        assert bad.status_code == 415 and bad.json()["detail"]


def test_health_and_page_over_http(base_url: str) -> None:
    health = httpx.get(f"{base_url}/health").json()
    assert health["status"] == "ok" and health["paragraphs"] > 0
    assert 'id="question"' in httpx.get(f"{base_url}/").text


def test_shared_eval_script_runs_without_errors(base_url: str, tmp_path: Path) -> None:
    squad = {
        "data": [
            {
                "title": "Isfahan",
                "paragraphs": [
                    {
                        "context": ZAYANDEH,
                        "qas": [
                            {
                                "id": "q1",
                                "question": "Which bridge crosses the Zayandeh River?",
                                "answers": [{"text": "Si-o-se-pol", "answer_start": 63}],
                                "is_impossible": False,
                            },
                            {
                                "id": "q2",
                                "question": "When was the Si-o-se-pol bridge built?",
                                "answers": [{"text": "1602", "answer_start": 92}],
                                "is_impossible": False,
                            },
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "tiny_squad.json"
    path.write_text(json.dumps(squad), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(EVAL_SCRIPT), "--url", base_url, "--ask", str(path), "--corpus", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    figures = report[f"{path.name}:fa"]
    assert figures["errors"] == 0 and figures["answerable"] == 2
