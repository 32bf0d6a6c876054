"""The API's request and response shapes, so the OpenAPI page at /docs documents itself.

They mirror ../shared/CONTRACT.md. Response models allow extra fields: the service adds
a few (per-passage `dense` and `lexical` scores, the answer's `signals`) and clients may
rely only on the named ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _valid_unicode(value: str) -> str:
    """Refuse lone surrogates (a JSON escape like "\\ud800"): they are not text and cannot be stored."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"contains an unpaired surrogate at position {exc.start}; send valid Unicode text") from exc
    return value


Text = Annotated[str, AfterValidator(_valid_unicode)]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorOut(BaseModel):
    """Every 4xx and 5xx body: `detail` says what was wrong and what to do about it."""

    detail: str


class AskIn(BaseModel):
    """A question; the answer quotes the stored documents or says they lack it."""

    question: Text = Field(
        description="Persian or English; not empty, at most QA_MAX_QUESTION_CHARS (2000).",
        examples=["بشار اسد با چه کسی تلفنی گفتگو کرد؟"],
    )
    top_k: int = Field(5, ge=1, description="Passages to return, 1..QA_MAX_TOP_K (50).")


class CitationOut(_Open):
    """The stored text an answer rests on: `quote == paragraph text[start:end]`."""

    n: int
    doc_id: str
    title: str
    source: str
    paragraph: int
    start: int
    end: int
    quote: str
    answer_start: int | None = Field(None, description="Where the answer starts in the paragraph (inside the quote).")
    answer_end: int | None = Field(None, description="Where the answer ends in the paragraph.")
    section: str = Field("", description="The heading the paragraph stands under on its page, if any.")


class PassageOut(_Open):
    """A retrieved paragraph, best first."""

    doc_id: str
    title: str
    section: str = Field("", description="The heading the paragraph stands under on its page, if any.")
    source: str = ""
    paragraph: int
    text: str
    score: float


class AnswerOut(_Open):
    """The body of `POST /ask`; `answer` is null when the documents do not hold it."""

    question: str
    language: str
    answered: bool
    answer: str | None
    confidence: float
    citations: list[CitationOut]
    passages: list[PassageOut]
    took_ms: float


class SearchOut(_Open):
    """The body of `GET /search`: ranked passages, at most k."""

    passages: list[PassageOut]


class DocumentIn(BaseModel):
    """A document given as text; posting the same id again replaces it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "zayandeh",
                    "title": "Isfahan",
                    "text": "The Zayandeh River flows through Isfahan and is crossed by the "
                    "Si-o-se-pol bridge, built in 1602.",
                }
            ]
        }
    )

    id: Text | None = Field(None, description="Without one, the id is a hash of the text (re-posting replaces).")
    title: Text = ""
    source: Text = ""
    text: Text = Field(description="Paragraphs separated by blank lines or newlines.")


class IngestedOut(_Open):
    """What storing one document did."""

    id: str
    title: str
    paragraphs: int
    unchanged: bool = Field(description="True when the same content was already stored.")


class DocumentCreated(_Open):
    """The body of a successful `POST /documents`: the (first) document's id and paragraphs."""

    id: str
    paragraphs: int
    documents: list[IngestedOut] = Field(
        description="Every document stored by this request (a SQuAD or JSONL file holds several)."
    )


class DocumentOut(_Open):
    """A stored document's summary."""

    id: str
    title: str
    source: str
    paragraphs: int
    created_at: str
    updated_at: str


class DocumentList(_Open):
    """The body of `GET /documents`."""

    documents: list[DocumentOut]


class ParagraphOut(_Open):
    """One stored paragraph: the text that citation offsets refer to."""

    n: int
    text: str
    section: str = Field("", description="The heading it stands under on its page.")
    citable_start: int = Field(
        0, description="Answers quote from here on: a date stamp or agency tag glued to a lead comes before."
    )


class BlockOut(_Open):
    """One block of the page as ingest saw it, with its label and the reason for it."""

    n: int
    text: str
    label: Literal["body", "heading", "furniture"]
    reason: str
    section: str = Field("", description="The heading a body block stands under.")
    paragraph: int | None = Field(None, description="The stored paragraph it became; null when none.")


class DocumentDetail(_Open):
    """The body of `GET /documents/{id}`: the summary and every paragraph in order (and with
    `?blocks=true`, every block of the page, stored or not, with its label and reason)."""

    document: DocumentOut
    paragraphs: list[ParagraphOut]
    blocks: list[BlockOut] | None = None


class HealthOut(_Open):
    """The body of `GET /health`."""

    status: str
    model: str
    documents: int
    paragraphs: int
