"""The `qa` command as the contract describes it, run the way a user runs it: one process
per command over one data dir. Each process loads the model, so the calls are few and
one data dir carries the whole session (seeded by the first `ask`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from qa.settings import REPO_ROOT

ASK_KEYS = {
    "question",
    "language",
    "answered",
    "answer",
    "confidence",
    "citations",
    "passages",
    "took_ms",
}
CITATION_KEYS = {"n", "doc_id", "title", "source", "paragraph", "start", "end", "quote"}
PASSAGE_KEYS = {"doc_id", "title", "paragraph", "text", "score"}

SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "اصفهان",
            "paragraphs": [
                {
                    "context": "میدان نقش جهان در مرکز شهر اصفهان قرار دارد. "
                    "این میدان در دوره شاه عباس صفوی ساخته شد و مسجد شیخ لطف‌الله "
                    "در ضلع شرقی آن قرار گرفته است.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "میدان نقش جهان در کدام شهر قرار دارد؟",
                            "answers": [{"text": "اصفهان", "answer_start": 25}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "مسجد شیخ لطف‌الله در کدام ضلع میدان نقش جهان است؟",
                            "answers": [{"text": "ضلع شرقی", "answer_start": 100}],
                            "is_impossible": False,
                        },
                    ],
                }
            ],
        },
        {
            "title": "دریای خزر",
            "paragraphs": [
                {
                    "context": "دریای خزر بزرگ‌ترین دریاچه جهان است. ماهیان خاویاری دریای خزر بیشتر "
                    "خاویار وحشی جهان را تولید می‌کنند.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "بزرگ‌ترین دریاچه جهان کدام است؟",
                            "answers": [{"text": "دریای خزر", "answer_start": 0}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q4",
                            "question": "قهرمان جام جهانی فوتبال ۲۰۱۸ کدام کشور بود؟",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
    ],
}


def qa_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`qa ARGS` in a fresh process, with no QA_* settings inherited from the caller."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    base["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_cli_session(tmp_path: Path) -> None:
    data = tmp_path / "data"
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()

    # 1. ask on an empty data dir: the seeds are indexed first, stdout is the /ask body
    ask = qa_cli(
        "ask",
        "نخست وزیر عراق امنیت سوریه و عراق را چگونه توصیف کرد؟",
        "--json",
        "--data-dir",
        str(data),
        cwd=workdir,
    )
    assert_ok(ask)
    assert "seed" in ask.stderr
    body = json.loads(ask.stdout)
    assert set(body) >= ASK_KEYS
    assert body["question"] == "نخست وزیر عراق امنیت سوریه و عراق را چگونه توصیف کرد؟"
    assert body["language"] == "fa"
    assert isinstance(body["answered"], bool) and isinstance(body["confidence"], float)
    assert body["took_ms"] > 0
    assert 1 <= len(body["passages"]) <= 5
    for passage in body["passages"]:
        assert set(passage) >= PASSAGE_KEYS
    assert body["passages"][0]["doc_id"] == "002-8389060196ed8413"
    if body["answered"]:
        assert isinstance(body["answer"], str)
        for citation in body["citations"]:
            assert set(citation) >= CITATION_KEYS
    else:
        assert body["answer"] is None and body["citations"] == []
    assert not (workdir / "data").exists(), "--data-dir was used, not ./data"

    # 2. search, with the data dir from QA_DATA_DIR and no --data-dir
    search = qa_cli(
        "search",
        "Who did Bashar al-Assad speak with by phone?",
        "--json",
        "--top-k",
        "3",
        cwd=workdir,
        env={"QA_DATA_DIR": str(data)},
    )
    assert_ok(search)
    passages = json.loads(search.stdout)["passages"]
    assert 1 <= len(passages) <= 3
    assert passages[0]["doc_id"] == "000-f690af9dd8b06e27"
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    assert "seed" not in search.stderr, "an already seeded data dir is not seeded again"
    assert not (workdir / "data").exists()

    # 3. delete one document, and an unknown one (exit code, message, no traceback)
    delete = qa_cli("delete", "002-8389060196ed8413", "--data-dir", str(data), cwd=workdir)
    assert_ok(delete)
    assert "002-8389060196ed8413" in delete.stdout
    unknown = qa_cli("delete", "unknown", "--data-dir", str(data), cwd=workdir)
    assert unknown.returncode != 0
    assert "unknown" in unknown.stderr and "Traceback" not in unknown.stderr
    assert unknown.stdout == ""

    # 4. documents lists what is left
    documents = qa_cli("documents", "--data-dir", str(data), cwd=workdir)
    assert_ok(documents)
    rows = [line.split("\t") for line in documents.stdout.splitlines()]
    assert [r[0] for r in rows] == ["000-f690af9dd8b06e27"]
    paragraphs = int(rows[0][1].split()[0])
    assert paragraphs == 8

    # 5. index rebuild prints the count of re-embedded paragraphs
    rebuild = qa_cli("index", "rebuild", "--data-dir", str(data), cwd=workdir)
    assert_ok(rebuild)
    assert f"rebuilt the index of {paragraphs} paragraphs" in rebuild.stdout

    # 6. eval on a tiny SQuAD file: its contexts join the corpus, the figures come back as JSON
    squad = tmp_path / "tiny squad.json"
    squad.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    evaluation = qa_cli("eval", str(squad), "--json", "--data-dir", str(data), cwd=workdir)
    assert_ok(evaluation)
    report = json.loads(evaluation.stdout)
    [figures] = report["figures"].values()
    for key in ("hit@1", "hit@5", "answer_contains_gold", "abstained_on_impossible"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["answerable"] == 3 and figures["impossible"] == 1
    assert figures["hit@5"] == 1.0
    assert figures["hit@1"] >= 2 / 3
