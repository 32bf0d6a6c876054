"""A question searched in the other language's words too (qa.align), with the bundled
multilingual model: an English question's content words are matched to the Persian words they
mean (and a Persian question's to English ones), a word without a match and the question words
are not, each word is embedded once, the service's search finds a Persian passage for an English
question by those words (BM25) and leaves a Persian question over Persian text alone, a
passage in the other language than the question's gets the cross-language offset, and its
sentences compete with the question's own language's on one scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_service

from embeddings.e5 import E5Embedder
from qa import answer
from qa.align import MIN_Z, Alignment, WordAligner, alignment_target, latin_words, persian_words
from qa.service import QAService

# A passage of the size the selector reads (a match must stand out from the others' words).
LEAGUE = (
    "تیم استقلال در سال ۱۳۹۰ قهرمان لیگ برتر فوتبال ایران شد و جام را به پایتخت برد. "
    "این باشگاه که در دهه چهل خورشیدی با نام تاج بنیان گذاشته شد، ورزشگاه آزادی را خانه خود می‌داند "
    "و هواداران بسیاری در شهرهای شمالی کشور دارد. مربی آن زمان پیش از آن در آلمان بازیکن بود "
    "و روزنامه‌های ورزشی او را چهره سال نامیدند."
)


@pytest.fixture(scope="module")
def aligner(embedder: E5Embedder) -> WordAligner:
    return WordAligner(embedder.embed_queries, embedder.embed_passages)


def test_content_words_leave_out_question_and_stop_words() -> None:
    assert latin_words("How many titles has Real Madrid won?") == ["titles", "Real", "Madrid", "won"]
    assert latin_words("What is it?") == []
    assert latin_words("Where is «تیم» from?") == [], "Persian words are not Latin ones"
    assert persian_words(["کدام تیم قهرمان شد؟"]) == ["تیم", "قهرمان"]


def test_persian_words_are_the_texts_words_as_written_without_stop_words() -> None:
    words = persian_words(["این تیم‌ها در لیگ بازی می‌کنند.", "تیم‌ها"])
    assert "تیم‌ها" in words and "لیگ" in words
    assert words.count("تیم‌ها") == 1
    assert "در" not in words and "این" not in words


def test_english_words_are_matched_to_the_persian_words_they_mean(aligner: WordAligner) -> None:
    alignment = aligner.align("Which team won the football league?", [LEAGUE])
    pairs = {word: match for word, match, _ in alignment.pairs}
    assert pairs.get("team") == "تیم"
    assert pairs.get("football") == "فوتبال"
    assert all(z >= MIN_Z for _, _, z in alignment.pairs)
    assert {"تیم", "فوتبال"} <= set(alignment.matches())
    assert "which" not in pairs and "Which" not in pairs, "question words type the answer: never matched"


def test_a_word_the_text_has_no_match_for_is_not_matched(aligner: WordAligner) -> None:
    alignment = aligner.align("Which penguin won the football league?", [LEAGUE])
    assert "penguin" not in {word for word, _, _ in alignment.pairs}
    assert "فوتبال" in alignment.matches()


def test_nothing_to_align_against_matches_nothing(aligner: WordAligner) -> None:
    assert aligner.align("Which team won?", ["no Persian here"]).pairs == ()
    assert aligner.align("What is it?", [LEAGUE]).pairs == ()


def test_each_word_is_embedded_once(embedder: E5Embedder) -> None:
    seen: list[str] = []

    def counted(words: list[str]) -> np.ndarray:
        seen.extend(words)
        return embedder.embed_passages(words)

    aligner = WordAligner(embedder.embed_queries, counted)
    aligner.align("Which team won the league?", [LEAGUE])
    first = len(seen)
    assert first == len(set(seen)) > 0
    aligner.align("Which team won the cup?", [LEAGUE, "جام"])
    assert len(seen) == first, "the passages' words were cached"


ENGLISH = (
    "The Zayandeh River rises in the Zagros Mountains and flows east through the city of Isfahan "
    "before it ends in the Gavkhouni wetland. Historic bridges such as Khaju and Si-o-se-pol cross it; "
    "they were built under the Safavid dynasty. In years of drought its water is diverted to farms and "
    "to other provinces, and its bed stays dry for most months, which farmers east of the city have "
    "protested many times."
)


def test_a_question_is_matched_into_the_other_language_of_its_passages() -> None:
    assert alignment_target("en", [LEAGUE]) == "fa"
    assert alignment_target("en", [ENGLISH, LEAGUE]) == "fa", "a mixed corpus: its Persian part"
    assert alignment_target("en", [ENGLISH]) is None
    assert alignment_target("fa", [LEAGUE]) is None
    assert alignment_target("fa", [LEAGUE, ENGLISH]) == "en"
    assert alignment_target("fa", [LEAGUE + " (AFC)"]) is None, "a Latin name in Persian text is no English passage"
    assert alignment_target("en", []) is None


def test_persian_words_are_matched_to_the_english_words_they_mean(aligner: WordAligner) -> None:
    question = "پل‌های تاریخی این رودخانه در دوره کدام سلسله ساخته شدند؟"
    alignment = aligner.align(question, [ENGLISH, LEAGUE], "en")
    pairs = {word: match for word, match, _ in alignment.pairs}
    assert pairs.get("تاریخی") == "Historic"
    assert pairs.get("ساخته") == "built"
    assert set(pairs.values()) <= set(latin_words(ENGLISH)), "only the English passage's words"
    assert "کدام" not in pairs


ZAYANDEH = (
    "زاینده‌رود بزرگ‌ترین رودخانه فلات مرکزی ایران است و از کوه‌های زاگرس سرچشمه می‌گیرد. "
    "این رود پس از گذشتن از شهر اصفهان به تالاب گاوخونی می‌ریزد. "
    "پل خواجو و سی‌وسه‌پل از پل‌های تاریخی روی این رودخانه هستند که در دوره صفوی ساخته شدند. "
    "در سال‌های خشکسالی آب رودخانه برای کشاورزی و آشامیدن به شهرهای دیگر منتقل شده و بستر آن "
    "بیشتر ماه‌های سال خشک مانده است. کشاورزان شرق اصفهان بارها به کم‌آبی اعتراض کرده‌اند."
)


def lexical_scores(service: QAService, question: str) -> dict[str, float]:
    return {p.paragraph.doc_id: p.lexical for p in service.search(question, top_k=5)}


def test_an_english_question_is_searched_by_the_persian_words_it_means(empty_service: QAService) -> None:
    empty_service.ingest_text(ZAYANDEH, doc_id="zayandeh", title="زاینده‌رود")
    empty_service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
    question = "Which team won the football league?"
    assert lexical_scores(empty_service, question)["league"] > 0, "BM25 found the passage by its Persian words"
    empty_service.settings.align_passages = 0
    assert lexical_scores(empty_service, question)["league"] == 0, "without the matching BM25 has no English word"


BAALBEK = (
    "صلاح‌الدین در تکریت به دنیا آمد و یک سال بعد خانواده‌اش به بعلبک در لبنان امروزی رفتند، "
    "جایی که پدرش حاکم شهر شد. او در کودکی قرآن و علوم دینی آموخت و بعدها به دمشق رفت."
)


def test_an_english_question_is_searched_by_the_persian_spelling_of_the_names_it_writes(
    empty_service: QAService,
) -> None:
    empty_service.ingest_text(BAALBEK, doc_id="saladin", title="صلاح‌الدین")
    empty_service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
    # No word matched by meaning: what BM25 finds, it finds by the name's spelling (qa.transliterate).
    empty_service.answerer.aligner.align = lambda question, texts, target="fa": Alignment(())  # type: ignore[method-assign]
    scores = lexical_scores(empty_service, "Where is Baalbek located?")
    assert scores["saladin"] > 0 and scores["league"] == 0
    assert lexical_scores(empty_service, "Where was Saladin's father the ruler?")["saladin"] > 0
    assert lexical_scores(empty_service, "Where is the stadium located?")["saladin"] == 0, "no name, nothing spelled"


def test_a_name_is_searched_by_its_spelling_anywhere_in_a_small_corpus(empty_service: QAService) -> None:
    empty_service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
    empty_service.ingest_text(ZAYANDEH, doc_id="zayandeh", title="زاینده‌رود")
    empty_service.ingest_text(BAALBEK, doc_id="saladin", title="صلاح‌الدین")
    empty_service.answerer.aligner.align = lambda question, texts, target="fa": Alignment(())  # type: ignore[method-assign]
    settings = empty_service.settings
    settings.lexicon = False  # which lists «بعلبک» for "Baalbek": this is about spellings
    question = "Which river does Baalbek stand on?"
    settings.align_passages = 0
    assert empty_service.search(question, top_k=1)[0].paragraph.doc_id != "saladin", "the model does not know it"
    settings.align_passages = 1  # so only that passage's words are looked into
    assert lexical_scores(empty_service, question)["saladin"] > 0, "found by «بعلبک» in the whole corpus"
    settings.spelling_passages = 2  # fewer than the corpus holds: the best passage's words only
    assert lexical_scores(empty_service, question)["saladin"] == 0


def test_the_spelling_index_follows_the_corpus_and_its_limit(empty_service: QAService) -> None:
    answerer = empty_service.answerer
    empty_service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
    index = answerer.spelling_index()
    assert index is not None and index.spellings("Where is Baalbek?", frozenset()) == []
    empty_service.ingest_text(BAALBEK, doc_id="saladin", title="صلاح‌الدین")
    index = answerer.spelling_index()
    assert index is not None and index.spellings("Where is Baalbek?", frozenset()) == ["بعلبک"], "read again"
    empty_service.settings.spelling_passages = 1
    empty_service.ingest_text(ZAYANDEH, doc_id="zayandeh", title="زاینده‌رود")
    assert answerer.spelling_index() is None, "more paragraphs than QA_SPELLING_PASSAGES"
    empty_service.settings.spelling_passages = 0
    assert answerer.spelling_index() is None, "off"


def test_a_persian_question_over_persian_text_is_searched_by_its_own_words(empty_service: QAService) -> None:
    empty_service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
    aligner = empty_service.answerer.aligner
    real = aligner.align
    calls: list[str] = []

    def recorded(question: str, texts: list[str], target: str = "fa") -> Alignment:
        calls.append(question)
        return real(question, texts, target)

    aligner.align = recorded  # type: ignore[method-assign]
    assert empty_service.search("کدام تیم قهرمان لیگ شد؟")[0].paragraph.doc_id == "league"
    assert calls == []
    empty_service.search("Which team won the league?")
    assert calls == ["Which team won the league?"]


def test_a_passage_in_the_other_language_gets_the_offset(empty_service: QAService) -> None:
    empty_service.ingest_text(ZAYANDEH, doc_id="zayandeh-fa", title="زاینده‌رود")
    empty_service.ingest_text(ENGLISH, doc_id="zayandeh-en", title="Zayandeh River")
    settings = empty_service.settings
    settings.align_passages = 0
    for question, other in (
        ("Where does the Zayandeh River end?", "zayandeh-fa"),
        ("زاینده‌رود به کجا می‌ریزد؟", "zayandeh-en"),
    ):
        settings.cross_language_offset = 0.0
        before = {p.paragraph.doc_id: p.score for p in empty_service.search(question)}
        settings.cross_language_offset = 0.2
        after = {p.paragraph.doc_id: p.score for p in empty_service.search(question)}
        assert after[other] == pytest.approx(before[other] + 0.2), question
        (same,) = set(before) - {other}
        assert after[same] == pytest.approx(before[same]), question
        assert list(after.values()) == sorted(after.values(), reverse=True), "best first, the offset counted"


def test_a_persian_question_is_matched_into_every_english_word_of_the_corpus(empty_service: QAService) -> None:
    # The Persian paragraph on the same river ranks first, so with one passage read the English
    # one is not among the first search's best: only the corpus's vocabulary can match into it.
    empty_service.ingest_text(ZAYANDEH, doc_id="zayandeh-fa", title="زاینده‌رود")
    empty_service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
    empty_service.ingest_text(ENGLISH, doc_id="zayandeh-en", title="Zayandeh River")
    settings = empty_service.settings
    settings.align_passages = 1
    question = "پل‌های تاریخی این رودخانه در دوره کدام سلسله ساخته شدند؟"
    assert empty_service.search(question, top_k=1)[0].paragraph.doc_id == "zayandeh-fa"
    assert lexical_scores(empty_service, question)["zayandeh-en"] > 0, "BM25 found it by «تاریخی» ~ Historic ..."
    settings.align_vocabulary = 0
    assert lexical_scores(empty_service, question)["zayandeh-en"] == 0, "its passages' words alone: none English"


def test_the_vocabulary_follows_the_corpus_and_its_limit(empty_service: QAService) -> None:
    answerer = empty_service.answerer
    empty_service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
    assert answerer.english_vocabulary() is None, "no English text, nothing to match into"
    empty_service.ingest_text(ENGLISH, doc_id="zayandeh-en", title="Zayandeh River")
    vocabulary = answerer.english_vocabulary()
    assert vocabulary is not None and "Historic" in vocabulary.words
    assert vocabulary.vectors.shape == (len(vocabulary.words), empty_service.embedding.embedder.dim)
    assert "Penguins" not in vocabulary.words
    empty_service.ingest_text("Penguins live in the cold south and cannot fly at all.", doc_id="penguins")
    vocabulary = answerer.english_vocabulary()
    assert vocabulary is not None and "Penguins" in vocabulary.words, "read again after a write"
    empty_service.settings.align_vocabulary = len(vocabulary.words)
    empty_service.ingest_text("Albatrosses glide over the ocean for days.", doc_id="albatross")
    assert answerer.english_vocabulary() is None, "more words than QA_ALIGN_VOCABULARY: the passages' words only"


GOLESTAN = (
    "کاخ گلستان در مرکز شهر تهران قرار دارد و از بناهای دوره قاجار است. "
    "این کاخ در سال ۲۰۱۳ در فهرست میراث جهانی یونسکو ثبت شد."
)


def test_sentences_of_both_languages_compete_on_one_scale(
    tmp_path: Path, embedder: E5Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The model scores a Persian question lower against English text than against Persian text of
    # the same meaning: without the offset the selector's Persian sentences win on form. (The
    # trained reader, which reads question and sentence together, is off: it would hide the scale.)
    selector = make_service(tmp_path / "selector", embedder, reader="off")
    default = make_service(tmp_path / "default", embedder)
    for service in (selector, default):
        service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
        service.ingest_text(GOLESTAN, doc_id="golestan", title="کاخ گلستان")
        service.ingest_text(ENGLISH, doc_id="zayandeh-en", title="Zayandeh River")
    question = "کشاورزان شرق اصفهان به چه چیزی اعتراض کرده‌اند؟"
    bridges = "پل‌های تاریخی زاینده‌رود در دوره کدام سلسله ساخته شدند؟"
    asked = {}
    for offset in (0.0, answer.CROSS_LANGUAGE_COSINE):  # the shipped offset last: it stays for the rest
        monkeypatch.setattr(answer, "CROSS_LANGUAGE_COSINE", offset)
        asked[offset] = [selector.ask(q, min_confidence=0) for q in (question, bridges)]
    (farmers_before, built_before), (farmers, built) = asked.values()
    assert farmers_before.citations[0].doc_id == "league", "the Persian sentence won on form"
    assert farmers.citations[0].doc_id == "zayandeh-en"
    assert "Safavid" in built.answer and built.confidence > built_before.confidence
    assert built.signals["missing_word"] == 0, "English text lacks every Persian word: no sign of a missing fact"
    dated = selector.ask("پل‌های تاریخی زاینده‌رود در سال ۱۳۵۰ در دوره کدام سلسله ساخته شدند؟", min_confidence=0)
    assert dated.citations[0].doc_id == "zayandeh-en"
    assert dated.signals["missing_word"] > 0, "but a number it lacks is one"
    assert default.ask(question, min_confidence=0).citations[0].doc_id == "zayandeh-en", "and with the reader"
