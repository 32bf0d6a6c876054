"""How short can the answer be before it stops holding the gold? The length trade-off curve.

Issue 14 asks for a median answer of <= 12 words; the service answers with the typed span
or the best 25-word window of the chosen sentence (qa/span.py), a median of about 20. This
script tries the obvious way down: every window of 1 to 25 words as a candidate, the window
features of qa.span plus its length (log and linear) and whether it opens or closes on a
stop word, one listwise fit per question language on the "train" sentences of
`bench/fit_span.py`'s collection, and a cost per word subtracted from the score. It prints,
for each cost, how often the answer holds the gold and the median answer words over the
sentences the selector chose, on the held-out parts (dev "eval", bench/reader_data/heldout),
beside today's shipped 25-word scorer (cost "shipped").

Measured 2026-12-02 (2 cores), Persian: a 12-word median on the written held-out part costs
5 points (0.552 -> 0.502 at 0.5 per word); on the dev eval part, where fewer answers are a
typed year or number, the same cost gives 15 words and 0.557 against 0.693, and 10 words
0.493. English falls 0.257 -> 0.223 (written). The reader's span head cut inside the chosen
sentence did worse (dev eval 0.500 at 13.5 words). So the shipped 25-word scorer stays.

    .venv/bin/python bench/fit_span.py            # once: collects bench/out/span-sentences.pkl
    .venv/bin/python bench/span_length.py         # ~3 min
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import listwise_loss  # noqa: E402
from fit_span import CACHE, L2, Sample, answer_of, holds  # noqa: E402, F401 - Sample: the cache's class

from qa.answer_type import typed_span  # noqa: E402
from qa.span import SPAN_FEATURES, span_scorer_for, window_features, windows  # noqa: E402
from qa.text import Span, match_keys, normalize, stopwords  # noqa: E402

WIDTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 21, 25)
COSTS = (0.0, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
_PUNCT = "؟?.,،!«»\"'():;؛[]"


def candidates(s: Sample, sentence: Span) -> tuple[list[Span], np.ndarray, np.ndarray]:
    """Every window of a WIDTHS width, its features (qa.span's and four of length) and words."""
    spans, seen = [], set()
    for width in WIDTHS:
        for span in windows(sentence, width):
            if (span.start, span.end) not in seen:
                seen.add((span.start, span.end))
                spans.append(span)
    stop = stopwords()
    words = np.array([len(span.text.split()) for span in spans], dtype=np.float64)
    extra = [
        [np.log(n), n / 25, normalize(w[0].strip(_PUNCT)) in stop, normalize(w[-1].strip(_PUNCT)) in stop]
        for n, w in zip(words, (span.text.split() for span in spans), strict=True)
    ]
    features = np.hstack([window_features(s.question, sentence, spans), np.array(extra, dtype=np.float64)])
    return spans, features, words


def fit(samples: list[Sample]) -> np.ndarray:
    data = []
    for s in samples:
        for sentence in {s.chosen, s.gold_sentence} - {None}:
            if not holds(sentence.text, s.golds):
                continue
            spans, features, _ = candidates(s, sentence)
            gold = np.array([holds(span.text, s.golds) for span in spans])
            if gold.any() and not gold.all():
                data.append((features, gold))
    zero = np.zeros(len(SPAN_FEATURES) + 4)
    return minimize(listwise_loss, zero, args=(data, zero, 1.0, L2), jac=True, method="L-BFGS-B").x


def curve(samples: list[Sample], weights: np.ndarray) -> str:
    """'cost: holds median' for the shipped scorer and each cost."""
    shipped = [answer_of(s, s.chosen, 25, span_scorer_for(s.language)) for s in samples]
    line = f"shipped {np.mean([holds(a, s.golds) for a, s in zip(shipped, samples, strict=True)]):.3f}"
    line += f" ({np.median([len(a.split()) for a in shipped]):g})"
    scored = []
    for s in samples:
        typed = typed_span(s.chosen, s.kind, set(s.weights), match_keys)
        if typed is not None:
            scored.append((s, [typed], np.zeros(1), np.array([len(typed.text.split())])))
        else:
            spans, features, words = candidates(s, s.chosen)
            scored.append((s, spans, features @ weights, words))
    for cost in COSTS:
        answers = [(s, spans[int(np.argmax(score - cost * words))].text) for s, spans, score, words in scored]
        held = np.mean([holds(a, s.golds) for s, a in answers])
        line += f" | {cost}: {held:.3f} ({np.median([len(a.split()) for _, a in answers]):g})"
    return line


def main() -> None:
    samples = pickle.loads(CACHE.read_bytes())
    print("answer holds the gold (median words) over the chosen sentences, by cost per word:")
    for language in ("fa", "en"):
        weights = fit([s for s in samples["train"] if s.language == language])
        for part in ("train", "eval", "written"):
            rows = [s for s in samples[part] if s.language == language]
            print(f"  {language} {part:8} n={len(rows):4}  {curve(rows, weights)}")


if __name__ == "__main__":
    main()
