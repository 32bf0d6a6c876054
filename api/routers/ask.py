"""`POST /ask`: a short answer quoted from the documents, with its citation, or an abstention."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import ServiceDep, require_reader
from api.errors import ERROR_RESPONSES
from api.schemas import AnswerOut, AskIn
from qa.models import answer_json

router = APIRouter(tags=["answers"], dependencies=[Depends(require_reader)])


@router.post("/ask", response_model=AnswerOut, responses=ERROR_RESPONSES)
def ask(body: AskIn, service: ServiceDep) -> dict[str, object]:
    """Answer a Persian or English question from the stored documents.

    Each citation's `quote` is the stored paragraph's text at `start:end`;
    `answered` is false (and `answer` null) when the documents do not hold the answer.
    A plain `def`: FastAPI runs it in the threadpool, so embedding never blocks the loop.
    """
    return answer_json(service.ask(body.question, body.top_k))
