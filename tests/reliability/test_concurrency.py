"""Concurrency: writers and readers at once over real HTTP, and two processes on one data dir.

Writer threads POST and DELETE their own documents while reader threads ask and search, all
against a live uvicorn. Afterwards no request got a 5xx, the stored documents are exactly
the last acknowledged write of each id, and the index holds exactly the store's paragraphs.
Then `qa ingest` in a subprocess and uploads over HTTP write to one data dir at once: a new
service sees both, and the running server catches up with the other process's writes.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from conftest import make_service
from live_server import live_server

from api.main import create_app
from embeddings.e5 import E5Embedder
from qa.service import QAService
from qa.settings import REPO_ROOT

WRITERS, READERS, WRITES_EACH, IDS_EACH = 3, 4, 10, 3
READS_EACH_AT_MOST = 300  # readers stop when the writers are done, or after this many requests
TIMEOUT = httpx.Timeout(120.0)
QUESTIONS = [
    "Why were schools in Tehran closed?",
    "بشار اسد با چه کسی تلفنی گفتگو کرد؟",
    "How many lanterns hang along the pier?",
    "کدام بندر قایق‌های آبی دارد؟",
]
COLOURS = ["red", "blue", "green", "white", "black", "yellow"]


def harbour_text(doc_id: str, version: int) -> str:
    """One sentence, different for every (id, version), so the stored text shows which write won."""
    return (
        f"The harbour {doc_id} in its version {version} keeps {COLOURS[version % len(COLOURS)]} boats "
        f"and {version + 3} lanterns along the pier."
    )


@dataclass
class Ledger:
    """What the clients saw: statuses by request kind, the last acknowledged text per id, failures."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    last_write: dict[str, str | None] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1


def write(url: str, writer: int, ledger: Ledger) -> None:
    """POST (70%) or DELETE (30%) this writer's own ids; each id has one writer, so order is known."""
    rng = random.Random(writer)
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        for version in range(WRITES_EACH):
            doc_id = f"w{writer}-{rng.randrange(IDS_EACH)}"
            if rng.random() < 0.7:
                text = harbour_text(doc_id, version)
                response = client.post("/documents", json={"id": doc_id, "text": text})
                ledger.record("post", response.status_code)
                if response.status_code == 201:
                    ledger.last_write[doc_id] = text
            else:
                response = client.delete(f"/documents/{doc_id}")
                ledger.record("delete", response.status_code)
                if response.status_code == 204:
                    ledger.last_write[doc_id] = None
                elif response.status_code == 404 and ledger.last_write.get(doc_id) is not None:
                    ledger.failures.append(f"DELETE {doc_id}: 404 although its last write was acknowledged")


def read(url: str, reader: int, ledger: Ledger, writers_done: threading.Event) -> None:
    """Ask and search in turn until the writers are done; every answer must be well formed."""
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        for n in range(READS_EACH_AT_MOST):
            if writers_done.is_set():
                return
            question = QUESTIONS[(reader + n) % len(QUESTIONS)]
            if n % 2:
                response = client.get("/search", params={"q": question, "k": 3})
                ledger.record("search", response.status_code)
            else:
                response = client.post("/ask", json={"question": question, "top_k": 3})
                ledger.record("ask", response.status_code)
            if response.status_code == 200 and len(response.json()["passages"]) > 3:
                ledger.failures.append(f"{question!r}: more than top_k passages")


def client_thread(ledger: Ledger, name: str, target: object, *args: object) -> threading.Thread:
    """A started thread running `target(*args)`; an exception in it is recorded, not lost."""

    def run() -> None:
        try:
            target(*args)  # type: ignore[operator]
        except Exception as exc:  # a transport error or a malformed body
            ledger.failures.append(f"{name}: {exc!r}")

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def stored_paragraph_ids(service: QAService) -> list[int]:
    return sorted(pid for rows in service.store.iter_paragraphs() for pid, *_ in rows)


def test_writers_and_readers_over_http_agree_with_the_store(
    tmp_path: Path, seeded_dir: Path, embedder: E5Embedder
) -> None:
    shutil.copytree(seeded_dir, tmp_path / "data")
    service = make_service(tmp_path / "data", embedder)
    seed_ids = {d.id for d in service.documents()}
    ledger = Ledger()
    writers_done = threading.Event()

    with live_server(create_app(service)) as url:
        writers = [client_thread(ledger, f"writer-{w}", write, url, w, ledger) for w in range(WRITERS)]
        readers = [client_thread(ledger, f"reader-{r}", read, url, r, ledger, writers_done) for r in range(READERS)]
        for thread in writers:
            thread.join(timeout=300)
        writers_done.set()
        for thread in readers:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in writers + readers), "a client thread hung"

        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            listed = {d["id"] for d in client.get("/documents").json()["documents"]}
            present = {doc_id for doc_id, text in ledger.last_write.items() if text is not None}
            assert listed == seed_ids | present
            for doc_id in present:
                paragraphs = client.get(f"/documents/{doc_id}").json()["paragraphs"]
                assert [p["text"] for p in paragraphs] == [ledger.last_write[doc_id]], doc_id
            found = client.get("/search", params={"q": "harbour boats lanterns pier", "k": 50}).json()["passages"]
            assert {p["doc_id"] for p in found} <= listed, "a deleted document is still found"

    assert not ledger.failures, ledger.failures
    assert all(status < 500 for _, status in ledger.statuses), ledger.statuses
    allowed = {("post", 201), ("delete", 204), ("delete", 404), ("ask", 200), ("search", 200)}
    assert set(ledger.statuses) <= allowed, ledger.statuses
    assert sum(n for (kind, _), n in ledger.statuses.items() if kind in ("ask", "search")) >= READERS
    report = service.doctor(repair=False)
    assert report.ok, report
    assert sorted(service.index.ids().tolist()) == stored_paragraph_ids(service)


CLI_FILES = {
    "tabriz.txt": "The Tabriz bazaar is one of the oldest covered markets in the world. It sells carpets and spices.",
    "hamadan.txt": "The Alisadr cave near Hamadan holds a lake that visitors cross by boat. It is a water cave.",
    "bam.txt": "The citadel of Bam was the largest adobe building in the world. An earthquake damaged it in 2003.",
    "qeshm.txt": "Qeshm is the largest island in the Persian Gulf. Its Hara forests grow in the sea water.",
}
HTTP_TEXTS = {
    "kashan": "The Fin garden in Kashan has channels of running spring water. It was built for Shah Abbas.",
    "mashhad": "The shrine of Imam Reza in Mashhad draws millions of pilgrims every year from many countries.",
    "ahvaz": "Ahvaz lies on the Karun river, the only navigable river in Iran. Its bridges are famous.",
}


def test_cli_ingest_beside_a_live_server_on_one_data_dir(
    tmp_path: Path, seeded_dir: Path, embedder: E5Embedder
) -> None:
    data, folder = tmp_path / "data", tmp_path / "cli-corpus"
    shutil.copytree(seeded_dir, data)
    folder.mkdir()
    for name, text in CLI_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    service = make_service(data, embedder)

    with live_server(create_app(service)) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        cli = subprocess.Popen(
            [sys.executable, "-m", "cli", "ingest", str(folder), "--data-dir", str(data)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            for doc_id, text in HTTP_TEXTS.items():
                response = client.post("/documents", json={"id": doc_id, "text": text})
                assert response.status_code == 201, response.text
            output, _ = cli.communicate(timeout=180)
        finally:
            cli.kill()
        assert cli.returncode == 0, output

        everything = {d.id for d in make_service(data, embedder).documents()}
        assert set(HTTP_TEXTS) | {Path(n).stem for n in CLI_FILES} <= everything
        listed = {d["id"] for d in client.get("/documents").json()["documents"]}
        assert listed == everything
        top = client.get("/search", params={"q": "Where do the Hara forests grow?", "k": 1}).json()["passages"]
        assert top and top[0]["doc_id"] == "qeshm", "the running server did not catch up with the CLI's writes"
        assert sorted(service.index.ids().tolist()) == stored_paragraph_ids(service)

    reopened = make_service(data, embedder)
    report = reopened.doctor(repair=False)
    assert report.ok, report
    assert sorted(reopened.index.ids().tolist()) == stored_paragraph_ids(reopened)
    for question, doc_id in (
        ("Which river in Iran can ships navigate?", "ahvaz"),
        ("Where is the Alisadr cave?", "hamadan"),
    ):
        assert reopened.search(question, top_k=1)[0].paragraph.doc_id == doc_id


# What `qa index rebuild` does, reporting each embedded batch; after the first it waits for
# a line on stdin, so the parent's write lands mid-rebuild however fast either side runs.
REBUILD_WITH_PROGRESS = """
import sys
from pathlib import Path
from qa.service import QAService
from qa.settings import Settings
service = QAService(Settings(data_dir=Path(sys.argv[1]), batch_size=8))
batches = []
def progress(done, total):
    batches.append(done)
    print("BATCH", done, total, flush=True)
    if len(batches) == 1:
        sys.stdin.readline()
service.rebuild(progress=progress)
print("DONE", flush=True)
"""


def test_a_write_during_a_rebuild_in_another_process_stays_indexed(
    tmp_path: Path, seeded_dir: Path, embedder: E5Embedder
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeded_dir, data)
    service = make_service(data, embedder)
    rebuild = subprocess.Popen(
        [sys.executable, "-c", REBUILD_WITH_PROGRESS, str(data)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert rebuild.stdout is not None
        first = rebuild.stdout.readline()
        assert first.startswith("BATCH"), first
        done, total = map(int, first.split()[1:3])
        assert done < total, "the rebuild embedded everything in one batch: the check is moot"
        written = service.ingest_text(CLI_FILES["qeshm.txt"], doc_id="qeshm")  # the rebuild waits meanwhile
        rest, _ = rebuild.communicate("go\n", timeout=300)
    finally:
        rebuild.kill()
    assert rebuild.returncode == 0 and "DONE" in rest
    assert written.paragraphs == 1

    reopened = make_service(data, embedder)
    report = reopened.doctor(repair=False)
    assert report.ok, report
    assert sorted(reopened.index.ids().tolist()) == stored_paragraph_ids(reopened)
    top = reopened.search("Where do the Hara forests grow?", top_k=1)[0]
    assert top.paragraph.doc_id == "qeshm" and top.dense > 0
