"""The reader's training data keeps its promises: every written file is well formed, no written
paragraph repeats a dev context, and the shipped reader saw no dev context it is measured on.

The dev figures of models/README.md and `qa eval --unseen` mean something only while these hold:
a written paragraph that copied a dev context, or a reader trained on a context of the "eval"
part, would turn a held-out figure into a training one without anything else failing.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from qa.evaluate import context_key, dev_split
from qa.ingest.clean import dedupe_key, shingles
from qa.settings import REPO_ROOT
from qa.text import normalize

DATA = REPO_ROOT / "bench" / "reader_data"
DEV = REPO_ROOT.parent / "shared" / "data" / "persianqa_dev.json"
HELD_OUT = DATA / "heldout"
NEXT = DATA / "next"  # written for the next training run, not yet trained on
WRITTEN = sorted(DATA.glob("*.jsonl")) + sorted(NEXT.glob("*.jsonl")) + sorted(HELD_OUT.glob("*.jsonl"))
SHINGLE = 8  # words: a run this long shared with a dev context is copying, not a common phrase


def _check_module():
    spec = importlib.util.spec_from_file_location("reader_data_check", DATA / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _shingles(text: str) -> set[str]:
    """The text's SHINGLE-word runs, words as the ingest's near-copy check sees them."""
    return shingles(dedupe_key(text), SHINGLE)


def _batch(path: Path) -> int:
    """Which batch of written data a file belongs to: synth3_places.jsonl is batch 3 (run 12's)."""
    found = re.match(r"synth(\d*)_", path.name)
    return int(found.group(1) or 1) if found else 0


def _dev() -> dict:
    if not DEV.exists():
        pytest.skip(f"{DEV} is not beside the checkout")
    return json.loads(DEV.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", WRITTEN, ids=lambda p: str(p.relative_to(DATA)))
def test_written_file_passes_its_check(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check_module().check(str(path)) == []
    assert not re.search(r"\b0 answerable", capsys.readouterr().out)


# Held-out paragraphs written before this check that share a subject or an 8-word run with a
# training paragraph (models/README.md, "Data"): their held-out figures are a little optimistic.
# None may join them.
KNOWN_OVERLAP = frozenset(
    {
        "ابن سینا",
        "بادگیر",
        "بانک مرکزی جمهوری اسلامی ایران",
        "تبریز",
        "دانشگاه تهران",
        "زعفران",
        "لباس محلی قشقایی",
        "میدان نقش جهان",
        "هوش مصنوعی",
    }
)


def test_held_out_paragraphs_do_not_repeat_training_ones() -> None:
    training = [row for path in WRITTEN if path.parent != HELD_OUT for row in _rows(path)]
    held_out = [row for path in WRITTEN if path.parent == HELD_OUT for row in _rows(path)]
    assert len(training) > 500 and len(held_out) >= 100
    titles = {normalize(row["title"]) for row in training}
    runs = set().union(*(_shingles(row["context"]) for row in training))
    overlapping = {
        row["title"] for row in held_out if normalize(row["title"]) in titles or _shingles(row["context"]) & runs
    }
    assert overlapping <= KNOWN_OVERLAP, sorted(overlapping - KNOWN_OVERLAP)


def test_paragraphs_written_since_run_12_repeat_no_subject() -> None:
    """Earlier files wrote some subjects twice (a news item and an article); from run 12's
    data on, every paragraph is about a subject of its own."""
    recent = [path for path in WRITTEN if _batch(path) >= 3 or path.parent == NEXT]
    assert recent
    titles = [normalize(row["title"]) for path in WRITTEN for row in _rows(path)]
    for path in recent:
        for row in _rows(path):
            assert titles.count(normalize(row["title"])) == 1, (path.name, row["title"])


def test_no_written_paragraph_copies_a_dev_context() -> None:
    dev = _dev()
    dev_titles = {normalize(a["title"]) for a in dev["data"] if a.get("title")}
    dev_runs = set().union(*(_shingles(p["context"]) for a in dev["data"] for p in a["paragraphs"]))
    for path in WRITTEN:
        for row in _rows(path):
            assert normalize(row["title"]) not in dev_titles, (path.name, row["title"])
            shared = _shingles(row["context"]) & dev_runs
            assert not shared, (path.name, row["title"], next(iter(shared)))


def test_the_shipped_reader_saw_only_the_dev_train_part() -> None:
    keys = {context_key(p["context"]) for a in _dev()["data"] for p in a["paragraphs"]}
    split = dev_split(DEV)
    config = json.loads((REPO_ROOT / "models" / "reader" / "config.json").read_text(encoding="utf-8"))
    trained = set(config["trained_on"]["dev_contexts"])
    assert trained == set(split["train"])
    assert not trained & (set(split["calibration"]) | set(split["eval"]))
    assert config["dev_split"] == split
    assert trained <= keys
