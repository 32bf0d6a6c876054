"""How wide must the answer be to hold the gold, when the reader's span head says where it is?

Over the sentences the blend (selector + trained reader, `bench/blend_reader.py`) chose rightly
(the sentence holds a gold answer) for the dev "calibration" and "eval" parts, the reader's
span scores of the chosen sentence (`qa.reader_span`) pick the answer window in three ways,
printed beside the selector's window (`qa.answer.short_answer`, what the service cut before):

- a fixed width: the window of W words holding the most span mass;
- adaptive: the narrowest of the widths from a minimum up whose best window holds a share of
  the mass, else the 25-word one (what the service does, `ANSWER_WIDTHS`, `MASS_SHARE`);

each as "share holding the gold / median words". Choose on the calibration part, report the
eval part (neither was trained on; the calibration part fitted the blend's confidence).

Measured 2026-12-06 (run 11, 2 cores), fa calibration / eval, 56 / 116 sentences: the selector's
window 0.893 / 0.966 at 18 / 22 words; widths 10-18 at share 0.95 0.893 / 0.914 at 11 / 10 words.

    .venv/bin/python bench/answer_window.py      # ~5 min: builds the corpus in /tmp/qa-window
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from blend_reader import pick  # noqa: E402
from blend_reader import row_of as blend_row  # noqa: E402
from common import fitting_corpus  # noqa: E402

from qa.answer import quote_span, short_answer  # noqa: E402
from qa.evaluate import answer_words  # noqa: E402
from qa.reader import ReaderBlend, TrainedReader  # noqa: E402
from qa.reader_span import mass_window, words_of  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.text import detect_language  # noqa: E402

FIXED = (6, 8, 10, 12, 15, 18, 25)
MINIMA = (8, 10, 12)
SHARES = (0.9, 0.95, 0.97, 0.99)
LONGEST = 25


def sentence_rows(service, reader: TrainedReader, part: list) -> list[dict]:
    """Per rightly chosen sentence: its words, span scores, golds and the selector's answer."""
    out = []
    for q in part:
        row = blend_row(service, reader, q, LONGEST)
        if row is None or not row.answerable:
            continue
        blend = ReaderBlend.of(reader.config.calibration, row.language)
        i = pick(row, blend.beta if blend else 0.0)  # the sentence the service's blend chooses
        if not row.gold[i]:
            continue
        c = row.choices.candidates[i]
        quoted = quote_span(c.paragraph.text, c.span, c.paragraph.citable_start)
        read = reader.read_passages(q.text, [c.paragraph], service.answerer.contexts([c.paragraph]))
        if read is None:
            continue
        words = words_of(c.paragraph.text, quoted)
        starts, ends = read.word_scores(0, words)
        if not (np.isfinite(starts).all() and np.isfinite(ends).all()):
            continue
        language = detect_language(q.text)
        selector = short_answer(q.text, quoted, row.choices.weights, LONGEST, language)
        out.append(
            {
                "language": language,
                "text": c.paragraph.text,
                "words": words,
                "starts": starts,
                "ends": ends,
                "golds": [answer_words(a) for a in q.answers if answer_words(a)],
                "selector": selector.text,
            }
        )
    return out


def holds(r: dict, first: int, stop: int) -> tuple[bool, int]:
    text = r["text"][r["words"][first].start : r["words"][stop - 1].end]
    return any(g in answer_words(text) for g in r["golds"]), stop - first


def summary(results: list[tuple[bool, int]]) -> str:
    if not results:
        return "-"
    return f"{np.mean([ok for ok, _ in results]):.3f} / {statistics.median(n for _, n in results):g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-window"))
    args = parser.parse_args()
    service, parts = fitting_corpus(args.data_dir)
    reader = TrainedReader(Settings().reader_dir)
    rows = {name: sentence_rows(service, reader, parts[name]) for name in ("calibration", "eval")}
    for language in ("fa", "en"):
        by_part = {name: [r for r in rs if r["language"] == language] for name, rs in rows.items()}
        sizes = ", ".join(f"{name} {len(rs)}" for name, rs in by_part.items())
        print(f"\n{language} ({sizes} rightly chosen sentences): holds the gold / median words, calibration | eval")

        def line(label: str, cut, by_part: dict[str, list[dict]] = by_part) -> None:  # noqa: ANN001 - cut: a row's cut
            cells = " | ".join(summary([cut(r) for r in rs]) for rs in by_part.values())
            print(f"  {label:34s} {cells}")

        line(
            "selector's window (before)",
            lambda r: (any(g in answer_words(r["selector"]) for g in r["golds"]), len(r["selector"].split())),
        )
        for width in FIXED:
            line(f"fixed {width} words", lambda r, w=width: holds(r, *mass_window(r["starts"], r["ends"], (), 1.0, w)))
        for minimum in MINIMA:
            widths = tuple(w for w in FIXED if minimum <= w < LONGEST)
            for share in SHARES:
                line(
                    f"adaptive {minimum}-{widths[-1]} words, share {share}",
                    lambda r, ws=widths, s=share: holds(r, *mass_window(r["starts"], r["ends"], ws, s, LONGEST)),
                )


if __name__ == "__main__":
    main()
