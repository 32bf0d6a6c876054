"""Ingestion: every supported format read from real files, bad files refused by name,
the real seeds stored raw with their repeats once, symlinks not followed out of a folder,
and re-ingesting an id replacing what was stored. (Which block is body, heading or
furniture: `test_blocks.py`.)
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from qa.errors import InvalidInput, UnsupportedFile
from qa.ingest import SUPPORTED, PreparedDocument, find_files, prepare, read_bytes
from qa.ingest.clean import Deduper, dedupe_key, shingles
from qa.ingest.readers import squad_doc_id
from qa.service import QAService
from qa.settings import REPO_ROOT, Settings
from qa.text import normalize

SEEDS = REPO_ROOT / "seeds"
MAX_WORDS = Settings().max_paragraph_words


def read_file(path: Path) -> list[PreparedDocument]:
    """A file as the service would prepare it (without embedding)."""
    docs = read_bytes(path.read_bytes(), path.name)
    return [prepare(doc, MAX_WORDS, fallback_id=path.stem) for doc in docs]


# -- formats ------------------------------------------------------------------------------


def test_txt(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text(
        "گزارش کوتاه درباره آلودگی هوا\n\n"
        "مدارس استان تهران روز شنبه به دلیل آلودگی هوا تعطیل شدند.\n"
        "شاخص کیفیت هوا در برخی ایستگاه‌ها از ۲۰۰ فراتر رفت.\n",
        encoding="utf-8",
    )
    [doc] = read_file(path)
    assert doc.id == "note"
    assert doc.title == "گزارش کوتاه درباره آلودگی هوا"
    assert doc.paragraphs == [
        "مدارس استان تهران روز شنبه به دلیل آلودگی هوا تعطیل شدند.",
        "شاخص کیفیت هوا در برخی ایستگاه‌ها از ۲۰۰ فراتر رفت.",
    ]


def test_txt_utf8_bom_and_utf16(tmp_path: Path) -> None:
    text = "این متن با نشانه ترتیب بایت ذخیره شده است و باید خوانده شود."
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(text.encode("utf-16"))
    assert read_file(bom)[0].paragraphs == [text]
    assert read_file(utf16)[0].paragraphs == [text]


def test_markdown_markup_is_stripped_and_title_from_heading(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "# راهنمای کیفیت هوا\n\n"
        "این یک **پاراگراف مهم** با [پیوند به سایت](http://x.ir/a) است که باید بماند.\n\n"
        "## بخش دوم\n\n"
        "- ماسک استاندارد در روزهای آلوده ضروری است\n"
        "> به گفته متخصصان، `ماسک پارچه‌ای` کارایی ندارد.\n\n"
        "```\nprint('code is not prose')\n```\n",
        encoding="utf-8",
    )
    [doc] = read_file(path)
    assert doc.title == "راهنمای کیفیت هوا"
    assert "این یک پاراگراف مهم با پیوند به سایت است که باید بماند." in doc.paragraphs
    assert "ماسک استاندارد در روزهای آلوده ضروری است" in doc.paragraphs
    assert "به گفته متخصصان، ماسک پارچه‌ای کارایی ندارد." in doc.paragraphs
    joined = "\n".join(doc.paragraphs)
    for markup in ("**", "](", "http://x.ir", "#", "`", "> ", "code is not prose"):
        assert markup not in joined


HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>خبرگزاری نمونه | تعطیلی مدارس</title>
<script>var note = "این متن اسکریپت است و نباید در سند بماند";</script>
<style>p { color: red }</style></head>
<body>
<nav><ul><li><a href="/">صفحه اصلی</a></li>
<li><a href="/politics">اخبار سیاسی و اجتماعی روز</a></li></ul></nav>
<h1>تعطیلی مدارس تهران به دلیل آلودگی هوا</h1>
<p>مدارس و ادارات استان تهران روز شنبه به دلیل آلودگی هوا تعطیل شدند.</p>
<p>شاخص کیفیت هوا در <b>برخی ایستگاه‌ها</b> از ۲۰۰ فراتر رفت.</p>
<div class="related-news"><h3>اخبار مرتبط</h3>
<ul><li>افزایش مراجعه کودکان به اورژانس در روزهای آلوده</li></ul></div>
<footer><p>تمامی حقوق این پایگاه خبری محفوظ است و کپی ممنوع است</p></footer>
</body></html>
"""


def test_html_keeps_paragraphs_and_drops_page_furniture(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML, encoding="utf-8")
    [doc] = read_file(path)
    assert doc.title == "تعطیلی مدارس تهران به دلیل آلودگی هوا"
    assert doc.paragraphs == [
        "مدارس و ادارات استان تهران روز شنبه به دلیل آلودگی هوا تعطیل شدند.",
        "شاخص کیفیت هوا در برخی ایستگاه‌ها از ۲۰۰ فراتر رفت.",
    ]
    joined = "\n".join(doc.paragraphs)
    for dropped in ("اسکریپت", "color", "اخبار سیاسی", "اورژانس", "اخبار مرتبط", "حقوق"):
        assert dropped not in joined


def test_html_article_inside_hinted_containers_is_kept(tmp_path: Path) -> None:
    """Class names only hint at furniture: a page body "with a sidebar" is still the page."""
    path = tmp_path / "opinion.html"
    path.write_text(
        '<html><head><title>Opinion</title></head><body class="single-post has-sidebar">'
        '<article class="commentary"><h1>Why the air of Tehran is so bad</h1>'
        "<p>Mazut burning in power plants around Tehran adds sulphur dioxide to the air.</p>"
        "<p>Vehicles produce about sixty percent of the fine particles in the city.</p>"
        '</article><aside class="sidebar"><p>Most read stories of the day here</p></aside>'
        "</body></html>",
        encoding="utf-8",
    )
    [doc] = read_file(path)
    assert doc.paragraphs == [
        "Mazut burning in power plants around Tehran adds sulphur dioxide to the air.",
        "Vehicles produce about sixty percent of the fine particles in the city.",
    ]


def test_markdown_hard_wrapped_paragraph_stays_one_paragraph(tmp_path: Path) -> None:
    """In Markdown, lines without a blank line between them are one paragraph."""
    path = tmp_path / "wrapped.md"
    path.write_text(
        "# Caspian\n\n"
        "The Caspian Sea is the largest inland body of water on Earth, and\n"
        "its sturgeon produce most of the world's wild caviar.\n",
        encoding="utf-8",
    )
    [doc] = read_file(path)
    assert doc.paragraphs == [
        "The Caspian Sea is the largest inland body of water on Earth, and "
        "its sturgeon produce most of the world's wild caviar."
    ]


def test_jsonl_keeps_ids_and_titles(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    rows = [
        {
            "id": "isfahan",
            "title": "میدان نقش جهان",
            "text": "میدان نقش جهان در مرکز شهر اصفهان قرار دارد.",
        },
        {
            "id": 42,
            "title": "Caspian",
            "text": "The Caspian Sea is the largest inland body of water.",
        },
        {"title": "بی‌شناسه", "text": "این رکورد شناسه ندارد اما متن کافی برای نگه داشتن دارد."},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    docs = [prepare(d, MAX_WORDS) for d in read_bytes(path.read_bytes(), path.name)]
    assert [d.id for d in docs[:2]] == ["isfahan", "42"]
    assert docs[2].id.startswith("doc-")
    assert [d.title for d in docs] == ["میدان نقش جهان", "Caspian", "بی‌شناسه"]
    assert docs[0].paragraphs == ["میدان نقش جهان در مرکز شهر اصفهان قرار دارد."]
    assert docs[1].paragraphs == ["The Caspian Sea is the largest inland body of water."]


SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "اصفهان",
            "paragraphs": [
                {
                    "context": "میدان نقش جهان در مرکز شهر اصفهان قرار دارد و در دوره صفوی ساخته شد.",
                    "qas": [],
                },
                {
                    "context": "مسجد شیخ لطف‌الله در ضلع شرقی میدان نقش جهان قرار گرفته است.",
                    "qas": [],
                },
            ],
        },
        {
            "title": "Caspian",
            "paragraphs": [
                {
                    "context": "The Caspian Sea is the largest inland body of water on Earth.",
                    "qas": [],
                }
            ],
        },
    ],
}


def test_squad_json_gives_one_document_per_context(tmp_path: Path) -> None:
    path = tmp_path / "my squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    docs = read_file(path)
    assert [d.id for d in docs] == [
        squad_doc_id(path.name, 0, 0),
        squad_doc_id(path.name, 0, 1),
        squad_doc_id(path.name, 1, 0),
    ]
    assert docs[0].id == "my-squad-0-0"
    assert [d.title for d in docs] == ["اصفهان", "اصفهان", "Caspian"]
    assert docs[2].paragraphs == ["The Caspian Sea is the largest inland body of water on Earth."]
    assert docs[1].paragraphs == [SQUAD["data"][0]["paragraphs"][1]["context"]]


PDF_PARAGRAPHS = [
    "The earthquake of magnitude 7.8 struck southern Turkey and northern Syria on 6 February 2023.",
    "Rescue teams from the United Arab Emirates arrived in Aleppo and Latakia the next day.",
]


def make_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_title("Quake Report")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for paragraph in PDF_PARAGRAPHS:
        pdf.multi_cell(0, 8, paragraph)
        pdf.ln(10)
    return bytes(pdf.output())


def test_pdf_text_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf())
    [doc] = read_file(path)
    assert doc.title == "Quake Report"
    joined = " ".join(doc.paragraphs)
    for paragraph in PDF_PARAGRAPHS:
        assert paragraph in joined


def make_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "گزارش آلودگی هوا"
    document.add_paragraph("مدارس و ادارات استان تهران به دلیل آلودگی هوا روز شنبه تعطیل شدند.")
    document.add_paragraph("شاخص کیفیت هوا در برخی ایستگاه‌ها از ۲۰۰ فراتر رفت و ناسالم ثبت شد.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "ایستگاه سنجش منطقه ۱۶ تهران"
    table.cell(0, 1).text = "شاخص کیفیت هوا ۲۱۰ ثبت شد"
    table.cell(1, 0).text = "ایستگاه سنجش منطقه ۱ تهران"
    table.cell(1, 1).text = "شاخص کیفیت هوا ۱۵۰ ثبت شد"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_persian_text_and_table(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(make_docx())
    [doc] = read_file(path)
    assert doc.title == "گزارش آلودگی هوا"
    assert doc.paragraphs[:2] == [
        "مدارس و ادارات استان تهران به دلیل آلودگی هوا روز شنبه تعطیل شدند.",
        "شاخص کیفیت هوا در برخی ایستگاه‌ها از ۲۰۰ فراتر رفت و ناسالم ثبت شد.",
    ]
    for cell in (
        "ایستگاه سنجش منطقه ۱۶ تهران",
        "شاخص کیفیت هوا ۲۱۰ ثبت شد",
        "شاخص کیفیت هوا ۱۵۰ ثبت شد",
    ):
        assert cell in doc.paragraphs


# -- refused files ------------------------------------------------------------------------


BROKEN = {
    "slides.pptx": b"PK\x03\x04 not supported anyway",
    "noext": b"plain text without an extension",
    "binary.txt": b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00",
    "latin1.txt": "café au lait, crème brûlée et déjà vu".encode("latin-1"),
    "controls.md": b"\x01\x02\x03\x04\x05\x06 text \x07\x08\x0e\x0f\x10\x11\x12\x13\x14",
    "broken.docx": b"PK\x03\x04 this is not really a zip archive",
    "empty.pdf": b"",
    "malformed.json": b'{"data": [{"paragraphs": [{"context": "unterminated',
    "wrong-shape.json": b'{"items": [1, 2, 3]}',
    "bad-line.jsonl": b'{"id": "a", "text": "fine line of text here"}\n{not json}\n',
    "no-text.jsonl": b'{"id": "a", "body": "no text field"}\n',
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_bad_files_are_refused_with_their_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BROKEN[name])
    with pytest.raises(UnsupportedFile) as raised:
        read_bytes(path.read_bytes(), path.name)
    assert name in str(raised.value)


def test_truncated_pdf_is_refused(tmp_path: Path) -> None:
    data = make_pdf()
    for cut in (len(data) // 2, 200):
        with pytest.raises(UnsupportedFile, match="cut.pdf"):
            read_bytes(data[:cut], "cut.pdf")


def test_truncated_docx_is_refused() -> None:
    data = make_docx()
    with pytest.raises(UnsupportedFile, match="cut.docx"):
        read_bytes(data[: len(data) // 2], "cut.docx")


# -- the real seeds: raw text kept, repeats once, glued tags before the citable text -------------


def test_seed_paragraphs_keep_their_raw_characters() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        [doc] = read_file(path)
        assert len(doc.paragraphs) == 8, path.name
        for paragraph in doc.paragraphs:
            assert paragraph in raw, "paragraphs keep their raw characters"
        assert len(doc.paragraphs) == len({normalize(p) for p in doc.paragraphs})


def test_near_copies_are_dropped_exactly_as_a_full_comparison_would() -> None:
    """The deduper looks up only a few shingles per paragraph; it must decide as comparing
    every pair would: a paragraph goes when its shingle Jaccard with a kept one reaches 0.9."""
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(40)]  # small, so unrelated paragraphs share shingles
    originals = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 160))) for _ in range(80)]
    paragraphs = []
    for text in originals:
        paragraphs.append(text)
        words = text.split()
        for edits in (1, 2, 3, 6):  # near copies that do and do not reach the threshold
            changed = list(words)
            for _ in range(edits):
                changed[rng.randrange(len(changed))] = rng.choice(vocabulary)
            paragraphs.append(" ".join(changed))
        # edits at the ends change one shingle each: copies right at the threshold
        for ends in (1, 2, 3):
            paragraphs.append(
                " ".join(rng.choices(vocabulary, k=ends) + words[ends:-ends] + rng.choices(vocabulary, k=ends))
            )
    rng.shuffle(paragraphs)
    # Right at the edge: 10 words appended to 100 distinct ones add 10 shingles to 98, Jaccard
    # 0.907, and those 10 are exactly as many as a near copy may lack.
    edge = [f"u{i}" for i in range(110)]
    paragraphs += [" ".join(edge[:100]), " ".join(edge)]

    def jaccard(a: set[str], b: set[str]) -> float:
        return len(a & b) / len(a | b)

    deduper, kept = Deduper(0.9), []
    for text in paragraphs:
        grams = shingles(dedupe_key(text))
        expected = all(jaccard(grams, other) < 0.9 for other in kept)
        assert deduper.is_new(text) == expected, text
        if expected:
            kept.append(grams)
    assert 80 < len(kept) < len(paragraphs), "the data holds both kept near copies and dropped ones"


def test_repeated_paragraphs_of_the_first_seed_appear_once() -> None:
    [doc] = read_file(SEEDS / "000_f690af9dd8b06e27.txt")
    # the page repeats its lead (once behind the site's tag) and three body paragraphs verbatim
    for phrase in (
        "دفتر ریاست جمهوری سوریه از گفتگوی تلفنی بشار اسد",
        "رئیس جمهور سوریه در این گفتگوی تلفنی",
        "بشار اسد در جریان این گفتگو تاکید کرد",
        "وی تاکید کرد: البته",
    ):
        assert sum(phrase in p for p in doc.paragraphs) == 1, phrase
    repeats = [b for b in doc.blocks if b.label == "body" and b.paragraph is None]
    assert [b.n for b in repeats] == [1, 6, 7, 8]
    assert all("a repeat of block" in b.reason for b in repeats)


def test_a_tag_glued_to_a_lead_is_stored_but_not_citable() -> None:
    [first] = read_file(SEEDS / "000_f690af9dd8b06e27.txt")
    [second] = read_file(SEEDS / "002_8389060196ed8413.txt")
    lead = first.clean[0]
    assert lead.text.startswith("19 دی آنلاین: ")
    assert lead.citable.startswith("دفتر ریاست جمهوری سوریه")
    tagged = next(p for p in second.clean if p.text.startswith("سرویس خبری ایران من:"))
    assert tagged.citable.startswith("در پی تشدید درگیریها")
    untagged = [p for p in first.clean + second.clean if p is not lead and p is not tagged]
    assert all(p.start == 0 for p in untagged), "prose with a colon ('وی تاکید کرد: ...') keeps its start"


def test_content_that_mentions_a_boilerplate_word_is_kept(tmp_path: Path) -> None:
    """Only site furniture goes: prose that merely uses such a word is content."""
    prose = [
        "The share of renewable energy in Iran reached ten percent in 2023, the ministry said.",
        "نظرات کارشناسان درباره طرح جدید ترافیک تهران بسیار متفاوت بود.",
        "Passengers must print their tickets before boarding the night train to Mashhad.",
    ]
    path = tmp_path / "prose.txt"
    path.write_text("\n".join(prose) + "\nاشتراک گذاری | چاپ خبر\n", encoding="utf-8")
    [doc] = read_file(path)
    assert doc.paragraphs == prose


# -- finding files --------------------------------------------------------------------------


def test_find_files_yields_supported_files_and_stays_inside_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("a secret outside the folder", encoding="utf-8")
    (outside / "nested").mkdir()
    (outside / "nested" / "more.txt").write_text("more secrets outside", encoding="utf-8")

    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text("x", encoding="utf-8")
    (corpus / "b.MD").write_text("x", encoding="utf-8")
    (corpus / "sub" / "c.html").write_text("x", encoding="utf-8")
    (corpus / "image.png").write_bytes(b"\x89PNG")
    (corpus / "notes").write_text("no extension", encoding="utf-8")
    (corpus / "link-out.txt").symlink_to(outside / "secret.txt")
    (corpus / "dir-out").symlink_to(outside / "nested", target_is_directory=True)
    (corpus / "link-in.txt").symlink_to(corpus / "a.txt")

    found_with_ids = list(find_files([corpus]))
    assert [doc_id for _, doc_id in found_with_ids] == ["a", "b", "link-in", "sub-c"]
    found = [path for path, _ in found_with_ids]
    assert [p.relative_to(corpus).as_posix() for p in found] == [
        "a.txt",
        "b.MD",
        "link-in.txt",
        "sub/c.html",
    ]
    assert all(p.suffix.lower() in SUPPORTED for p in found)
    assert all(p.resolve().is_relative_to(corpus.resolve()) for p in found)


def test_find_files_on_a_missing_path_says_so(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="nowhere"):
        list(find_files([tmp_path / "nowhere"]))


# -- re-ingesting -----------------------------------------------------------------------------


def _paragraph_ids(service: QAService, doc_id: str) -> list[int]:
    return [p.id for p in service.document(doc_id)[1]]


def test_reingesting_a_file_replaces_it_and_unchanged_is_a_no_op(empty_service: QAService, tmp_path: Path) -> None:
    path = tmp_path / "Air Note.txt"
    path.write_text("مدارس استان تهران روز شنبه به دلیل آلودگی هوا تعطیل شدند.", encoding="utf-8")
    [first] = empty_service.ingest_paths([path])
    assert first.id == "air-note" and first.embedded == 1 and not first.unchanged
    old_ids = _paragraph_ids(empty_service, "air-note")
    generation = empty_service.store.generation

    [again] = empty_service.ingest_paths([path])
    assert again.unchanged and again.embedded == 0
    assert _paragraph_ids(empty_service, "air-note") == old_ids
    assert empty_service.store.generation == generation

    path.write_text(
        "مدارس استان تهران روز یکشنبه هم تعطیل ماندند.\n\nشاخص کیفیت هوا به ۱۸۰ رسید و ناسالم ماند.",
        encoding="utf-8",
    )
    [replaced] = empty_service.ingest_paths([path])
    assert not replaced.unchanged and replaced.paragraphs == 2
    assert [d.id for d in empty_service.documents()] == ["air-note"]
    new_ids = _paragraph_ids(empty_service, "air-note")
    assert len(new_ids) == 2 and not set(new_ids) & set(old_ids)
    assert sorted(empty_service.index.ids().tolist()) == sorted(new_ids)
    texts = [p.text for p in empty_service.document("air-note")[1]]
    assert texts == [
        "مدارس استان تهران روز یکشنبه هم تعطیل ماندند.",
        "شاخص کیفیت هوا به ۱۸۰ رسید و ناسالم ماند.",
    ]
    assert empty_service.store.counts() == (1, 2)


def test_files_with_one_name_in_one_folder_stay_distinct(empty_service: QAService, tmp_path: Path) -> None:
    """Two different files are two documents, even when their names repeat in subfolders."""
    corpus = tmp_path / "reports"
    for year in ("2023", "2024"):
        (corpus / year).mkdir(parents=True)
        (corpus / year / "report.txt").write_text(
            f"The {year} report says the Caspian Sea level fell again this year.", encoding="utf-8"
        )
    (corpus / "2024" / "report.md").write_text(
        "A markdown note beside the text report, with its own words.", encoding="utf-8"
    )
    results = empty_service.ingest_paths([corpus])
    assert len(results) == 3
    assert len({r.id for r in results}) == 3
    assert empty_service.store.counts() == (3, 3)


def test_a_file_with_nothing_left_after_cleaning_is_refused(empty_service: QAService, tmp_path: Path) -> None:
    path = tmp_path / "furniture.txt"
    path.write_text("اشتراک گذاری | چاپ خبر\nکد خبر: 12345\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="furniture"):
        empty_service.ingest_paths([path])
    assert empty_service.store.counts() == (0, 0)
