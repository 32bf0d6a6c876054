"""Embedding models and the FAISS vector index: text in, normalised vectors and ids out."""
