"""Errors a user can act on; `api/` maps each to one HTTP status in one place."""

from __future__ import annotations


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


class ModelUnavailable(QAError):
    """The configured embedding model cannot be loaded on this machine."""
