"""Answer typing: what a question word asks for, and the short span of that kind the answer
becomes, inside the sentence and at its exact offsets."""

from __future__ import annotations

import pytest

from qa.answer_type import answer_type, typed_span
from qa.text import Span, match_keys, tokens


def typed(question: str, sentence: str) -> str | None:
    keys = {k for term in tokens(question) for k in match_keys(term)}
    span = typed_span(Span(10, 10 + len(sentence), sentence), answer_type(question), keys, match_keys)
    if span is None:
        return None
    assert sentence[span.start - 10 : span.end - 10] == span.text, "the span is the sentence's own text"
    return span.text


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("باشگاه در چه سالی تاسیس شد؟", "year"),
        ("والیبال کی ساخته شد؟", "date"),
        ("والیبال توسط کی ساخته شد؟", "person"),  # spoken کی after a preposition is "who"
        ("باشگاه به دستور کی ساخته شد؟", "person"),
        ("کاخ برای کی بود؟", "person"),
        ("معمار ساختمان موزه کی بود؟", "person"),  # "X کی بود" asks who X was
        ("کتابخانه کی تاسیس شد؟", "date"),
        ("چند نفر در این حادثه کشته شدند؟", "number"),
        ("آرسنال چندمین باشگاه با ارزش جهان است؟", "ordinal"),
        ("نویسنده کتاب کیست؟", "person"),
        ("محل زندگی قورباغه کجاست؟", "place"),
        ("How many titles has it won?", "number"),
        ("Who wrote the book?", "person"),
        ("When was the airport opened?", "date"),
        ("What is the capital of Iran?", None),
    ],
)
def test_the_question_word_says_what_is_asked(question: str, kind: str | None) -> None:
    assert answer_type(question) == kind


def test_the_number_the_question_words_stand_around_is_chosen() -> None:
    sentence = (
        "آن‌ها دارای رکورد ۳۴ بار قهرمانی در لالیگا، ۱۰ سوپرکاپ اسپانیا، ۱۳ قهرمانی در لیگ قهرمانان "
        "اروپا، ۴ سوپرکاپ اروپا و ۴ قهرمانی در جام باشگاه‌های جهان هستند."
    )
    assert typed("رئال مادرید چند بار در لیگ قهرمانان اروپا قهرمان شده؟", sentence) == "۱۳ قهرمانی"


def test_a_number_takes_its_words_from_its_own_clause_or_list_item() -> None:
    sentence = (
        "آرسنال موفق به کسب ۱۳ عنوان قهرمانی در لیگ برتر انگلستان، ۱۴ قهرمانی در جام حذفی فوتبال "
        "انگلستان ، ۱۶ قهرمانی در جام خیریه انگلستان و دو قهرمانی در جام اتحادیه فوتبال انگلستان شده‌است."
    )
    # «انگلستان،» before the 14 and «انگلستان و» before the two close the 13's and the 16's items
    assert typed("آرسنال چند قهرمانی در لیگ برتر انگلیس داره؟", sentence) == "۱۳ عنوان"


def test_a_number_the_question_states_is_not_its_answer() -> None:
    sentence = "فاز ۱ فرودگاه ظرفیت جابجایی ۶/۵ میلیون مسافر را دارد."
    assert typed("فاز ۱ فرودگاه چقدر ظرفیت جابجایی داره؟", sentence) == "۶/۵ میلیون مسافر"


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        ("زمین فرودگاه چند هکتاره؟", "این فرودگاه در زمینی ۱۴ هزار هکتاری ساخته شده است.", "۱۴ هزار هکتاری"),
        (
            "زمین فرودگاه چند متره؟",
            "مساحت آن یک میلیون و چهارصد هزار متر مربع است.",
            "یک میلیون و چهارصد هزار متر مربع",
        ),
        ("مساحت واتیکان چقدر است؟", "مساحت آن حدود ۰٫۴۴ کیلومتر مربع است.", "حدود ۰٫۴۴ کیلومتر مربع"),
        ("آرسنال چندمین باشگاه جهان است؟", "ارزش آن ۲٬۳ میلیارد دلار است و هفتم جهان است.", "هفتم"),
        ("والیبال چندمین ورزش جهان است؟", "والیبال یک ورزش است و ششمین ورزش محبوب جهان است.", "ششمین"),
        ("علائم چند روز بعد ظاهر میشه؟", "علائم ۱۰ تا ۱۵ روز پس از نیش پشه ظاهر می‌شود.", "۱۰ تا ۱۵ روز"),
        ("پزشکیان چند رای آورد؟", "پزشکیان با ۱۶ میلیون و ۳۸۴ هزار رای برنده شد.", "۱۶ میلیون و ۳۸۴ هزار رای"),
        ("شاخص آلودگی هوا چند بود؟", "شاخص آلودگی هوای تهران امروز سه شنبه ۱۷۸ بود.", "۱۷۸ بود"),
        ("چند نفر آمدند؟", "روز سه‌شنبه سه نفر آمدند.", "سه نفر"),
        ("صفحه شطرنج چند خانه دارد؟", "شطرنج یک بازی فکری روی صفحه‌ای با ۶۴ خانه است.", "۶۴ خانه"),  # «یک» is "a"
        ("ایران چقدر عسل تولید میکنه؟", "همزمان با ۲۰ مه، تولید عسل ایران ۱۲۰ هزار تن است.", "۱۲۰ هزار تن"),
        ("عهدنامه چه تاریخی امضا شد؟", "این عهدنامه در ۲۲ فوریهٔ ۱۸۲۸ امضا شد.", "۲۲ فوریهٔ ۱۸۲۸"),
        ("انقلاب چه زمانی بود؟", "انقلاب در دی ماه ۱۳۵۷ بود.", "دی ماه ۱۳۵۷"),
        ("اوپک کی تاسیس شد؟", "اوپک را ایران، عراق، کویت، عربستان سعودی و ونزوئلا تأسیس کردند.", None),
        # news dates an event by its weekday or by "yesterday"
        ("حمله از چه زمانی آغاز شد؟", "گروه‌های تروریستی از بامداد چهارشنبه حمله کردند.", "بامداد چهارشنبه"),
        ("جلسه چه روزی برگزار شد؟", "جلسه روز سه‌شنبه ۱۲ مهر در تهران برگزار شد.", "روز سه‌شنبه ۱۲ مهر"),
        ("When did the attack begin?", "The attack began on Wednesday near the city.", "Wednesday"),
        ("وزیر چه زمانی به بغداد رفت؟", "وزیر خارجه دیروز به بغداد رفت.", "دیروز"),
        ("بعلبک کی ساخته شد؟", "بعلبک شهری در لبنان امروزی است.", None),  # «امروزی» is "modern", not a day
        # ... or by weeks, months and years counted from now
        ("توافق چه زمانی امضا شد؟", "این توافق هفته گذشته در آستانه امضا شد.", "هفته گذشته"),
        ("سد چه زمانی افتتاح شد؟", "سد دو ماه پیش با حضور وزیر افتتاح شد.", "دو ماه پیش"),
        ("When was the deal signed?", "The deal was signed last week in Astana.", "last week"),
        ("When did the company close?", "The company closed three years ago after a strike.", "three years ago"),
        ("وزیر چه زمانی استعفا داد؟", "وزیر در سال گذشته میلادی دو بار به پاریس سفر کرد.", "سال گذشته"),
        ("جنگ کی شروع شد؟", "این جنگ در گذشته‌ای دور آغاز شد.", None),  # «گذشته» alone dates nothing
    ],
)
def test_the_typed_span_is_the_whole_number_or_date(question: str, sentence: str, answer: str | None) -> None:
    assert typed(question, sentence) == answer


def test_a_who_question_gets_no_year() -> None:
    assert typed("والیبال توسط کی ساخته شد؟", "والیبال در سال ۱۸۹۵ توسط ویلیام مورگان ساخته شد.") is None
