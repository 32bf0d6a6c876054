"""What kind of answer a question asks for, and the short span of that kind in a sentence.

"چه سالی ...؟" wants a year, "چند ...؟" a number, "how many" a number: the answer is then
a few words of the chosen sentence, not the sentence. This needs no model, so it shortens
answers whichever way the sentence was chosen (sentence selector or trained reader), and
it only ever picks words of the sentence, so the answer stays a quote.

Example:
    >>> answer_type("باشگاه در چه سالی تاسیس شد؟"), answer_type("How many titles has it won?")
    ('year', 'number')
"""

from __future__ import annotations

import re

from qa.text import Span, normalize

# Checked in order: the first kind whose pattern matches the (normalised) question wins.
_PERSIAN = (
    ("year", r"چه سال|کدام سال|کدوم سال|در سال چند|سال چند|چه قرنی|چه دهه"),
    (
        "date",
        r"چه زمانی|چه تاریخی|چه وقتی|چه روزی|چه ماهی|(?:^|\s)کی\s*(?:بود|شد|است|هست|ساخته|تاسیس|متولد|درگذشت|به دنیا)",
    ),
    ("number", r"(?:^|\s)چند(?:\s|$|م)|چقدر|چه تعداد|چه مقدار|چه اندازه|چه مساحتی|چه ارتفاعی|چه جمعیتی"),
    ("person", r"چه کسی|چه کسانی|چه شخصی|(?:^|\s)کیست|(?:^|\s)کیه|توسط چه کس|چه فردی"),
    ("place", r"(?:^|\s)کجا|در کدام شهر|در کدام کشور|کدام شهر|کدام کشور|کدام استان|چه شهری|چه کشوری"),
)
_ENGLISH = (
    ("year", r"\b(?:what|which|in what|in which) (?:year|century|decade)\b"),
    ("date", r"^\s*when\b|\bwhen (?:was|were|did|is|does)\b|\bwhat date\b|\bon what day\b"),
    (
        "number",
        r"\bhow (?:many|much|long|old|far|high|tall|big|large|deep|often)\b"
        r"|\bwhat (?:is the )?(?:number|population|area|height|length|size)\b",
    ),
    ("person", r"^\s*who\b|\bwho (?:is|was|were|did|founded|built|wrote)\b|\bwhom\b|\bwhich person\b"),
    (
        "place",
        r"^\s*where\b|\bwhere (?:is|was|are|were|did|does)\b"
        r"|\bin which (?:city|country|province)\b|\bwhich (?:city|country)\b",
    ),
)
_PATTERNS = tuple((kind, re.compile(p, re.I)) for kind, p in _PERSIAN + _ENGLISH)

_DIGITS = r"[0-9۰-۹٠-٩]"
_MONTHS = (
    r"فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند|ژانویه|فوریه|مارس|آوریل|مه|ژوئن|"
    r"ژوئیه|ژوئیه|اوت|سپتامبر|اکتبر|نوامبر|دسامبر|January|February|March|April|May|June|July|August|"
    r"September|October|November|December"
)
_ERA = r"(?:\s+(?:میلادی|شمسی|هجری(?:\s+(?:شمسی|قمری))?|قمری|پیش از میلاد|ق\.م|BC|AD|BCE|CE))?"
_YEAR = re.compile(rf"(?<![\w.]){_DIGITS}{{3,4}}(?:\s*[-–]\s*{_DIGITS}{{2,4}})?{_ERA}(?![\w])")
_DATE = re.compile(
    rf"(?:(?<![\w]){_DIGITS}{{1,2}}\s+)?(?:{_MONTHS})(?:\s+(?:سال\s+)?{_DIGITS}{{2,4}}{_ERA})?(?![\w])|{_YEAR.pattern}"
)
_NUMBER = re.compile(
    rf"(?:(?:بیش|کمتر|حدود|نزدیک|about|over|more than|nearly|around)\s+(?:از\s+)?)?"
    rf"(?<![\w.]){_DIGITS}+(?:[.,/٫٬]{_DIGITS}+)*(?:\s*(?:درصد|%|٪))?(?:\s+(?:هزار|میلیون|میلیارد|thousand|million|billion))?"
    rf"(?:\s+[^\s،,.;؛:!?؟()«»]+)?",
    re.I,
)
_NUMBER_WORDS = re.compile(
    r"(?<![\w])(?:یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|یازده|دوازده|بیست|سی|چهل|پنجاه|صد|هزار)"
    r"(?:\s+و\s+[^\s،,.]+)?(?:\s+[^\s،,.;؛:!?؟()«»]+)?(?![\w])"
)
_FINDERS = {"year": _YEAR, "date": _DATE, "number": _NUMBER}
TYPED_KINDS = frozenset(_FINDERS)  # the kinds a pattern can find in a sentence


def _candidates(kind: str, text: str) -> list[re.Match[str]]:
    """Spans of `kind` in a sentence; a number question skips years (1920 میلادی is a date)."""
    found = [m for m in _FINDERS[kind].finditer(text) if m.group().strip()]
    if kind == "number":
        years = [
            (m.start(), m.end())
            for m in _YEAR.finditer(text)
            if re.search(r"\D", m.group()[4:])
            or re.search(r"(?:سال|year|in)\s*$", text[max(0, m.start() - 6) : m.start()])
        ]
        found = [m for m in found if not any(s <= m.start() < e for s, e in years)]
        found += [m for m in _NUMBER_WORDS.finditer(text)]
    return found


def has_typed_span(kind: str, text: str) -> bool:
    """Whether a sentence holds a span of `kind` (one of TYPED_KINDS)."""
    return bool(_candidates(kind, text))


def answer_type(question: str) -> str | None:
    """The kind of answer asked for: year, date, number, person, place, or None."""
    folded = normalize(question)
    for kind, pattern in _PATTERNS:
        if pattern.search(folded) or pattern.search(question):
            return kind
    return None


def typed_span(sentence: Span, kind: str | None, question_keys: set[str], keys_of: object) -> Span | None:
    """The span of `kind` in the sentence nearest the question's words, or None when the
    kind has no pattern (person, place) or the sentence holds no such span.

    `keys_of` maps a text to its match keys (qa.answer's `_keys`), so nearness is measured
    against the same word matching the selector uses.
    """
    if kind not in _FINDERS:
        return None
    found = _candidates(kind, sentence.text)
    if not found:
        return None
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", sentence.text)]
    anchors = [s for s, e in words if keys_of(sentence.text[s:e]) & question_keys]  # type: ignore[operator]

    def distance(match: re.Match[str]) -> float:
        if not anchors:
            return 0.0
        return min(abs(match.start() - a) for a in anchors)

    best = min(found, key=distance)
    text = best.group().rstrip()
    start = sentence.start + best.start()
    return Span(start, start + len(text), text)
