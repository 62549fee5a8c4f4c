"""A database built by ``create_schema`` is indistinguishable from one db-sync's migrations built.

The reference (``tests/data/dbsync-schema.json``) was read from the catalog of a database built
with upstream's own migration files; here the same catalog queries read a database the library
built, for both ``tx_out`` layouts and both index stages, and every difference is reported.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from sqlalchemy import text

from dbsync_core._catalog import read_catalog
from dbsync_core.exceptions import SchemaExistsError
from dbsync_core.schema import SCHEMA_VERSION, create_schema

NEAR_TIP = "near_tip_stage4"


def _norm_default(value: str | None) -> str | None:
    return None if value is None else " ".join(value.split())


def expected_catalog(ref: dict[str, Any], *, address_table: bool, near_tip: bool) -> dict[str, Any]:
    """The reference, adjusted for the layout and index stage, in the catalog reader's shape."""
    tables = copy.deepcopy(ref["tables"])
    if address_table:
        variant = ref["variants_and_runtime_changes"]["tx_out_address_table_variant"]
        tables["address"] = copy.deepcopy(variant["new_table_address"])
        for name, change in variant["altered_tables"].items():
            spec = tables[name]
            spec["columns"] = [
                c for c in spec["columns"] if c["name"] not in change["dropped_columns"]
            ] + copy.deepcopy(change["added_columns"])
            spec["indexes"] = [
                i for i in spec["indexes"] if i["name"] not in change["indexes_not_created"]
            ]
    for spec in tables.values():
        if not near_tip:
            spec["indexes"] = [i for i in spec["indexes"] if i["created"] != NEAR_TIP]
    return {
        "tables": tables,
        "views": ref["views"],
        "domains": ref["domains"],
        "enums": ref["enums"],
    }


def _columns(spec: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            c["name"],
            c["type"],
            c.get("domain"),
            c.get("enum"),
            c["nullable"],
            _norm_default(c.get("default")),
        )
        for c in spec["columns"]
    ]


def _indexes(spec: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {
        (
            i["name"],
            tuple(i["columns"]),
            i["unique"],
            i["primary"],
            i["method"],
            i.get("backs_constraint"),
        )
        for i in spec["indexes"]
    }


def _fks(spec: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            f["name"],
            tuple(f["columns"]),
            f["ref_table"],
            tuple(f["ref_columns"]),
            f["on_delete"],
            f["on_update"],
        )
        for f in spec["foreign_keys"]
    )


def diff_catalogs(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Every difference between two catalogs, one line each."""
    out: list[str] = []
    exp_t, act_t = expected["tables"], actual["tables"]
    out += [f"missing table {t}" for t in sorted(set(exp_t) - set(act_t))]
    out += [f"extra table {t}" for t in sorted(set(act_t) - set(exp_t))]
    for name in sorted(set(exp_t) & set(act_t)):
        e, a = exp_t[name], act_t[name]
        if _columns(e) != _columns(a):
            out.append(f"{name}: columns differ\n  want {_columns(e)}\n  got  {_columns(a)}")
        if e["primary_key"] != a["primary_key"]:
            out.append(f"{name}: primary key {a['primary_key']} != {e['primary_key']}")
        for kind in ("unique_constraints", "check_constraints"):
            want = sorted(e[kind], key=lambda x: x["name"])
            got = sorted(a[kind], key=lambda x: x["name"])
            if want != got:
                out.append(f"{name}: {kind} {got} != {want}")
        if _fks(e) != _fks(a):
            out.append(f"{name}: foreign keys {_fks(a)} != {_fks(e)}")
        ei, ai = _indexes(e), _indexes(a)
        out += [f"{name}: missing index {i}" for i in sorted(ei - ai, key=str)]
        out += [f"{name}: extra index {i}" for i in sorted(ai - ei, key=str)]
    exp_v, act_v = expected["views"], actual["views"]
    if set(exp_v) != set(act_v):
        out.append(f"views {sorted(act_v)} != {sorted(exp_v)}")
    for name in sorted(set(exp_v) & set(act_v)):
        want = [(c["name"], c["type"], c["nullable"]) for c in exp_v[name]["columns"]]
        got = [(c["name"], c["type"], c["nullable"]) for c in act_v[name]["columns"]]
        if want != got:
            out.append(f"view {name}: columns {got} != {want}")
    want_domains = {
        n: (d["declared_over"], d["not_null"], d["check"]) for n, d in expected["domains"].items()
    }
    got_domains = {
        n: (d["declared_over"], d["not_null"], d["check"]) for n, d in actual["domains"].items()
    }
    if want_domains != got_domains:
        out.append(f"domains {got_domains} != {want_domains}")
    if expected["enums"] != actual["enums"]:
        out.append(f"enums {actual['enums']} != {expected['enums']}")
    return out


def _sequence_problems(actual: dict[str, Any]) -> list[str]:
    """Every ``nextval('s')`` default names a sequence owned by exactly that column."""
    problems = []
    wanted = set()
    for tname, spec in actual["tables"].items():
        for col in spec["columns"]:
            match = re.fullmatch(r"nextval\('(\w+)'::regclass\)", col["default"] or "")
            if match:
                seq = match.group(1)
                wanted.add(seq)
                owner = actual["sequences"].get(seq)
                if owner != {"table": tname, "column": col["name"]}:
                    problems.append(f"sequence {seq} owned by {owner}, not {tname}.{col['name']}")
    problems += [f"stray sequence {s}" for s in sorted(set(actual["sequences"]) - wanted)]
    return problems


LAYOUTS = [
    pytest.param(False, True, id="core-near_tip"),
    pytest.param(False, False, id="core-syncing"),
    pytest.param(True, True, id="address-near_tip"),
    pytest.param(True, False, id="address-syncing"),
]


@pytest.mark.parametrize(("address_table", "near_tip"), LAYOUTS)
async def test_created_schema_matches_reference(reference, fresh_db, address_table, near_tip):
    """Tables, columns, types, domains, keys, indexes, enums and views equal the reference."""
    expected = expected_catalog(reference, address_table=address_table, near_tip=near_tip)
    async with fresh_db() as engine, engine.connect() as conn:
        await create_schema(conn, address_table=address_table, near_tip_indexes=near_tip)
        actual = await read_catalog(conn)

    assert diff_catalogs(expected, actual) == []
    assert _sequence_problems(actual) == []
    # The comparison covered real content, not two empty sets.
    n_tables = 77 if address_table else 76
    assert len(actual["tables"]) == n_tables
    assert len(actual["domains"]) == 12
    assert len(actual["enums"]) == 8
    assert set(actual["views"]) == {"epoch", "epoch_current"}
    n_indexes = sum(len(t["indexes"]) for t in actual["tables"].values())
    n_near_tip = sum(
        i["created"] == NEAR_TIP for t in expected["tables"].values() for i in t["indexes"]
    )
    assert n_indexes == sum(len(t["indexes"]) for t in expected["tables"].values())
    assert (n_near_tip > 0) == near_tip


async def test_schema_version_row_and_epoch_flag(dbsync_conn):
    """The version row says 15/51/6; epoch syncing starts disabled, as the migration leaves it."""
    await create_schema(dbsync_conn)
    await dbsync_conn.commit()
    row = (
        await dbsync_conn.execute(
            text("SELECT stage_one, stage_two, stage_three FROM schema_version")
        )
    ).one()
    assert tuple(row) == SCHEMA_VERSION
    assert await dbsync_conn.scalar(text("SELECT enabled FROM epoch_sync_enabled")) is False
    assert await dbsync_conn.scalar(text("SELECT count(*) FROM epoch")) == 0


async def test_create_schema_refuses_a_database_with_tables(dbsync_conn):
    """A second create_schema raises SchemaExistsError and changes nothing."""
    before = await read_catalog(dbsync_conn)
    assert before["tables"], "runs after test_schema_version_row_and_epoch_flag built the schema"
    with pytest.raises(SchemaExistsError, match="refusing"):
        await create_schema(dbsync_conn)
    await dbsync_conn.rollback()
    assert await read_catalog(dbsync_conn) == before


async def test_create_schema_joins_the_callers_transaction(fresh_db):
    """Inside the caller's transaction, a rollback leaves the database empty."""
    async with fresh_db() as engine, engine.connect() as conn:
        async with conn.begin() as trans:
            await create_schema(conn)
            assert await conn.scalar(text("SELECT count(*) FROM pg_tables WHERE tablename = 'tx'"))
            await trans.rollback()
        catalog = await read_catalog(conn)
    assert catalog["tables"] == {}
    assert catalog["domains"] == {}
