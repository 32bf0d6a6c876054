"""Which lexical side for PostgreSQL: BM25 over postings (shipped) against full-text search and pg_trgm.

Measured on the dev data in a database `qa eval` has already filled (its 40 contexts and the
seeds): the same questions ranked by each candidate alone (Fusion.BM25) and fused with dense
(Fusion.HYBRID), everything else equal. The candidates other than BM25 exist only here.

    QA_DATABASE_URL=postgresql://... .venv/bin/qa eval ../shared/data/persianqa_dev.json
    QA_DATABASE_URL=postgresql://... .venv/bin/python bench/lexical_pg.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEV_FILE, OUT_DIR  # noqa: E402

from qa.backends.postgres import PgLexical, PostgresStore  # noqa: E402
from qa.evaluate import load_questions, run_questions  # noqa: E402
from qa.retrieve import Fusion  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402


class _SQLRanked(PgLexical):
    """A candidate lexical side: one SQL query of (id, score) rows, best first."""

    SQL = ""

    def arguments(self, terms: Sequence[str], k: int) -> tuple[object, ...]:
        raise NotImplementedError

    def search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        if not terms:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        rows = self.store._con().execute(self.SQL, self.arguments(terms, k)).fetchall()
        return np.array([r[1] for r in rows], np.float32), np.array([r[0] for r in rows], np.int64)


class FullText(_SQLRanked):
    """PostgreSQL full-text search over the stored hazm tokens ('simple' config: no stemming), ts_rank_cd."""

    SQL = (
        "WITH q AS (SELECT to_tsquery('simple', string_agg(quote_literal(t), ' | ')) AS q "
        "FROM unnest(%s::text[]) t) "
        "SELECT p.id, ts_rank_cd(to_tsvector('simple', p.tokens), q.q) AS score FROM paragraphs p, q "
        "WHERE to_tsvector('simple', p.tokens) @@ q.q ORDER BY score DESC, p.id LIMIT %s"
    )

    def arguments(self, terms: Sequence[str], k: int) -> tuple[object, ...]:
        return list(terms), k


class Trigrams(_SQLRanked):
    """pg_trgm word similarity of the question's tokens to each paragraph's tokens."""

    SQL = (
        "SELECT id, word_similarity(%s, tokens) AS score FROM paragraphs WHERE %s <%% tokens "
        "ORDER BY score DESC, id LIMIT %s"
    )

    def arguments(self, terms: Sequence[str], k: int) -> tuple[object, ...]:
        text = " ".join(terms)
        return text, text, k


def main() -> int:
    settings = Settings()
    if not settings.database_url:
        print("set QA_DATABASE_URL to a database `qa eval` filled with the dev data", file=sys.stderr)
        return 2
    service = QAService(settings)
    questions = list(load_questions(DEV_FILE))
    results = {}
    bm25 = service.backend.lexical
    store: PostgresStore = service.backend.store
    store._con().execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, lexical in (
        ("bm25 (postings)", bm25),
        ("full-text ts_rank_cd", FullText(store)),
        ("pg_trgm", Trigrams(store)),
    ):
        service.backend.lexical = lexical
        for mode in (Fusion.BM25, Fusion.HYBRID):
            service.fusion = mode
            figures = run_questions(service, questions, 5).figures(settings.min_confidence, 5)
            results[f"{name}, {mode.value}"] = {key: figures[key] for key in ("hit@1", "hit@5", "mrr", "p50_ms")}
            print(
                f"{name:22} {mode.value:7} "
                + "  ".join(f"{k} {v}" for k, v in results[f"{name}, {mode.value}"].items())
            )
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "lexical_pg.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
