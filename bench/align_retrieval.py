"""Questions over a mixed corpus, searched with and without their words matched into the other language.

An English question shares no word with Persian text (nor a Persian one with English text), so
before `qa.align` its BM25 side found nothing there and the dense model ranked alone. This
benchmark asks every question, English and Persian, of the fitting corpus (`bench/common.py
fitting_corpus`: the seeds, the 40 PersianQA dev contexts, the written paragraphs, 30 of them
English, and two thirds of the held-out written ones, 20 of those English: about 600
paragraphs, as a user's collection is more than a few dozen) twice, with
`QA_ALIGN_PASSAGES` 0 (off) and 10 (the default), and prints per part the passage ranking
(hit@1, hit@3, MRR over answerable questions), the answers at `QA_MIN_CONFIDENCE` (answered,
holding the gold, over answerable questions), the share of unanswerable questions refused,
and latency (each run embeds its questions anew; the matched words' vectors are cached, so the
first questions over a part of the corpus cost more than the later ones). Parts: the dev
split's train, calibration and eval (English versions from tests/data/en_questions.jsonl), and
the held-out written questions (bench/reader_data/heldout: every third paragraph is left out
of the corpus, and its questions are the unanswerable ones); last, the held-out Persian questions
about English paragraphs alone. A Persian question is matched into English only when English
passages are among its first search's best.

    .venv/bin/python bench/align_retrieval.py    # ~10 min on 2 cores (building the corpus ~1.5)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Report, fitting_corpus, percentile, table  # noqa: E402

from qa.align import is_english  # noqa: E402
from qa.evaluate import answer_words  # noqa: E402
from qa.text import detect_language  # noqa: E402

PARTS = ("train", "calibration", "eval", "written-heldout")


def figures(service, questions: list, reach: int, offset: float) -> dict[str, float]:
    """Ask every question with `align_passages` = reach and `cross_language_offset` = offset;
    ranking, answer and latency figures."""
    service.settings.align_passages = reach
    service.settings.cross_language_offset = offset
    embedding = service.embedding
    embedding.use(embedding.embedder, embedding.model_name)  # no question vector cached by the other run
    threshold = service.settings.min_confidence
    ranks, answered, holds, refused, took = [], [], [], [], []
    for q in questions:
        started = time.perf_counter()
        answer = service.ask(q.text, 5, min_confidence=0.0)
        took.append((time.perf_counter() - started) * 1000)
        confident = answer.answer is not None and answer.confidence >= threshold
        if q.impossible:
            refused.append(not confident)
            continue
        docs = [p.paragraph.doc_id for p in answer.passages]
        ranks.append(docs.index(q.doc_id) + 1 if q.doc_id in docs else 0)
        golds = [answer_words(g) for g in q.answers if answer_words(g)]
        answered.append(confident)
        holds.append(confident and any(g in answer_words(answer.answer or "") for g in golds))
    r = np.array(ranks)
    return {
        "answerable": len(ranks),
        "impossible": len(refused),
        "hit@1": float(np.mean(r == 1)),
        "hit@3": float(np.mean((r >= 1) & (r <= 3))),
        "mrr": float(np.mean([1 / x if x else 0.0 for x in r])),
        "answered": float(np.mean(answered)),
        "contains": float(np.mean(holds)),
        "refused": float(np.mean(refused)) if refused else float("nan"),
        "p50_ms": percentile(took, 50),
        "p95_ms": percentile(took, 95),
    }


def english_paragraph(service, q) -> bool:
    """Whether the paragraph a question asks about is English (False for one not in the corpus)."""
    found = service.document(q.doc_id) if q.answers else None
    return bool(found) and is_english(" ".join(p.text for p in found[1]))


def segments(service, parts: dict[str, list]) -> list[tuple[str, list]]:
    """The question sets reported: per part and question language, the answerable questions by
    the language of their paragraph and the unanswerable ones."""
    out = []
    for part in PARTS:
        for language in ("en", "fa"):
            questions = [q for q in parts[part] if detect_language(q.text) == language]
            english = [q for q in questions if english_paragraph(service, q)]
            persian = [q for q in questions if q.answers and q not in english]
            for target, chosen in (("fa", persian), ("en", english)):
                if chosen:
                    out.append((f"{part} {language}->{target}", chosen))
            out.append((f"{part} {language} unanswerable", [q for q in questions if q.impossible]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-align-bench"))
    parser.add_argument("--reach", type=int, default=10, help="QA_ALIGN_PASSAGES to compare with 0")
    parser.add_argument("--offsets", default="0.02", help="QA_CROSS_LANGUAGE_OFFSET values to try beside 0")
    args = parser.parse_args()
    report = Report("align_retrieval", args)
    service, parts = fitting_corpus(args.data_dir)
    settings = [(0, 0.0), (args.reach, 0.0)] + [(args.reach, float(x)) for x in args.offsets.split(",") if x]
    rows = []
    for name, questions in segments(service, parts):
        for reach, offset in settings:
            rows.append(
                {"questions": name, "align": reach, "offset": offset, **figures(service, questions, reach, offset)}
            )
            print(table(rows[-1:], [(k, k) for k in rows[-1]]), flush=True)
    print(table(rows, [(k, k) for k in rows[0]]))
    report["rows"] = rows
    report.save()


if __name__ == "__main__":
    main()
