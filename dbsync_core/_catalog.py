"""Read a live database's schema from the PostgreSQL catalog.

The result has the shape of the reference schema JSON (tables with columns, keys, constraints and
indexes; views; domains; enums), so a live db-sync database, a database the library created and
the reference can be compared field by field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["read_catalog"]

_COLUMNS = text("""
SELECT c.relname, c.relkind::text, a.attname, a.attnotnull, a.attgenerated::text,
       t.typtype::text,
       CASE WHEN t.typtype = 'd' THEN t.typname END AS domain_name,
       CASE WHEN t.typtype = 'e' THEN t.typname END AS enum_name,
       format_type(
           CASE WHEN t.typtype = 'd' THEN bt.oid ELSE a.atttypid END,
           CASE WHEN t.typtype = 'd' THEN bt.typtypmod ELSE a.atttypmod END
       ) AS base_type,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN LATERAL (
    -- resolve a domain over a domain (outsum -> word128type -> numeric) to its base type
    WITH RECURSIVE chain(oid, typbasetype, typtypmod, typtype) AS (
        SELECT t.oid, t.typbasetype, t.typtypmod, t.typtype
        UNION ALL
        SELECT x.oid, x.typbasetype,
               CASE WHEN x.typtype = 'd' THEN x.typtypmod ELSE chain.typtypmod END, x.typtype
        FROM chain JOIN pg_type x ON x.oid = chain.typbasetype
        WHERE chain.typtype = 'd'
    )
    SELECT oid, typtypmod FROM chain WHERE typtype <> 'd' LIMIT 1
) bt ON true
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p')
ORDER BY c.relname, a.attnum
""")

_CONSTRAINTS = text("""
SELECT c.relname, k.conname, k.contype::text,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i),
       rt.relname AS ref_table,
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i),
       k.confdeltype::text, k.confupdtype::text,
       pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rt ON rt.oid = k.confrelid
WHERE n.nspname = current_schema() AND k.contype IN ('p', 'u', 'f', 'c')
ORDER BY c.relname, k.conname
""")

_INDEXES = text("""
SELECT t.relname, i.relname AS index_name, x.indisunique, x.indisprimary, am.amname,
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true)
             FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS columns,
       k.conname AS backs_constraint
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid
WHERE n.nspname = current_schema()
ORDER BY t.relname, i.relname
""")

_DOMAINS = text("""
SELECT t.typname, format_type(t.typbasetype, t.typtypmod) AS declared_over, t.typnotnull,
       (SELECT string_agg(pg_get_constraintdef(k.oid), ' AND ')
        FROM pg_constraint k WHERE k.contypid = t.oid) AS check_def
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = current_schema() AND t.typtype = 'd'
ORDER BY t.typname
""")

_ENUMS = text("""
SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname = current_schema()
GROUP BY t.typname
ORDER BY t.typname
""")

_SEQUENCES = text("""
SELECT c.relname, dt.relname AS owner_table, a.attname AS owner_column
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype IN ('a', 'i')
     AND d.refclassid = 'pg_class'::regclass
LEFT JOIN pg_class dt ON dt.oid = d.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE n.nspname = current_schema() AND c.relkind = 'S'
ORDER BY c.relname
""")

_FK_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


def _unquote(ident: str) -> str:
    # pg_get_indexdef quotes reserved words ("time"); the reference lists bare column names.
    if len(ident) > 1 and ident[0] == ident[-1] == '"':
        return ident[1:-1].replace('""', '"')
    return ident


def _empty_table() -> dict[str, Any]:
    return {
        "columns": [],
        "primary_key": None,
        "unique_constraints": [],
        "foreign_keys": [],
        "check_constraints": [],
        "indexes": [],
    }


async def read_catalog(conn: AsyncConnection) -> dict[str, Any]:
    """The schema of the connection's current schema, in the reference JSON's shape.

    Keys: ``tables``, ``views`` (both by name), ``domains``, ``enums`` and ``sequences``.
    """
    tables, views = await _read_columns(conn)
    await _read_constraints(conn, tables)
    await _read_indexes(conn, tables)
    domains = {
        name: {"declared_over": over, "not_null": notnull, "check": check}
        for name, over, notnull, check in (await conn.execute(_DOMAINS)).all()
    }
    enums = {name: list(labels) for name, labels in (await conn.execute(_ENUMS)).all()}
    sequences = {
        name: {"table": table, "column": column}
        for name, table, column in (await conn.execute(_SEQUENCES)).all()
    }
    return {
        "tables": tables,
        "views": views,
        "domains": domains,
        "enums": enums,
        "sequences": sequences,
    }


async def _read_columns(
    conn: AsyncConnection,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    tables: dict[str, dict[str, Any]] = {}
    views: dict[str, dict[str, Any]] = {}
    for row in (await conn.execute(_COLUMNS)).all():
        col: dict[str, Any] = {
            "name": row.attname,
            "type": row.base_type,
            "nullable": not row.attnotnull,
            "default": row.default_expr,
        }
        if row.domain_name:
            col["domain"] = row.domain_name
        if row.enum_name:
            col["enum"] = row.enum_name
        if row.attgenerated:
            col["generated"] = row.attgenerated
        if row.relkind == "v":
            views.setdefault(row.relname, {"columns": []})["columns"].append(col)
        else:
            tables.setdefault(row.relname, _empty_table())["columns"].append(col)
    return tables, views


async def _read_constraints(conn: AsyncConnection, tables: dict[str, dict[str, Any]]) -> None:
    for rel, name, kind, cols, ref_table, ref_cols, deltype, updtype, definition in (
        await conn.execute(_CONSTRAINTS)
    ).all():
        spec = tables[rel]
        if kind == "p":
            spec["primary_key"] = {"name": name, "columns": list(cols)}
        elif kind == "u":
            spec["unique_constraints"].append({"name": name, "columns": list(cols)})
        elif kind == "c":
            spec["check_constraints"].append({"name": name, "definition": definition})
        else:
            spec["foreign_keys"].append(
                {
                    "name": name,
                    "columns": list(cols),
                    "ref_table": ref_table,
                    "ref_columns": list(ref_cols),
                    "on_delete": _FK_ACTIONS[deltype],
                    "on_update": _FK_ACTIONS[updtype],
                }
            )


async def _read_indexes(conn: AsyncConnection, tables: dict[str, dict[str, Any]]) -> None:
    for rel, name, unique, primary, method, cols, backs in (await conn.execute(_INDEXES)).all():
        index: dict[str, Any] = {
            "name": name,
            "columns": [_unquote(c) for c in cols],
            "unique": unique,
            "primary": primary,
            "method": method,
        }
        if backs:
            index["backs_constraint"] = backs
        tables[rel]["indexes"].append(index)
