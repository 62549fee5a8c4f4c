"""Catalogue part one (txs, addresses, epochs) against the generator's ground truth, on every
db-sync variant of the same chain.

The chains are the ones tests/test_synth_db.py loads (same size and seed: the session-scoped
factory loads each variant once). Expected answers come from the truth only; under ``prune``
the outputs db-sync deleted (spent more than PRUNE_DEPTH blocks before the tip) are left out of
what can be expected, exactly as db-sync leaves them out of the database.
"""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core import (
    InvalidInputError,
    detect_layout,
    fetch_all,
    fetch_one,
    fetch_optional,
    pages,
    records,
    stream,
)
from dbsync_core.addresses import (
    address_balance,
    address_balances,
    address_outputs,
    address_txs,
    address_utxos,
    addresses_outputs,
    addresses_txs,
    addresses_utxos,
    fetch_address_balance,
    fetch_address_utxos,
    fetch_outputs_by_refs,
    outputs_by_refs,
)
from dbsync_core.epochs import (
    epoch_params,
    epoch_stats,
    epoch_summaries,
    epoch_summary,
    fetch_epoch_stats,
    fetch_epoch_summary,
)
from dbsync_core.layout import DEFAULT_LAYOUT
from dbsync_core.records import AssetAmount
from dbsync_core.synth import ALL_VARIANTS
from dbsync_core.synth._load import PRUNE_DEPTH
from dbsync_core.txs import (
    block_txs,
    epoch_txs,
    fetch_block_with_txs,
    fetch_tx,
    fetch_tx_inputs,
    fetch_tx_outputs,
    tx_by_hash,
    tx_inputs,
    tx_metadata_of,
    tx_outputs,
    txs_by_hashes,
    txs_by_metadata_label,
)

TXS = 2500
SEED = 11


class Expect:
    """What the truth says the database holds, given the variant (pruned outputs removed)."""

    def __init__(self, db: Any) -> None:
        self.truth = truth = db.report.truth
        self.variant = db.variant
        self.tx_by_id = {t.id: t for t in truth.txs}
        self.block_of_tx = {t.id: t.block_id for t in truth.txs}
        tip_block = db.report.tip_block_id
        self.pruned: set[int] = set()
        if self.variant.spent == "prune":
            self.pruned = {
                o.id
                for o in truth.outputs.values()
                if o.spent_by is not None
                and self.block_of_tx[o.spent_by] <= tip_block - PRUNE_DEPTH
            }

    def assets(self, held: dict[int, int]) -> tuple[AssetAmount, ...]:
        out = []
        for ident, q in sorted(held.items()):
            a = self.truth.assets_by_ident[ident]
            out.append(AssetAmount(a.policy, a.name, a.fingerprint, q))
        return tuple(out)

    def outputs_at(self, address: str) -> list[Any]:
        return [
            o
            for o in self.truth.outputs.values()
            if o.address == address and o.id not in self.pruned
        ]

    def history(self, address: str) -> list[int]:
        if self.variant.spent != "prune":
            found: list[int] = self.truth.address_txs(address)
            return found
        ids = set()
        for o in self.outputs_at(address):
            ids.add(o.tx_id)
            if o.spent_by is not None:
                ids.add(o.spent_by)
        return sorted(ids, reverse=True)


def _sorted_assets(assets: tuple[AssetAmount, ...]) -> tuple[AssetAmount, ...]:
    return tuple(sorted(assets, key=lambda a: (a.policy, a.name)))


@pytest.fixture(params=ALL_VARIANTS, ids=lambda v: v.name)
async def env(request, dbsync_chain_factory):
    db = await dbsync_chain_factory(txs=TXS, seed=SEED, variant=request.param)
    engine = create_async_engine(db.url)
    async with engine.connect() as conn:
        layout = await detect_layout(conn)
        yield conn, layout, Expect(db), db
    await engine.dispose()


def sample_addresses(expect: Expect, n: int = 12) -> list[str]:
    rng = random.Random(5)
    truth = expect.truth
    pool = sorted(truth.addresses)
    chosen = rng.sample(pool, min(n, len(pool)))
    heavy = max(pool, key=lambda a: len(truth.utxos(a)))
    byron = next(a for a in pool if not a.startswith("addr"))
    return [heavy, byron, *chosen]


async def test_layout_is_detected(env):
    """detect_layout reports the variant the chain was written as."""
    _conn, layout, expect, _db = env
    variant = expect.variant
    assert layout.address_table == variant.address_table
    assert layout.spent == variant.spent
    assert layout.near_tip_indexes == variant.near_tip_indexes
    assert layout.epoch_view
    assert layout.epoch_enabled


async def test_txs_by_hash_match_truth(env):
    """tx_by_hash / txs_by_hashes / fetch_tx give the truth's fee, sums, deposit and position."""
    conn, _layout, expect, _db = env
    truth = expect.truth
    sample = random.Random(1).sample(truth.txs, 40)
    for t in sample[:10]:
        found = await fetch_one(conn, tx_by_hash(t.hash))
        assert (found.id, found.hash, found.block_id, found.block_index) == (
            t.id, t.hash, t.block_id, t.block_index,
        )  # fmt: skip
        assert (found.fee, found.out_sum, found.deposit, found.size, found.valid_contract) == (
            t.fee, t.out_sum, t.deposit, t.size, t.valid,
        )  # fmt: skip
        assert found.time.tzinfo is not None
        assert await fetch_tx(conn, t.hash.hex()) == found
    batch = await fetch_all(conn, txs_by_hashes([t.hash for t in sample] + [b"\x01" * 32]))
    assert [t.id for t in batch] == sorted(t.id for t in sample)
    assert await fetch_tx(conn, b"\x02" * 32) is None


async def test_block_txs_and_block_with_txs(env):
    """A block's txs come in block order, and with the block in one round trip."""
    conn, _layout, expect, _db = env
    truth = expect.truth
    busy = max(truth.blocks, key=lambda b: b.tx_count)
    want = [t.id for t in truth.block_txs(busy.id)]
    got = await fetch_all(conn, block_txs(busy.hash))
    assert [t.id for t in got] == want
    assert [t.block_index for t in got] == list(range(len(want)))
    combined = await fetch_block_with_txs(conn, busy.hash)
    assert combined is not None
    assert combined.block.id == busy.id
    assert list(combined.txs) == got
    empty = next(b for b in truth.blocks if b.tx_count == 0)
    alone = await fetch_block_with_txs(conn, empty.hash)
    assert alone is not None
    assert alone.txs == ()
    assert await fetch_block_with_txs(conn, b"\x03" * 32) is None


async def test_tx_outputs_match_truth(env):
    """Outputs come with address, value, assets and the spending tx, in index order."""
    conn, layout, expect, _db = env
    truth = expect.truth
    with_assets = [t for t in truth.txs if any(truth.outputs[o].assets for o in t.outputs)]
    failed = [t for t in truth.txs if not t.valid]
    sample = random.Random(2).sample(truth.txs, 25) + with_assets[:5] + failed[:3]
    assert failed
    for t in sample:
        got = await fetch_all(conn, tx_outputs(t.hash, layout=layout))
        want = [truth.outputs[o] for o in t.outputs if o not in expect.pruned]
        assert [(o.id, o.index, o.address, o.value) for o in got] == [
            (o.id, o.index, o.address, o.value) for o in want
        ]
        for record, out in zip(got, want, strict=True):
            assert _sorted_assets(record.assets) == expect.assets(out.assets)
            spender = expect.tx_by_id[out.spent_by].hash if out.spent_by else None
            assert record.spent_by_tx_hash == spender
            assert record.tx_hash == t.hash
            assert record.stake_address == out.stake_address
    assert await fetch_tx_outputs(conn, sample[0].hash) == await fetch_all(
        conn, tx_outputs(sample[0].hash, layout=layout)
    )


async def test_tx_inputs_match_truth(env):
    """Inputs (spent, collateral, reference) resolve to the outputs they name."""
    conn, layout, expect, _db = env
    truth = expect.truth
    refs = [t for t in truth.txs if t.reference_inputs]
    collateral = [t for t in truth.txs if t.collateral_inputs]
    assert refs
    assert collateral
    sample = random.Random(3).sample(truth.txs[50:], 25) + refs[:3] + collateral[:4]
    for t in sample:
        got = await fetch_all(conn, tx_inputs(t.hash, layout=layout))

        def want(kind: str, ids: list[int], *, all_kept: bool) -> list[tuple[Any, ...]]:
            rows = []
            for out_id in ids:
                o = truth.outputs[out_id]
                gone = out_id in expect.pruned
                if gone and not all_kept:
                    continue
                rows.append(
                    (kind, expect.tx_by_id[o.tx_id].hash, o.index,
                     None if gone else o.address, None if gone else o.value)
                )  # fmt: skip
            return sorted(rows, key=lambda r: (r[1], r[2]))

        # Spent inputs are found through tx_in rows (tx_in mode: all of them) or through the
        # outputs' consumed_by_tx_id (consumed / prune: only the outputs still there).
        spend = want("spend", t.inputs, all_kept=expect.variant.spent == "tx_in")
        expected = (
            spend
            + want("collateral", t.collateral_inputs, all_kept=True)
            + want("reference", t.reference_inputs, all_kept=True)
        )
        assert [(i.kind, i.tx_hash, i.index, i.address, i.value) for i in got] == expected
    assert await fetch_tx_inputs(conn, sample[0].hash) == await fetch_all(
        conn, tx_inputs(sample[0].hash, layout=layout)
    )


async def test_metadata_matches_truth(env):
    """Metadata per tx and by label equal the truth (JSON decoded, CBOR kept)."""
    conn, _layout, expect, _db = env
    truth = expect.truth
    with_meta = [t for t in truth.txs if t.metadata]
    assert with_meta
    for t in with_meta[:10]:
        got = await fetch_all(conn, tx_metadata_of(t.hash))
        assert {m.key: m.json for m in got} == t.metadata
        assert all(m.tx_hash == t.hash and m.cbor for m in got)
    labelled = [t.hash for t in truth.txs if 674 in t.metadata]
    got = await fetch_all(conn, txs_by_metadata_label(674))
    assert [m.tx_hash for m in got] == labelled
    page = await pages(conn, txs_by_metadata_label(674), page_size=3)
    assert [m.tx_hash for m in page.items] == labelled[:3]


async def test_address_utxos_and_balances_match_truth(env):
    """UTxOs (with assets) and balances per address, one at a time and in one batch."""
    conn, layout, expect, _db = env
    truth = expect.truth
    addresses = sample_addresses(expect)
    for address in addresses:
        want = truth.utxos(address)
        got = await fetch_all(conn, address_utxos(address, layout=layout))
        assert [u.id for u in got] == [o.id for o in want]
        for u, o in zip(got, want, strict=True):
            assert (u.address, u.value, u.index) == (o.address, o.value, o.index)
            assert _sorted_assets(u.assets) == expect.assets(o.assets)
        lovelace, held = truth.balance(address)
        (balance,) = await fetch_all(conn, address_balance(address, layout=layout))
        assert (balance.address, balance.lovelace, balance.utxo_count) == (
            address, lovelace, len(want),
        )  # fmt: skip
        # balances list assets by (policy, name)
        assert balance.assets == _sorted_assets(expect.assets(held))
    together = await fetch_all(conn, addresses_utxos(addresses, layout=layout))
    want_ids = sorted(o.id for a in set(addresses) for o in truth.utxos(a))
    assert [u.id for u in together] == want_ids
    balances = await fetch_all(
        conn,
        address_balances(
            [*addresses, "addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8"],
            layout=layout,
        ),
    )
    assert [b.address for b in balances][-1].startswith("addr1vx2")
    assert balances[-1].lovelace == balances[-1].utxo_count == 0
    assert [b.lovelace for b in balances[:-1]] == [truth.balance(a)[0] for a in addresses]
    assert await fetch_address_utxos(conn, addresses[0]) == await fetch_all(
        conn, address_utxos(addresses[0], layout=layout)
    )
    assert (await fetch_address_balance(conn, addresses[0])).lovelace == truth.balance(
        addresses[0]
    )[0]


async def test_heavy_address_pages_without_gaps(env):
    """Keyset pages over the heaviest address's UTxOs cover each exactly once, in order."""
    conn, layout, expect, _db = env
    truth = expect.truth
    heavy = sample_addresses(expect)[0]
    want = [o.id for o in truth.utxos(heavy)]
    assert len(want) > 100
    seen: list[int] = []
    cursor = None
    while True:
        page = await pages(conn, address_utxos(heavy, layout=layout), page_size=37, cursor=cursor)
        seen += [u.id for u in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == want
    streamed = [
        u.id async for u in stream(conn, address_utxos(heavy, layout=layout), batch_size=50)
    ]
    assert streamed == want


async def test_address_history_and_activity_match_truth(env):
    """Tx history newest first (optionally by block range) and every output with spent-by."""
    conn, layout, expect, _db = env
    addresses = sample_addresses(expect, 6)
    for address in addresses:
        history = await fetch_all(conn, address_txs(address, layout=layout))
        assert [t.id for t in history] == expect.history(address)
        outputs = await fetch_all(conn, address_outputs(address, layout=layout))
        want = expect.outputs_at(address)
        assert [o.id for o in outputs] == [o.id for o in want]
        assert [o.spent_by_tx_hash for o in outputs] == [
            expect.tx_by_id[o.spent_by].hash if o.spent_by else None for o in want
        ]
    heavy = addresses[0]
    full = await fetch_all(conn, address_txs(heavy, layout=layout))
    numbers = sorted({t.block_no for t in full if t.block_no is not None})
    low, high = numbers[len(numbers) // 4], numbers[len(numbers) // 2]
    bounded = await fetch_all(
        conn, address_txs(heavy, from_block=low, to_block=high, layout=layout)
    )
    assert [t.id for t in bounded] == [
        t.id for t in full if t.block_no is not None and low <= t.block_no <= high
    ]
    page = await pages(conn, address_txs(heavy, layout=layout), page_size=10)
    assert [t.id for t in page.items] == [t.id for t in full[:10]]
    many = await fetch_all(conn, addresses_txs(addresses, layout=layout))
    assert [t.id for t in many] == sorted(
        {i for a in addresses for i in expect.history(a)}, reverse=True
    )
    many_out = await fetch_all(conn, addresses_outputs(addresses, layout=layout))
    assert [o.id for o in many_out] == sorted(
        {o.id for a in set(addresses) for o in expect.outputs_at(a)}
    )


async def test_outputs_by_refs(env):
    """Outputs by `hash#index` (spent or not) come back in one query; unknown refs are skipped."""
    conn, layout, expect, _db = env
    truth = expect.truth
    outs = [o for o in truth.outputs.values() if o.id not in expect.pruned]
    sample = random.Random(4).sample(outs, 30)
    refs = [f"{expect.tx_by_id[o.tx_id].hash.hex()}#{o.index}" for o in sample]
    refs.append(f"{'ab' * 32}#0")
    got = await fetch_all(conn, outputs_by_refs(refs, layout=layout))
    assert [o.id for o in got] == sorted(o.id for o in sample)
    pairs = [(expect.tx_by_id[o.tx_id].hash, o.index) for o in sample[:3]]
    assert [o.id for o in await fetch_outputs_by_refs(conn, pairs)] == sorted(
        o.id for o in sample[:3]
    )


async def test_epochs_match_truth(env):
    """Epoch summaries and statistics equal the truth; parameters exist from Shelley on."""
    conn, layout, expect, _db = env
    truth = expect.truth
    for e in truth.epochs.values():
        summary = await fetch_one(conn, epoch_summary(e.no, layout=layout))
        assert (summary.no, summary.blk_count, summary.tx_count, summary.fees, summary.out_sum) == (
            e.no, e.blk_count, e.tx_count, e.fees, e.out_sum,
        )  # fmt: skip
        assert summary.start_time is not None
        assert summary.start_time.replace(tzinfo=None) == e.start_time
        stats = await fetch_epoch_stats(conn, e.no)
        assert (stats.tx_count, stats.total_fees, stats.block_count) == (
            e.tx_count, e.fees, e.blk_count,
        )  # fmt: skip
        assert stats.average_fee == pytest.approx(e.fees / e.tx_count if e.tx_count else 0)
        epoch_tx_ids = [t.id async for t in stream(conn, epoch_txs(e.no), batch_size=100)]
        assert len(epoch_tx_ids) == e.tx_count
        assert epoch_tx_ids == sorted(epoch_tx_ids)
    listing = await fetch_all(conn, epoch_summaries(layout=layout))
    assert [s.no for s in listing] == sorted(truth.epochs)
    # the computed path (db-sync with epochs disabled) gives the same numbers
    computed = attrs.evolve(layout, epoch_enabled=False)
    assert await fetch_all(conn, epoch_summaries(layout=computed)) == listing
    params = await fetch_optional(conn, epoch_params(max(truth.epochs)))
    assert params is not None
    assert params.protocol_major >= 9
    assert await fetch_optional(conn, epoch_params(0)) is None
    assert await fetch_epoch_summary(conn, 10_000) is None
    empty = await fetch_one(conn, epoch_stats(10_000))
    assert (empty.tx_count, empty.block_count, empty.total_fees) == (0, 0, 0)


BAD_INPUT = [
    (tx_by_hash, ("zz" * 32,), "tx_hash"),
    (tx_by_hash, (b"\x00" * 31,), "tx_hash"),
    (txs_by_hashes, ("ab" * 32,), "tx_hashes"),
    (txs_by_hashes, ([b"\x00" * 32] * 10_001,), "tx_hashes"),
    (block_txs, (None,), "block_hash"),
    (epoch_txs, (-1,), "epoch_no"),
    (tx_outputs, ("'; DROP TABLE tx; --",), "tx_hash"),
    (tx_inputs, ("\x00" * 64,), "tx_hash"),
    (tx_metadata_of, (12,), "tx_hash"),
    (txs_by_metadata_label, (-5,), "label"),
    (txs_by_metadata_label, (2**64,), "label"),
    (address_utxos, ("addr1qqqq",), "address"),
    (address_utxos, (["addr1..."],), "address"),
    (addresses_utxos, ("addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8",), "addresses"),
    (addresses_utxos, ([],), "addresses"),
    (address_balance, ("stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw",), "address"),
    (address_balances, ([None],), "addresses[0]"),
    (address_txs, ("x",), "address"),
    (addresses_outputs, ([1, 2],), "addresses[0]"),
    (outputs_by_refs, (["abc#1"],), "refs[0]"),
    (outputs_by_refs, ([f"{'ab' * 32}#-1"],), "refs[0]"),
    (outputs_by_refs, ([f"{'ab' * 32}#99999"],), "refs[0]"),
    (outputs_by_refs, ("ab#1",), "refs"),
    (epoch_summary, (2**31,), "epoch_no"),
    (epoch_stats, (True,), "epoch_no"),
    (epoch_params, ("5",), "epoch_no"),
]


@pytest.mark.parametrize(
    ("builder", "args", "arg"), BAD_INPUT, ids=lambda v: getattr(v, "__name__", None)
)
def test_bad_input_raises_before_any_sql(builder, args, arg):
    """Builders reject malformed input with InvalidInputError naming the argument."""
    with pytest.raises(InvalidInputError) as info:
        builder(*args)
    assert str(info.value).startswith(arg)


def test_bad_keyword_input_is_rejected():
    """Block bounds and layouts of the wrong type are rejected too."""
    heavy = "addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8"
    with pytest.raises(InvalidInputError, match="from_block"):
        address_txs(heavy, from_block=-1)
    with pytest.raises(InvalidInputError, match="to_block"):
        address_txs(heavy, to_block="9")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="layout"):
        address_utxos(heavy, layout="core")  # type: ignore[arg-type]


async def test_runners_validate_before_touching_the_connection():
    """Runners raise InvalidInputError before they use the connection at all."""

    class Unusable:
        """Anything the runner touches on this object fails the test."""

        def __getattr__(self, name: str) -> Any:
            pytest.fail(f"the runner used the connection ({name}) before validating")

    conn: Any = Unusable()
    for call in (
        lambda: fetch_tx(conn, "nothex"),
        lambda: fetch_tx_outputs(conn, b"short"),
        lambda: fetch_tx_inputs(conn, 5),  # type: ignore[arg-type]
        lambda: fetch_block_with_txs(conn, ""),
        lambda: fetch_address_utxos(conn, "addr_bad"),
        lambda: fetch_address_balance(conn, None),  # type: ignore[arg-type]
        lambda: fetch_outputs_by_refs(conn, ["x#1"]),
        lambda: fetch_epoch_summary(conn, -3),
        lambda: fetch_epoch_stats(conn, "1"),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidInputError):
            await call()


ASSET_ARRAYS = ["policies", "names", "fingerprints", "quantities"]
HEAVY = "addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8"
H = "ab" * 32


def _labels(query: Any) -> list[str]:
    labels = list(query.statement.selected_columns.keys())
    if labels[-1] == "spent_by_tx_hash" or ASSET_ARRAYS[0] in labels:
        start = labels.index(ASSET_ARRAYS[0])
        assert labels[start : start + 4] == ASSET_ARRAYS
        labels[start : start + 4] = ["assets"]
    return labels


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)
@pytest.mark.parametrize(
    ("make", "record"),
    [
        (lambda lo: tx_by_hash(H), records.Tx),
        (lambda lo: txs_by_hashes([H]), records.Tx),
        (lambda lo: block_txs(H), records.Tx),
        (lambda lo: epoch_txs(3), records.Tx),
        (lambda lo: tx_outputs(H, layout=lo), records.TxOut),
        (lambda lo: tx_inputs(H, layout=lo), records.TxIn),
        (lambda lo: tx_metadata_of(H), records.TxMetadata),
        (lambda lo: txs_by_metadata_label(674), records.TxMetadata),
        (lambda lo: address_utxos(HEAVY, layout=lo), records.Utxo),
        (lambda lo: addresses_utxos([HEAVY], layout=lo), records.Utxo),
        (lambda lo: address_outputs(HEAVY, layout=lo), records.TxOut),
        (lambda lo: address_balance(HEAVY, layout=lo), records.AddressBalance),
        (lambda lo: address_txs(HEAVY, layout=lo), records.Tx),
        (lambda lo: outputs_by_refs([f"{H}#1"], layout=lo), records.TxOut),
        (lambda lo: epoch_summary(3, layout=lo), records.EpochSummary),
        (lambda lo: epoch_stats(3), records.EpochStats),
        (lambda lo: epoch_params(3), records.EpochParams),
    ],
)
def test_select_labels_are_the_record_fields(make, record, variant):
    """Each builder's select list is its record's fields, in order (assets as four arrays)."""
    layout = attrs.evolve(DEFAULT_LAYOUT, address_table=variant.address_table, spent=variant.spent)
    query = make(layout)
    assert _labels(query) == [f.name for f in attrs.fields(record)]
    width = len(query.statement.selected_columns)
    assert type(query.maker.one([None] * width)) is record
