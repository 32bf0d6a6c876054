"""A real uvicorn server in a background thread, for the tests that go over real HTTP."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from conftest import make_service
from fastapi import FastAPI

from api.main import create_app
from embeddings.e5 import E5Embedder
from qa.settings import REPO_ROOT

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def qa_serve(data_dir: Path, log: Path, env: dict[str, str], *options: str) -> Iterator[str]:
    """`qa serve` in its own process, as a user starts it; yields the base URL once /health
    answers, and stops it with SIGTERM after. Its output (stdout and stderr) goes to `log`."""
    port = free_port()
    command = [sys.executable, "-m", "cli", "serve", "--data-dir", str(data_dir), "--port", str(port), *options]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            deadline = time.monotonic() + 180
            while True:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
