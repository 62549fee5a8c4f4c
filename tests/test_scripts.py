"""Scripts, datums, redeemers and reference-script UTxOs against the generator's ground truth,
on every db-sync variant of the shared chain."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import attrs
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core import InvalidInputError, detect_layout, fetch_all, pages, records
from dbsync_core.layout import DEFAULT_LAYOUT
from dbsync_core.scripts import (
    datum_info,
    datums_info,
    fetch_datum,
    fetch_datums,
    fetch_reference_script_utxos,
    fetch_script,
    fetch_script_redeemers,
    fetch_scripts,
    fetch_tx_redeemers,
    reference_script_utxos,
    script_info,
    script_redeemers,
    scripts_info,
    tx_redeemers,
)
from dbsync_core.synth import ALL_VARIANTS
from tests.test_catalogue import Expect

TXS = 2500
SEED = 11


@pytest.fixture(params=ALL_VARIANTS, ids=lambda v: v.name)
async def env(request, dbsync_chain_factory):
    db = await dbsync_chain_factory(txs=TXS, seed=SEED, variant=request.param)
    engine = create_async_engine(db.url)
    async with engine.connect() as conn:
        yield conn, await detect_layout(conn), Expect(db)
    await engine.dispose()


async def test_scripts_match_truth(env):
    """Every script by hash (alone and in one batch): type, size, bytes or JSON, first tx."""
    conn, _layout, expect = env
    scripts = sorted(expect.truth.scripts.values(), key=lambda s: s.id)
    want = [
        (s.hash, s.type, s.size, s.cbor, s.json, expect.tx_by_id[s.tx_id].hash) for s in scripts
    ]
    got = await fetch_scripts(conn, [s.hash.hex() for s in scripts[::-1]] + ["00" * 28])
    assert [(s.hash, s.type, s.serialised_size, s.cbor, s.json, s.tx_hash) for s in got] == want
    assert {s.type for s in got} >= {"timelock", "plutusV1", "plutusV2"}
    assert await fetch_script(conn, scripts[0].hash) == got[0]
    assert await fetch_script(conn, b"\x00" * 28) is None


async def test_datums_match_truth(env):
    """Every datum by hash (alone and in one batch): JSON value, CBOR, first tx."""
    conn, _layout, expect = env
    datums = sorted(expect.truth.datums.values(), key=lambda d: d.id)
    got = await fetch_datums(conn, [d.hash for d in datums])
    assert [(d.hash, d.value, d.cbor, d.tx_hash) for d in got] == [
        (d.hash, d.value, d.cbor, expect.tx_by_id[d.tx_id].hash) for d in datums
    ]
    assert await fetch_datum(conn, datums[0].hash.hex()) == got[0]
    assert await fetch_datum(conn, "00" * 32) is None


async def test_redeemers_match_truth(env):
    """Redeemers of each tx and of each script: purpose, index, budget, fee, data."""
    conn, _layout, expect = env
    truth = expect.truth
    by_tx: dict[int, list[Any]] = defaultdict(list)
    by_script: dict[bytes, list[Any]] = defaultdict(list)
    for r in truth.redeemers:
        by_tx[r.tx_id].append(r)
        by_script[r.script_hash].append(r)

    def want(rows: list[Any]) -> list[tuple[Any, ...]]:
        return [
            (r.id, expect.tx_by_id[r.tx_id].hash, r.purpose, r.index, r.unit_mem, r.unit_steps,
             r.fee, r.script_hash, r.data_hash, r.value, r.cbor)
            for r in rows
        ]  # fmt: skip

    for tx_id, rows in by_tx.items():
        got = await fetch_tx_redeemers(conn, expect.tx_by_id[tx_id].hash)
        assert [attrs.astuple(r, recurse=False) for r in got] == want(rows)
    for script_hash, rows in by_script.items():
        got = await fetch_script_redeemers(conn, script_hash)
        assert [attrs.astuple(r, recurse=False) for r in got] == want(rows)
    busy = max(by_script, key=lambda h: len(by_script[h]))
    first = await pages(conn, script_redeemers(busy), page_size=1)
    rest = await pages(conn, script_redeemers(busy), page_size=100, cursor=first.next_cursor)
    assert [r.id for r in first.items + rest.items] == [r.id for r in by_script[busy]]
    assert await fetch_tx_redeemers(conn, truth.txs[0].hash) == []


async def test_reference_script_utxos_match_truth(env):
    """Unspent outputs carrying a reference script, per script and for all at once."""
    conn, layout, expect = env
    truth = expect.truth
    hash_of = {s.id: s.hash for s in truth.scripts.values()}
    holding: dict[bytes, list[int]] = defaultdict(list)
    for out in truth.unspent():
        if out.reference_script_id is not None:
            holding[hash_of[out.reference_script_id]].append(out.id)
    assert holding
    for script_hash, ids in holding.items():
        got = await fetch_reference_script_utxos(conn, [script_hash])
        assert [u.id for u in got] == ids
        assert all(u.reference_script_hash == script_hash for u in got)
    everything = await fetch_all(
        conn, reference_script_utxos(list(hash_of.values()), layout=layout)
    )
    assert [u.id for u in everything] == sorted(i for ids in holding.values() for i in ids)


BAD_INPUT = [
    (script_info, ("ab" * 32,), "script_hash"),
    (script_info, (None,), "script_hash"),
    (scripts_info, ("ab" * 28,), "script_hashes"),
    (scripts_info, (["ab" * 28, "zz" * 28],), "script_hashes[1]"),
    (scripts_info, ([b"\x00" * 28] * 10_001,), "script_hashes"),
    (datum_info, ("ab" * 28,), "datum_hash"),
    (datums_info, ([b"\x00" * 31],), "datum_hashes[0]"),
    (tx_redeemers, ("'; --",), "tx_hash"),
    (script_redeemers, (b"\x00" * 32,), "script_hash"),
    (reference_script_utxos, ("ab" * 28,), "script_hashes"),
    (reference_script_utxos, ([5],), "script_hashes[0]"),
]


@pytest.mark.parametrize(
    ("builder", "args", "arg"), BAD_INPUT, ids=lambda v: getattr(v, "__name__", None)
)
def test_bad_input_raises_before_any_sql(builder, args, arg):
    """Builders reject malformed input with InvalidInputError naming the argument."""
    with pytest.raises(InvalidInputError) as info:
        builder(*args)
    assert str(info.value).startswith(arg)


def test_bad_layout_is_rejected():
    """A layout of the wrong type is rejected too."""
    with pytest.raises(InvalidInputError, match=r"^layout"):
        reference_script_utxos(["ab" * 28], layout="core")  # type: ignore[arg-type]


async def test_runners_validate_before_touching_the_connection():
    """Runners raise InvalidInputError before they use the connection at all."""

    class Unusable:
        """Anything the runner touches on this object fails the test."""

        def __getattr__(self, name: str) -> Any:
            pytest.fail(f"the runner used the connection ({name}) before validating")

    conn: Any = Unusable()
    for call in (
        lambda: fetch_script(conn, "x"),
        lambda: fetch_scripts(conn, "ab" * 28),
        lambda: fetch_datum(conn, b"\x00"),
        lambda: fetch_datums(conn, [None]),  # type: ignore[list-item]
        lambda: fetch_tx_redeemers(conn, 1),  # type: ignore[arg-type]
        lambda: fetch_script_redeemers(conn, "ab" * 32),
        lambda: fetch_reference_script_utxos(conn, ["x"]),
    ):
        with pytest.raises(InvalidInputError):
            await call()


H28, H32 = "ab" * 28, "ab" * 32
ASSET_ARRAYS = ["policies", "names", "fingerprints", "quantities"]


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)
@pytest.mark.parametrize(
    ("make", "record"),
    [
        (lambda lo: script_info(H28), records.Script),
        (lambda lo: scripts_info([H28]), records.Script),
        (lambda lo: datum_info(H32), records.Datum),
        (lambda lo: datums_info([H32]), records.Datum),
        (lambda lo: tx_redeemers(H32), records.Redeemer),
        (lambda lo: script_redeemers(H28), records.Redeemer),
        (lambda lo: reference_script_utxos([H28], layout=lo), records.Utxo),
    ],
)
def test_select_labels_are_the_record_fields(make, record, variant):
    """Each builder's select list is its record's fields, in order (assets as four arrays)."""
    layout = attrs.evolve(DEFAULT_LAYOUT, address_table=variant.address_table, spent=variant.spent)
    query = make(layout)
    labels = list(query.statement.selected_columns.keys())
    if ASSET_ARRAYS[0] in labels:
        start = labels.index(ASSET_ARRAYS[0])
        assert labels[start : start + 4] == ASSET_ARRAYS
        labels[start : start + 4] = ["assets"]
    assert labels == [f.name for f in attrs.fields(record)]
    width = len(query.statement.selected_columns)
    assert type(query.maker.one([None] * width)) is record
