"""File formats in, raw text blocks out: one reader per format, chosen by file extension.

Readers only extract text, titles and what the markup says a block is (a heading, a list
item, a table cell); labelling blocks, splitting and deduplication are the same for every
format and live in `qa.ingest.blocks` and `qa.ingest.clean`.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import PurePath

from qa.errors import UnsupportedFile
from qa.models import SourceDocument

SUPPORTED = (".txt", ".md", ".html", ".htm", ".jsonl", ".json", ".pdf", ".docx")
MAX_DOCX_UNZIPPED = 200 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_text(data: bytes, name: str) -> str:
    """Bytes of a text file as str; binary or non-UTF text is refused with a reason."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnsupportedFile(f"{name}: not valid UTF-16 text ({exc.reason}).") from exc
    if b"\x00" in data[:8192]:
        raise UnsupportedFile(f"{name}: looks like a binary file, not text. Upload .txt/.md as UTF-8.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedFile(
            f"{name}: not UTF-8 text (bad byte at position {exc.start}). Save the file as UTF-8."
        ) from exc
    if len(_CONTROL.findall(text[:8192])) > 0.01 * max(1, len(text[:8192])):
        raise UnsupportedFile(f"{name}: contains binary control characters, not text.")
    return text


def _plain(data: bytes, name: str) -> list[SourceDocument]:
    return [SourceDocument(text_paragraphs=[decode_text(data, name)], source=name)]


_MD_MARKUP = re.compile(r"^\s{0,3}(?:(?P<heading>#{1,6}\s+)|(?P<quote>>\s?)|(?P<item>[-*+]\s+|\d+[.)]\s+))")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|`)")


def _markdown(data: bytes, name: str) -> list[SourceDocument]:
    text = decode_text(data, name)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    title = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("# ")), "")
    # A Markdown paragraph is a run of lines up to a blank line, a heading or a list item;
    # the markup says which blocks are headings, list items and quotes.
    paragraphs: list[tuple[str, list[str]]] = [("", [])]
    for raw in text.splitlines():
        markup = _MD_MARKUP.match(raw)
        line = _MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", _MD_MARKUP.sub("", raw))).strip()
        if not line or markup:
            paragraphs.append(((markup.lastgroup or "") if markup else "", []))
        if line:
            paragraphs[-1][1].append(line)
    blocks = [(kind, " ".join(lines)) for kind, lines in paragraphs if lines]
    marked = {block: kind for kind, block in blocks if kind}
    return [SourceDocument(["\n".join(b for _, b in blocks)], title=title, source=name, marked=marked)]


_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)[^>]*?(/?)>")
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]
)
MAX_HTML_DEPTH = 1000
# trafilatura's output elements: the block kinds of the page's main content.
_TRAFILATURA_BLOCKS = {"head": "heading", "p": "", "item": "item", "cell": "cell", "quote": "quote", "code": ""}


def _html_depth(text: str) -> int:
    """The deepest element nesting, from a scan of the tags (no parser involved)."""
    depth = deepest = 0
    for closing, tag, self_closing in _TAG.findall(text):
        if tag.lower() in _VOID or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def _html(data: bytes, name: str) -> list[SourceDocument]:
    """The page's main content by trafilatura (which falls back on readability and jusText
    itself), as blocks with their markup; the block labels come after, as for any text."""
    import trafilatura

    text = decode_text(data, name)
    if _html_depth(text) > MAX_HTML_DEPTH:
        raise UnsupportedFile(f"{name}: HTML nested over {MAX_HTML_DEPTH} elements deep; refusing it.")
    try:
        page = trafilatura.bare_extraction(
            text, favor_recall=True, include_comments=False, include_tables=True, with_metadata=True
        )
        if page is not None and page.body is not None:
            title, body = page.title or "", page.body
        else:  # nothing that looks like an article: trafilatura's plain-paragraphs baseline
            title, body = "", trafilatura.baseline(text)[0]
    except Exception as exc:  # lxml raises several parser errors on hostile input
        raise UnsupportedFile(f"{name}: cannot parse HTML ({exc}).") from exc
    blocks, marked = [], {}
    for element in body.iter(*_TRAFILATURA_BLOCKS):
        if any(parent.tag in _TRAFILATURA_BLOCKS for parent in element.iterancestors()):
            continue  # a paragraph inside a list item or a cell is part of it
        block = " ".join("".join(element.itertext()).split())
        if block:
            blocks.append(block)
            if kind := _TRAFILATURA_BLOCKS[element.tag]:
                marked[block] = kind
    return [SourceDocument(text_paragraphs=["\n".join(blocks)], title=title, source=name, marked=marked)]


def _pdf(data: bytes, name: str) -> list[SourceDocument]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise UnsupportedFile(f"{name}: not a readable PDF ({exc}).") from exc
    # PDF lines are wrapped by layout: blank lines separate paragraphs, single ones don't.
    blocks = [re.sub(r"\s*\n\s*", " ", b) for page in pages for b in re.split(r"\n\s*\n", page)]
    if not any(b.strip() for b in blocks):
        raise UnsupportedFile(f"{name}: the PDF has no extractable text (scanned images need OCR first).")
    return [SourceDocument(text_paragraphs=["\n".join(blocks)], title=str(title), source=name)]


def _docx(data: bytes, name: str) -> list[SourceDocument]:
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_DOCX_UNZIPPED:
                raise UnsupportedFile(f"{name}: the DOCX unpacks to over 200 MB; refusing it.")
        document = docx.Document(io.BytesIO(data))
    except UnsupportedFile:
        raise
    except Exception as exc:  # python-docx raises zip, XML and key errors on broken files
        raise UnsupportedFile(f"{name}: not a readable DOCX ({exc}).") from exc
    paragraphs = [p.text for p in document.paragraphs]
    marked = {}
    for p in document.paragraphs:
        style = (p.style.name if p.style is not None else "") or ""
        if not p.text.strip():
            continue
        if style.startswith(("Heading", "Title")):
            marked[" ".join(p.text.split())] = "heading"
        elif style.startswith("List"):
            marked[" ".join(p.text.split())] = "item"
    for table in document.tables:
        cells = [cell.text for row in table.rows for cell in row.cells]
        paragraphs.extend(cells)
        marked.update({" ".join(c.split()): "cell" for c in cells})
    title = document.core_properties.title or ""
    return [SourceDocument(text_paragraphs=["\n".join(paragraphs)], title=title, source=name, marked=marked)]


def _record(obj: object, where: str) -> SourceDocument:
    if not isinstance(obj, dict):
        raise UnsupportedFile(f"{where}: expected a JSON object with a 'text' field.")
    text = obj.get("text", obj.get("context"))
    if not isinstance(text, str):
        raise UnsupportedFile(f"{where}: expected a string 'text' field.")
    return SourceDocument(
        text_paragraphs=[text],
        title=str(obj.get("title") or ""),
        source=str(obj.get("source") or where),
        id=str(obj["id"]) if obj.get("id") is not None else None,
    )


def _parse_json(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnsupportedFile(f"{where}: invalid JSON ({exc.msg} at line {exc.lineno}).") from exc
    except RecursionError as exc:
        raise UnsupportedFile(f"{where}: JSON nested too deeply to read.") from exc


def _jsonl(data: bytes, name: str) -> list[SourceDocument]:
    docs = []
    for number, line in enumerate(decode_text(data, name).splitlines(), 1):
        if line.strip():
            obj = _parse_json(line, f"{name}, line {number}")
            docs.append(_record(obj, f"{name}:{number}"))
    return docs


def squad_doc_id(name: str, article: int, paragraph: int) -> str:
    """The id a SQuAD context gets: stable per file name and position."""
    stem = re.sub(r"\W+", "-", PurePath(name).stem)
    return f"{stem}-{article}-{paragraph}"


def _json(data: bytes, name: str) -> list[SourceDocument]:
    obj = _parse_json(decode_text(data, name), name)
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        docs = []
        for ai, article in enumerate(obj["data"]):
            paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
            for pi, para in enumerate(paragraphs if isinstance(paragraphs, list) else []):
                if isinstance(para, dict) and isinstance(para.get("context"), str):
                    docs.append(
                        SourceDocument(
                            text_paragraphs=[para["context"]],
                            title=str(article.get("title") or ""),
                            source=name,
                            id=squad_doc_id(name, ai, pi),
                        )
                    )
        if docs:
            return docs
        raise UnsupportedFile(f"{name}: SQuAD-shaped JSON with no paragraphs[].context.")
    if isinstance(obj, list):
        return [_record(item, f"{name}[{i}]") for i, item in enumerate(obj)]
    if isinstance(obj, dict) and "text" in obj:
        return [_record(obj, name)]
    raise UnsupportedFile(
        f"{name}: JSON must be SQuAD-shaped ({{'data': [{{'paragraphs': [{{'context': ...}}]}}]}}), "
        "an object with 'text', or a list of such objects."
    )


READERS: dict[str, Callable[[bytes, str], list[SourceDocument]]] = {
    ".txt": _plain,
    ".md": _markdown,
    ".html": _html,
    ".htm": _html,
    ".jsonl": _jsonl,
    ".json": _json,
    ".pdf": _pdf,
    ".docx": _docx,
}


def read_bytes(data: bytes, name: str) -> list[SourceDocument]:
    """The documents in a file's bytes, by the extension of `name`."""
    suffix = PurePath(name).suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        raise UnsupportedFile(f"{name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED)}.")
    docs = reader(data, PurePath(name).name)
    for doc in docs:
        for value in (doc.id or "", doc.title, doc.source, *doc.text_paragraphs):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:  # JSON escapes can smuggle in lone surrogates
                raise UnsupportedFile(f"{name}: holds invalid Unicode text (an escape like \\ud800).") from exc
    return docs
