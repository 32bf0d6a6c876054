"""One `APIRouter` per resource: answers, search, documents and the system routes."""
