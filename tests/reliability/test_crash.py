"""Crash safety: a process killed with SIGKILL mid-write loses nothing it acknowledged.

Real subprocesses ingest files one by one, rebuild the index, or save the index file in a
loop, and are killed with `kill -9` at chosen points (after k acknowledgements, after the
first or the last embedding batch, while the index file's temp copy is being written).
After each kill a fresh `QAService` opens the data dir and must find: the store and the
index agreeing (`doctor(repair=False)`), the saved index stamped with the store's
generation, every acknowledged document whole, search answering, and no temp file left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import make_service

from embeddings.e5 import E5Embedder
from embeddings.index import INDEX_FILE, VectorIndex
from qa.backends.base import NewParagraph
from qa.backends.embedded import INDEX_DIR
from qa.backends.sqlite import SQLiteStore
from qa.ingest import prepare, read_bytes
from qa.service import QAService
from qa.settings import REPO_ROOT

RUN_SECONDS = 120.0  # a subprocess that has not reached its kill point by then has hung

# Ingests the files one at a time, announcing each, and acknowledges each once `ingest_paths`
# has returned.
INGEST_ONE_BY_ONE = """
import sys
from pathlib import Path
from qa.service import QAService
from qa.settings import Settings
service = QAService(Settings(data_dir=Path(sys.argv[1])))
service.warm_up()
for name in sys.argv[2:]:
    print("START", Path(name).stem, flush=True)
    [result] = service.ingest_paths([Path(name)])
    print("ACK", result.id, flush=True)
print("DONE", flush=True)
"""

# What `qa index rebuild` does, reporting each embedded batch.
REBUILD_WITH_PROGRESS = """
import sys
from pathlib import Path
from qa.service import QAService
from qa.settings import Settings
service = QAService(Settings(data_dir=Path(sys.argv[1]), batch_size=8))
service.rebuild(progress=lambda done, total: print("BATCH", done, total, flush=True))
print("DONE", flush=True)
"""

# Saves a data dir's index file (30 MB here) over and over, as every write does.
SAVE_IN_A_LOOP = """
import sys
from pathlib import Path
from embeddings.index import VectorIndex
folder = Path(sys.argv[1])
index, meta = VectorIndex.load(folder)
for n in range(1, 1000):
    index.save(folder, meta.generation)
    print("SAVED", n, flush=True)
"""
BIG_INDEX = 20_000  # paragraphs: the index file is 30 MB, so a kill lands mid-write
SAVE_KILL_TRIES = 5

TOPICS = {
    "alborz": ("Mount Damavand in the Alborz range is the highest peak in Iran, at 5,609 metres. "
               "Its snowy cone can be seen from Tehran on clear days.",
               "How high is Mount Damavand?"),
    "caspian": ("The Caspian Sea is the largest enclosed body of water on Earth. "
                "Sturgeon from the Caspian Sea produce most of the world's wild caviar.",
                "Where does most wild caviar come from?"),
    "kerman": ("The Ganjali Khan bathhouse in Kerman was built in 1631 and is now a museum. "
               "Its painted ceilings show scenes of daily life in the Safavid era.",
               "When was the Ganjali Khan bathhouse built?"),
    "shiraz": ("شیراز شهر شعر و گل است و آرامگاه حافظ در آن قرار دارد. "
               "باغ ارم یکی از باغ‌های تاریخی شیراز است که در فهرست میراث جهانی ثبت شده است.",
               "آرامگاه حافظ در کدام شهر است؟"),
    "yazd": ("Yazd is known for its windcatchers, towers that cool houses without electricity. "
             "The old city of Yazd was added to the UNESCO World Heritage list in 2017.",
             "What are the towers of Yazd that cool houses called?"),
    "gilan": ("Rasht is the capital of Gilan province and is famous for its rainy weather. "
              "The Rasht bazaar sells fish, rice and fresh herbs from the nearby farms.",
              "Which city is the capital of Gilan province?"),
}  # fmt: skip


def _backdate_temp_files(data_dir: Path) -> None:
    """Make any temp file a killed writer left look an hour old, as it would be at a later start.

    So the check below holds whether a fix removes temp files of dead processes at once or
    only those past an age.
    """
    old = time.time() - 3600
    for leftover in (data_dir / INDEX_DIR).glob(".*.tmp"):
        os.utime(leftover, (old, old))


def reopen_after_crash(data_dir: Path, embedder: E5Embedder) -> QAService:
    """A fresh service on the data dir, checked for agreement between the store and the index."""
    _backdate_temp_files(data_dir)
    service = make_service(data_dir, embedder)
    report = service.doctor(repair=False)
    assert report.ok, report
    stored = sorted(pid for rows in service.store.iter_paragraphs() for pid, *_ in rows)
    assert sorted(service.index.ids().tolist()) == stored
    saved = VectorIndex.load(data_dir / INDEX_DIR)
    assert saved is not None, "the index file does not load"
    index, meta = saved
    assert meta.generation == service.store.generation
    assert sorted(index.ids().tolist()) == stored
    leftovers = sorted(p.name for p in (data_dir / INDEX_DIR).glob(".*.tmp"))
    assert not leftovers, f"temp files of a killed writer are still in {data_dir / INDEX_DIR}: {leftovers}"
    return service


class Killed:
    """A subprocess killed with SIGKILL when its output first satisfies `kill_when`.

    After the kill the pipe is read to its end: a line the child printed before it died
    but that was still unread counts as printed before the kill (`lines`), so what was
    acknowledged never depends on how fast the child ran ahead of the reader.
    """

    def __init__(self, args: list[str], kill_when: Callable[[list[str]], bool], log: Path) -> None:
        self.lines: list[str] = []
        self.killed_at: list[str] | None = None
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, *args], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        watchdog = threading.Timer(RUN_SECONDS, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                self.lines.append(line.strip())
                if self.killed_at is None and kill_when(self.lines):
                    os.kill(process.pid, signal.SIGKILL)
                    self.killed_at = list(self.lines)
            self.returncode = process.wait()
        finally:
            watchdog.cancel()
        assert self.killed_at is not None, f"never reached the kill point; output {self.lines}; see {log}"
        assert self.returncode == -signal.SIGKILL, f"exited with {self.returncode}; see {log}"

    def acknowledged(self, word: str = "ACK") -> list[str]:
        """The second field of each `word ...` line the child printed before it died."""
        return [line.split()[1] for line in self.lines if line.startswith(word + " ")]


def _paragraphs_of(file: Path, doc_id: str) -> list[str]:
    """The paragraphs ingest stores for a file, by the same reader and cleaner."""
    [doc] = read_bytes(file.read_bytes(), file.name)
    return prepare(doc, 180, doc_id).paragraphs


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "corpus"
    folder.mkdir()
    files = []
    for name, (text, _) in TOPICS.items():
        file = folder / f"{name}.txt"
        file.write_text(text, encoding="utf-8")
        files.append(file)
    return files


@pytest.mark.parametrize(
    "kill_when",
    [
        pytest.param(lambda lines: any(line.startswith("ACK ") for line in lines), id="at-1st-ack"),
        pytest.param(lambda lines: lines[-1].startswith("START ") and len(lines) > 4, id="while-3rd-ingests"),
    ],
)
def test_kill_during_ingest_loses_no_acknowledged_document(
    tmp_path: Path,
    seeded_dir: Path,
    embedder: E5Embedder,
    corpus: list[Path],
    kill_when: Callable[[list[str]], bool],
) -> None:
    """Every document acknowledged before the kill is there, whole; any other is whole or absent."""
    data = tmp_path / "data"
    shutil.copytree(seeded_dir, data)
    seed_docs = {d.id: d.paragraphs for d in make_service(data, embedder).documents()}

    run = Killed(["-c", INGEST_ONE_BY_ONE, str(data), *map(str, corpus)], kill_when, tmp_path / "ingest.log")
    acked = run.acknowledged()
    assert acked == [f.stem for f in corpus[: len(acked)]], "acknowledged out of order"
    assert "DONE" not in run.killed_at, "the ingest finished before the kill: the checks below are moot"

    service = reopen_after_crash(data, embedder)
    stored = {d.id: d.paragraphs for d in service.documents()}
    assert {k: stored.get(k) for k in seed_docs} == seed_docs, "a document stored before the crash was lost"
    assert set(acked) <= set(stored), "an acknowledged document was lost"
    for file in corpus:
        if file.stem in stored:  # every acknowledged one, and any other that committed: whole
            texts = [p.text for p in service.document(file.stem)[1]]
            assert texts == _paragraphs_of(file, file.stem)
    for doc_id in acked:
        top = service.search(TOPICS[doc_id][1], top_k=3)[0]
        assert top.paragraph.doc_id == doc_id


@pytest.mark.parametrize("kill_at", ["first-batch", "last-batch"])
def test_kill_during_index_rebuild_keeps_store_and_index_agreeing(
    tmp_path: Path, embedder: E5Embedder, corpus: list[Path], kill_at: str
) -> None:
    data = tmp_path / "data"
    before = make_service(data, embedder)
    before.ingest_paths(corpus)  # 6 paragraphs and 12 sentences: 3 batches of 8, over a second
    paragraphs = {d.id: [p.text for p in before.document(d.id)[1]] for d in before.documents()}

    def kill_when(lines: list[str]) -> bool:
        batches = [line.split() for line in lines if line.startswith("BATCH ")]
        if kill_at == "first-batch":
            return bool(batches)
        return bool(batches) and sum(int(b[1]) for b in batches) == int(batches[0][2])

    run = Killed(["-c", REBUILD_WITH_PROGRESS, str(data)], kill_when, tmp_path / "rebuild.log")
    assert "DONE" not in run.killed_at

    service = reopen_after_crash(data, embedder)
    assert {d.id: [p.text for p in service.document(d.id)[1]] for d in service.documents()} == paragraphs
    for doc_id in ("caspian", "shiraz"):
        top = service.search(TOPICS[doc_id][1], top_k=3)[0]
        assert top.paragraph.doc_id == doc_id and top.dense > 0


def _store_random_vectors(data: Path, embedder: E5Embedder, count: int) -> None:
    """A data dir of `count` paragraphs with random vectors (no embedding: only the index matters)."""
    rng = np.random.default_rng(0)
    store = SQLiteStore(data)
    for d in range(count // 1000):
        paragraphs = [
            NewParagraph(n, f"paragraph {d} {n}", f"{d}-{n}", ["paragraph", str(n)], vector, [], np.zeros((0, 384)))
            for n, vector in enumerate(rng.standard_normal((1000, embedder.dim)).astype(np.float32))
        ]
        store.replace_document(f"doc-{d}", f"doc {d}", "", f"hash-{d}", paragraphs, embedder.name, embedder.dim)
    make_service(data, embedder)  # saves the index file for the store as it is


def test_kill_while_writing_the_index_file_leaves_the_previous_file(tmp_path: Path, embedder: E5Embedder) -> None:
    data = tmp_path / "data"
    folder = data / INDEX_DIR
    _store_random_vectors(data, embedder, BIG_INDEX)
    generation = VectorIndex.load(folder)[1].generation

    def kill_when(lines: list[str]) -> bool:
        if not lines[-1].startswith("SAVED "):
            return False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait for the next save's temp file, then kill
            if any(folder.glob(f".{INDEX_FILE}.*.tmp")):
                return True
        return True

    # The kill lands between seeing the temp file and the rename only if the write outlasts
    # that instant; on a machine fast enough to finish it first, try again (the file is the
    # same each time, so a try that missed leaves nothing to check).
    for attempt in range(SAVE_KILL_TRIES):
        Killed(["-c", SAVE_IN_A_LOOP, str(folder)], kill_when, tmp_path / f"save-{attempt}.log")
        if list(folder.glob(f".{INDEX_FILE}.*.tmp")):
            break
    else:
        pytest.fail(f"the kill never landed mid-write in {SAVE_KILL_TRIES} tries; the checks below are moot")

    saved = VectorIndex.load(folder)
    assert saved is not None, "the previous index file no longer loads"
    index, meta = saved
    assert meta.generation == generation and len(index) == meta.count == BIG_INDEX
    reopen_after_crash(data, embedder)
