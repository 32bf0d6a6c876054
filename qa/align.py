"""Question words found in passages of the other language by meaning, so that BM25 can search for them.

An English question asked of Persian text shares no word with it (nor a Persian question with
English text): its lexical (BM25) side found nothing there, and retrieval was the dense model's
alone, which ranks the passage an English question is about first less than half the time in
a corpus of a few hundred Persian paragraphs (`bench/align_retrieval.py`). The bundled embedder
is multilingual down to single words: embedded alone, "team" lies nearest «تیم», "history"
«تاریخ», "won" «برنده» among a passage's words. So each content word of the question is
embedded alone and compared with the other language's words of the passages the first search
ranked best; where its best match stands out from the rest of them (`MIN_Z` standard
deviations above their mean cosine), that word joins the question's words and BM25 runs again
(`qa.answering`). The question's own words stay: they still find passages in its language, and
the more of them are matched, the more say BM25 gets in the fused score.

Of 160 English-to-Persian matches judged by hand (dev questions, their top passages), 72% are
right at z >= 3 and 80% of the right ones pass; a wrong match costs little, since BM25 is one
part of the fused score and a wrong word is rarely in the right passage alone. Persian words
matched to English ones are fewer and noisier (a Persian question's words are often inflected
or split: «پل‌های», «ساخته»).

A Persian question about English text is matched into the English words of the whole corpus
instead (`WordAligner.vocabulary`, `align_to`; up to QA_ALIGN_VOCABULARY words): the model ranks
an English paragraph so low for a Persian question that it is rarely among the first search's
best (`bench/align_retrieval.py`: hit@1 0.119 matched into the best passages, 0.381 into the
vocabulary).

Word vectors are cached per process (`CACHE_SIZE` words), so a corpus's words are embedded once.

Example (the shape of it; the matches depend on the model):
    "Which team won the football league?" over «تیم استقلال ... قهرمان لیگ برتر فوتبال ایران شد ...»
    matches team ~ «تیم», football ~ «فوتبال», so BM25 searches for "team won football league
    تیم فوتبال".
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.span import WH_WORDS
from qa.text import normalize, script_counts, stopwords, tokens

Embed = Callable[[list[str]], np.ndarray]

MIN_Z = 3.0  # how far a match must stand above the word's mean cosine with the passages' words
MIN_WORD_CHARS = 3
LANGUAGE_SAMPLE = 200  # characters of a passage its language is told from
CACHE_SIZE = 50_000  # float16 vectors: ~38 MB with the bundled model's 384 dimensions

# Question words ("how many": the answer's kind) are never matched: they are in no passage.
QUESTION_WORDS = WH_WORDS | frozenset(["many", "much"])
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z\u00c0-\u024f]+)*")
# Arabic-script letters, diacritics and ZWNJ: no digits, no «،» «؛» «؟» «٪».
_PERSIAN_WORD = re.compile(r"[\u0621-\u065f\u0670-\u06d3\u06d5\u200c]+")


@dataclass(frozen=True, slots=True)
class Alignment:
    """What a question's words were matched to: (word, its match in the other language, z) for each."""

    pairs: tuple[tuple[str, str, float], ...]

    def matches(self) -> list[str]:
        """The matched words as search terms (qa.text.tokens), each once."""
        return list(dict.fromkeys(t for _, match, _ in self.pairs for t in tokens(match)))


def latin_words(text: str) -> list[str]:
    """The distinct Latin-letter content words of a text: no stop or question words, no short ones.

    Example:
        >>> latin_words("How many titles has Real Madrid won?")
        ['titles', 'Real', 'Madrid', 'won']
    """
    stop = stopwords()
    return [
        w
        for w in dict.fromkeys(m.group() for m in _LATIN_WORD.finditer(text))
        if len(w) >= MIN_WORD_CHARS and w.lower() not in stop and w.lower() not in QUESTION_WORDS
    ]


def persian_words(texts: Sequence[str]) -> list[str]:
    """The distinct Persian content words of some texts, as written (no stop or question words,
    «چندمین» and its kin included)."""
    stop = stopwords() | QUESTION_WORDS
    words = (w.strip("\u200c") for text in texts for w in _PERSIAN_WORD.findall(text))
    return [w for w in dict.fromkeys(words) if len(w) > 1 and normalize(w) not in stop and not w.startswith("چند")]


def is_english(text: str) -> bool:
    """More Latin letters than Persian ones in its opening: an English passage (a Persian one may
    quote a name). The opening is enough, and retrieval asks this of every near candidate."""
    persian, latin = script_counts(text[:LANGUAGE_SAMPLE])
    return latin > persian


def alignment_target(language: str, texts: Sequence[str]) -> str | None:
    """The language a question's words are matched into to search these passages: "fa" for a
    non-Persian question with Persian text among them, "en" for a Persian question with English
    passages among them, None when its words can be found as they are."""
    if language != "fa":
        return "fa" if any(script_counts(t)[0] for t in texts) else None
    return "en" if any(is_english(t) for t in texts) else None


class WordAligner:
    """Matches a question's words to the words of some passages, through one embedding model."""

    def __init__(self, embed_queries: Embed, embed_passages: Embed, cache_size: int = CACHE_SIZE) -> None:
        self._embed = {True: embed_queries, False: embed_passages}
        self._cache: OrderedDict[tuple[str, bool], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._cache_size = cache_size

    def vectors(self, words: Sequence[str], query: bool) -> np.ndarray:
        """One vector per word (in the query or the passage role), embedded once per process."""
        unique = list(dict.fromkeys(words))
        with self._lock:
            known = {w: self._cache[(w, query)] for w in unique if (w, query) in self._cache}
            for w in known:
                self._cache.move_to_end((w, query))
        missing = [w for w in unique if w not in known]
        if missing:
            fresh = np.asarray(self._embed[query](missing), dtype=np.float16)
            known.update(zip(missing, fresh, strict=True))
            with self._lock:
                self._cache.update(((w, query), v) for w, v in zip(missing, fresh, strict=True))
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        if not unique:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([known[w] for w in words]).astype(np.float32)

    def align(self, question: str, texts: Sequence[str], target: str = "fa") -> Alignment:
        """Each content word of the question whose best match among the texts' words in the
        `target` language ("fa": Persian words; "en": the words of its English texts) stands out
        (z >= MIN_Z), with that word; none when the texts hold no such words."""
        if target == "fa":
            words, targets = latin_words(question), persian_words(texts)
        else:
            words = persian_words([question])
            targets = english_words(texts)
        if len(targets) < 2 or not words:
            return Alignment(())
        return _match(words, self.vectors(words, True), targets, self.vectors(targets, False))

    def vocabulary(self, words: Sequence[str]) -> Vocabulary:
        """These words (a corpus's `english_words`) with their vectors, to match Persian questions into."""
        return Vocabulary(tuple(words), self.vectors(words, False) if words else np.zeros((0, 0), np.float32))

    def align_to(self, question: str, vocabulary: Vocabulary) -> Alignment:
        """A Persian question's content words matched into a whole vocabulary (as `align`)."""
        words = persian_words([question])
        if len(vocabulary.words) < 2 or not words:
            return Alignment(())
        return _match(words, self.vectors(words, True), list(vocabulary.words), vocabulary.vectors)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A corpus's English words and their vectors (passage role), embedded once."""

    words: tuple[str, ...]
    vectors: np.ndarray


def english_words(texts: Iterable[str]) -> list[str]:
    """The words of the English texts among `texts`, each once."""
    return list(dict.fromkeys(w for t in texts if is_english(t) for w in latin_words(t)))


def _match(words: Sequence[str], vectors: np.ndarray, targets: Sequence[str], target_vectors: np.ndarray) -> Alignment:
    """Each word whose best match among the targets stands MIN_Z standard deviations above its
    mean cosine with them."""
    sims = vectors @ target_vectors.T
    best = sims.argmax(axis=1)
    top = sims[np.arange(len(words)), best]
    z = (top - sims.mean(axis=1)) / (sims.std(axis=1) + 1e-6)
    return Alignment(tuple((w, targets[j], float(s)) for w, j, s in zip(words, best, z, strict=True) if s >= MIN_Z))
