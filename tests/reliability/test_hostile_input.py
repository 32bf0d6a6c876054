"""Hostile input: any bytes give clean documents or a refusal the API maps to a 4xx, and fast.

Fuzzing (hypothesis) and hand-made attacks on the readers and the cleaner: random and
mutated files of every supported type, odd JSON shapes, truncated and zip-bombed files, a
5 MB line, deep nesting, invalid UTF-8 and bidi controls; upload names that look like paths;
symlinks out of an ingested folder. Every call runs under a time limit, so a parser that
hangs fails its test instead of stalling the run.
"""

from __future__ import annotations

import io
import json
import random
import re
import signal
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest import make_docx, make_pdf

from api.main import create_app
from qa.errors import InvalidInput, QAError, UnsupportedFile
from qa.ingest import SUPPORTED, PreparedDocument, prepare, read_bytes
from qa.service import QAService
from qa.text import word_count

MAX_WORDS = 180  # QA_MAX_PARAGRAPH_WORDS's default
CALL_SECONDS = 5.0  # any one small file
BIG_SECONDS = 12.0  # of CPU time: a 5 MB file or 100k nested tags
MAX_PARAGRAPH_CHARS = 20_000  # "bounded": far above any real paragraph, far below 5 MB
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Hang(BaseException):
    """Raised by the time limit; a BaseException, so no reader's `except Exception` hides it."""


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail with Hang if the block spends more than `seconds` of this process's CPU time
    (SIGPROF, main thread only). CPU time, not wall time: other processes on a busy machine
    slow the block down but do not make it look hung, while a runaway loop still trips it."""

    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"{what} still running after {seconds:g} s of CPU time")

    previous = signal.signal(signal.SIGPROF, on_alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def ingest_outcome(data: bytes, name: str, seconds: float = CALL_SECONDS) -> list[PreparedDocument] | QAError:
    """What ingest makes of a file: its prepared documents, or the user-facing error it raised.

    Any other exception propagates (it would be a 500); so does Hang.
    """
    with time_limit(seconds, f"reading {name!r} ({len(data)} bytes)"):
        try:
            docs = read_bytes(data, name)
            prepared = [prepare(doc, MAX_WORDS, fallback_id="fuzzed") for doc in docs]
        except (UnsupportedFile, InvalidInput) as exc:
            return exc
    for doc in prepared:
        for value in (doc.id, doc.title, doc.source, *doc.paragraphs):
            assert isinstance(value, str)
            value.encode("utf-8")  # a lone surrogate raises here
        assert doc.id and "/" not in doc.id
        assert all(p.strip() for p in doc.paragraphs)
    return prepared


# -- fuzzing ----------------------------------------------------------------------------------


def _valid_files() -> dict[str, bytes]:
    """One small valid file per supported extension, for mutation."""
    text = "Isfahan lies on the Zayandeh River.\n\nاصفهان در کنار زاینده‌رود است و پل‌های تاریخی دارد."
    record = {"id": "r1", "title": "Isfahan", "text": text}
    squad = {"data": [{"title": "Isfahan", "paragraphs": [{"context": text, "qas": []}]}]}
    return {
        "valid.txt": text.encode(),
        "valid.md": f"# Isfahan\n\n{text}\n\n- a list item of a few words\n".encode(),
        "valid.html": f"<html><head><title>Isfahan</title></head><body><p>{text}</p></body></html>".encode(),
        "valid.htm": f"<div class='article'><h1>Isfahan</h1><p>{text}</p></div>".encode(),
        "valid.jsonl": (json.dumps(record) + "\n" + json.dumps({**record, "id": "r2"}) + "\n").encode(),
        "valid.json": json.dumps(squad).encode(),
        "valid.pdf": make_pdf(),
        "valid.docx": make_docx(),
    }


VALID = _valid_files()
JSON_KEYS = ["data", "paragraphs", "context", "text", "id", "title", "source", "qas"]
JSON_TEXT = st.sampled_from(["", " ", "..", "a/b", "word word word here.", "متن فارسی برای آزمون است."]) | st.text(
    st.characters(categories=["L", "N", "P", "Zs", "Cc", "Cf", "Cs"]), max_size=40
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(JSON_KEYS), inner, max_size=4),
    max_leaves=20,
)


@settings(FUZZ, max_examples=50)
@given(suffix=st.sampled_from(SUPPORTED), data=st.binary(max_size=4096))
def test_random_bytes_of_every_type(suffix: str, data: bytes) -> None:
    ingest_outcome(data, f"fuzzed{suffix}")


@settings(FUZZ, max_examples=50)
@given(
    name=st.sampled_from(sorted(VALID)),
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=8)), max_size=6),
    keep=st.floats(0.05, 1.0),
)
def test_mutated_valid_files(name: str, edits: list[tuple[float, bytes]], keep: float) -> None:
    data = bytearray(VALID[name])
    for where, patch in edits:
        at = int(where * (len(data) - 1))
        data[at : at + len(patch)] = patch
    ingest_outcome(bytes(data[: max(1, int(keep * len(data)))]), name)


SQUAD_LIKE = st.builds(lambda articles: {"data": articles}, st.lists(JSON_VALUES, max_size=3))


@settings(FUZZ, max_examples=50)
@given(value=JSON_VALUES | SQUAD_LIKE, as_lines=st.booleans())
def test_json_of_any_shape(value: object, as_lines: bool) -> None:
    if as_lines and isinstance(value, list):
        ingest_outcome("\n".join(json.dumps(v) for v in value).encode(), "fuzzed.jsonl")
    else:
        ingest_outcome(json.dumps(value).encode(), "fuzzed.json")


# -- hand-made: broken, huge and nested files -------------------------------------------------


@pytest.mark.parametrize("name", ["cut.pdf", "cut.docx"])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_pdf_and_docx(name: str, keep: float) -> None:
    data = VALID["valid" + Path(name).suffix]
    outcome = ingest_outcome(data[: int(keep * len(data))], name)
    assert isinstance(outcome, UnsupportedFile | list)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("shape.json", b'{"data": [{"paragraphs": 5}]}'),
        ("shape.json", b'{"data": [{"title": "t", "paragraphs": {"context": "a dict, not a list"}}]}'),
        ("deep.json", b"[" * 100_000),
        ("deep.json", b'{"a":' * 100_000),
        ("deep.jsonl", b"[" * 100_000 + b"\n"),
    ],
    ids=["paragraphs-int", "paragraphs-dict", "deep-array", "deep-object", "deep-jsonl"],
)
def test_odd_json_is_refused_not_crashed(name: str, data: bytes) -> None:
    outcome = ingest_outcome(data, name)
    assert isinstance(outcome, UnsupportedFile), outcome


def test_odd_json_upload_is_a_4xx_not_a_500(service: QAService) -> None:
    client = TestClient(create_app(service), raise_server_exceptions=False)
    before = service.store.counts()
    for data in (b'{"data": [{"paragraphs": 5}]}', b"[" * 100_000):
        response = client.post("/documents", files={"file": ("odd.json", data)})
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert service.store.counts() == before


def _varied_sentences(size: int) -> str:
    """About `size` bytes of distinct English sentences on one line, no newline anywhere."""
    rng = random.Random(8)
    words = [
        "river",
        "bridge",
        "city",
        "garden",
        "market",
        "winter",
        "summer",
        "mountain",
        "valley",
        "road",
        "school",
        "tower",
    ]
    parts, total, i = [], 0, 0
    while total < size:
        sentence = " ".join(rng.choice(words) for _ in range(11)) + f" number {i}."
        parts.append(sentence)
        total += len(sentence) + 1
        i += 1
    return " ".join(parts)


HUGE_LINES = {
    "sentences": lambda: _varied_sentences(5_000_000),
    "no-sentence-end": lambda: "word " * 1_000_000,
    "persian-no-sentence-end": lambda: "کلمه فارسی " * 500_000,
    "one-token": lambda: "x" * 5_000_000,
}


@pytest.mark.parametrize("kind", sorted(HUGE_LINES))
def test_a_5mb_line_is_read_fast_into_bounded_paragraphs(kind: str) -> None:
    text = HUGE_LINES[kind]()
    assert "\n" not in text and len(text.encode()) >= 5_000_000
    started = time.perf_counter()
    outcome = ingest_outcome(text.encode(), "huge.txt", seconds=BIG_SECONDS)
    took = time.perf_counter() - started
    if isinstance(outcome, QAError):
        return  # refusing it is fine too
    [doc] = outcome
    longest = max(doc.paragraphs, key=len, default="")  # no paragraph (one junk token) is refused later
    assert len(longest) <= MAX_PARAGRAPH_CHARS and word_count(longest) <= 2 * MAX_WORDS, (
        f"{kind}: a paragraph of {len(longest)} characters / {word_count(longest)} words "
        f"(QA_MAX_PARAGRAPH_WORDS={MAX_WORDS}) after {took:.1f} s"
    )


@pytest.mark.parametrize(
    ("depth", "paragraphs"),
    [(100_000, 1), (20_000, 2000)],
    ids=["100k-divs", "20k-divs-2000-paragraphs"],
)
def test_deeply_nested_html_is_handled_fast(depth: int, paragraphs: int) -> None:
    inside = "".join(f"<p>Paragraph {i} of the page at the bottom of the nesting.</p>" for i in range(paragraphs))
    data = ("<html><body>" + "<div>" * depth + inside + "</div>" * depth + "</body></html>").encode()
    outcome = ingest_outcome(data, "deep.html", seconds=BIG_SECONDS)
    if isinstance(outcome, list):
        assert outcome[0].paragraphs[0] == "Paragraph 0 of the page at the bottom of the nesting."
    else:
        assert isinstance(outcome, UnsupportedFile), outcome


@pytest.fixture(scope="module")
def docx_bomb() -> bytes:
    """A .docx whose document.xml unpacks to 300 MB of zeros (about 300 KB zipped)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                member.write(chunk)
    return buffer.getvalue()


def test_docx_zip_bomb_is_refused_without_unpacking(docx_bomb: bytes) -> None:
    assert len(docx_bomb) < 1_000_000
    outcome = ingest_outcome(docx_bomb, "bomb.docx", seconds=2.0)  # unpacking 300 MB would take longer
    assert isinstance(outcome, UnsupportedFile) and "MB" in str(outcome), outcome


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".htm", ".jsonl", ".json"])
def test_invalid_utf8_is_refused_with_the_reason(suffix: str) -> None:
    data = b'{"text": "caf\xe9 au lait \xc3\x28 and \xa0\xa1 more words"}'
    outcome = ingest_outcome(data, f"latin{suffix}")
    assert isinstance(outcome, UnsupportedFile) and "UTF-8" in str(outcome), outcome


# -- bidi controls ----------------------------------------------------------------------------

RLO, PDF_MARK, LRI, RLI, FSI, PDI, RLM = "\u202e", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f"
BIDI_TEXT = (
    f"The {RLO}Khaju{PDF_MARK} bridge in {LRI}Isfahan{PDI} was built around 1650 under Shah Abbas II.{RLM} "
    f"It crosses the {RLI}زاینده‌رود{PDI} river and also served as a dam.\n\n"
    f"پل {FSI}خواجو{PDI} در اصفهان{RLM} حدود سال ۱۶۵۰ به دستور شاه عباس دوم ساخته شد{RLM}. "
    f"این پل روی {LRI}Zayandeh{PDI} رود قرار دارد."
)


def test_bidi_controls_keep_quotes_exact(service: QAService) -> None:
    result = service.ingest_text(BIDI_TEXT, doc_id="khaju", title=f"{RLO}Khaju{PDF_MARK}")
    assert result.paragraphs >= 1
    _, paragraphs = service.document("khaju")
    texts = {p.n: p.text for p in paragraphs}
    for question in (
        "When was the Khaju bridge built?",
        f"{RLO}When was the {LRI}Khaju{PDI} bridge built?{RLM}",
        "پل خواجو کی ساخته شد؟",
    ):
        answer = service.ask(question, top_k=3)
        assert answer.passages and answer.passages[0].paragraph.doc_id == "khaju", question
        for cited in answer.citations:
            assert cited.quote == texts[cited.paragraph][cited.start : cited.end], question


# -- names and paths --------------------------------------------------------------------------


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.mark.parametrize(
    ("filename", "expected_id"),
    [("../../etc/passwd.txt", "passwd"), ("..\\..\\x.txt", "x"), ("/abs/dir/name.md", "name")],
)
def test_upload_names_never_become_paths(tmp_path: Path, service: QAService, filename: str, expected_id: str) -> None:
    client = TestClient(create_app(service))
    before = _files_under(tmp_path)
    body = b"A harmless uploaded note about the old bridges of Isfahan and their arches."
    response = client.post("/documents", files={"file": (filename, body, "text/plain")})
    assert response.status_code == 201, response.text
    doc_id = response.json()["id"]
    assert doc_id == expected_id and re.fullmatch(r"[\w-]+", doc_id)
    assert "/" not in service.document(doc_id)[0].source
    data_dir = service.data_dir.resolve()
    new_files = {p for p in _files_under(tmp_path) - before}
    assert all(p.resolve().is_relative_to(data_dir) for p in new_files), new_files
    assert not Path("/etc/passwd.txt").exists() and not (Path.cwd() / "x.txt").exists()

    explicit = client.post("/documents", files={"file": ("a.txt", body)}, data={"id": "../../escape"})
    assert explicit.status_code == 422 and "id" in explicit.json()["detail"]


def test_ingesting_a_folder_follows_no_symlinked_directory_out(tmp_path: Path, empty_service: QAService) -> None:
    outside = tmp_path / "outside"
    (outside / "deeper").mkdir(parents=True)
    (outside / "secret.txt").write_text("The vault code is kept in the northern tower.", encoding="utf-8")
    (outside / "deeper" / "plans.md").write_text("Secret plans for the northern tower vault.", encoding="utf-8")
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text("The Khaju bridge of Isfahan has two levels of arches.", encoding="utf-8")
    (corpus / "sub" / "b.txt").write_text("The Si-o-se-pol bridge has thirty-three arches.", encoding="utf-8")
    (corpus / "sub" / "out").symlink_to(outside, target_is_directory=True)  # a directory pointing out
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)  # and one pointing back at the folder

    results = empty_service.ingest_paths([corpus])

    assert sorted(r.id for r in results) == ["a", "sub-b"]
    assert sorted(d.id for d in empty_service.documents()) == ["a", "sub-b"]
    stored = " ".join(p.text for d in ("a", "sub-b") for p in empty_service.document(d)[1])
    assert "vault" not in stored
    assert all("vault" not in p.paragraph.text for p in empty_service.search("vault code northern tower", 5))
