"""Look at a live database: is it a db-sync schema the library reads, and how do queries run?

- :func:`check_schema` compares the live catalog with the library's tables for the detected
  layout and reports every difference, graded: an ``error`` is something a query needs that is
  missing or of another type; a ``warning`` slows queries down (a missing index) or is unusual;
  ``info`` is harmless (an extra table or column, ``jsonb`` stored as ``varchar``).
- :func:`explain` shows PostgreSQL's plan for a catalogue query with its real arguments.

``dbsync-core check`` and ``dbsync-core explain`` are the command-line faces of these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import DOMAIN, ENUM

from dbsync_core._catalog import read_catalog
from dbsync_core._exec import _bind, acquire_driver
from dbsync_core.layout import Layout, detect_layout
from dbsync_core.schema import SCHEMA_VERSION, layout_metadata

if TYPE_CHECKING:
    from sqlalchemy import Column
    from sqlalchemy.ext.asyncio import AsyncConnection

    from dbsync_core.query import Query

__all__ = ["Finding", "SchemaReport", "check_schema", "explain", "query_sql"]

Severity = Literal["error", "warning", "info"]

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]

# What format_type() prints for the base types SQLAlchemy renders in DDL.
_TYPE_NAMES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "BOOLEAN": "boolean",
    "BYTEA": "bytea",
    "VARCHAR": "character varying",
    "JSONB": "jsonb",
    "DOUBLE PRECISION": "double precision",
    "TIMESTAMP WITHOUT TIME ZONE": "timestamp without time zone",
}


@attrs.frozen
class Finding:
    """One difference between the live database and what the library expects."""

    severity: Severity
    table: str
    what: str


@attrs.frozen
class SchemaReport:
    """The detected layout and every finding; :attr:`compatible` when there is no error."""

    layout: Layout
    findings: tuple[Finding, ...]
    tables_checked: int
    columns_checked: int

    @property
    def compatible(self) -> bool:
        """True when nothing the library's queries need is missing or mistyped."""
        return not any(f.severity == "error" for f in self.findings)

    def count(self, severity: Severity) -> int:
        """How many findings of this severity."""
        return sum(1 for f in self.findings if f.severity == severity)


def _base_name(kind: Any) -> str:
    while isinstance(kind, DOMAIN):
        kind = kind.data_type
    rendered = str(kind.compile(dialect=_DIALECT))
    return _TYPE_NAMES.get(rendered, rendered.lower().replace(" ", ""))


def _expected_type(column: Column[Any]) -> tuple[str | None, str]:
    """(domain or enum name, base type) of a library column, as the catalog shows them."""
    kind = column.type
    if isinstance(kind, DOMAIN | ENUM):
        return kind.name, _base_name(kind) if isinstance(kind, DOMAIN) else ""
    return None, _base_name(kind)


def _compare_columns(
    table: str, want: list[Column[Any]], have: dict[str, dict[str, Any]]
) -> list[Finding]:
    found: list[Finding] = []
    for column in want:
        live = have.get(column.name)
        if live is None:
            found.append(Finding("error", table, f"column {column.name} is missing"))
            continue
        named, base = _expected_type(column)
        live_named = live.get("domain") or live.get("enum")
        if named is not None:
            if live_named != named:
                # The domain's base type without the domain is only a label lost.
                same_base = live_named is None and bool(base) and live["type"] == base
                found.append(
                    Finding(
                        "warning" if same_base else "error",
                        table,
                        f"column {column.name} is {live_named or live['type']}, not {named}",
                    )
                )
        elif base == "jsonb" and live["type"] == "character varying":
            found.append(
                Finding(
                    "info", table, f"column {column.name} is varchar (remove_jsonb_from_schema)"
                )
            )
        elif live_named is not None or live["type"] != base:
            found.append(
                Finding(
                    "error",
                    table,
                    f"column {column.name} is {live_named or live['type']}, not {base}",
                )
            )
        if live["nullable"] != column.nullable:
            state = "nullable" if live["nullable"] else "NOT NULL"
            found.append(Finding("warning", table, f"column {column.name} is {state}"))
    extra = sorted(set(have) - {c.name for c in want})
    found += [Finding("info", table, f"extra column {name}") for name in extra]
    return found


async def check_schema(conn: AsyncConnection) -> SchemaReport:
    """Compare the live schema with the library's tables for the database's own layout."""
    layout = await detect_layout(conn)
    catalog = await read_catalog(conn)
    live_tables: dict[str, dict[str, Any]] = catalog["tables"]
    md = layout_metadata(address_table=layout.address_table)
    findings: list[Finding] = []
    columns = 0
    for name, table in md.tables.items():
        live = live_tables.get(name)
        if live is None:
            findings.append(Finding("error", name, "table is missing"))
            continue
        columns += len(table.columns)
        have = {c["name"]: c for c in live["columns"]}
        findings += _compare_columns(name, list(table.columns), have)
        live_indexes = {i["name"] for i in live["indexes"]}
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            if index.name in live_indexes:
                continue
            stage = "a near-tip (stage 4) index" if index.info.get("near_tip") else "an index"
            findings.append(Finding("warning", name, f"{stage} is missing: {index.name}"))
    for name in sorted(set(live_tables) - set(md.tables)):
        findings.append(Finding("info", name, "a table the library does not know"))
    if layout.schema_version != SCHEMA_VERSION:
        older = layout.schema_version < SCHEMA_VERSION
        findings.append(
            Finding(
                "warning",
                "schema_version",
                f"schema {'.'.join(map(str, layout.schema_version))} "
                f"({'older' if older else 'newer'} than the "
                f"{'.'.join(map(str, SCHEMA_VERSION))} the library is built for)",
            )
        )
    if not layout.epoch_enabled:
        findings.append(Finding("info", "epoch", "epoch rows are not kept (computed instead)"))
    return SchemaReport(layout, tuple(findings), len(md.tables), columns)


def query_sql(conn: AsyncConnection, query: Query[Any]) -> tuple[str, list[object]]:
    """The SQL text (``$n`` placeholders) and arguments the executors send for ``query``."""
    statement, params = query._effective(page=False)  # noqa: SLF001
    return _bind(conn, statement, params)


async def explain(conn: AsyncConnection, query: Query[Any], *, analyze: bool = False) -> str:
    """PostgreSQL's plan for ``query`` with its arguments (``analyze=True`` runs it)."""
    driver = await acquire_driver(conn)
    sql, args = query_sql(conn, query)
    options = "ANALYZE, BUFFERS, " if analyze else ""
    rows = await driver.fetch(f"EXPLAIN ({options}FORMAT TEXT) {sql}", *args)
    return "\n".join(row[0] for row in rows)
