"""Native assets against the generator's ground truth, on every db-sync variant of the shared
chain; CIP-68 metadata on rows inserted by hand (the generator mints no CIP-68 tokens)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import attrs
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core import InvalidInputError, detect_layout, fetch_all, fetch_one, pages, records
from dbsync_core.assets import (
    asset_holders,
    asset_info,
    asset_mints,
    asset_txs,
    assets_by_fingerprints,
    assets_info,
    fetch_asset,
    fetch_asset_holders,
    fetch_asset_mints,
    fetch_asset_txs,
    fetch_assets,
    fetch_policy_assets,
    policy_assets,
)
from dbsync_core.codecs import AssetId, asset_fingerprint
from dbsync_core.layout import DEFAULT_LAYOUT
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


def unit(policy: bytes, name: bytes) -> str:
    return policy.hex() + name.hex()


def expected_asset(expect: Expect, ident: int) -> tuple[Any, ...]:
    """(id, policy, name, fingerprint, supply, mints, burns, first mint tx, CIP-25 entry)."""
    truth = expect.truth
    asset = truth.assets_by_ident[ident]
    mints = [(t, q) for t, q in asset.mints if q > 0]
    first = min((t for t, _q in mints), default=None)
    cip25 = None
    for tx_id, _q in sorted(mints, reverse=True):
        entry = expect.tx_by_id[tx_id].metadata.get(721, {}).get(asset.policy.hex())
        if entry is not None:
            try:
                key = asset.name.decode()
            except UnicodeDecodeError:
                key = asset.name.hex()
            cip25 = entry.get(key, entry.get(asset.name.hex()))
            break
    return (
        ident, asset.policy, asset.name, asset.fingerprint, truth.asset_supply(ident),
        len(mints), sum(1 for _t, q in asset.mints if q < 0),
        expect.tx_by_id[first].hash if first else None, cip25,
    )  # fmt: skip


def fields(asset: records.Asset) -> tuple[Any, ...]:
    return (
        asset.id, asset.policy, asset.name, asset.fingerprint, asset.supply, asset.mint_count,
        asset.burn_count, asset.first_mint_tx_hash, asset.cip25,
    )  # fmt: skip


async def test_asset_info_matches_truth(env):
    """Supply, counts, first mint and CIP-25 per asset, by id, fingerprint and batch."""
    conn, _layout, expect = env
    truth = expect.truth
    idents = sorted(truth.assets_by_ident)
    want = [expected_asset(expect, i) for i in idents]
    units = [unit(truth.assets_by_ident[i].policy, truth.assets_by_ident[i].name) for i in idents]
    by_id = await fetch_assets(conn, [*units, "ab" * 28 + "00"])
    assert [fields(a) for a in by_id] == want
    assert all(a.cip68 is None for a in by_id)
    assert any(a.cip25 for a in by_id)
    assert any(a.burn_count for a in by_id)
    prints = [truth.assets_by_ident[i].fingerprint for i in idents]
    assert await fetch_all(conn, assets_by_fingerprints(prints[::-1])) == by_id[::-1]
    block_time = {b.id: b.time for b in truth.blocks}
    for asset in by_id[:8]:
        assert await fetch_asset(conn, asset.fingerprint) == asset
        assert await fetch_asset(conn, AssetId(asset.policy, asset.name)) == asset
        dotted = f"{asset.policy.hex()}.{asset.name.hex()}"
        assert await fetch_one(conn, asset_info(dotted)) == asset
        first = min(t for t, q in truth.assets_by_ident[asset.id].mints if q > 0)
        assert asset.first_mint_time is not None
        assert asset.first_mint_time.replace(tzinfo=None) == block_time[expect.block_of_tx[first]]
    assert await fetch_asset(conn, asset_fingerprint(b"\x01" * 28, b"none")) is None


async def test_policy_assets_match_truth(env):
    """A policy's assets, in creation order, page by page."""
    conn, _layout, expect = env
    by_policy: dict[bytes, list[int]] = defaultdict(list)
    for ident, asset in sorted(expect.truth.assets_by_ident.items()):
        by_policy[asset.policy].append(ident)
    for policy, idents in by_policy.items():
        got = await fetch_policy_assets(conn, policy.hex())
        assert [fields(a) for a in got] == [expected_asset(expect, i) for i in idents]
    biggest = max(by_policy, key=lambda p: len(by_policy[p]))
    assert len(by_policy[biggest]) > 2
    first = await pages(conn, policy_assets(biggest), page_size=2)
    rest = await pages(conn, policy_assets(biggest), page_size=100, cursor=first.next_cursor)
    assert [a.id for a in first.items + rest.items] == by_policy[biggest]


async def test_holders_mints_and_txs_match_truth(env):
    """Holders (unspent outputs by address), mints and burns, and the txs touching an asset."""
    conn, layout, expect = env
    truth = expect.truth
    for ident, asset in sorted(truth.assets_by_ident.items()):
        key = asset.fingerprint if ident % 2 else unit(asset.policy, asset.name)
        holders = await fetch_asset_holders(conn, key)
        assert [(h.address, h.quantity) for h in holders] == sorted(
            truth.asset_holders(ident).items()
        )
        mints = await fetch_asset_mints(conn, key)
        assert [(m.tx_hash, m.quantity) for m in mints] == [
            (expect.tx_by_id[t].hash, q) for t, q in asset.mints
        ]
        touched = {t for t, _q in asset.mints}
        touched |= {
            o.tx_id
            for o in truth.outputs.values()
            if ident in o.assets and o.id not in expect.pruned
        }
        txs = await fetch_asset_txs(conn, key)
        assert [t.id for t in txs] == sorted(touched, reverse=True)
    widest = max(truth.assets_by_ident, key=lambda i: len(truth.asset_holders(i)))
    asset = truth.assets_by_ident[widest]
    query = asset_holders(asset.fingerprint, layout=layout)
    first = await pages(conn, query, page_size=2)
    rest = await pages(conn, query, page_size=500, cursor=first.next_cursor)
    assert [h.address for h in first.items + rest.items] == sorted(truth.asset_holders(widest))
    page = await pages(conn, asset_txs(asset.fingerprint), page_size=1)
    assert len(page.items) == 1


async def test_cip68_reference_datum(env):
    """A (222) user token's CIP-68 metadata is the latest inline datum of its (100) token."""
    conn, layout, expect = env
    policy = b"\x68" * 28
    user, reference = b"\x00\x0d\xe1\x40Bud", b"\x00\x06\x43\xb0Bud"
    tx_id = expect.truth.txs[-1].id
    async with conn.begin():
        await conn.execute(
            text(
                "INSERT INTO multi_asset (policy, name, fingerprint) VALUES "
                "(:p, :u, :fu), (:p, :r, :fr)"
            ),
            {"p": policy, "u": user, "r": reference, "fu": asset_fingerprint(policy, user),
             "fr": asset_fingerprint(policy, reference)},
        )  # fmt: skip
        for index, value in ((900, 1), (901, 2)):
            datum_id = (
                await conn.execute(
                    text(
                        "INSERT INTO datum (hash, tx_id, value, bytes) "
                        "VALUES (:h, :t, CAST(:v AS jsonb), '\\x00') RETURNING id"
                    ),
                    {"h": bytes([index % 256]) * 32, "t": tx_id, "v": f'{{"int": {value}}}'},
                )
            ).scalar_one()
            if layout.address_table:
                columns, values = "address_id", "(SELECT min(id) FROM address)"
            else:
                columns, values = "address, address_has_script", "'addr_test1x', false"
            out_id = (
                await conn.execute(
                    text(
                        f"INSERT INTO tx_out (tx_id, index, {columns}, value, inline_datum_id) "
                        f"VALUES (:t, :i, {values}, 2000000, :d) RETURNING id"
                    ),
                    {"t": tx_id, "i": index, "d": datum_id},
                )
            ).scalar_one()
            await conn.execute(
                text(
                    "INSERT INTO ma_tx_out (quantity, tx_out_id, ident) "
                    "SELECT 1, :o, id FROM multi_asset WHERE policy = :p AND name = :r"
                ),
                {"o": out_id, "p": policy, "r": reference},
            )
        found = await fetch_one(conn, asset_info(unit(policy, user)))
        assert found.cip68 == {"int": 2}
        assert (found.supply, found.mint_count, found.first_mint_tx_hash) == (0, 0, None)
        ref = await fetch_one(conn, asset_info(unit(policy, reference)))
        assert ref.cip68 is None
        holders = await fetch_all(conn, asset_holders(unit(policy, reference), layout=layout))
        assert [h.quantity for h in holders] == [2]
        await conn.rollback()
    assert await fetch_asset(conn, unit(policy, user)) is None


ID = "ab" * 28 + "cafe"
BAD_INPUT = [
    (asset_info, ("ab" * 27,), "asset"),
    (asset_info, ("asset1xyz",), "asset"),
    (asset_info, (None,), "asset"),
    (asset_info, (AssetId(b"\x00" * 27, b""),), "asset"),
    (asset_info, (AssetId(b"\x00" * 28, b"x" * 33),), "asset"),
    (assets_info, (ID,), "assets"),
    (assets_info, ([],), "assets"),
    (assets_info, ([ID, "zz"],), "assets[1]"),
    (assets_info, ([asset_fingerprint(b"\x00" * 28, b"")],), "assets[0]"),
    (assets_info, ([ID] * 10_001,), "assets"),
    (assets_by_fingerprints, ("asset1",), "fingerprints"),
    (assets_by_fingerprints, ([],), "fingerprints"),
    (assets_by_fingerprints, ([ID],), "fingerprints[0]"),
    (policy_assets, ("ab" * 32,), "policy"),
    (asset_holders, ("ab" * 28 + "0",), "asset"),
    (asset_mints, (b"\x00" * 28,), "asset"),
    (asset_txs, ("",), "asset"),
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
        asset_holders(ID, layout="core")  # type: ignore[arg-type]


async def test_runners_validate_before_touching_the_connection():
    """Runners raise InvalidInputError before they use the connection at all."""

    class Unusable:
        """Anything the runner touches on this object fails the test."""

        def __getattr__(self, name: str) -> Any:
            pytest.fail(f"the runner used the connection ({name}) before validating")

    conn: Any = Unusable()
    for call in (
        lambda: fetch_asset(conn, "asset1bad"),
        lambda: fetch_assets(conn, ["bad"]),
        lambda: fetch_policy_assets(conn, b"\x00"),
        lambda: fetch_asset_holders(conn, 5),  # type: ignore[arg-type]
        lambda: fetch_asset_mints(conn, "x"),
        lambda: fetch_asset_txs(conn, ID + "0"),
    ):
        with pytest.raises(InvalidInputError):
            await call()


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)
@pytest.mark.parametrize(
    ("make", "record"),
    [
        (lambda lo: asset_info(ID), records.Asset),
        (lambda lo: asset_info(asset_fingerprint(b"\x00" * 28, b"")), records.Asset),
        (lambda lo: assets_info([ID]), records.Asset),
        (lambda lo: assets_by_fingerprints([asset_fingerprint(b"\x00" * 28, b"")]), records.Asset),
        (lambda lo: policy_assets("ab" * 28), records.Asset),
        (lambda lo: asset_holders(ID, layout=lo), records.AssetHolder),
        (lambda lo: asset_mints(ID), records.AssetMint),
        (lambda lo: asset_txs(ID), records.Tx),
    ],
)
def test_select_labels_are_the_record_fields(make, record, variant):
    """Each builder's select list is its record's fields, in order."""
    layout = attrs.evolve(DEFAULT_LAYOUT, address_table=variant.address_table, spent=variant.spent)
    query = make(layout)
    assert list(query.statement.selected_columns.keys()) == [f.name for f in attrs.fields(record)]
    width = len(query.statement.selected_columns)
    row: list[Any] = [None] * width
    if record is records.Asset:
        row[2] = b""
    assert type(query.maker.one(row)) is record
