"""Do English questions find their Persian passage more often when the names they write are searched by
spelling, and their other words by the lexicon's Persian words?

An English question over Persian text is searched twice (qa.answering `_passages`): the second
time BM25 looks for the Persian words its words were matched to by meaning (qa.align) and for
the Persian spellings of the names it writes in Latin letters ("Baalbek" ~ «بعلبک»): in every
word of a corpus of up to QA_SPELLING_PASSAGES paragraphs (`qa.transliterate.SpellingIndex`, the
default), else in the first search's best passages (`persian_spellings`). The model rarely matches
a name by meaning, so without the spellings a question about Baalbek searches for "located" alone.
This asks every answerable English question of the fitting corpus (`bench/common.py
fitting_corpus`: the seeds, the 40 dev contexts and the written paragraphs, ~1,800 paragraphs,
some English) with the spellings left out, with the best passages' spellings, with the
corpus's, and with the corpus's and the English-Persian lexicon's words (qa.lexicon; the default),
and prints hit@1 and hit@3 per part and the language of the question's paragraph. Retrieval only:
no reader, no answer.

    .venv/bin/python bench/name_search.py    # ~8 min on 2 cores (building the corpus ~1.5)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from align_retrieval import segments  # noqa: E402
from common import Report, fitting_corpus, table  # noqa: E402

import qa.answering  # noqa: E402


def ranks(service, questions: list) -> np.ndarray:
    """The rank (1-5) of each question's document among its top five passages; 0 when absent."""
    out = []
    for q in questions:
        docs = [p.paragraph.doc_id for p in service.search(q.text, 5)]
        out.append(docs.index(q.doc_id) + 1 if q.doc_id in docs else 0)
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/qa-name-search"))
    args = parser.parse_args()
    report = Report("name_search", args)
    service, parts = fitting_corpus(args.data_dir)
    spellings = qa.answering.persian_spellings
    rows = []
    for name, questions in segments(service, parts):
        if not name.split()[1].startswith("en->"):  # English questions with an answer
            continue
        row: dict[str, object] = {"questions": name, "n": len(questions)}
        limit = service.settings.spelling_passages
        for label, spell, corpus, lexicon in (
            ("without spellings", lambda *_: [], 0, False),
            ("best passages' spellings", spellings, 0, False),
            ("corpus's spellings", spellings, limit, False),
            ("and the lexicon (default)", spellings, limit, True),
        ):
            qa.answering.persian_spellings = spell
            service.settings.spelling_passages = corpus
            service.settings.lexicon = lexicon
            r = ranks(service, questions)
            row[f"hit@1 {label}"] = round(float(np.mean(r == 1)), 3)
            row[f"hit@3 {label}"] = round(float(np.mean((r >= 1) & (r <= 3))), 3)
        qa.answering.persian_spellings = spellings
        service.settings.spelling_passages = limit
        service.settings.lexicon = True
        rows.append(row)
        print(table([row], [(k, k) for k in row]), flush=True)
    print(table(rows, [(k, k) for k in rows[0]]))
    report["rows"] = rows
    report.save()


if __name__ == "__main__":
    main()
