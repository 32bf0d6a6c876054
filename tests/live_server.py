"""A real uvicorn server in a background thread, for the tests that go over real HTTP."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from conftest import make_service
from fastapi import FastAPI

from api.main import create_app
from embeddings.e5 import E5Embedder

STARTUP_SECONDS = 20.0


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 on a free port; yields the base URL, stops the server after.

    The socket is bound here and handed to uvicorn, so no other process can take the port
    between choosing it and listening on it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start; see the log above")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_seeded_copy(seeded_dir: Path, folder: Path, embedder: E5Embedder) -> Iterator[str]:
    """The app over a private copy of the seeded data dir, live; yields the base URL."""
    shutil.copytree(seeded_dir, folder / "data")
    with live_server(create_app(make_service(folder / "data", embedder))) as url:
        yield url
