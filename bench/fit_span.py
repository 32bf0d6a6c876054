"""Fit the answer-span scorer (qa/span.py SPAN_SCORERS) on questions it is never evaluated on.

The selector picks the answer sentence; the short answer is a window of at most
`QA_MAX_ANSWER_WORDS` words of it (or, when the question asks for a year, date or number
and the sentence holds one, that span). Which window is chosen by a linear score over
`qa.span.SPAN_FEATURES` (where the question's words stand around it, the "hole" its
question word leaves, its place in the sentence). This script asks every question through
the service's own retrieval and sentence selector over the fitting corpus (the seeds, the
40 dev contexts and bench/reader_data, as `bench/fit_selector.py`), keeps each answerable
question's quoted sentence, and fits one weight vector per question language by a listwise
softmax: the windows holding the gold answer against the others of the same sentence.

It prints, per part, how often the answer holds the gold at the chosen width: the fitted
scorer beside the old "most question words" trim, over the sentences the selector chose
(what a user gets) and over the gold sentences (the span scorer alone). Fitted on
bench/reader_data/*.jsonl and the dev "train" part; held out: the dev "eval" part and
bench/reader_data/heldout.

    .venv/bin/python bench/fit_span.py            # ~6 min: collect (cached in bench/out/), fit, print
    .venv/bin/python bench/fit_span.py --cached   # refit on the last collection
"""

from __future__ import annotations

import argparse
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import answerable_by_part, listwise_loss  # noqa: E402

from qa.answer import choose_span, coverage, quote_span, ranker_for, short_answer  # noqa: E402
from qa.answer_type import answer_type, typed_span  # noqa: E402
from qa.evaluate import Question, answer_words  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.span import SPAN_FEATURES, SPAN_SCORERS, SpanQuestion, SpanScorer, window_features, windows  # noqa: E402
from qa.text import Span, detect_language, match_keys  # noqa: E402

CACHE = REPO / "bench" / "out" / "span-sentences.pkl"
L2 = 1e-3
WIDTHS = (8, 10, 12, 16, 25)


@dataclass(slots=True)
class Sample:
    """One answerable question and the sentences it could be answered from."""

    language: str
    text: str
    weights: dict[str, float]
    kind: str | None
    chosen: Span  # the quoted sentence the service answers from
    gold_sentence: Span | None  # the quoted candidate sentence holding the gold, if any
    golds: list[str]  # normalised gold answers

    @property
    def question(self) -> SpanQuestion:
        return SpanQuestion.of(self.text, self.weights, self.kind)


def sample_of(service: QAService, q: Question) -> Sample | None:
    answerer = service.answerer
    passages, qvec, terms = answerer._passages(q.text, 5)
    language = detect_language(q.text)
    choices = answerer.sentence_choices(q.text, passages, qvec, terms)
    choice = choose_span(choices, ranker_for(language))
    if choice is None:
        return None
    golds = [answer_words(a) for a in q.answers if answer_words(a)]
    chosen = quote_span(choice.paragraph.text, choice.span, choice.paragraph.citable_start)
    gold_sentence = None
    for c in choices.candidates:
        if c.paragraph.doc_id == q.doc_id and any(g in answer_words(c.span.text) for g in golds):
            gold_sentence = quote_span(c.paragraph.text, c.span, c.paragraph.citable_start)
            break
    return Sample(language, q.text, choices.weights, answer_type(q.text), chosen, gold_sentence, golds)


def collect(data_dir: Path) -> dict[str, list[Sample]]:
    """Every answerable question's quoted sentences, by part (bench/common.py answerable_by_part)."""
    return answerable_by_part(data_dir, sample_of)


def holds(text: str, golds: list[str]) -> bool:
    norm = answer_words(text)
    return any(g in norm for g in golds)


def groups(samples: list[Sample], width: int, gold_sentences: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per sample: the window features of its sentence and which windows hold the gold."""
    out = []
    for s in samples:
        sentence = s.gold_sentence if gold_sentences else s.chosen
        if sentence is None or not holds(sentence.text, s.golds):
            continue
        spans = windows(sentence, width)
        gold = np.array([holds(w.text, s.golds) for w in spans])
        if gold.any() and not gold.all():
            out.append((window_features(s.question, sentence, spans), gold))
    return out


_WORD = re.compile(r"\S+")


def trim(sentence: Span, weights: dict[str, float], max_words: int) -> Span:
    """The rule before the span scorer (the baseline it is measured against): a window of at
    most `max_words` words of a sentence holding most question words.

    Among equally good windows the middle one is kept, so the words around the
    question's words (where the answer usually stands) stay in. With no shared words at
    all (a question in another language) the sentence's opening is kept: its subject.

    Example:
        >>> s = Span(10, 19, "a b c d e")
        >>> trim(s, {}, 3)
        Span(start=12, end=17, text='b c d')
    """
    words = [(m.start(), m.end()) for m in _WORD.finditer(sentence.text)]
    if len(words) <= max_words:
        return sentence
    windows = [(words[i][0], words[i + max_words - 1][1]) for i in range(len(words) - max_words + 1)]
    scores = [coverage(weights, match_keys(sentence.text[s:e])) for s, e in windows]
    best = max(scores)
    ties = [w for w, score in zip(windows, scores, strict=True) if score >= best - 1e-9]
    s, e = ties[len(ties) // 2] if best > 0 else ties[0]
    return Span(sentence.start + s, sentence.start + e, sentence.text[s:e])


def answer_of(s: Sample, sentence: Span, width: int, scorer: SpanScorer | None) -> str:
    """What the service would answer from `sentence`: the typed span, else the window."""
    if scorer is not None:
        return short_answer(s.text, sentence, s.weights, width, s.language, scorer).text
    typed = typed_span(sentence, s.kind, set(s.weights), match_keys)
    return (typed or trim(sentence, s.weights, width)).text


def report(samples: dict[str, list[Sample]], width: int, fitted: dict[str, SpanScorer]) -> None:
    for language in ("fa", "en"):
        for part, rows in samples.items():
            rows = [s for s in rows if s.language == language]
            if not rows:
                continue
            line = f"  {language} {part:8} n={len(rows):4} width {width:2}"
            for name, scorer in (("trim", None), ("shipped", SPAN_SCORERS.get(language)), ("fitted", fitted[language])):
                chosen = np.mean([holds(answer_of(s, s.chosen, width, scorer), s.golds) for s in rows])
                given = [s for s in rows if s.gold_sentence is not None]
                gold = np.mean([holds(answer_of(s, s.gold_sentence, width, scorer), s.golds) for s in given])
                line += f"  {name} {chosen:.3f}/{gold:.3f}"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-fit-span"))
    parser.add_argument("--cached", action="store_true", help=f"reuse the last collection ({CACHE})")
    parser.add_argument("--width", type=int, default=25, help="the window fitted for (QA_MAX_ANSWER_WORDS)")
    args = parser.parse_args()
    samples = pickle.loads(CACHE.read_bytes()) if args.cached else collect(args.data_dir)
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_bytes(pickle.dumps(samples))
    fitted = {}
    for language in ("fa", "en"):
        train = [s for s in samples["train"] if s.language == language]
        data = groups(train, args.width, True) + groups(train, args.width, False)
        zero = np.zeros(len(SPAN_FEATURES))
        w = minimize(listwise_loss, zero, args=(data, zero, 1.0, L2), jac=True, method="L-BFGS-B").x
        fitted[language] = SpanScorer(tuple(float(v) for v in w))
        print(f'    "{language}": SpanScorer(({", ".join(f"{v:.3f}" for v in w)})),  # {len(data)} sentences')
    print("features:", ", ".join(SPAN_FEATURES))
    print("answer holds the gold (chosen sentence / gold sentence):")
    for width in WIDTHS:
        report(samples, width, fitted)


if __name__ == "__main__":
    main()
