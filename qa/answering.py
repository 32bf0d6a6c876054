"""The question path of the service: retrieve (dense + lexical, fused), then answer with a citation.

One concern of `QAService`, depending only on the backend protocols (`qa.backends.base`): it
reads a `Store`, a `VectorSearch` and a `LexicalSearch` and never knows which engine holds them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.align import Vocabulary, WordAligner, alignment_target, english_words, is_english
from qa.answer import (
    PASSAGES_READ,
    SentenceChoices,
    calibration_for,
    choose_span,
    citation,
    logistic,
    question_names,
    question_weights,
    quote_span,
    ranker_for,
    sentence_choices,
    short_answer,
)
from qa.answer_type import answer_type
from qa.backends.base import Backend
from qa.embedding import Embedding
from qa.errors import InvalidInput, ModelUnavailable
from qa.lexicon import lexicon, skipped_words
from qa.models import Answer, Citation, Paragraph, Passage
from qa.reader import (
    CONTEXT_REACH,
    Context,
    ExtractiveReader,
    ReaderBlend,
    TrainedReader,
    candidate_logits,
    reading_contexts,
)
from qa.reader_span import reader_window
from qa.retrieve import Fusion, rank
from qa.settings import Settings
from qa.text import compound_terms, detect_language, require_unicode, stopwords, tokens
from qa.transliterate import SpellingIndex, latin_names, name_weights, persian_spellings

log = logging.getLogger(__name__)

Found = tuple[Citation, float, dict[str, float]] | None  # an answer's citation, confidence and signals


class Answerer:
    """Questions in, ranked passages and cited answers (or abstentions) out."""

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        embedding: Embedding,
        check_model: Callable[[], None],
        trained_reader: TrainedReader | None = None,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.embedding = embedding
        self.check_model = check_model
        self._reader: ExtractiveReader | None = None
        self._trained: TrainedReader | None | bool = trained_reader  # False: unavailable, selector used
        self.fusion = Fusion.HYBRID
        self.reader_enabled = True  # `qa eval --readers` turns the trained reader off to compare
        self._aligner: tuple[str, WordAligner] | None = None  # (the model it embeds with, it)
        self._vocabulary: tuple[tuple[str, int], Vocabulary | None] | None = None  # ((model, generation), it)
        self._vocabulary_lock = threading.Lock()
        self._spelling: tuple[tuple[int, int], SpellingIndex | None] | None = None  # ((generation, limit), it)
        self._spelling_lock = threading.Lock()

    @property
    def reader(self) -> ExtractiveReader | None:
        """The optional extractive reader (QA_READER_MODEL), loaded on first use."""
        if self.settings.reader_model and self._reader is None:
            with self.embedding.lock:
                if self._reader is None:
                    self._reader = ExtractiveReader(self.settings.reader_model, self.settings.device)
        return self._reader

    @property
    def trained_reader(self) -> TrainedReader | None:
        """The reader trained from the bundled encoder (QA_READER=trained), loaded on first use.

        Without its weights or torch it is off, with one warning, and the selector answers.
        """
        if self._trained is None:
            with self.embedding.lock:
                if self._trained is None:
                    self._trained = False
                    folder = Path(self.settings.reader_dir)
                    if self.settings.reader == "trained" and not self.settings.reader_model:
                        try:
                            self._trained = TrainedReader(folder)
                        except (ModelUnavailable, ImportError) as exc:
                            log.warning("the trained reader is off, answers come from the sentence selector: %s", exc)
        return self._trained or None

    def validate_question(self, question: str, top_k: int) -> str:
        """The question stripped, or InvalidInput saying what is wrong with it or top_k."""
        question = require_unicode((question or "").strip(), "the question")
        if not question:
            raise InvalidInput("the question is empty: ask something, e.g. 'Who did Assad call?'.")
        if len(question) > self.settings.max_question_chars:
            raise InvalidInput(
                f"the question has {len(question)} characters; the limit is "
                f"{self.settings.max_question_chars} (QA_MAX_QUESTION_CHARS)."
            )
        if not 1 <= top_k <= self.settings.max_top_k:
            raise InvalidInput(f"top_k must be between 1 and {self.settings.max_top_k}, not {top_k}.")
        return question

    @property
    def aligner(self) -> WordAligner:
        """Matches a question's words to the other language's words of its passages (qa.align)
        with the current embedding model; its word cache goes when the model changes."""
        model = self.embedding.model_name
        if self._aligner is None or self._aligner[0] != model:
            embedding = self.embedding
            aligner = WordAligner(
                lambda words: embedding.embedder.embed_queries(words),
                lambda words: embedding.embedder.embed_passages(words),
            )
            self._aligner = (model, aligner)
        return self._aligner[1]

    def english_vocabulary(self) -> Vocabulary | None:
        """The corpus's English words with their vectors, for Persian questions (qa.align); None
        when it holds fewer than two or more than QA_ALIGN_VOCABULARY. Read again after every
        write to the store and with another model; only words not yet embedded cost time."""
        limit = self.settings.align_vocabulary
        if not limit:
            return None
        key = (self.embedding.model_name, self.backend.store.generation)
        with self._vocabulary_lock:
            if self._vocabulary is None or self._vocabulary[0] != key:
                texts = (text for rows in self.backend.store.iter_passages() for _, text, _, _ in rows)
                words = english_words(texts)
                self._vocabulary = (key, self.aligner.vocabulary(words) if 2 <= len(words) <= limit else None)
            return self._vocabulary[1]

    def spelling_index(self) -> SpellingIndex | None:
        """The corpus's Persian words by skeleton, for the names of English questions
        (qa.transliterate); None above QA_SPELLING_PASSAGES paragraphs or at 0. Read again after
        every write to the store."""
        limit = self.settings.spelling_passages
        if not limit:
            return None
        store = self.backend.store
        with self._spelling_lock:
            key = (store.generation, limit)
            if self._spelling is None or self._spelling[0] != key:
                small = store.counts()[1] <= limit
                texts = (text for rows in store.iter_passages() for _, text, _, _ in rows)
                self._spelling = (key, SpellingIndex(texts) if small else None)
            return self._spelling[1]

    def spellings(self, question: str, texts: list[str]) -> list[str]:
        """The Persian spellings of the names an English question writes: anywhere in a corpus of
        up to QA_SPELLING_PASSAGES paragraphs, else in `texts` (its first search's best passages)."""
        index = self.spelling_index()
        if index is not None:
            return index.spellings(question, stopwords())
        return persian_spellings(question, texts, stopwords())

    def _rank(self, qvec: np.ndarray, terms: list[str], k: int, language: str) -> list[Passage]:
        """The k best passages; with QA_CROSS_LANGUAGE_OFFSET, a passage in the other language
        than the question's (English or Persian) has that added to its score: the model scores
        such pairs lower, so in a mixed corpus a question's own language would win on form."""
        offset = self.settings.cross_language_offset if self.fusion in (Fusion.HYBRID, Fusion.DENSE) else 0.0
        wide = max(k, self.settings.candidates) if offset else k
        with self.backend.reading():
            backend = self.backend
            ranked = rank(qvec, terms, backend.index, backend.lexical, wide, self.settings.candidates, self.fusion)
            if len(ranked) > k:  # only a passage within `offset` of the k-th can still reach the top k
                ranked = [r for r in ranked if r.score >= ranked[k - 1].score - offset]
            found = backend.store.paragraphs([r.id for r in ranked])
        passages = [Passage(found[r.id], r.score, r.dense, r.lexical) for r in ranked if r.id in found]
        if offset:
            english = language != "fa"
            for passage in passages:
                if is_english(passage.paragraph.text) != english:
                    passage.score += offset
            passages.sort(key=lambda p: (-p.score, p.paragraph.id))
        return passages[:k]

    def lexicon_terms(self, question: str) -> list[str]:
        """The Persian words of an English question's words (qa.lexicon) that the corpus holds,
        as search terms; none when QA_LEXICON is off."""
        if not self.settings.lexicon:
            return []
        return lexicon().terms(question, self.backend.lexical.held)

    def terms(self, question: str) -> list[str]:
        """The question's search terms: its tokens, with words it writes apart that the corpus
        writes as one joined («بین المللی» -> «بینالمللی»; qa.text.compound_terms)."""
        terms = tokens(question)
        joined, parts = compound_terms(question, self.backend.lexical.held)
        return [t for t in terms if t not in parts] + joined if joined else terms

    def _passages(self, question: str, k: int) -> tuple[list[Passage], np.ndarray, list[str]]:
        """The ranked passages, the question's vector and its words. An English question over
        Persian text (or a Persian one over English text) is searched twice: the words its words
        were matched to in the first search's best passages (qa.align; for a Persian question,
        in the corpus's English vocabulary when it is small enough), and for an English question
        the Persian spellings of the names it writes (qa.transliterate; in the whole corpus when
        it is small enough, else in those passages), join its words, so
        BM25 finds something the second time. The words returned are the question's own, what the
        selector's features were fitted on, and for an English question over Persian text the
        lexicon's Persian words for them (qa.lexicon) that the corpus holds: the selector's word
        overlaps read them as a Persian question's own words."""
        self.check_model()
        self.backend.refresh()
        qvec = self.embedding.embed_query(question)
        terms = self.terms(question)
        language = detect_language(question)
        reach = self.settings.align_passages
        passages = self._rank(qvec, terms, max(k, reach), language)
        found: list[str] = []
        translated: list[str] = []
        if reach and self.fusion != Fusion.DENSE:
            texts = [p.paragraph.text for p in passages[:reach]]
            # A Persian question's passage in English is often far down the first search (the
            # model ranks English text low for it), so its words are matched into every
            # English word of a corpus small enough, not only into its best passages' words.
            vocabulary = self.english_vocabulary() if language == "fa" else None
            if vocabulary is not None:
                found = self.aligner.align_to(question, vocabulary).matches()
            elif target := alignment_target(language, texts):
                found = self.aligner.align(question, texts, target).matches()
                if target == "fa":  # and the names it writes in Latin letters, as the corpus spells them
                    found += [t for t in self.spellings(question, texts) if t not in found]
                    # and its words' Persian equivalents (qa.lexicon), which the selector weighs
                    # too, as it weighs a Persian question's own words
                    translated = [t for t in self.lexicon_terms(question) if t not in terms]
                    found += [t for t in translated if t not in found]
        if found:
            # Added, not replacing: the question's own words still find passages in its
            # language, and BM25's weight grows with the share of its words the corpus holds.
            passages = self._rank(qvec, terms + [t for t in found if t not in terms], k, language)
        return passages[:k], qvec, terms + translated

    def sentence_choices(
        self, question: str, passages: list[Passage], qvec: np.ndarray, terms: list[str]
    ) -> SentenceChoices:
        """The top passages' sentences with their ranking features, for the selector."""
        top = [(p.paragraph, p.score, p.dense) for p in passages[:PASSAGES_READ]]
        lexical = self.backend.lexical
        tables = self.backend.store.sentences([p.id for p, _, _ in top], len(qvec))
        unique = list(dict.fromkeys(terms))
        weights = question_weights(terms, dict(zip(unique, lexical.idf(unique).tolist(), strict=True)))
        names = name_weights(latin_names(question, stopwords()))
        scale = lexical.coverage(terms) ** 2
        kind = answer_type(question)
        named = question_names(question, skipped_words(), self.name_equivalents)
        return sentence_choices(top, tables, qvec, weights, names, scale, kind, detect_language(question), named)

    def name_equivalents(self, words: Sequence[str]) -> list[str]:
        """The lexicon's Persian equivalents of a name's words ("India" «هند»); none when
        QA_LEXICON is off."""
        if not self.settings.lexicon:
            return []
        return lexicon().equivalents(words)

    def reads(self, language: str) -> bool:
        """Whether the trained reader weighs in on questions in `language` (QA_READER_LANGUAGES)."""
        return self.reader_enabled and language in self.settings.reader_languages.split(",")

    def contexts(self, paragraphs: list[Paragraph]) -> list[Context]:
        """The text around each paragraph in its document, which the trained reader reads a
        short paragraph with (`embeddings.reader_net.encode_in_context`)."""
        return reading_contexts(paragraphs, self.backend.store.neighbours(paragraphs, CONTEXT_REACH))

    def _select_span(
        self, question: str, passages: list[Passage], qvec: np.ndarray, terms: list[str], language: str
    ) -> Found:
        """The built-in answer: best sentence (weighing the trained reader's log-odds beside the
        selector's score when QA_READER=trained), cut to the answer limit, calibrated confidence."""
        if not passages:
            return None
        choices = self.sentence_choices(question, passages, qvec, terms)
        reader = self.trained_reader if self.reads(language) else None
        blend = ReaderBlend.of(reader.config.calibration, language) if reader else None
        logits, read = None, None
        if reader is not None and blend is not None and choices.candidates:
            paragraphs = [p for p, _, _ in choices.passages]
            read = reader.read_passages(question, paragraphs, self.contexts(paragraphs))
            logits = candidate_logits(read, choices.candidates)
        choice = choose_span(choices, ranker_for(language), logits, blend.beta if blend else 0.0)
        if choice is None:
            return None
        quoted = quote_span(choice.paragraph.text, choice.span, choice.paragraph.citable_start)
        max_words = self.settings.max_answer_words
        if read is None and self.reader_enabled and (cutter := self.trained_reader) is not None:
            # A language the reader does not choose for: it still cuts the answer, reading only its paragraph.
            read = cutter.read_passages(question, [choice.paragraph], self.contexts([choice.paragraph]))
        if read is not None:
            # The reader's span head knows better than question words where the answer stands.
            owner = read.owner_of(choice.paragraph.id)  # the chosen sentence's paragraph was read
            span = reader_window(read, owner, choice.paragraph.text, quoted, max_words)
        else:
            span = short_answer(question, quoted, choices.weights, max_words, language)
        signals = choice.signals.as_dict()
        selector_logit = calibration_for(language).logit(choice.signals)
        if logits is not None and blend is not None:
            signals["reader_logit"] = round(float(logits[choice.index]), 4)
            confidence = blend.confidence(selector_logit, float(logits[choice.index]))
        else:
            confidence = logistic(selector_logit)
        return citation(1, choice.paragraph, quoted, span), round(confidence, 4), signals

    def _read_span(self, question: str, passages: list[Passage]) -> Found:
        """The extractive reader's answer (QA_READER_MODEL) and its no-answer confidence."""
        read = self.reader.read(question, [p.paragraph for p in passages[:PASSAGES_READ]])
        if read is None:
            return None
        signals = {"reader_score": round(read.score, 4), "reader_null_score": round(read.null_score, 4)}
        return citation(1, read.paragraph, read.span), round(read.confidence, 4), signals

    def search(self, query: str, top_k: int = 5) -> list[Passage]:
        """The ranked passages for a query, best first."""
        query = self.validate_question(query, top_k)
        return self._passages(query, top_k)[0]

    def ask(self, question: str, top_k: int = 5, min_confidence: float | None = None) -> Answer:
        """A short answer quoted from the corpus with its citation, or an abstention.

        `min_confidence` overrides QA_MIN_CONFIDENCE (evaluation asks with 0 to see the
        span and confidence of every question).
        """
        threshold = self.settings.min_confidence if min_confidence is None else min_confidence
        started = time.perf_counter()
        question = self.validate_question(question, top_k)
        language = detect_language(question)
        passages, qvec, terms = self._passages(question, max(top_k, PASSAGES_READ))
        answer = Answer(question, language, False, None, 0.0, passages=passages[:top_k])
        if self.reader:
            found = self._read_span(question, passages)
        else:
            found = self._select_span(question, passages, qvec, terms, language)
        if found is not None:
            cited, answer.confidence, answer.signals = found
            if answer.confidence >= threshold:
                text = cited.quote
                if cited.answer_start is not None and cited.answer_end is not None:
                    text = cited.quote[cited.answer_start - cited.start : cited.answer_end - cited.start]
                answer.answered, answer.answer, answer.citations = True, text, [cited]
        answer.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer
