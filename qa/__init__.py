"""Semantic question answering over Persian and English documents, with cited answers."""

__version__ = "0.1.0"
