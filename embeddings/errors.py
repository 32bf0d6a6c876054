"""The one error the embedding layer raises, defined here so `embeddings/` needs nothing above it.

`qa.errors` re-exports it beside the service's other errors, so `api/` maps it to one status.
"""

from __future__ import annotations


class ModelUnavailable(Exception):
    """The configured embedding model cannot be loaded on this machine."""
