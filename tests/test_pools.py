"""Stake pools against the generator's ground truth, on every db-sync variant of the shared
chain, and on a bigger chain (two variants) where pools are also retiring."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import attrs
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core import InvalidInputError, detect_layout, fetch_all, pages, records
from dbsync_core.codecs import parse_pool_id
from dbsync_core.pools import (
    fetch_pool,
    fetch_pool_blocks,
    fetch_pool_delegators,
    fetch_pool_history,
    fetch_pool_list,
    fetch_pool_stake,
    fetch_pools,
    pool_blocks,
    pool_delegators,
    pool_history,
    pool_info,
    pool_list,
    pool_stake,
    pools_info,
    pools_stake,
)
from dbsync_core.records import PoolRelay
from dbsync_core.synth import ALL_VARIANTS, Variant
from tests.test_catalogue import Expect

TXS = 2500
SEED = 11
#: A chain big enough for pools that retire in the future (status "retiring").
BIG_TXS = 20_000
BIG_VARIANTS = [Variant(), Variant(address_table=True, spent="consumed")]
UNKNOWN_POOL = "ab" * 28


@pytest.fixture(params=ALL_VARIANTS, ids=lambda v: v.name)
async def env(request, dbsync_chain_factory):
    db = await dbsync_chain_factory(txs=TXS, seed=SEED, variant=request.param)
    engine = create_async_engine(db.url)
    async with engine.connect() as conn:
        yield conn, await detect_layout(conn), Expect(db)
    await engine.dispose()


@pytest.fixture(params=BIG_VARIANTS, ids=lambda v: v.name)
async def big_env(request, dbsync_chain_factory):
    db = await dbsync_chain_factory(txs=BIG_TXS, seed=SEED, variant=request.param)
    engine = create_async_engine(db.url)
    async with engine.connect() as conn:
        yield conn, await detect_layout(conn), Expect(db)
    await engine.dispose()


def expected_pool(expect: Expect, view: str) -> tuple[Any, ...]:
    """(pool_id, status, retiring_epoch, pledge, cost, margin, reward account, owners, relays,
    metadata url, active epoch, registration tx hash) from the truth."""
    truth = expect.truth
    pool = truth.pools[view]
    update = max(pool.update_rows, key=lambda u: (u.tx_id, u.cert_index))
    retire = max(pool.retirements, default=None)
    status, retiring = "registered", None
    if retire is not None and retire[:2] > (update.tx_id, update.cert_index):
        retiring = retire[2]
        status = "retired" if retiring <= truth.tip_epoch else "retiring"
    return (
        view, status, retiring, update.pledge, update.fixed_cost, update.margin,
        update.reward_address, tuple(sorted(update.owners)),
        tuple(PoolRelay(*r) for r in update.relays), update.metadata_url,
        update.active_epoch_no, expect.tx_by_id[update.tx_id].hash,
    )  # fmt: skip


def pool_fields(pool: records.Pool) -> tuple[Any, ...]:
    return (
        pool.pool_id, pool.status, pool.retiring_epoch, pool.pledge, pool.fixed_cost,
        pool.margin, pool.reward_address, pool.owners, pool.relays, pool.metadata_url,
        pool.active_epoch_no, pool.registered_tx_hash,
    )  # fmt: skip


def live_delegations(expect: Expect) -> dict[str, list[tuple[str, int, int]]]:
    """pool view -> [(stake view, delegation tx id, active epoch)] of live delegations."""
    out: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for view, stake in expect.truth.stakes.items():
        regs = stake.registrations
        if not regs or not regs[-1][2] or not stake.delegations:
            continue
        last_reg = max((t, c) for t, c, is_reg in regs if is_reg)
        tx_id, cert, pool, active = max(stake.delegations, key=lambda d: (d[0], d[1]))
        if (tx_id, cert) >= last_reg:
            out[pool].append((view, tx_id, active))
    return out


async def check_pools(conn: Any, expect: Expect) -> set[str]:
    """Every pool's info, alone, in a batch and in the (filtered) list; the statuses seen."""
    truth = expect.truth
    views = sorted(truth.pools)
    want = {v: expected_pool(expect, v) for v in views}
    batch = await fetch_pools(conn, [*views, UNKNOWN_POOL])
    assert [pool_fields(p) for p in batch] == [want[v] for v in views]
    for pool in batch:
        assert pool.hash == truth.pools[pool.pool_id].hash_raw
        assert pool.metadata_hash is not None
        assert len(pool.vrf_key_hash) == 32
        assert await fetch_pool(conn, pool.hash.hex()) == pool
    listing = await fetch_pool_list(conn)
    assert sorted(p.pool_id for p in listing) == views
    assert [p.id for p in listing] == sorted(p.id for p in listing)
    for status in ("registered", "retiring", "retired"):
        only = await fetch_all(conn, pool_list(status=status))
        assert [p.pool_id for p in only] == [p.pool_id for p in listing if p.status == status]
    assert await fetch_pool(conn, UNKNOWN_POOL) is None
    return {p.status for p in listing}


async def test_pools_match_truth(env):
    """Status and current parameters per pool, one at a time, batched and listed."""
    conn, _layout, expect = env
    statuses = await check_pools(conn, expect)
    assert statuses == {"registered", "retired"}


async def test_retiring_pools_on_a_bigger_chain(big_env):
    """On a longer chain some pools retire in a future epoch: status ``retiring``."""
    conn, _layout, expect = big_env
    statuses = await check_pools(conn, expect)
    assert statuses == {"registered", "retiring", "retired"}
    page = await pages(conn, pool_list(), page_size=2)
    rest = await pages(conn, pool_list(), page_size=100, cursor=page.next_cursor)
    assert [p.id for p in page.items + rest.items] == [p.id for p in await fetch_pool_list(conn)]


async def test_pool_stake_matches_truth(env):
    """Active stake and delegator count per pool and epoch come from the snapshot."""
    conn, _layout, expect = env
    truth = expect.truth
    per: dict[tuple[str, int], list[int]] = defaultdict(list)
    for stake in truth.stakes.values():
        for epoch, (pool, amount) in stake.epoch_stake.items():
            per[pool, epoch].append(amount)
    views = sorted(truth.pools)
    for epoch in sorted(truth.epochs):
        got = await fetch_all(conn, pools_stake(views, epoch_no=epoch))
        assert [(s.pool_id, s.epoch_no, s.active_stake, s.delegator_count) for s in got] == [
            (v, epoch, sum(per[v, epoch]), len(per[v, epoch])) for v in views
        ]
    assert any(per[v, truth.tip_epoch] for v in views)
    current = await fetch_pool_stake(conn, views[0])
    assert current is not None
    assert current.epoch_no == truth.tip_epoch
    assert current.active_stake == sum(per[views[0], truth.tip_epoch])
    assert await fetch_pool_stake(conn, UNKNOWN_POOL) is None


async def test_delegators_are_the_live_delegations(env):
    """A pool's live delegators are the accounts whose latest delegation is to it."""
    conn, _layout, expect = env
    live = live_delegations(expect)
    assert any(live.values())
    for view in sorted(expect.truth.pools):
        got = await fetch_pool_delegators(conn, parse_pool_id(view))
        want = sorted(live.get(view, []), key=lambda d: d[1])
        assert [(d.stake_address, d.tx_hash, d.active_epoch_no) for d in got] == [
            (s, expect.tx_by_id[t].hash, e) for s, t, e in want
        ]
        assert [d.id for d in got] == sorted(d.id for d in got)
    busiest = max(live, key=lambda v: len(live[v]))
    first = await pages(conn, pool_delegators(busiest), page_size=1)
    assert len(first.items) == 1


async def test_blocks_and_history_match_truth(env):
    """Blocks made and per-epoch history (stake, blocks, member and leader rewards)."""
    conn, _layout, expect = env
    truth = expect.truth
    block_epoch = {b.id: b.epoch_no for b in truth.blocks}
    for view, pool in sorted(truth.pools.items()):
        got = await fetch_pool_blocks(conn, view)
        assert [b.id for b in got] == pool.blocks
        newest = await fetch_all(conn, pool_blocks(view, newest_first=True))
        assert [b.id for b in newest] == pool.blocks[::-1]
        rows: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        for stake in truth.stakes.values():
            for epoch, (p, amount) in stake.epoch_stake.items():
                if p == view:
                    rows[epoch][0] += amount
                    rows[epoch][1] += 1
            for earned, _s, kind, amount, p in stake.rewards:
                if p == view and kind in ("member", "leader"):
                    rows[earned][3 if kind == "member" else 4] += amount
        for block_id in pool.blocks:
            rows[block_epoch[block_id]][2] += 1
        history = await fetch_pool_history(conn, view)
        assert [
            (h.epoch_no, h.active_stake, h.delegator_count, h.block_count, h.delegator_rewards,
             h.leader_rewards)
            for h in history
        ] == [(e, *rows[e]) for e in sorted(rows, reverse=True)]  # fmt: skip
    busy = max(truth.pools, key=lambda v: len(truth.pools[v].blocks))
    first = await pages(conn, pool_history(busy), page_size=2)
    rest = await pages(conn, pool_history(busy), page_size=50, cursor=first.next_cursor)
    assert first.items + rest.items == await fetch_pool_history(conn, busy)


P = "pool1" + "q" * 50
BAD_INPUT = [
    (pool_info, ("pool1xyz",), "pool_id"),
    (pool_info, (b"\x00" * 27,), "pool_id"),
    (pool_info, ("ab" * 29,), "pool_id"),
    (pools_info, ("ab" * 28,), "pool_ids"),
    (pools_info, ([],), "pool_ids"),
    (pools_info, (["ab" * 28, "nothex"],), "pool_ids[1]"),
    (pools_info, ([b"\x00" * 28] * 10_001,), "pool_ids"),
    (pool_stake, (None,), "pool_id"),
    (pools_stake, ([5],), "pool_ids[0]"),
    (pool_delegators, ("stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw",), "pool_id"),
    (pool_blocks, ("",), "pool_id"),
    (pool_history, ("drep1xyz",), "pool_id"),
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
    """Statuses, epochs and flags of the wrong kind are rejected too."""
    with pytest.raises(InvalidInputError, match=r"^status"):
        pool_list(status="active")
    with pytest.raises(InvalidInputError, match=r"^epoch_no"):
        pool_stake("ab" * 28, epoch_no=-1)
    with pytest.raises(InvalidInputError, match=r"^epoch_no"):
        pools_stake(["ab" * 28], epoch_no="3")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"^newest_first"):
        pool_blocks("ab" * 28, newest_first=1)  # type: ignore[arg-type]


async def test_runners_validate_before_touching_the_connection():
    """Runners raise InvalidInputError before they use the connection at all."""

    class Unusable:
        """Anything the runner touches on this object fails the test."""

        def __getattr__(self, name: str) -> Any:
            pytest.fail(f"the runner used the connection ({name}) before validating")

    conn: Any = Unusable()
    for call in (
        lambda: fetch_pool_list(conn, status="gone"),
        lambda: fetch_pool(conn, "pool1bad"),
        lambda: fetch_pools(conn, ["x"]),
        lambda: fetch_pool_stake(conn, "ab" * 28, epoch_no=2**40),
        lambda: fetch_pool_delegators(conn, b"\x01"),
        lambda: fetch_pool_blocks(conn, 7),  # type: ignore[arg-type]
        lambda: fetch_pool_history(conn, "zz" * 28),
    ):
        with pytest.raises(InvalidInputError):
            await call()


RELAY_ARRAYS = ["ipv4s", "ipv6s", "dns_names", "dns_srv_names", "ports"]


def _labels(query: Any) -> list[str]:
    labels = list(query.statement.selected_columns.keys())
    if RELAY_ARRAYS[0] in labels:
        start = labels.index(RELAY_ARRAYS[0])
        assert labels[start : start + 5] == RELAY_ARRAYS
        labels[start : start + 5] = ["relays"]
    return labels


@pytest.mark.parametrize(
    ("make", "record"),
    [
        (pool_list, records.Pool),
        (lambda: pool_info("ab" * 28), records.Pool),
        (lambda: pools_info(["ab" * 28]), records.Pool),
        (lambda: pool_stake("ab" * 28), records.PoolStake),
        (lambda: pools_stake(["ab" * 28], epoch_no=3), records.PoolStake),
        (lambda: pool_delegators("ab" * 28), records.PoolDelegator),
        (lambda: pool_blocks("ab" * 28), records.Block),
        (lambda: pool_history("ab" * 28), records.PoolEpoch),
    ],
)
def test_select_labels_are_the_record_fields(make, record):
    """Each builder's select list is its record's fields, in order (relays as five arrays)."""
    query = make()
    assert _labels(query) == [f.name for f in attrs.fields(record)]
    width = len(query.statement.selected_columns)
    assert type(query.maker.one([None] * width)) is record
