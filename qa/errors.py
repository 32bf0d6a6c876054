"""Errors a user can act on; `api/` maps each to one HTTP status in one place.

`ModelUnavailable` is the embedding layer's (`embeddings/` imports nothing above it) and is
re-exported here; `USER_ERRORS` is every class the CLI and the API report as a message.
"""

from __future__ import annotations

from embeddings.errors import ModelUnavailable


class QAError(Exception):
    """Base class: the message says what was wrong and what to do about it."""


class InvalidInput(QAError):
    """A question, parameter or request body the service cannot use as given."""


class UnsupportedFile(QAError):
    """A file whose type is not supported or whose content cannot be decoded."""


class TooLarge(QAError):
    """An upload or request over a configured limit."""


class DocumentNotFound(QAError):
    """No stored document has the given id."""


class ModelMismatch(QAError):
    """The configured embedding model is not the one that built the index."""


USER_ERRORS = (QAError, ModelUnavailable)
