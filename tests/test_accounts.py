"""Stake accounts against the generator's ground truth, on every db-sync variant of the chain
tests/test_catalogue.py uses (same size and seed: the session's chains are shared)."""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core import InvalidInputError, detect_layout, fetch_all, pages, records, stream
from dbsync_core.accounts import (
    account_addresses,
    account_assets,
    account_delegations,
    account_registrations,
    account_rewards,
    account_stake_history,
    account_utxos,
    account_withdrawals,
    accounts_utxos,
    fetch_account_addresses,
    fetch_account_assets,
    fetch_account_delegations,
    fetch_account_registrations,
    fetch_account_rewards,
    fetch_account_stake_history,
    fetch_account_utxos,
    fetch_account_withdrawals,
    fetch_stake_account,
    fetch_stake_accounts,
    stake_account,
    stake_accounts,
)
from dbsync_core.codecs import parse_stake_address
from dbsync_core.layout import DEFAULT_LAYOUT
from dbsync_core.synth import ALL_VARIANTS
from dbsync_core.synth._gen import KEY_DEPOSIT
from tests.test_catalogue import Expect

TXS = 2500
SEED = 11
UNKNOWN = "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw"


@pytest.fixture(params=ALL_VARIANTS, ids=lambda v: v.name)
async def env(request, dbsync_chain_factory):
    db = await dbsync_chain_factory(txs=TXS, seed=SEED, variant=request.param)
    engine = create_async_engine(db.url)
    async with engine.connect() as conn:
        yield conn, await detect_layout(conn), Expect(db)
    await engine.dispose()


def expected_account(expect: Expect, view: str) -> tuple[Any, ...]:
    """The StakeAccount fields the truth implies for ``view``."""
    truth = expect.truth
    stake = truth.stakes[view]
    regs = stake.registrations
    registered = bool(regs) and regs[-1][2]
    last_reg = max(((t, c) for t, c, is_reg in regs if is_reg), default=None)

    def live(certs: list[tuple[Any, ...]]) -> Any:
        if not registered or not certs or last_reg is None:
            return None
        latest = max(certs, key=lambda d: (d[0], d[1]))
        return latest[2] if (latest[0], latest[1]) >= last_reg else None

    rewards = sum(a for _e, s, _t, a, _p in stake.rewards if s <= truth.tip_epoch)
    withdrawn = sum(a for _t, a in stake.withdrawals)
    utxo = truth.stake_balance(view)[0]
    return (
        view, registered, KEY_DEPOSIT if registered else None, live(stake.delegations),
        live(stake.vote_delegations), utxo, rewards, withdrawn, rewards - withdrawn,
        utxo + rewards - withdrawn,
    )  # fmt: skip


def busy_accounts(expect: Expect, n: int = 6) -> list[str]:
    """Accounts with the most activity first, then a few random ones."""
    truth = expect.truth

    def activity(view: str) -> int:
        s = truth.stakes[view]
        return len(s.rewards) + len(s.delegations) + len(s.withdrawals) + len(s.registrations)

    ranked = sorted(truth.stakes, key=activity, reverse=True)
    rest = random.Random(7).sample(ranked[n:], min(n, len(ranked) - n))
    return ranked[:n] + rest


async def test_every_account_matches_truth(env):
    """One batch query gives each account's status, delegations and balances, in order."""
    conn, layout, expect = env
    views = sorted(expect.truth.stakes)
    got = await fetch_all(conn, stake_accounts([*views, UNKNOWN], layout=layout))
    assert [attrs.astuple(a, recurse=False) for a in got] == [
        expected_account(expect, v) for v in views
    ]
    assert any(a.registered for a in got)
    assert any(not a.registered for a in got)
    assert any(a.pool_id for a in got)
    assert any(a.drep_id for a in got)
    assert any(a.rewards_available > 0 for a in got)
    one = await fetch_stake_account(conn, parse_stake_address(views[0]))
    assert one == got[0]
    assert await fetch_stake_account(conn, UNKNOWN) is None
    reverse = await fetch_stake_accounts(conn, views[::-1][:5])
    assert reverse == got[::-1][:5]


async def test_rewards_match_truth(env):
    """Reward history lists reward and reward_rest rows with their pool, by spendable epoch."""
    conn, _layout, expect = env
    truth = expect.truth
    kinds = set()
    for view in sorted(truth.stakes):
        want = sorted(truth.stakes[view].rewards, key=lambda r: (r[1], r[0], r[2], r[4] or ""))
        got = await fetch_account_rewards(conn, view)
        key = [(r.earned_epoch, r.spendable_epoch, r.type, r.amount, r.pool_id) for r in got]
        assert sorted(key, key=lambda r: (r[1], r[0], r[2], r[4] or "", r[3])) == sorted(
            want, key=lambda r: (r[1], r[0], r[2], r[4] or "", r[3])
        )
        assert [r.spendable_epoch for r in got] == sorted(r.spendable_epoch for r in got)
        kinds |= {r.type for r in got}
        if want:
            epoch = want[0][0]
            only = await fetch_all(conn, account_rewards(view, epoch_no=epoch))
            assert {r.earned_epoch for r in only} == {epoch}
            assert len(only) == sum(1 for r in want if r[0] == epoch)
    assert kinds == {"member", "leader", "refund", "reserves", "treasury", "proposal_refund"}


async def test_withdrawals_delegations_registrations_match_truth(env):
    """Withdrawals, delegation and (de)registration certificates come in chain order."""
    conn, _layout, expect = env
    truth = expect.truth
    block_epoch = {b.id: b.epoch_no for b in truth.blocks}
    for view in busy_accounts(expect):
        stake = truth.stakes[view]
        got_w = await fetch_account_withdrawals(conn, view)
        assert [(w.tx_hash, w.amount) for w in got_w] == [
            (expect.tx_by_id[t].hash, a) for t, a in stake.withdrawals
        ]
        assert all(w.time.tzinfo is not None for w in got_w)
        got_d = await fetch_account_delegations(conn, view)
        assert [(d.tx_hash, d.cert_index, d.pool_id, d.active_epoch_no) for d in got_d] == [
            (expect.tx_by_id[t].hash, c, p, e) for t, c, p, e in stake.delegations
        ]
        assert all(d.stake_address == view for d in got_d)
        got_r = await fetch_account_registrations(conn, view)
        assert [(r.kind, r.tx_hash, r.cert_index, r.epoch_no) for r in got_r] == [
            (
                "registration" if is_reg else "deregistration",
                expect.tx_by_id[t].hash,
                c,
                block_epoch[expect.block_of_tx[t]],
            )
            for t, c, is_reg in stake.registrations
        ]
        assert [r.deposit for r in got_r] == [
            KEY_DEPOSIT if is_reg else None for _t, _c, is_reg in stake.registrations
        ]
    busiest = max(truth.stakes.values(), key=lambda s: len(s.delegations))
    page = await pages(conn, account_delegations(busiest.view), page_size=1)
    assert len(page.items) == 1
    assert page.next_cursor is not None


async def test_stake_history_matches_truth(env):
    """Active stake per epoch comes from epoch_stake, oldest epoch first."""
    conn, _layout, expect = env
    for view in busy_accounts(expect):
        want = sorted(expect.truth.stakes[view].epoch_stake.items())
        got = await fetch_account_stake_history(conn, view)
        assert [(s.epoch_no, s.pool_id, s.amount) for s in got] == [(e, p, a) for e, (p, a) in want]
        if len(want) > 1:
            first = await pages(conn, account_stake_history(view), page_size=1)
            rest = await pages(
                conn, account_stake_history(view), page_size=100, cursor=first.next_cursor
            )
            assert first.items + rest.items == got


async def test_addresses_utxos_and_assets_match_truth(env):
    """An account's addresses, UTxOs and assets are its outputs' (prune aside)."""
    conn, layout, expect = env
    truth = expect.truth
    views = busy_accounts(expect)
    for view in views:
        firsts: dict[str, int] = {}
        for o in truth.outputs.values():
            if o.stake_address == view and o.id not in expect.pruned:
                firsts.setdefault(o.address, o.id)
        got_a = await fetch_account_addresses(conn, view)
        assert [(a.address, a.first_out_id) for a in got_a] == sorted(
            firsts.items(), key=lambda kv: kv[1]
        )
        want_u = truth.stake_utxos(view)
        got_u = await fetch_account_utxos(conn, view)
        assert [(u.id, u.address, u.value) for u in got_u] == [
            (o.id, o.address, o.value) for o in want_u
        ]
        assert all(u.stake_address == view for u in got_u)
        held = truth.stake_balance(view)[1]
        got_m = await fetch_account_assets(conn, view)
        assert got_m == sorted(expect.assets(held), key=lambda a: (a.policy, a.name))
    together = await fetch_all(conn, accounts_utxos(views, layout=layout))
    assert [u.id for u in together] == sorted(o.id for v in views for o in truth.stake_utxos(v))
    rich = max(views, key=lambda v: len(truth.stake_utxos(v)))
    streamed = [u.id async for u in stream(conn, account_utxos(rich, layout=layout), batch_size=3)]
    assert streamed == [o.id for o in truth.stake_utxos(rich)]
    paged = await pages(conn, account_addresses(rich, layout=layout), page_size=1)
    assert len(paged.items) == 1
    assert await fetch_all(conn, account_assets(UNKNOWN, layout=layout)) == []


S = "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw"
BAD_INPUT = [
    (stake_account, ("addr1qqqq",), "stake_address"),
    (stake_account, (b"\xe1" + b"\x00" * 27,), "stake_address"),
    (stake_account, (b"\x01" * 29,), "stake_address"),
    (stake_accounts, (S,), "stake_addresses"),
    (stake_accounts, ([],), "stake_addresses"),
    (stake_accounts, ([S, "x"],), "stake_addresses[1]"),
    (stake_accounts, ([S] * 10_001,), "stake_addresses"),
    (account_rewards, (None,), "stake_address"),
    (account_withdrawals, (5,), "stake_address"),
    (account_delegations, ("stake1",), "stake_address"),
    (account_registrations, ("pool1xyz",), "stake_address"),
    (account_stake_history, ("",), "stake_address"),
    (account_addresses, ("stake_test1x",), "stake_address"),
    (account_utxos, ([S],), "stake_address"),
    (accounts_utxos, ([None],), "stake_addresses[0]"),
    (account_assets, (S.upper()[:-1],), "stake_address"),
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
    """Epoch filters and layouts of the wrong type are rejected too."""
    with pytest.raises(InvalidInputError, match=r"^epoch_no"):
        account_rewards(S, epoch_no=-1)
    with pytest.raises(InvalidInputError, match=r"^epoch_no"):
        account_rewards(S, epoch_no=2**31)
    with pytest.raises(InvalidInputError, match=r"^layout"):
        stake_account(S, layout="core")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"^layout"):
        account_utxos(S, layout=object())  # type: ignore[arg-type]


async def test_runners_validate_before_touching_the_connection():
    """Runners raise InvalidInputError before they use the connection at all."""

    class Unusable:
        """Anything the runner touches on this object fails the test."""

        def __getattr__(self, name: str) -> Any:
            pytest.fail(f"the runner used the connection ({name}) before validating")

    conn: Any = Unusable()
    for call in (
        lambda: fetch_stake_account(conn, "stake1bad"),
        lambda: fetch_stake_accounts(conn, []),
        lambda: fetch_account_rewards(conn, S, epoch_no=-2),
        lambda: fetch_account_withdrawals(conn, b"short"),
        lambda: fetch_account_delegations(conn, 5),  # type: ignore[arg-type]
        lambda: fetch_account_registrations(conn, "addr1x"),
        lambda: fetch_account_stake_history(conn, None),  # type: ignore[arg-type]
        lambda: fetch_account_addresses(conn, ""),
        lambda: fetch_account_utxos(conn, "stake"),
        lambda: fetch_account_assets(conn, S + "q"),
    ):
        with pytest.raises(InvalidInputError):
            await call()


def _labels(query: Any) -> list[str]:
    labels = list(query.statement.selected_columns.keys())
    if "policies" in labels:
        start = labels.index("policies")
        assert labels[start : start + 4] == ["policies", "names", "fingerprints", "quantities"]
        labels[start : start + 4] = ["assets"]
    return labels


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)
@pytest.mark.parametrize(
    ("make", "record"),
    [
        (lambda lo: stake_account(S, layout=lo), records.StakeAccount),
        (lambda lo: stake_accounts([S], layout=lo), records.StakeAccount),
        (lambda lo: account_rewards(S), records.Reward),
        (lambda lo: account_withdrawals(S), records.Withdrawal),
        (lambda lo: account_delegations(S), records.Delegation),
        (lambda lo: account_registrations(S), records.StakeRegistration),
        (lambda lo: account_stake_history(S), records.ActiveStake),
        (lambda lo: account_addresses(S, layout=lo), records.AccountAddress),
        (lambda lo: account_utxos(S, layout=lo), records.Utxo),
        (lambda lo: accounts_utxos([S], layout=lo), records.Utxo),
        (lambda lo: account_assets(S, layout=lo), records.AssetAmount),
    ],
)
def test_select_labels_are_the_record_fields(make, record, variant):
    """Each builder's select list is its record's fields, in order (assets as four arrays)."""
    layout = attrs.evolve(DEFAULT_LAYOUT, address_table=variant.address_table, spent=variant.spent)
    query = make(layout)
    assert _labels(query) == [f.name for f in attrs.fields(record)]
    width = len(query.statement.selected_columns)
    assert type(query.maker.one([None] * width)) is record
