"""What cleaning did, kept and shown: every block stored with its label and reason, sections
in citations and passages, glued tags never quoted, furniture that recurs across stored
documents dropped, QA_KEEP_FURNITURE, a data dir of the previous schema migrated, and the
same blocks through `GET /documents/{id}?blocks=true` and `qa documents ID --blocks`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import make_service
from fastapi.testclient import TestClient
from test_blocks import SITE_PAGES

from api.main import create_app
from cli.main import main as qa_main
from embeddings.e5 import E5Embedder
from qa.backends.sqlite import STORE_FILE, SQLiteStore
from qa.models import answer_json
from qa.service import QAService

FIRST, SECOND = "000-f690af9dd8b06e27", "002-8389060196ed8413"


def test_every_block_of_a_seed_is_stored_with_its_label(service: QAService) -> None:
    blocks = service.blocks(SECOND)
    assert len(blocks) == 29
    assert {b.label for b in blocks} == {"body", "heading", "furniture"}
    _, paragraphs = service.document(SECOND)
    stored = {p.n: p.text for p in paragraphs}
    for b in blocks:
        assert b.reason
        if b.paragraph is not None:
            assert b.label == "body" and stored[b.paragraph] == b.text
    assert sorted(b.paragraph for b in blocks if b.paragraph is not None) == sorted(stored)


def test_citations_and_passages_carry_the_section_heading(service: QAService) -> None:
    answer = service.ask("نخست وزیر عراق امنیت سوریه و عراق را چگونه توصیف کرد؟")
    assert answer.answered
    [cited] = answer.citations
    assert cited.doc_id == SECOND and cited.section == "تاکید بر همکاریهای امنیتی"
    body = answer_json(answer)
    assert body["citations"][0]["section"] == "تاکید بر همکاریهای امنیتی"
    assert body["passages"][0]["section"] == "تاکید بر همکاریهای امنیتی"


def test_a_glued_tag_is_never_part_of_an_answer(service: QAService) -> None:
    _, paragraphs = service.document(FIRST)
    lead = paragraphs[0]
    assert lead.text.startswith("19 دی آنلاین: ") and lead.citable_start == len("19 دی آنلاین: ")
    for question in ("دفتر ریاست جمهوری سوریه از چه گفتگویی خبر داد؟", "What did the Syrian presidency announce?"):
        answer = service.ask(question, min_confidence=0.0)
        for cited in answer.citations:
            assert "آنلاین" not in cited.quote and "سرویس خبری" not in cited.quote, question


def test_furniture_recurring_in_stored_documents_is_dropped(empty_service: QAService, tmp_path: Path) -> None:
    for name, text in SITE_PAGES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    empty_service.ingest_paths([tmp_path / "a.txt"])
    [b] = empty_service.ingest_paths([tmp_path / "b.txt"])
    assert b.paragraphs == 2, "b's app promo recurs in a: furniture"
    [again] = empty_service.ingest_paths([tmp_path / "a.txt"])
    assert not again.unchanged and again.paragraphs == 2, "re-ingesting a drops it there too"
    promo = next(x for x in empty_service.blocks("a") if "اپلیکیشن" in x.text)
    assert promo.label == "furniture" and "recurs in 1 other document" in promo.reason


def test_documents_of_one_upload_count_for_each_other(empty_service: QAService) -> None:
    results = empty_service.ingest_documents(
        [empty_service.read_file(text.encode(), name)[0] for name, text in SITE_PAGES.items()]
    )
    assert [r.paragraphs for r in results] == [2, 2]


def test_keep_furniture_stores_every_block(tmp_path: Path, embedder: E5Embedder) -> None:
    kept = make_service(tmp_path / "kept", embedder, keep_furniture=True)
    kept.ensure_seeded()
    _, paragraphs = kept.document(SECOND)
    assert len(paragraphs) == len(kept.blocks(SECOND)) == 29
    assert any(p.text == "خبرهای دیگر" for p in paragraphs)


def test_a_data_dir_of_the_previous_schema_is_migrated(tmp_path: Path, embedder: E5Embedder) -> None:
    data = tmp_path / "old"
    data.mkdir()
    con = sqlite3.connect(data / STORE_FILE)
    con.executescript(
        """
        CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
            content_hash TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE paragraphs (id INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            n INTEGER NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL, tokens TEXT NOT NULL, vector BLOB NOT NULL);
        INSERT INTO documents VALUES ('old', 'Old', 'old.txt', 'h', '2024-01-01', '2024-01-01');
        INSERT INTO paragraphs (doc_id, n, text, hash, tokens, vector)
            VALUES ('old', 0, 'An old paragraph.', 'x', 'old', x'');
        """
    )
    con.commit()
    con.close()
    store = SQLiteStore(data)
    columns = {row[1] for row in store._con().execute("PRAGMA table_info(paragraphs)")}
    assert {"section", "citable_start"} <= columns
    _, [paragraph] = store.document("old")
    assert (paragraph.text, paragraph.section, paragraph.citable_start) == ("An old paragraph.", "", 0)
    assert store.blocks("old") == []
    SQLiteStore(data)  # a second open finds nothing to migrate


def test_get_document_lists_its_blocks_on_request(service: QAService) -> None:
    with TestClient(create_app(service)) as client:
        plain = client.get(f"/documents/{SECOND}").json()
        assert "blocks" not in plain or plain["blocks"] is None
        assert plain["paragraphs"][2]["section"] == "گفتگوی رهبران سوریه و عراق"
        body = client.get(f"/documents/{SECOND}", params={"blocks": "true"}).json()
    blocks = body["blocks"]
    assert len(blocks) == 29
    breadcrumb = blocks[0]
    assert breadcrumb["label"] == "furniture" and "breadcrumb" in breadcrumb["reason"]
    assert breadcrumb["paragraph"] is None
    assert {b["label"] for b in blocks} == {"body", "heading", "furniture"}


def test_qa_documents_id_blocks_prints_every_block(service: QAService, capsys) -> None:
    assert qa_main(["documents", FIRST, "--blocks", "--data-dir", str(service.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "furniture\t-\ta label with no value («نویسنده:»)" in out
    assert "a repeat of block 0, stored once" in out
    assert qa_main(["documents", FIRST, "--data-dir", str(service.data_dir)]) == 0
    assert "¶0\t19 دی آنلاین:" in capsys.readouterr().out
    assert qa_main(["documents", "nope", "--blocks", "--data-dir", str(service.data_dir)]) == 2
    assert "no document with id 'nope'" in capsys.readouterr().err
