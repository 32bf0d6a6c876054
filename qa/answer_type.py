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
from collections.abc import Callable

from qa.text import Span, normalize

# Checked in order: the first kind whose pattern matches the (normalised) question wins.
_PERSIAN = (
    # Spoken "کی" is "who" after a preposition ("توسط کی", "به دستور کی", "برای کی بود") and
    # before "بود"/"است", and "when" elsewhere ("کی ساخته شد"): checked before the dates.
    ("person", r"(?:توسط|دستور|پیشنهاد|به دست|برای|از طرف|با|مال)\s+کی(?:\s|$|[؟?])"),
    # "X کی بود؟" asks who X was ("معمار موزه کی بود", "پدر سیاوش کی بود"); of the 56 written
    # questions so phrased, 5 asked when (an event: "محاصره وین کی بود").
    ("person", r"(?:^|\s)کی\s*(?:بود|بودن|بودند|است|هست|بوده)(?:\s|$|[؟?])"),
    ("ordinal", r"چندمین|(?:^|\s)چندم(?:\s|$|[؟?])"),
    ("year", r"چه سال|کدام سال|کدوم سال|در سال چند|سال چند|چه قرنی|چه دهه"),
    (
        "date",
        r"چه زمانی|چه تاریخی|چه وقتی|چه روزی|چه ماهی|(?:^|\s)کی\s*(?:شد|ساخته|تاسیس|متولد|درگذشت|به دنیا)",
    ),
    ("number", r"(?:^|\s)چند(?:\s|$|م)|چقدر|چه تعداد|چه مقدار|چه اندازه|چه مساحتی|چه ارتفاعی|چه جمعیتی"),
    ("person", r"چه کسی|چه کسانی|چه شخصی|(?:^|\s)کیست|(?:^|\s)کیه|توسط چه کس|چه فردی"),
    ("place", r"(?:^|\s)کجا|در کدام شهر|در کدام کشور|کدام شهر|کدام کشور|کدام استان|چه شهری|چه کشوری"),
)
_ENGLISH = (
    ("ordinal", r"\bwhat (?:rank|place|position)\b|\bhow (?:high|low) (?:is|was) it ranked\b"),
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
# A month stands as a whole word ("دی", not the end of «سعودی»), maybe with its ezafe («فوریهٔ»)
# or "ماه" ("دی ماه ۱۳۵۷").
_DAY_MONTH = rf"(?:(?<![\w]){_DIGITS}{{1,2}}\s+)?(?<![\w])(?:{_MONTHS})\u0654?(?:\s+ماه)?"
# News dates an event by its weekday, by "yesterday" or "last week" («بامداد چهارشنبه»، «روز سه‌شنبه
# ۱۲ مهر»، «دیروز»، «هفته گذشته», "on Wednesday"), not by a calendar date: that answers "when" too.
_PART_OF_DAY = r"بامداد|صبح|ظهر|بعدازظهر|بعد از ظهر|عصر|غروب|شامگاه|شب|نیمه‌شب|روز"
_DAYS = (  # weekdays and days named from today
    r"(?:(?:یک|دو|سه|چهار|پنج)[\s\u200c]?)?شنبه|جمعه|دیروز|امروز|دیشب|امشب|پریروز|فردا|پس[\s\u200c]?فردا|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|(?i:yesterday|today|tonight|last night|tomorrow)"
)
# ... and weeks, months and years named from now («هفته گذشته»، «دو ماه پیش»، "last week", "three years ago").
_COUNT = rf"(?:{_DIGITS}+|یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|چند)"
_RELATIVE = (
    rf"(?:{_COUNT}\s+)?(?:روز|هفته|ماه|سال)\s+(?:گذشته|پیش|آینده|جاری|اخیر|قبل|آتی)"
    r"|(?i:(?:last|next|this|past|coming)\s+(?:week|month|year|weekend)|earlier this (?:week|month|year)"
    r"|(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|several|a few)\s+"
    r"(?:days?|weeks?|months?|years?)\s+ago)"
)
_WEEKDAY_DATE = (
    rf"(?<![\w\u200c])(?:(?:{_PART_OF_DAY})\s+)?(?:{_DAYS}|{_RELATIVE})"
    rf"(?:\s+{_DAY_MONTH}(?:\s+{_DIGITS}{{2,4}})?)?(?![\w\u200c])"
)
_DATE = re.compile(rf"{_DAY_MONTH}(?:\s+(?:سال\s+)?{_DIGITS}{{2,4}}{_ERA})?(?![\w])|{_YEAR.pattern}|{_WEEKDAY_DATE}")
_DAY_OF_MONTH = re.compile(rf"(?<![\w]){_DIGITS}{{1,2}}\s+(?:{_MONTHS})(?![\w])")
_SQUARE = r"(?:\s+(?:مربع|مکعب))?"  # "کیلومتر مربع": the unit's second word
_FIGURE = rf"{_DIGITS}+(?:[.,/٫٬]{_DIGITS}+)*"
_DIGIT_SCALES = r"هزار|میلیون|میلیارد|thousand|million|billion"
_NUMBER = re.compile(
    rf"(?:(?:بیش|کمتر|حدود|نزدیک|about|over|more than|nearly|around)\s+(?:از\s+)?)?"
    # a range ("۱۰ تا ۱۵ روز", "10-15 days"), a percentage
    rf"(?<![\w.]){_FIGURE}(?:\s*(?:تا|الی|-|–|to)\s*{_FIGURE})?(?:\s*(?:درصد|%|٪))?"
    # scales, chained by "و" ("۱۶ میلیون و ۳۸۴ هزار رای")
    rf"(?:\s+(?:{_DIGIT_SCALES})(?:\s+و\s+{_FIGURE}(?:\s+(?:{_DIGIT_SCALES}))?)*)?"
    rf"(?:\s+[^\s،,.;؛:!?؟()«»]+)?{_SQUARE}",
    re.I,
)
_LONE_ONE = re.compile(r"یک(?:\s+(?!و\s|هزار|میلیون|میلیارد)[^\s]+)?$")
# "سه شنبه", "پنج‌شنبه": weekday names open with a number word and are not numbers.
_WEEKDAY = re.compile(r"[\s\u200c]*شنبه")
_UNITS = (
    r"یک|دو|سه|چهار|پنج|شش|هفت|هشت|نه|ده|یازده|دوازده|سیزده|چهارده|پانزده|شانزده|هفده|هجده|نوزده|"
    r"بیست|سی|چهل|پنجاه|شصت|هفتاد|هشتاد|نود|صد|یکصد|دویست|سیصد|چهارصد|پانصد|ششصد|هفتصد|هشتصد|نهصد"
)
_SCALES = r"هزار|میلیون|میلیارد"
_NUMBER_WORD = rf"(?:{_UNITS}|{_SCALES})"
# "یک میلیون و چهارصد هزار متر مربع": number words joined by "و" or scales, then one word (the unit).
_NUMBER_WORDS = re.compile(
    rf"(?<![\w]){_NUMBER_WORD}(?:\s+(?:و\s+)?{_NUMBER_WORD})*(?![\w])(?:\s+[^\s،,.;؛:!?؟()«»]+)?{_SQUARE}"
)
# "هفتم", "ششمین", "سومین", "۲۱ام", "7th": what "چندمین" asks for.
_ORDINAL = re.compile(
    rf"(?<![\w])(?:(?:{_UNITS}|{_SCALES}|سو|نخست|اول)(?:\s+و\s+(?:{_UNITS}|سو))?(?:مین|م)"
    rf"|{_DIGITS}+\s*(?:مین|ام|امین|th|st|nd|rd)|نخستین|اولین|first|second|third)(?![\w])",
    re.I,
)
_FINDERS = {"year": _YEAR, "date": _DATE, "number": _NUMBER, "ordinal": _ORDINAL}
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
        years += [(m.start(), m.end()) for m in _DAY_OF_MONTH.finditer(text)]  # "۲۰ مه" is a date
        found = [m for m in found if not any(s <= m.start() < e for s, e in years)]
        digits = [(m.start(), m.end()) for m in found]
        # a number in words, unless it only repeats the unit after a number in digits ("۱۴ هزار"),
        # opens a weekday ("سه شنبه") or is a lone «یک»: "a", far more often than "one"
        found += [
            m
            for m in _NUMBER_WORDS.finditer(text)
            if not any(s <= m.start() < e for s, e in digits)
            and not _is_weekday(text, m)
            and not _LONE_ONE.match(m.group())
        ]
    return found


def _is_weekday(text: str, match: re.Match[str]) -> bool:
    """Whether a number-word match is a weekday's opening ("سه" of «سه شنبه»)."""
    first = re.match(rf"(?:{_UNITS})", match.group())
    return first is not None and bool(_WEEKDAY.match(text, match.start() + first.end()))


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


CONTEXT_BEFORE = 2  # words before a typed span that tell what it counts or dates
CONTEXT_AFTER = 4  # ... and after it ("۱۳ قهرمانی در لیگ قهرمانان اروپا")


_ENDS_CLAUSE = re.compile(r"([،,;؛:.!?؟)\]]|^و)$")
_Word = tuple[int, int, set[str], str]  # start, end, match keys, text


def _clause_context(words: list[_Word], first: int, last: int) -> list[_Word]:
    """The words around a typed span (words[first:last]) that tell what it counts or dates:
    up to CONTEXT_BEFORE before and CONTEXT_AFTER after it, within its clause or list item (a
    comma, a semicolon or a lone «و» ends what belongs to the span: in "۱۳ قهرمانی در لیگ برتر،
    ۱۴ قهرمانی در جام حذفی" the league is the 13's, not the 14's)."""
    before = first
    while before > max(0, first - CONTEXT_BEFORE) and not _ENDS_CLAUSE.search(words[before - 1][3]):
        before -= 1
    after = last
    while after < min(len(words), last + CONTEXT_AFTER) and not (after and _ENDS_CLAUSE.search(words[after - 1][3])):
        after += 1
    return words[before:after]


def typed_span(
    sentence: Span, kind: str | None, question_keys: set[str], keys_of: Callable[[str], set[str]]
) -> Span | None:
    """The span of `kind` in the sentence that the question's words stand around, or None
    when the kind has no pattern (person, place) or the sentence holds no such span.

    Each span is scored by the question words among the few words around it (what it counts
    or dates: "۱۳ قهرمانی در لیگ قهرمانان اروپا" for "چند بار در لیگ قهرمانان اروپا"), ties
    going to the span nearest a question word; a number the question itself states ("فاز ۱")
    is not its answer. `keys_of` maps a text to its match keys (qa.text.match_keys), so words
    are matched as the selector matches them.
    """
    if kind not in _FINDERS:
        return None
    found = _candidates(kind, sentence.text)
    if not found:
        return None
    words = [(m.start(), m.end(), keys_of(m.group()), m.group()) for m in re.finditer(r"\S+", sentence.text)]
    anchors = [start for start, _, word_keys, _ in words if word_keys & question_keys]
    own = [m for m in found if not (keys_of(m.group().split()[0]) & question_keys)]
    found = own or found

    def score(match: re.Match[str]) -> tuple[int, float]:
        first = next((i for i, (_, end, _, _) in enumerate(words) if end > match.start()), 0)
        last = next((i for i, (start, _, _, _) in enumerate(words) if start >= match.end()), len(words))
        around = _clause_context(words, first, last)
        held = set().union(*(word_keys & question_keys for _, _, word_keys, _ in around))
        nearest = min((abs(match.start() - a) for a in anchors), default=0)
        return -len(held), nearest

    best = min(found, key=score)
    text = best.group().rstrip()
    start = sentence.start + best.start()
    return Span(start, start + len(text), text)
