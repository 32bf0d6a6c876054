"""`/documents`: add (JSON text or a file upload), list, show and delete documents.

The request body is read in an async dependency (its bytes arrive on the event loop);
the plain `def` handlers then parse files and embed paragraphs in the threadpool. Every
document of a request is checked before any is stored, so a bad upload changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api.deps import ServiceDep, SettingsDep, require_reader, require_writer
from api.errors import ERROR_RESPONSES
from api.schemas import DocumentCreated, DocumentDetail, DocumentIn, DocumentList
from qa.errors import InvalidInput, TooLarge, UnsupportedFile
from qa.ingest import SUPPORTED
from qa.models import SourceDocument, block_json, document_json
from qa.service import QAService

router = APIRouter(prefix="/documents", tags=["documents"], responses=ERROR_RESPONSES)

UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The body is over QA_MAX_UPLOAD_MB, or holds over QA_MAX_DOCUMENTS_PER_UPLOAD documents"},
    415: {"description": f"Not JSON or multipart, or a file that is not {', '.join(SUPPORTED)}"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No document has this id"}}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": f"One of {', '.join(SUPPORTED)}; a SQuAD .json or a "
                            ".jsonl holds several documents.",
                        },
                        "id": {"type": "string", "description": "Names the document."},
                        "title": {"type": "string"},
                    },
                }
            },
        },
    }
}


@dataclass(slots=True)
class Upload:
    """What a `POST /documents` carried: a JSON document, or a file with an optional id and title."""

    document: DocumentIn | None = None
    data: bytes = b""
    filename: str = ""
    id: str | None = None
    title: str | None = None

    def source_documents(self, service: QAService) -> list[SourceDocument]:
        if self.document is not None:
            doc = self.document
            return [SourceDocument([doc.text], doc.title, doc.source, doc.id)]
        return service.read_file(self.data, self.filename, self.id, self.title)


def _form_text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or isinstance(value, str):
        return (value or "").strip() or None
    raise InvalidInput(f"the form field {name!r} must be text, not a file.")


async def read_upload(request: Request) -> Upload:
    """The body as JSON `{"text": ...}` or as a multipart form with a `file` field."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=8)
        try:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise InvalidInput(
                    "a multipart upload needs the file in a field named 'file' (optional text fields: id, title)."
                )
            data = await file.read()
            return Upload(
                data=data,
                filename=file.filename or "",
                id=_form_text(form, "id"),
                title=_form_text(form, "title"),
            )
        finally:
            await form.close()
    if media == "application/json" or media.endswith("+json"):
        try:
            return Upload(document=DocumentIn.model_validate_json(await request.body()))
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from exc
    raise UnsupportedFile(
        'POST /documents takes application/json ({"text": "..."}) or multipart/form-data '
        f"(a 'file' field), not {media or 'a body without Content-Type'}."
    )


@router.post(
    "",
    status_code=201,
    response_model=DocumentCreated,
    responses=UPLOAD_ERRORS,
    dependencies=[Depends(require_writer)],
    openapi_extra=UPLOAD_BODY,
)
def add_document(
    upload: Annotated[Upload, Depends(read_upload)], service: ServiceDep, settings: SettingsDep
) -> dict[str, object]:
    """Store a document from JSON text or an uploaded file; the same id again replaces it.

    Returns the (first) document's id and paragraph count, and every document stored:
    a SQuAD `.json` or a `.jsonl` file holds several, at most QA_MAX_DOCUMENTS_PER_UPLOAD.
    """
    docs = upload.source_documents(service)
    if len(docs) > settings.max_documents_per_upload:
        raise TooLarge(
            f"the upload holds {len(docs)} documents; the limit is {settings.max_documents_per_upload} "
            "per request (QA_MAX_DOCUMENTS_PER_UPLOAD): split the file, or use `qa ingest` for a bulk load."
        )
    results = service.ingest_documents(docs)
    return {
        "id": results[0].id,
        "paragraphs": results[0].paragraphs,
        "documents": [
            {"id": r.id, "title": r.title, "paragraphs": r.paragraphs, "unchanged": r.unchanged} for r in results
        ],
    }


@router.get("", response_model=DocumentList, dependencies=[Depends(require_reader)])
def list_documents(service: ServiceDep) -> dict[str, object]:
    """Every stored document, without its text."""
    return {"documents": [document_json(d) for d in service.documents()]}


@router.get(
    "/{doc_id}",
    response_model=DocumentDetail,
    responses=NOT_FOUND,
    dependencies=[Depends(require_reader)],
)
def get_document(
    doc_id: str,
    service: ServiceDep,
    blocks: Annotated[
        bool, Query(description="Also list every block of the page with its label (body, heading, furniture) and why.")
    ] = False,
) -> dict[str, object]:
    """A document and its paragraphs: the texts that citation offsets refer to."""
    doc, paragraphs = service.document(doc_id)
    body: dict[str, object] = {
        "document": document_json(doc),
        "paragraphs": [
            {"n": p.n, "text": p.text, "section": p.section, "citable_start": p.citable_start} for p in paragraphs
        ],
    }
    if blocks:
        body["blocks"] = [block_json(b) for b in service.blocks(doc_id)]
    return body


@router.delete("/{doc_id}", status_code=204, responses=NOT_FOUND, dependencies=[Depends(require_writer)])
def delete_document(doc_id: str, service: ServiceDep) -> Response:
    """Remove a document; its paragraphs leave both indexes at once."""
    service.delete(doc_id)
    return Response(status_code=204)
