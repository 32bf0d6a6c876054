"""Blocks of a page labelled body, heading or furniture: the real seed pages block by block,
pages written here in the shapes of six other news sites (each kind of site furniture),
HTML through trafilatura, and the property that adding furniture around an article never
drops a paragraph of its body.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest import PreparedDocument, prepare, read_bytes
from qa.ingest.blocks import BODY, FURNITURE, HEADING
from qa.models import SourceDocument
from qa.settings import REPO_ROOT

SEEDS = REPO_ROOT / "seeds"
MAX_WORDS = 180


def page(text: str, name: str = "page.txt", **options: object) -> PreparedDocument:
    """A page as ingest prepares it (read as a file of that name, without embedding)."""
    [doc] = read_bytes(text.encode(), name)
    return prepare(doc, MAX_WORDS, fallback_id=Path(name).stem, **options)


def labels(doc: PreparedDocument) -> dict[str, tuple[str, str]]:
    return {b.text: (b.label, b.reason) for b in doc.blocks}


def assert_labels(doc: PreparedDocument, expected: dict[str, tuple[str, str]]) -> None:
    """Each block has its expected label and a reason that says why (a fragment of it)."""
    found = labels(doc)
    for text, (label, why) in expected.items():
        assert text in found, f"no block {text!r}"
        got, reason = found[text]
        assert (got, why in reason) == (label, True), f"{text!r}: {got} ({reason}), expected {label} ({why})"


def assert_citable(doc: PreparedDocument, body: list[str]) -> None:
    """The stored paragraphs are exactly the article's body, in order; nothing else is citable."""
    assert [p.citable for p in doc.clean] == body


# -- the real seeds, block by block ---------------------------------------------------------------

SEED_BLOCKS = {
    "000_f690af9dd8b06e27.txt": {
        "- نویسنده :": (FURNITURE, "a label with no value"),
        "- منبع :": (FURNITURE, "a label with no value"),
        "https://19dey.com/news/82828": (FURNITURE, "URL"),
    },
    "002_8389060196ed8413.txt": {
        "صفحه اصلی / بین الملل / السودانی در گفتگو با اسد: از ثبات و تمامیت ارضی سوریه حمایت میکنیم": (
            FURNITURE,
            "breadcrumb",
        ),
        "بشار اسد، رئیس جمهور سوریه": (FURNITURE, "caption"),
        "السودانی در گفتگو با اسد: از ثبات و تمامیت ارضی سوریه حمایت میکنیم": (HEADING, "headline"),
        "دیدار بشار اسد و محمد شیاع السودانی در نشست مشترک مبارزه با تروریسم": (FURNITURE, "caption"),
        "گفتگوی رهبران سوریه و عراق": (HEADING, "section heading"),
        "تاکید بر همکاریهای امنیتی": (HEADING, "section heading"),
        "حملات اخیر و نقض آتشبس": (HEADING, "section heading"),
        "خبرهای دیگر": (FURNITURE, "opens a related news section"),
        "آزادی ایدان الکساندر گروگان آمریکایی از غزه": (FURNITURE, "related news section"),
        "ایدان الکساندر، اسیر اسرائیلی": (FURNITURE, "caption"),
        "ترامپ در حال امضای قرارداد تجاری با رهبران کشورهای خلیج فارس": (FURNITURE, "related news section"),
        "دونالد ترامپ، رئیس جمهور آمریکا": (FURNITURE, "caption"),
        "دیدار رسمی پوتین و مقامات ایران در تهران": (FURNITURE, "related news section"),
        "ولادیمیر پوتین، رئیس جمهور روسیه": (FURNITURE, "caption"),
        "توافق چین و آمریکا برای کاهش تعرفههای تجاری در مذاکرات ژنو": (FURNITURE, "related news section"),
        "دونالد ترامپ، رئیس جمهور آمزیکا": (FURNITURE, "caption"),
        'عضو خبرنامه "ایران من" شوید': (FURNITURE, "opens a newsletter section"),
        "خبرنامه هفتگی": (FURNITURE, "newsletter"),
        "آخرین اخبار مهم ایران و جهان را برای شما ارسال خواهیم کرد": (FURNITURE, "newsletter section"),
        "عضویت": (FURNITURE, "newsletter section"),
        "آخرین اخبار ایران و جهان": (FURNITURE, "related news"),
    },
}


@pytest.mark.parametrize("name", sorted(SEED_BLOCKS))
def test_each_non_body_block_of_the_seeds_has_its_label(name: str) -> None:
    doc = page((SEEDS / name).read_text(encoding="utf-8"), name)
    assert_labels(doc, SEED_BLOCKS[name])
    citable = "\n".join(doc.paragraphs)
    for text, (label, _) in SEED_BLOCKS[name].items():
        assert label != BODY and text not in doc.paragraphs
        if not text.startswith("صفحه اصلی"):  # the breadcrumb ends with the headline
            assert all(text not in p for p in doc.paragraphs), f"{text!r} is inside a stored paragraph"
    assert "خبرنامه" not in citable and "نویسنده" not in citable


def test_every_other_block_of_the_seeds_is_body() -> None:
    for name, expected in SEED_BLOCKS.items():
        doc = page((SEEDS / name).read_text(encoding="utf-8"), name)
        others = [b for b in doc.blocks if b.text not in expected]
        assert others and all(b.label == BODY for b in others), name


def test_seed_titles_are_headlines_never_a_breadcrumb_or_file_name() -> None:
    first = page((SEEDS / "000_f690af9dd8b06e27.txt").read_text(encoding="utf-8"), "000_f690af9dd8b06e27.txt")
    second = page((SEEDS / "002_8389060196ed8413.txt").read_text(encoding="utf-8"), "002_8389060196ed8413.txt")
    assert second.title == "السودانی در گفتگو با اسد: از ثبات و تمامیت ارضی سوریه حمایت میکنیم"
    # No headline line on the first page: its lead, behind the site's tag, is the best there is.
    assert first.title == (
        "دفتر ریاست جمهوری سوریه از گفتگوی تلفنی بشار اسد و مسعود پزشکیان درباره آخرین تحولات این کشور خبر داد"
    )


def test_body_under_a_heading_carries_it_as_its_section() -> None:
    doc = page((SEEDS / "002_8389060196ed8413.txt").read_text(encoding="utf-8"), "002.txt")

    def section_of(opening: str) -> str:
        return next(p.section for p in doc.clean if p.citable.startswith(opening))

    assert section_of("به گزارش ایران من") == "گفتگوی رهبران سوریه و عراق"
    assert section_of("نخست وزیر عراق") == "تاکید بر همکاریهای امنیتی"
    assert section_of("سه منطقه در سال ۲۰۱۸") == "حملات اخیر و نقض آتشبس"
    assert section_of("رهبران سوریه و عراق") == "", "the lead stands under the headline, not a section"


# -- six other news sites, in the shapes their pages take -------------------------------------------

AGENCY = """سیاسی
۱۴۰۳/۰۹/۱۲ - ۱۴:۳۵
کد خبر: ۸۴۶۱۲۳۴۵
وزیر امور خارجه در سفر به بغداد با همتای عراقی خود دیدار کرد
تهران- ایرنا- وزیر امور خارجه کشورمان صبح امروز برای دیداری دو روزه وارد بغداد شد و با همتای عراقی خود درباره همکاری‌های منطقه‌ای گفتگو کرد.
دو طرف در این دیدار بر گسترش روابط اقتصادی و تکمیل خط ریلی شلمچه به بصره تاکید کردند.
محورهای گفتگو
به گفته سخنگوی وزارت خارجه، امنیت مرزها و بازگشت زائران اربعین از محورهای اصلی گفتگو بود.
برچسب‌ها: عراق، وزارت خارجه، بغداد
اشتراک گذاری
تلگرام
واتساپ
"""  # noqa: E501 (a page's lines as the site prints them)


def test_an_agency_page_drops_its_stamp_id_tags_and_share_row() -> None:
    doc = page(AGENCY, "agency.txt")
    assert doc.title == "وزیر امور خارجه در سفر به بغداد با همتای عراقی خود دیدار کرد"
    assert_citable(
        doc,
        [
            "وزیر امور خارجه کشورمان صبح امروز برای دیداری دو روزه وارد بغداد شد و با همتای عراقی خود درباره "
            "همکاری‌های منطقه‌ای گفتگو کرد.",
            "دو طرف در این دیدار بر گسترش روابط اقتصادی و تکمیل خط ریلی شلمچه به بصره تاکید کردند.",
            "به گفته سخنگوی وزارت خارجه، امنیت مرزها و بازگشت زائران اربعین از محورهای اصلی گفتگو بود.",
        ],
    )
    assert doc.clean[0].text.startswith("تهران- ایرنا- "), "the dateline stays in the stored text"
    assert doc.clean[2].section == "محورهای گفتگو"
    assert_labels(
        doc,
        {
            "سیاسی": (FURNITURE, "page header"),
            "۱۴۰۳/۰۹/۱۲ - ۱۴:۳۵": (FURNITURE, "digits and symbols"),
            "کد خبر: ۸۴۶۱۲۳۴۵": (FURNITURE, "news id"),
            "محورهای گفتگو": (HEADING, "section heading"),
            "برچسب‌ها: عراق، وزارت خارجه، بغداد": (FURNITURE, "tag line"),
            "اشتراک گذاری": (FURNITURE, "opens a share section"),
            "تلگرام": (FURNITURE, "messenger"),
        },
    )


COMMENTS = """خانه > اقتصاد > بازار ارز
قیمت دلار در بازار آزاد امروز کاهش یافت
به گزارش خبرنگار اقتصادی، قیمت دلار آمریکا در معاملات امروز بازار آزاد تهران با کاهش دو درصدی همراه شد.
فعالان بازار دلیل این کاهش را انتشار اخبار مثبت از مذاکرات اقتصادی می‌دانند.
بازگشت به بالا
ارسال نظر
نام
ایمیل
نظرات حاوی توهین و هرگونه نسبت ناروا به اشخاص حقیقی و حقوقی منتشر نمی‌شود.
لطفا از نوشتن با حروف لاتین خودداری کنید.
انتشار یافته: ۲
علی: ممنون از گزارش خوب و دقیق شما درباره بازار ارز و قیمت دلار امروز که خیلی مفید بود.
"""  # noqa: E501 (a page's lines as the site prints them)


def test_a_comment_form_its_rules_and_comments_are_furniture() -> None:
    doc = page(COMMENTS, "market.txt")
    assert doc.title == "قیمت دلار در بازار آزاد امروز کاهش یافت"
    assert_citable(
        doc,
        [
            "به گزارش خبرنگار اقتصادی، قیمت دلار آمریکا در معاملات امروز بازار آزاد تهران با کاهش دو درصدی همراه شد.",
            "فعالان بازار دلیل این کاهش را انتشار اخبار مثبت از مذاکرات اقتصادی می‌دانند.",
        ],
    )
    assert_labels(
        doc,
        {
            "خانه > اقتصاد > بازار ارز": (FURNITURE, "breadcrumb"),
            "بازگشت به بالا": (FURNITURE, "back to top"),
            "ارسال نظر": (FURNITURE, "opens a comments section"),
            "نام": (FURNITURE, "comments section"),
            "نظرات حاوی توهین و هرگونه نسبت ناروا به اشخاص حقیقی و حقوقی منتشر نمی‌شود.": (FURNITURE, "comments"),
            "لطفا از نوشتن با حروف لاتین خودداری کنید.": (FURNITURE, "comments section"),
            "علی: ممنون از گزارش خوب و دقیق شما درباره بازار ارز و قیمت دلار امروز که خیلی مفید بود.": (
                FURNITURE,
                "comments section",
            ),
        },
    )


WIRE = """World
Iran and Iraq agree to extend rail link to Basra
By Parisa Hafezi
December 2, 2024 2:35 PM
TEHRAN, Dec 2 (Reuters) - Iran and Iraq agreed on Monday to finish a railway linking the Iranian border town of Shalamcheh to the Iraqi port city of Basra, officials said.
The 32-km line would give Iranian pilgrims and goods a direct route into southern Iraq.
© Reuters
Photo: Iraqi workers at the Basra railway station. REUTERS/Essam al-Sudani
Construction is expected to take about two years, according to Iraq's transport ministry.
Related coverage
Iraq signs power deal with Iran
Tehran hosts regional transport forum
Sign up for our newsletter
Back to top
"""  # noqa: E501 (a page's lines as the site prints them)


def test_a_wire_story_drops_dateline_byline_credits_and_related_coverage() -> None:
    doc = page(WIRE, "wire.txt")
    assert doc.title == "Iran and Iraq agree to extend rail link to Basra"
    assert_citable(
        doc,
        [
            "Iran and Iraq agreed on Monday to finish a railway linking the Iranian border town of Shalamcheh to "
            "the Iraqi port city of Basra, officials said.",
            "The 32-km line would give Iranian pilgrims and goods a direct route into southern Iraq.",
            "Construction is expected to take about two years, according to Iraq's transport ministry.",
        ],
    )
    assert_labels(
        doc,
        {
            "World": (FURNITURE, "page header"),
            "By Parisa Hafezi": (FURNITURE, "byline"),
            "December 2, 2024 2:35 PM": (FURNITURE, "digits and symbols"),
            "© Reuters": (FURNITURE, "©"),
            "Photo: Iraqi workers at the Basra railway station. REUTERS/Essam al-Sudani": (FURNITURE, "field"),
            "Related coverage": (FURNITURE, "opens a related news section"),
            "Tehran hosts regional transport forum": (FURNITURE, "related news section"),
            "Sign up for our newsletter": (FURNITURE, "opens a newsletter section"),
            "Back to top": (FURNITURE, "back to top"),
        },
    )


SPORTS = """ورزشی
پرسپولیس با پیروزی برابر استقلال صدرنشین شد
۱۲ آذر ۱۴۰۳ - ۲۱:۴۰
به گزارش خبرنگار ورزشی، تیم فوتبال پرسپولیس در هفته دوازدهم لیگ برتر با یک گل استقلال را شکست داد.
عکس: ایسنا
تنها گل بازی را در دقیقه ۷۸ مهاجم جوان پرسپولیس به ثمر رساند.
📱 کانال تلگرام ورزش سه را دنبال کنید: @varzesh3
با این پیروزی پرسپولیس با ۲۶ امتیاز به صدر جدول رسید.
عضو کانال ایتا ما شوید
"""  # noqa: E501 (a page's lines as the site prints them)


def test_messenger_promos_and_photo_credits_inside_an_article_are_furniture() -> None:
    doc = page(SPORTS, "sports.txt")
    assert doc.title == "پرسپولیس با پیروزی برابر استقلال صدرنشین شد"
    assert_citable(
        doc,
        [
            "به گزارش خبرنگار ورزشی، تیم فوتبال پرسپولیس در هفته دوازدهم لیگ برتر با یک گل استقلال را شکست داد.",
            "تنها گل بازی را در دقیقه ۷۸ مهاجم جوان پرسپولیس به ثمر رساند.",
            "با این پیروزی پرسپولیس با ۲۶ امتیاز به صدر جدول رسید.",
        ],
    )
    assert_labels(
        doc,
        {
            "ورزشی": (FURNITURE, "page header"),
            "۱۲ آذر ۱۴۰۳ - ۲۱:۴۰": (FURNITURE, "digits and symbols"),
            "عکس: ایسنا": (FURNITURE, "field"),
            "📱 کانال تلگرام ورزش سه را دنبال کنید: @varzesh3": (FURNITURE, "messenger"),
            "عضو کانال ایتا ما شوید": (FURNITURE, "messenger"),
        },
    )


EDUCATION = """صفحه نخست / جامعه / آموزش
آغاز ثبت‌نام کنکور سراسری از هفته آینده
شناسه خبر: 1403091208765
سازمان سنجش اعلام کرد: ثبت‌نام داوطلبان کنکور سراسری از شنبه آینده آغاز می‌شود و تا پایان ماه ادامه دارد.
داوطلبان باید پیش از ثبت‌نام کارت شناسایی و مدارک تحصیلی خود را آماده کنند.
© عکس: ایسنا / محمد رضایی
حوزه‌های امتحانی جدید
امسال ده حوزه امتحانی جدید در شهرهای کوچک به فهرست حوزه‌ها افزوده شده است.
داوطلبان در حال ورود به جلسه کنکور، تیر ۱۴۰۲
بازگشت به بالا
"""  # noqa: E501 (a page's lines as the site prints them)


def test_a_page_with_captions_credits_and_a_news_id() -> None:
    doc = page(EDUCATION, "education.txt")
    assert doc.title == "آغاز ثبت‌نام کنکور سراسری از هفته آینده", "not the breadcrumb's section label"
    assert_citable(
        doc,
        [
            "سازمان سنجش اعلام کرد: ثبت‌نام داوطلبان کنکور سراسری از شنبه آینده آغاز می‌شود و تا پایان ماه ادامه دارد.",
            "داوطلبان باید پیش از ثبت‌نام کارت شناسایی و مدارک تحصیلی خود را آماده کنند.",
            "امسال ده حوزه امتحانی جدید در شهرهای کوچک به فهرست حوزه‌ها افزوده شده است.",
        ],
    )
    assert doc.clean[2].section == "حوزه‌های امتحانی جدید"
    assert_labels(
        doc,
        {
            "صفحه نخست / جامعه / آموزش": (FURNITURE, "breadcrumb"),
            "شناسه خبر: 1403091208765": (FURNITURE, "news id"),
            "© عکس: ایسنا / محمد رضایی": (FURNITURE, "©"),
            "حوزه‌های امتحانی جدید": (HEADING, "section heading"),
            "داوطلبان در حال ورود به جلسه کنکور، تیر ۱۴۰۲": (FURNITURE, "no body text under it"),
            "بازگشت به بالا": (FURNITURE, "back to top"),
        },
    )


BLOG = """Home » Travel » Iran
A weekend in Isfahan: bridges, bazaars and gardens
Posted on 12 March 2024 by Sara Ahmadi
Isfahan's Naqsh-e Jahan Square is one of the largest city squares in the world, built in the early seventeenth century.
The Si-o-se-pol bridge crosses the Zayandeh River with thirty-three arches.
Where to eat
Traditional restaurants near the bazaar serve beryani, a dish of minced lamb baked on flat bread.
Tags: Isfahan, Iran, travel
Share this: Facebook | Twitter | Email
3 Comments
Leave a Reply
Your email address will not be published. Required fields are marked *
Great post, thanks for sharing these tips about the city and its wonderful bridges and gardens.
"""  # noqa: E501 (a page's lines as the site prints them)


def test_an_english_blog_drops_tags_share_row_and_replies() -> None:
    doc = page(BLOG, "blog.txt")
    assert doc.title == "A weekend in Isfahan: bridges, bazaars and gardens"
    assert_citable(
        doc,
        [
            "Isfahan's Naqsh-e Jahan Square is one of the largest city squares in the world, built in the early "
            "seventeenth century.",
            "The Si-o-se-pol bridge crosses the Zayandeh River with thirty-three arches.",
            "Traditional restaurants near the bazaar serve beryani, a dish of minced lamb baked on flat bread.",
        ],
    )
    assert doc.clean[2].section == "Where to eat"
    assert_labels(
        doc,
        {
            "Home » Travel » Iran": (FURNITURE, "breadcrumb"),
            "Posted on 12 March 2024 by Sara Ahmadi": (FURNITURE, "date line"),
            "Where to eat": (HEADING, "section heading"),
            "Tags: Isfahan, Iran, travel": (FURNITURE, "tag line"),
            "Share this: Facebook | Twitter | Email": (FURNITURE, "share bar"),
            "3 Comments": (FURNITURE, "opens a comments section"),
            "Your email address will not be published. Required fields are marked *": (FURNITURE, "comments"),
        },
    )


APP_PROMO = "برای دریافت سریع‌ترین اخبار، اپلیکیشن ایران دیلی را نصب کنید."
SITE_PAGES = {
    "a.txt": f"""بارش برف راه‌های شمالی را بست
محور چالوس از صبح امروز به دلیل بارش سنگین برف بسته شد و رانندگان باید از آزادراه تهران شمال استفاده کنند.
{APP_PROMO}
پلیس راه از رانندگان خواست زنجیر چرخ همراه داشته باشند.
""",
    "b.txt": f"""افزایش قیمت بلیت قطار تهران مشهد
قیمت بلیت قطارهای مسیر تهران به مشهد از ابتدای ماه آینده ده درصد افزایش می‌یابد.
{APP_PROMO}
راه‌آهن دلیل این افزایش را بالا رفتن هزینه‌های نگهداری ناوگان اعلام کرد.
""",
}


def test_a_block_that_recurs_across_the_site_is_furniture() -> None:
    """Both pages carry the site's app promo, a sentence by its shape: only recurrence tells."""
    [a] = read_bytes(SITE_PAGES["a.txt"].encode(), "a.txt")
    [b] = read_bytes(SITE_PAGES["b.txt"].encode(), "b.txt")
    alone = prepare(a, MAX_WORDS, fallback_id="a")
    assert APP_PROMO in alone.paragraphs, "one page alone cannot tell its site's furniture"
    others = {"b": prepare(b, MAX_WORDS, fallback_id="b").block_keys}

    def recurrence(doc_id: str, keys: set[str]) -> dict[str, int]:
        return {k: sum(k in held for other, held in others.items() if other != doc_id) for k in keys}

    doc = prepare(a, MAX_WORDS, fallback_id="a", recurrence=recurrence)
    assert APP_PROMO not in doc.paragraphs
    assert_labels(doc, {APP_PROMO: (FURNITURE, "recurs in 1 other document of the corpus")})
    assert len(doc.paragraphs) == 2


def test_keep_furniture_stores_every_block() -> None:
    doc = page(AGENCY, "agency.txt", keep_furniture=True)
    assert len(doc.paragraphs) == len(doc.blocks)
    assert [b.label for b in doc.blocks].count(FURNITURE) >= 6, "the labels are still there to see"


# -- HTML: trafilatura's main content, then the same labels ------------------------------------------

NEWS_HTML = """<!doctype html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8">
<title>بارش برف راه‌های شمالی را بست | خبرگزاری نمونه</title>
<meta property="og:title" content="بارش برف راه‌های شمالی را بست"></head>
<body>
<header><a href="/">خبرگزاری نمونه</a>
<nav><ul><li><a href="/">صفحه اصلی</a></li><li><a href="/society">جامعه</a></li>
<li><a href="/sport">ورزش</a></li></ul></nav></header>
<div class="breadcrumb"><a href="/">صفحه اصلی</a> / <a href="/society">جامعه</a></div>
<main><article>
<h1>بارش برف راه‌های شمالی را بست</h1>
<div class="meta"><span class="date">۱۴۰۳/۰۹/۱۲ - ۰۸:۱۵</span> <span class="id">کد خبر: ۷۷۱۲۳</span></div>
<figure><img src="/snow.jpg" alt=""><figcaption>محور چالوس، آذر ۱۴۰۳</figcaption></figure>
<p>تهران- ایرنا- محور چالوس از صبح امروز به دلیل بارش سنگین برف و لغزندگی جاده به طور کامل بسته شد.</p>
<p>پلیس راه از رانندگان خواست تا اطلاع ثانوی از سفر به استان‌های شمالی خودداری کنند و زنجیر چرخ همراه داشته باشند.</p>
<h2>وضعیت آزادراه تهران شمال</h2>
<p>آزادراه تهران شمال باز است اما تردد در آن تنها با زنجیر چرخ امکان‌پذیر است و سرعت مجاز کاهش یافته است.</p>
<p>برچسب‌ها: برف، چالوس، پلیس راه</p>
</article>
<section class="related"><h3>اخبار مرتبط</h3><ul>
<li><a href="/1">هشدار نارنجی هواشناسی برای استان مازندران</a></li>
<li><a href="/2">بازگشایی جاده هراز پس از ده ساعت</a></li></ul></section>
<section id="comments"><h3>ارسال نظر</h3><form><label>نام</label><input><label>ایمیل</label><input>
<textarea></textarea><button>ارسال</button></form>
<p>نظرات حاوی توهین منتشر نمی‌شود و نظرات شما پس از بررسی منتشر خواهد شد.</p></section>
</main>
<footer><p>تمامی حقوق این سایت برای خبرگزاری نمونه محفوظ است.</p>
<p><a href="https://t.me/nemooneh">کانال تلگرام ما</a> | <a href="/rss">RSS</a></p></footer>
</body></html>
"""


def test_an_html_news_page_through_trafilatura() -> None:
    doc = page(NEWS_HTML, "snow.html")
    assert doc.title == "بارش برف راه‌های شمالی را بست"
    assert_citable(
        doc,
        [
            "محور چالوس از صبح امروز به دلیل بارش سنگین برف و لغزندگی جاده به طور کامل بسته شد.",
            "پلیس راه از رانندگان خواست تا اطلاع ثانوی از سفر به استان‌های شمالی خودداری کنند و زنجیر چرخ همراه "
            "داشته باشند.",
            "آزادراه تهران شمال باز است اما تردد در آن تنها با زنجیر چرخ امکان‌پذیر است و سرعت مجاز کاهش یافته است.",
        ],
    )
    assert doc.clean[2].section == "وضعیت آزادراه تهران شمال"
    found = labels(doc)
    assert found["وضعیت آزادراه تهران شمال"][0] == HEADING
    for text, (label, _) in found.items():
        if label != BODY:
            assert text not in doc.paragraphs
    joined = "\n".join(doc.paragraphs)
    for furniture in ("هشدار نارنجی", "نظرات حاوی توهین", "تمامی حقوق", "کانال تلگرام", "کد خبر", "برچسب"):
        assert furniture not in joined


def test_html_headings_lists_and_tables_keep_their_markup() -> None:
    html = (
        "<html><body><article><h1>Caspian fisheries</h1>"
        "<p>The Caspian Sea holds most of the world's wild sturgeon, and its fisheries are regulated.</p>"
        "<h2>Species</h2><ul><li>Beluga sturgeon</li><li>Persian sturgeon</li></ul>"
        "<table><tr><td>Beluga</td><td>critically endangered</td></tr></table>"
        "</article></body></html>"
    )
    doc = page(html, "caspian.html")
    assert doc.title == "Caspian fisheries"
    found = labels(doc)
    assert found["Species"][0] == HEADING
    assert found["Beluga sturgeon"] == (BODY, "a list item in the file's markup")
    assert "Persian sturgeon" in doc.paragraphs
    assert all(p.section == "Species" for p in doc.clean[1:])


# -- the property: furniture around an article never costs a body paragraph --------------------------

PERSIAN_WORDS = ["دولت", "مجلس", "شهر", "مردم", "گزارش", "طرح", "بودجه", "استان", "وزیر", "بازار", "آب", "جاده"]
ENGLISH_WORDS = ["the", "council", "said", "new", "plans", "for", "water", "roads", "and", "schools", "cost", "more"]
FURNITURE_BLOCKS = [
    "خبرهای دیگر",
    "اخبار مرتبط",
    "مهاجرت گسترده از روستاها",
    "کد خبر: ۸۲۸۲۸",
    "- نویسنده :",
    "- منبع :",
    "https://example.ir/news/82828",
    "© عکس: ایرنا",
    "عکس: ایسنا",
    "۱۴۰۳/۰۹/۱۲ - ۱۴:۳۵",
    "بشار اسد، رئیس جمهور سوریه",
    "صفحه اصلی / سیاسی / گزارش روز",
    "اشتراک گذاری | چاپ خبر",
    "عضو خبرنامه ما شوید",
    "📱 کانال تلگرام ما: @sample_news",
    "برچسب‌ها: دولت، مجلس",
    "بازگشت به بالا",
    "Related coverage",
    "Back to top",
    "Tags: Iran, budget",
    "By Sara Ahmadi",
    "© Reuters",
    "Sign up for our newsletter",
]
# A comment form runs to the page's end: it can only come last.
COMMENT_TAIL = ["ارسال نظر", "نام", "نظرات حاوی توهین منتشر نمی‌شود.", "Leave a Reply", "Your email will not be shown."]


def _sentence(words: list[str], count: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(words), min_size=count, max_size=count + 12).map(lambda w: " ".join(w) + ".")


BODY_PARAGRAPHS = st.lists(
    st.one_of(_sentence(PERSIAN_WORDS, 8), _sentence(ENGLISH_WORDS, 8)), min_size=1, max_size=6, unique=True
)
FURNITURE_RUNS = st.lists(st.sampled_from(FURNITURE_BLOCKS), max_size=4)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=BODY_PARAGRAPHS,
    before=FURNITURE_RUNS,
    between=st.lists(FURNITURE_RUNS, min_size=6, max_size=6),
    after=FURNITURE_RUNS,
    comments=st.booleans(),
)
def test_furniture_around_an_article_never_drops_a_body_paragraph(
    body: list[str], before: list[str], between: list[list[str]], after: list[str], comments: bool
) -> None:
    lines = [*before, "گزارش روز درباره بودجه استان"]
    for paragraph, run in zip(body, between, strict=False):
        lines += [paragraph, *run]
    lines += after + (COMMENT_TAIL if comments else [])
    doc = prepare(SourceDocument(["\n".join(lines)]), MAX_WORDS)
    assert [p.citable for p in doc.clean] == body
