"""The Python side of the schema: names, layouts, join paths and the DDL they produce."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

import dbsync_core
from dbsync_core import schema
from dbsync_core.schema import index_ddl, table_ddl

ROOT = Path(__file__).resolve().parent.parent


def test_every_reference_table_is_importable_by_its_name(reference):
    """`from dbsync_core.schema import <table>` works for all 76 tables, with the same columns."""
    for name, spec in reference["tables"].items():
        table = getattr(schema, name)
        assert table is schema.metadata.tables[name]
        assert [c.name for c in table.columns] == [c["name"] for c in spec["columns"]]
    assert len(schema.metadata.tables) == len(reference["tables"]) == 76


def test_address_layout_metadata_is_complete():
    """The address layout has every core table, plus `address`, with tx_out pointing to it."""
    core, addr = schema.metadata.tables, schema.address_metadata.tables
    assert set(addr) == set(core) | {"address"}
    assert schema.tx_out_address is addr["tx_out"]
    assert "address_id" in schema.tx_out_address.c
    assert "address" not in schema.tx_out_address.c
    assert "payment_cred" not in schema.collateral_tx_out_address.c
    # copied tables keep their stage marks and their join paths
    near_tip = {i.name for i in addr["tx_in"].indexes if i.info.get("near_tip")}
    assert near_tip == {"idx_tx_in_tx_in_id", "idx_tx_in_tx_out_id", "idx_tx_in_redeemer_id"}
    joined = addr["ma_tx_out"].join(schema.tx_out_address)
    assert str(joined.onclause) == "tx_out.id = ma_tx_out.tx_out_id"


def test_logical_joins_follow_dbsync_conventions():
    """Declared joins: tx→block, and tx_in.tx_out_id points at the producing tx, not tx_out."""
    assert str(schema.tx.join(schema.block).onclause) == "block.id = tx.block_id"
    (fk,) = [f for f in schema.tx_in.foreign_keys if f.parent.name == "tx_out_id"]
    assert fk.column is schema.tx.c.id
    (fk,) = [f for f in schema.ma_tx_out.foreign_keys if f.parent.name == "tx_out_id"]
    assert fk.column is schema.tx_out.c.id
    # every declared join resolves (a typo in the join map would raise here)
    for md in (schema.metadata, schema.address_metadata):
        for table in md.tables.values():
            for fk in table.foreign_keys:
                assert fk.column is not None


@pytest.mark.parametrize("address_table", [False, True])
def test_ddl_emits_only_the_one_real_foreign_key(address_table):
    """db-sync keeps one foreign key (committee_member → committee); the DDL has just that one."""
    ddl = "\n".join(table_ddl(address_table=address_table))
    assert ddl.count("FOREIGN KEY") == 1
    assert re.search(r"committee_member_committee_id_fkey FOREIGN KEY\(committee_id\)", ddl)


def test_index_stages_partition_the_indexes():
    """Initial and near-tip indexes are disjoint and together make every secondary index."""
    everything = set(index_ddl())
    initial, near_tip = set(index_ddl(near_tip=False)), set(index_ddl(near_tip=True))
    assert initial.isdisjoint(near_tip)
    assert initial | near_tip == everything
    assert any("idx_tx_in_tx_out_id" in s for s in near_tip)
    assert any("USING hash" in s and "idx_stake_address_view" in s for s in near_tip)


def test_views_are_selectable():
    """The epoch views are read-only selectables with the view's columns."""
    sql = str(select(schema.epoch.c.no, schema.epoch.c.tx_count).where(schema.epoch.c.no > 1))
    assert "FROM epoch" in sql
    assert [c.name for c in schema.epoch_current.c] == [c.name for c in schema.epoch.c]


def test_public_names_are_sorted_and_exported():
    """`__all__` lists are sorted and every name in them exists."""
    for module in (dbsync_core, schema):
        assert list(module.__all__) == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", dbsync_core.__version__)


def test_py_typed_is_shipped():
    """The package is marked as typed."""
    assert (Path(dbsync_core.__file__).parent / "py.typed").exists()


def test_generated_table_modules_are_up_to_date():
    """The table modules are what tools/gen_schema.py makes of the reference JSON."""
    if not (ROOT / "tools" / "gen_schema.py").exists():
        pytest.fail("tools/gen_schema.py is missing from this checkout")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_is_lazy():
    """`import dbsync_core` loads no heavy module until a name is used (PEP 562)."""
    code = (
        "import sys, dbsync_core\n"
        "heavy = [m for m in ('dbsync_core.schema', 'dbsync_core._exec', 'sqlalchemy') "
        "if m in sys.modules]\n"
        "assert heavy == [], heavy\n"
        "dbsync_core.fetch_all\n"
        "assert 'dbsync_core._exec' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
