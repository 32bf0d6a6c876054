"""`qa serve --workers 2`: two server processes on one data dir behave as one service.

The seeds are indexed once (by the parent, before the workers start), and a write made
through whichever worker took the request is seen by every later request, whichever worker
answers it: each process checks the store's write generation before reading.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
from live_server import qa_serve

ZAYANDEH = "The Zayandeh River flows through Isfahan and is crossed by the Si-o-se-pol bridge, built in 1602."


def test_two_workers_share_one_data_dir(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {"QA_LOG_FORMAT": "json"}
    # A connection per request, so the requests spread over both workers.
    with (
        qa_serve(tmp_path / "data", log, env, "--workers", "2") as url,
        httpx.Client(base_url=url, timeout=60, headers={"Connection": "close"}) as client,
    ):
        assert client.get("/health").json()["documents"] == 2  # the seeds, indexed once
        created = client.post("/documents", json={"id": "zayandeh", "text": ZAYANDEH, "title": "Zayandeh"})
        assert created.status_code == 201, created.text
        for _ in range(20):  # whichever worker answers, it has the new document
            answer = client.post("/ask", json={"question": "When was the Si-o-se-pol bridge built?"}).json()
            assert answer["answered"] and answer["citations"][0]["doc_id"] == "zayandeh", answer
            assert client.get("/health").json()["documents"] == 3
        assert client.delete("/documents/zayandeh").status_code == 204
        # The kernel hands each connection to whichever worker accepts first (on a loaded machine
        # the same one for a while), so ask until both have answered, within a bound.
        for i in range(400):
            assert client.get("/documents/zayandeh").status_code == 404
            assert client.get("/health").json()["documents"] == 2
            if i >= 20 and len(served(log)) == 2:
                break
    text = log.read_text()
    assert "indexed 2 seed documents" in text and "Traceback" not in text
    assert len(served(log)) == 2, "both workers answered requests"


def served(log: Path) -> set[int]:
    """The pids of the workers that logged a request so far."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{") and line.endswith("}")]
    return {line["pid"] for line in lines if line["logger"] == "api.request"}
