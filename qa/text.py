"""Persian and English text for *matching*: normalisation, tokens, sentences, language.

Everything here produces keys to compare, never text to show: the stored paragraph keeps
its raw characters so a citation's `start:end` always points at what the user sees.
hazm does the character-level unification (its tables, cached by `qa.hazm_data`); the
folds that hazm's own spacing and style passes get wrong on mixed text (URLs, decimals,
English) are done here instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from qa import hazm_data

ZWNJ = "\u200c"
_CHAR_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ك": "ک",
        "ة": "ه",
        "ۀ": "ه",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ـ": None,  # tatweel
        "\u200d": None,  # zero-width joiner
        "\u200e": None,  # left-to-right mark
        "\u200f": None,  # right-to-left mark
        "\ufeff": None,
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    }
)
_DIACRITICS = re.compile(r"[\u064b-\u065f\u0670\u06d6-\u06ed]")
# "می کند" / "می‌کند" / "میکند" -> "میکند"; "کتاب ها" -> "کتابها".
_VERB_PREFIX = re.compile(r"(?<![\w])(ن?می)[\s\u200c]+(?=[\u0600-\u06ff])")
_SUFFIX = re.compile(
    r"(?<=[\u0600-\u06ff])[\s\u200c]+(ها|های|هایی|هایم|هایت|هایش|هایمان|هایتان|هایشان|ترین|تر)(?![\w])"
)
_SPACES = re.compile(r"\s+")
_PERSIAN_LETTERS = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTERS = re.compile(r"[A-Za-z\u00c0-\u024f]")
_WORD = re.compile(r"\w+(?:[.,/]\d+)*", re.UNICODE)

# Question words hazm's list lacks: they say what is asked, never what a passage holds.
PERSIAN_QUESTION_WORDS = frozenset(
    ["کجا", "کجاست", "چیست", "چیه", "چی", "کی", "کدوم", "چندم", "چطور", "چطوری"]
    # their spoken forms, as people type questions ("کیه", "چقدره", "چه کسایی", "چجوری")
    + ["کیه", "کیا", "کسایی", "چیا", "چقدر", "چقدره", "چنده", "چندتا", "چندمین", "کدومه", "کدوما", "کدامیک"]
    + ["کجاییه", "کجایی", "کجاها", "چجوری", "چجور", "چطوریه", "مگه", "سالی", "زمانی"]
    # spoken verbs and words hazm lists only in their written forms (دارد, می‌شود, یک ...)
    + ["داره", "دارن", "میشه", "میشن", "میاد", "اومد", "اومده", "میکنه", "میکنن", "میگن", "میگه"]
    + ["هست", "هستن", "یه", "الان"]
)
ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "there",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "which",
        "into",
        "about",
        "than",
        "then",
        "them",
        "they",
        "he",
        "she",
        "his",
        "her",
        "you",
        "your",
        "we",
        "our",
        "not",
        "no",
    ]
)


def require_unicode(text: str, what: str) -> str:
    """The text, if it is valid Unicode (JSON can smuggle in lone surrogates like \\ud800)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        from qa.errors import InvalidInput

        raise InvalidInput(f"{what} contains invalid Unicode (a lone surrogate at {exc.start}).") from exc
    return text


@lru_cache(maxsize=1)
def _hazm_folds() -> tuple[dict[int, str], tuple[tuple[re.Pattern[str], str], ...]]:
    """hazm Normalizer's character table and its ligature replacements (ﷲ, ﻻ, ﷼ ...)."""
    data = hazm_data.load()
    return data.translation, tuple((re.compile(old), new) for old, new in data.replacements)


def normalize(text: str) -> str:
    """Fold the spellings of one word to one key, for matching only.

    Example:
        >>> normalize("مي‌كند ۲۰۲۰")
        'میکند 2020'
        >>> normalize("می کند") == normalize("میکند") == normalize("می\u200cکند")
        True
    """
    chars, replacements = _hazm_folds()
    text = unicodedata.normalize("NFKC", text).translate(chars)
    for pattern, replacement in replacements:
        text = pattern.sub(replacement, text)
    text = _DIACRITICS.sub("", text.translate(_CHAR_FOLD))
    text = _VERB_PREFIX.sub(r"\1", text)
    text = _SUFFIX.sub(r"\1", text)
    return _SPACES.sub(" ", text.replace(ZWNJ, "")).strip().lower()


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Persian (hazm's list, normalised) and English stop words."""
    persian = {normalize(w) for w in hazm_data.load().stopwords} | PERSIAN_QUESTION_WORDS
    return frozenset(persian) | ENGLISH_STOPWORDS


@lru_cache(maxsize=65536)
def _cached_tokens(text: str) -> tuple[str, ...]:
    stop = stopwords()
    return tuple(w for w in _WORD.findall(normalize(text)) if w not in stop and w != "_")


def tokens(text: str) -> list[str]:
    """The matching tokens of a text: normalised words without stop words or punctuation.

    One tokenizer serves indexing and queries, so both sides fold alike.

    Example:
        >>> tokens("تروریست‌ها در سوریه حمله می کنند")
        ['تروریستها', 'سوریه', 'حمله']
    """
    return list(_cached_tokens(text))


MATCH_PREFIX = 4  # words match on their first letters: کردند ~ کرده, capital ~ capitals


def match_key(term: str) -> str:
    """A crude stem for span matching (a token's first letters): Persian and English inflect at the end."""
    return term[:MATCH_PREFIX]


def match_keys(text: str) -> set[str]:
    """The match keys of a text's tokens: what an answer span is compared to its question by."""
    return {match_key(t) for t in tokens(text)}


def compound_terms(text: str, held: Callable[[list[str]], set[str]]) -> tuple[list[str], set[str]]:
    """Words a question writes apart that the corpus writes as one ("بین المللی" for «بین‌المللی»,
    "صلاح الدین", "سر دبیر"): the joined terms some paragraph holds (`held`: of some terms, those
    the corpus holds, asked once for all), and the question's
    terms that are only their parts (no paragraph holds them alone). People type a space where
    the text has a ZWNJ or nothing, and a part alone («المللی») matches nothing: it would count
    as the rarest question word the paragraph lacks.

    Two Persian words are joined when the second is a term and the first is one too or a part
    is held nowhere alone: «در ابتدا» is a preposition before a word, not a compound.

    Example:
        >>> compound_terms("فرودگاه بین المللی کجاست", lambda terms: {"بینالمللی", "فرودگاه"} & set(terms))
        (['بینالمللی'], {'المللی'})
    """
    words = [w for w in text.split() if _PERSIAN_LETTERS.search(w)]
    pairs = []  # (the first word's term or none, the second's, the joined term)
    for first, second in zip(words, words[1:], strict=False):
        head, tail = tokens(first), tokens(second)
        whole = tokens(first + "\u200c" + second)
        if len(head) <= 1 and len(tail) == 1 and len(whole) == 1 and whole[0] not in head + tail:
            pairs.append((head, tail, whole[0]))
    if not pairs:
        return [], set()
    known = held([t for head, tail, whole in pairs for t in (*head, *tail, whole)])
    joined: list[str] = []
    parts: set[str] = set()
    for head, tail, whole in pairs:
        alone = {t for t in head + tail if t not in known}
        if whole in known and (head or alone):
            joined.append(whole)
            parts |= alone
    return joined, parts


def script_counts(text: str) -> tuple[int, int]:
    """(Persian/Arabic-script letters, Latin letters) in a text."""
    return len(_PERSIAN_LETTERS.findall(text)), len(_LATIN_LETTERS.findall(text))


def detect_language(text: str) -> str:
    """'fa' for Persian script, 'en' for Latin script, 'unknown' with no letters.

    Example:
        >>> detect_language("پایتخت ژاپن کجاست؟"), detect_language("Where is Tokyo?")
        ('fa', 'en')
    """
    persian, latin = script_counts(text)
    if not persian and not latin:
        return "unknown"
    return "fa" if persian >= latin else "en"


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of a raw text: `text == source[start:end]`."""

    start: int
    end: int
    text: str


# A sentence ends at . ! ? ؟ (or a line break) followed by space; "3.14" and "U.S." stay whole.
# Scraped Persian text often drops the space after a full stop («حمله کردند.این عملیات»): a stop
# between a Persian word of three letters or more and a Persian letter ends a sentence too (not a
# digit: «۳.۵»; not a short word: the initials «جی.کی.»).
_PERSIAN_LETTER = "\u0621-\u063a\u0641-\u064a\u0671-\u06d3"
_SENTENCE_END = re.compile(
    rf"(?<=[.!?؟…])[\"'»)\]]*(\s+)|\n+|(?<=[{_PERSIAN_LETTER}]{{3}}[.!?؟])(?=[{_PERSIAN_LETTER}])"
)
# A period after initials ends no sentence: «جی.کی. رولینگ», "J. K. Rowling", "U.S. forces".
_INITIALS = re.compile(r"(?:^|\s)(?:(?:[^\W\d_]{1,2}\.){2,}|[A-Z]\.)$")
_CLAUSE_END = re.compile(r"(?<=[،,;؛:])\s+|\s+(?=[-–—]\s)")


def _spans(text: str, boundary: re.Pattern[str], offset: int = 0) -> list[Span]:
    spans, start = [], 0
    for match in boundary.finditer(text):
        # A boundary's group 1, when present, is the gap itself: what precedes stays.
        cut = match.start(1) if match.re.groups and match.group(1) is not None else match.start()
        spans.append((start, cut))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        piece = text[s:e]
        stripped = piece.strip()
        if not stripped:
            continue
        s += len(piece) - len(piece.lstrip())
        e = s + len(stripped)
        out.append(Span(offset + s, offset + e, stripped))
    return out


def sentences(text: str, start: int = 0) -> list[Span]:
    """Sentences of a raw paragraph from `start` on, with exact character offsets into `text`.

    Example:
        >>> [s.text for s in sentences("قیمت ۳.۵ درصد بالا رفت. چرا؟ نمی‌دانیم.")]
        ['قیمت ۳.۵ درصد بالا رفت.', 'چرا؟', 'نمی\u200cدانیم.']
        >>> [s.text for s in sentences("نوشتهٔ جی.کی. رولینگ است. J. K. Rowling wrote it.")]
        ['نوشتهٔ جی.کی. رولینگ است.', 'J. K. Rowling wrote it.']
    """
    out: list[Span] = []
    for span in _spans(text[start:], _SENTENCE_END, offset=start):
        if out and _INITIALS.search(out[-1].text) and "\n" not in text[out[-1].end : span.start]:
            out[-1] = Span(out[-1].start, span.end, text[out[-1].start : span.end])
        else:
            out.append(span)
    return out


def clauses(sentence: Span) -> list[Span]:
    """Clauses of a sentence (split at commas, semicolons, colons, dashes), offsets kept."""
    return _spans(sentence.text, _CLAUSE_END, offset=sentence.start)


def word_count(text: str) -> int:
    """Whitespace-separated words, the unit answer lengths are measured in."""
    return len(text.split())
