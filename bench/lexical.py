"""The BM25 index from 10k to 1M paragraphs: build, question, and a write beside questions.

Paragraph tokens are the real ones of `bench/corpus.py`'s 10k corpus (its store), copied
under new ids to reach each size, so vocabulary and lengths are those of real Persian
text. For each size it times `BM25Index.from_items` (what opening a store costs), the
search for the tokens of dev questions (p50/p95), adding a 20-paragraph document (what
an ingest adds to the write), and a search right after that write (no rebuild waits).

    .venv/bin/python bench/lexical.py                      # ~2 minutes with 1M
    .venv/bin/python bench/lexical.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Report, dev_questions, int_list, percentile, rss_mb, table  # noqa: E402
from corpus import DEFAULT_DIR, build_corpus  # noqa: E402

from qa.backends.sqlite import SQLiteStore  # noqa: E402
from qa.lexical import BM25Index  # noqa: E402
from qa.text import tokens  # noqa: E402

COLUMNS = [
    ("paragraphs", "paragraphs"),
    ("build_s", "build s"),
    ("rss_mb", "RSS MiB"),
    ("search_p50_ms", "search p50 ms"),
    ("search_p95_ms", "search p95 ms"),
    ("add_doc_ms", "add 20 paragraphs ms"),
    ("search_after_add_ms", "search after add ms"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR, help="built if it lacks the corpus")
    parser.add_argument("--sizes", type=int_list, default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()

    report = Report("lexical", args)
    build_corpus(args.data_dir, 10_000)
    store = SQLiteStore(args.data_dir)
    real = [(pid, toks.split()) for rows in store.iter_paragraphs() for pid, _, toks, _ in rows]
    persian, _ = dev_questions()
    queries = [tokens(q) for q in persian[:200]]
    rows = []
    for size in args.sizes:
        items = [(copy * 10_000_000 + pid, toks) for copy in range(-(-size // len(real))) for pid, toks in real][:size]
        before = rss_mb()
        started = time.perf_counter()
        index = BM25Index.from_items(items)
        build_s = time.perf_counter() - started
        del items
        timings = []
        for terms in queries:
            started = time.perf_counter()
            index.search(terms, 50)
            timings.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        index.add((-1 - i, real[i][1]) for i in range(20))
        add_ms = 1000 * (time.perf_counter() - started)
        started = time.perf_counter()
        index.search(queries[0], 50)
        after_ms = 1000 * (time.perf_counter() - started)
        rows.append(
            {
                "paragraphs": size,
                "build_s": round(build_s, 2),
                "rss_mb": round(rss_mb() - before),
                "search_p50_ms": round(percentile(timings, 50), 2),
                "search_p95_ms": round(percentile(timings, 95), 2),
                "add_doc_ms": round(add_ms, 1),
                "search_after_add_ms": round(after_ms, 2),
            }
        )
        print(table(rows[-1:], COLUMNS), flush=True)
        del index
    report["rows"] = rows
    print()
    print(table(rows, COLUMNS))
    report.save()


if __name__ == "__main__":
    main()
