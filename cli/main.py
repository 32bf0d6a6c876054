"""The `qa` command: the same service calls as the HTTP API, from a terminal (the outermost layer).

Commands and flags follow ../shared/CONTRACT.md. Every command takes `--data-dir`;
`ask`, `search` and `serve` index the shipped seeds into a data dir that has none.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa import logs
from qa.errors import USER_ERRORS
from qa.models import answer_json, passage_json
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.service import QAService


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "model", None) and args.command != "index":
        overrides["model"] = args.model
    if getattr(args, "workers", None):
        overrides["workers"] = args.workers
    return Settings(**overrides)


def _service(args: argparse.Namespace, seed: bool = False, question: str | None = None):  # -> QAService
    from qa.service import QAService

    service = QAService(_settings(args))
    if question is not None:  # refuse a bad question before indexing anything
        service.validate_question(question, args.top_k)
    if seed:
        results = service.ensure_seeded()
        if results:
            print(f"indexed {len(results)} seed documents into {service.data_dir}", file=sys.stderr)
        service.warm_up()
    return service


class _Bar:
    """A tqdm progress bar on stderr that appears only for long work on a terminal."""

    def __init__(self, desc: str, unit: str = "text", minimum: int = 64) -> None:
        self.desc, self.unit, self.minimum, self.bar = desc, unit, minimum, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, file=sys.stderr, disable=total < self.minimum)
        self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_ingest(args: argparse.Namespace) -> int:
    service = _service(args)
    bar = _Bar("embedding")
    try:
        results = service.ingest_paths([Path(p) for p in args.paths], args.id, args.title, progress=bar)
    finally:
        bar.close()
    for r in results:
        state = "unchanged" if r.unchanged else f"{r.embedded} embedded"
        print(f"{r.id}\t{r.paragraphs} paragraphs\t{state}\t{r.title}")
    return 0


def cmd_documents(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.id:
        return _print_document(service, args.id, args.blocks)
    if args.blocks:
        print("qa: --blocks needs a document id: `qa documents ID --blocks`.", file=sys.stderr)
        return 2
    docs = service.documents()
    if not docs:
        print("no documents yet: `qa ingest PATH` adds some (or ask a question to index the seeds).")
    for d in docs:
        print(f"{d.id}\t{d.paragraphs} paragraphs\t{d.title}")
    return 0


def _print_document(service: QAService, doc_id: str, blocks: bool) -> int:
    """One document: its paragraphs, or with `blocks` every block of the page and why it got its label."""
    doc, paragraphs = service.document(doc_id)
    print(f"{doc.id}\t{doc.paragraphs} paragraphs\t{doc.title}\t{doc.source}")
    if not blocks:
        for p in paragraphs:
            section = f"[{p.section}] " if p.section else ""
            print(f"¶{p.n}\t{section}{p.text}")
        return 0
    found = service.blocks(doc_id)
    if not found:
        print("no blocks stored: this document was ingested before blocks were labelled; ingest it again to see them.")
    for b in found:
        stored = f"¶{b.paragraph}" if b.paragraph is not None else "-"
        text = b.text if len(b.text) <= 100 else b.text[:100] + "…"
        print(f"{b.n}\t{b.label}\t{stored}\t{b.reason}\n\t{text}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    _service(args).delete(args.id)
    print(f"deleted {args.id}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    service = _service(args)
    bar = _Bar("re-embedding")
    try:
        count = service.rebuild(args.model, progress=bar)
    finally:
        bar.close()
    print(f"rebuilt the index of {count} paragraphs with {service.model_name}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from embeddings.factory import describe_embedder

    service = _service(args)
    report = service.doctor(repair=not args.dry_run)
    print(f"embedder: {describe_embedder(service.embedder)}")
    print(f"paragraphs in the store: {report.paragraphs}; in the saved index: {report.indexed}")
    for label, ids in (
        ("missing from the index", report.missing),
        ("in the index but not the store", report.orphaned),
        ("with a broken vector", report.bad_vectors),
    ):
        if ids:
            print(f"{len(ids)} paragraphs {label}: {ids[:20]}{' …' if len(ids) > 20 else ''}")
    if report.rebuilt_on_open:
        print(f"repaired on opening: {report.rebuilt_on_open}; rebuilt from the stored vectors")
    if report.stale_file:
        print("the saved index file is missing, unreadable or behind the store")
    if report.recall is not None:
        rebuilt = "; rebuilt it (REINDEX CONCURRENTLY)" if report.reindexed else ""
        print(f"HNSW recall@10 against exact search: {report.recall:.3f}{rebuilt}")
    if report.ok:
        print("consistent: the store and the index agree")
        return 0
    print("repaired: the index now matches the store" if report.repaired else "not repaired (--dry-run)")
    return 0 if report.repaired else 1


def _print_passages(passages: list[dict[str, object]]) -> None:
    for i, p in enumerate(passages, 1):
        text = str(p["text"])
        print(f"{i}. {p['doc_id']} ¶{p['paragraph']}  score {float(p['score']):.3f}")
        print(f"   {text[:300]}{'…' if len(text) > 300 else ''}")


def cmd_ask(args: argparse.Namespace) -> int:
    body = answer_json(_service(args, seed=True, question=args.question).ask(args.question, args.top_k))
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    if body["answered"]:
        print(f"{body['answer']} [1]\n")
        for c in body["citations"]:
            where = f"{c['doc_id']} ¶{c['paragraph']}, chars {c['start']}-{c['end']}"
            section = f" › {c['section']}" if c.get("section") else ""
            print(f"[{c['n']}] {c['title'] or c['doc_id']}{section} — {where}")
            print(f"    «{c['quote']}»")
    else:
        print("Not in the corpus: no stored passage supports an answer to this question.")
        if body["passages"]:
            print("\nClosest passages (not answers):")
            _print_passages(body["passages"][:3])
    print(f"\nconfidence {body['confidence']:.2f} · language {body['language']} · {body['took_ms']:.0f} ms")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    passages = [passage_json(p) for p in _service(args, seed=True, question=args.query).search(args.query, args.top_k)]
    if args.json:
        print(json.dumps({"passages": passages}, ensure_ascii=False, indent=2))
    else:
        _print_passages(passages)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.main import create_app

    settings = _settings(args)
    # The app logs each request itself (route templates, no query strings: see api/logging.py),
    # so uvicorn's access log is off and its own lines go through the root logger's format.
    server = {"host": args.host, "port": args.port, "log_level": "info", "access_log": False, "log_config": None}
    if settings.workers == 1:
        uvicorn.run(create_app(_service(args, seed=True)), **server)
        return 0
    # Several processes: seed once here, then each worker opens the data dir itself
    # (api.main.app_from_environment reads QA_* like this process did). The index and BM25
    # are loaded here only when there are seeds to index, not for every start.
    from qa.backends.factory import open_store
    from qa.service import QAService

    if open_store(settings).unseeded:
        results = QAService(settings).ensure_seeded()
        if results:
            print(f"indexed {len(results)} seed documents into {settings.data_dir}", file=sys.stderr)
    os.environ["QA_DATA_DIR"] = str(Path(settings.data_dir).resolve())
    if settings.model:
        os.environ["QA_MODEL"] = settings.model
    uvicorn.run("api.main:app_from_environment", factory=True, workers=settings.workers, **server)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from qa.backends.postgres import PostgresStore
    from qa.backends.sqlite import SQLiteStore
    from qa.migrate import copy_store

    settings = _settings(args)
    target = settings.model_copy(update={"database_url": args.to})
    source = SQLiteStore(Path(settings.data_dir))
    bar = _Bar("copying", unit="document", minimum=1)
    try:
        result = copy_store(source, PostgresStore(target), progress=bar)
    finally:
        bar.close()
    print(
        f"copied {result.copied} documents ({result.paragraphs} paragraphs, vectors included) from "
        f"{settings.data_dir} to {target.database_url_redacted}; {result.skipped} were there already"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.evaluate import run_eval

    return run_eval(_service(args, seed=not args.no_seeds), args)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=os.environ.get("QA_DATA_DIR"),
        help="where the store and index live (default: $QA_DATA_DIR, else ./data)",
    )
    parser = argparse.ArgumentParser(prog="qa", description="Cited answers from your Persian and English documents.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="add files or folders (re-ingesting an id replaces it)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--id", help="document id (one file only)")
    p.add_argument("--title", help="document title")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("documents", parents=[common], help="list documents, or show one")
    p.add_argument("id", nargs="?", help="show this document's paragraphs")
    p.add_argument("--blocks", action="store_true", help="list every block of the page with its label and reason")
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser("delete", parents=[common], help="remove a document and its paragraphs")
    p.add_argument("id")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("index", parents=[common], help="index maintenance")
    index_sub = p.add_subparsers(dest="action", required=True)
    r = index_sub.add_parser("rebuild", parents=[common], help="re-embed every paragraph, swap atomically")
    r.add_argument("--model", help="embedding model (default: the current one)")
    r.set_defaults(func=cmd_index)

    p = sub.add_parser("doctor", parents=[common], help="check that the index matches the store, and repair it")
    p.add_argument("--dry-run", action="store_true", help="report only")
    p.set_defaults(func=cmd_doctor)

    for name, helptext, target in (
        ("ask", "a short cited answer", "question"),
        ("search", "the ranked passages only", "query"),
    ):
        p = sub.add_parser(name, parents=[common], help=helptext)
        p.add_argument(target)
        p.add_argument("--top-k", type=int, default=5)
        p.add_argument("--json", action="store_true", help="print the HTTP API's JSON body")
        p.set_defaults(func=cmd_ask if name == "ask" else cmd_search)

    p = sub.add_parser("serve", parents=[common], help="the HTTP API and the web page")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, help="server processes (default: $QA_WORKERS, else 1)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "migrate", parents=[common], help="copy the data dir into PostgreSQL (vectors included; resumable)"
    )
    p.add_argument("--to", required=True, help="the target database, postgresql://user:password@host:5432/db")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("eval", parents=[common], help="figures for a SQuAD/PersianQA file")
    p.add_argument("file")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--en", help="JSONL of {id, question_en}: also ask these English versions")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--plot", help="write the abstention curve to this PNG")
    p.add_argument("--compare", action="store_true", help="also run BM25-only and dense-only")
    p.add_argument("--no-seeds", action="store_true", help="corpus = the file's contexts only")
    p.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    p.add_argument(
        "--readers", action="store_true", help="also answer with the sentence selector, beside the trained reader"
    )
    p.add_argument(
        "--unseen",
        action="store_true",
        help="ask only questions of contexts the trained reader was neither trained nor calibrated on",
    )
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A server logs at INFO; a terminal command only says something when it is wrong.
    logs.configure(_settings(args), level=logging.INFO if args.command == "serve" else logging.WARNING)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"qa: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
