"""The ``dbsync-core`` command.

``demo`` needs nothing but this package and its ``embedded`` extra: it starts an embedded
PostgreSQL (or uses ``--dsn``), builds a db-sync schema in a fresh database, reads it back from the
catalog and prints what it built.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbsync-core", description="Read a cardano-db-sync database from Python."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="build a db-sync database on an embedded PostgreSQL and show it",
        description=(
            "Start an embedded PostgreSQL (or use --dsn / DBSYNC_DSN), create a fresh database "
            "with the db-sync schema, and print a summary. The database is dropped at the end "
            "unless --keep is given."
        ),
    )
    demo.add_argument("--dsn", default=os.environ.get("DBSYNC_DSN"), help="server to use")
    demo.add_argument(
        "--pgdata", type=Path, help="keep the embedded server's data here (fast restarts)"
    )
    demo.add_argument(
        "--address-table", action="store_true", help="use the address-table tx_out layout"
    )
    demo.add_argument("--keep", action="store_true", help="keep the demo database")
    return parser


def _summary(catalog: dict[str, Any]) -> list[str]:
    tables = catalog["tables"]
    methods = Counter(
        (i["method"])
        for t in tables.values()
        for i in t["indexes"]
        if not i.get("backs_constraint")
    )
    columns = sum(len(t["columns"]) for t in tables.values())
    lines = [
        f"  tables   {len(tables):>4}  ({columns} columns)",
        f"  views    {len(catalog['views']):>4}  ({', '.join(sorted(catalog['views']))})",
        f"  domains  {len(catalog['domains']):>4}  ({', '.join(sorted(catalog['domains']))})",
        f"  enums    {len(catalog['enums']):>4}  ({', '.join(sorted(catalog['enums']))})",
        "  indexes  {:>4}  ({})".format(
            sum(methods.values()), ", ".join(f"{n} {m}" for m, n in sorted(methods.items()))
        ),
    ]
    widest = sorted(tables.items(), key=lambda kv: -len(kv[1]["columns"]))[:5]
    lines.append("  widest tables: " + ", ".join(f"{n} ({len(t['columns'])})" for n, t in widest))
    return lines


async def _demo(args: argparse.Namespace) -> int:
    from sqlalchemy import text  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    from dbsync_core._catalog import read_catalog  # noqa: PLC0415
    from dbsync_core._pg import (  # noqa: PLC0415
        PgServer,
        create_database,
        drop_database,
        embedded_server,
        sqlalchemy_url,
        unique_database_name,
    )
    from dbsync_core.schema import create_schema  # noqa: PLC0415

    started = time.perf_counter()
    with ExitStack() as stack:
        if args.dsn:
            server = PgServer("dsn", sqlalchemy_url(args.dsn))
        else:
            if args.pgdata:
                datadir = args.pgdata
            else:
                datadir = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "pgdata"
            print("starting an embedded PostgreSQL ...", flush=True)
            server = stack.enter_context(embedded_server(datadir, keep=args.pgdata is not None))
        name = unique_database_name("dbsync_demo")
        await create_database(server.url, name)
        async with AsyncExitStack() as astack:
            if not args.keep:
                astack.push_async_callback(drop_database, server.url, name)
            engine = create_async_engine(server.database_url(name))
            astack.push_async_callback(engine.dispose)
            async with engine.connect() as conn:
                version = await conn.scalar(text("SHOW server_version"))
                await create_schema(conn, address_table=args.address_table)
                await conn.commit()
                catalog = await read_catalog(conn)
            layout = "address table" if args.address_table else "core"
            print(f"PostgreSQL {version} ({server.kind}), database {name}")
            print(f"db-sync schema 15/51/6, tx_out layout: {layout}")
            print("\n".join(_summary(catalog)))
            if args.keep:
                url = server.database_url(name).render_as_string(hide_password=True)
                print(f"kept: {url}")
    print(f"done in {time.perf_counter() - started:.2f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dbsync-core`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return asyncio.run(_demo(args))
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":
    sys.exit(main())
