"""`GET /search`: the ranked passages for a query, without composing an answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ServiceDep, require_reader
from api.errors import ERROR_RESPONSES
from api.schemas import SearchOut
from qa.models import passage_json

router = APIRouter(tags=["answers"], dependencies=[Depends(require_reader)])


@router.get("/search", response_model=SearchOut, responses=ERROR_RESPONSES)
def search(
    service: ServiceDep,
    q: Annotated[str, Query(description="The query, Persian or English.")],
    k: Annotated[int, Query(ge=1, description="Passages to return, 1..QA_MAX_TOP_K (50).")] = 5,
) -> dict[str, object]:
    """Passages best first, at most `k`, each with its fused score."""
    return {"passages": [passage_json(p) for p in service.search(q, k)]}
