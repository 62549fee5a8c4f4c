"""The ``dbsync-core`` command line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text

from dbsync_core.cli import main


def test_bad_arguments_exit_2(capsys):
    """Unknown commands and options get argparse's message and exit code 2."""
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


async def test_demo_builds_and_drops_a_database(dbsync_pg_server, dbsync_conn):
    """`dbsync-core demo --dsn` prints the schema summary and leaves no database behind."""
    dsn = dbsync_pg_server.url.set(drivername="postgresql").render_as_string(hide_password=False)
    demo_dbs = text("SELECT count(*) FROM pg_database WHERE datname LIKE 'dbsync_demo_%'")
    before = await dbsync_conn.scalar(demo_dbs)
    result = subprocess.run(  # noqa: ASYNC221 (the test waits for the command on purpose)
        [sys.executable, "-m", "dbsync_core.cli", "demo", "--dsn", dsn],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "tables     76" in result.stdout
    assert "views       2  (epoch, epoch_current)" in result.stdout
    assert "enums       8" in result.stdout
    assert await dbsync_conn.scalar(demo_dbs) == before
