"""Conway governance against the generator's ground truth, on every db-sync variant of the
shared chain and on a bigger chain (two variants) with many more DReps, proposals and votes;
statuses the generator never reaches (enacted, expired, resigned) on rows changed by hand
inside a rolled-back transaction."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import attrs
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core import InvalidInputError, fetch_all, fetch_one, pages, records
from dbsync_core.codecs import parse_drep_id
from dbsync_core.governance import (
    committee_members,
    committee_votes,
    drep_delegators,
    drep_info,
    drep_list,
    drep_votes,
    dreps_info,
    fetch_committee_members,
    fetch_drep,
    fetch_drep_delegators,
    fetch_drep_list,
    fetch_drep_votes,
    fetch_dreps,
    fetch_proposal,
    fetch_proposal_list,
    fetch_proposal_votes,
    fetch_voter_votes,
    pool_votes,
    proposal_info,
    proposal_list,
    proposal_votes,
)
from dbsync_core.synth import ALL_VARIANTS, Variant
from tests.test_catalogue import Expect

TXS = 2500
SEED = 11
BIG_TXS = 20_000
BIG_VARIANTS = [Variant(), Variant(address_table=True, spent="consumed")]


async def _env(factory: Any, txs: int, variant: Variant) -> Any:
    db = await factory(txs=txs, seed=SEED, variant=variant)
    return create_async_engine(db.url), Expect(db)


@pytest.fixture(params=ALL_VARIANTS, ids=lambda v: v.name)
async def env(request, dbsync_chain_factory):
    engine, expect = await _env(dbsync_chain_factory, TXS, request.param)
    async with engine.connect() as conn:
        yield conn, expect
    await engine.dispose()


@pytest.fixture(params=BIG_VARIANTS, ids=lambda v: v.name)
async def big_env(request, dbsync_chain_factory):
    engine, expect = await _env(dbsync_chain_factory, BIG_TXS, request.param)
    async with engine.connect() as conn:
        yield conn, expect
    await engine.dispose()


def expected_drep(expect: Expect, view: str) -> tuple[Any, ...]:
    truth = expect.truth
    drep = truth.dreps[view]
    certs = [c for c in drep.registrations if c[2] is not None]
    registered = bool(certs) and max(certs)[2] > 0
    latest = max(drep.distr, default=None)
    amount, until = drep.distr[latest] if latest is not None else (None, None)
    anchored = [c for c in drep.registrations if c[3] is not None]
    url, anchor_hash = truth.anchors[max(anchored)[3]] if anchored else (None, None)
    return (
        drep.id, view, drep.raw, False, registered, max(certs)[2] if registered else None,
        registered and until is not None and until >= truth.tip_epoch, until, amount, url,
        anchor_hash,
    )  # fmt: skip


def live_vote_delegations(expect: Expect) -> dict[str, list[tuple[str, int]]]:
    """DRep view -> [(stake view, delegation tx id)] of live vote delegations."""
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for view, stake in expect.truth.stakes.items():
        if not stake.vote_delegations:
            continue
        tx_id, cert, drep = max(stake.vote_delegations)
        if any((t, c) > (tx_id, cert) for t, c, is_reg in stake.registrations if not is_reg):
            continue
        out[drep].append((view, tx_id))
    return out


def vote_rows(expect: Expect, votes: list[Any]) -> list[tuple[Any, ...]]:
    truth = expect.truth
    return [
        (v.id, expect.tx_by_id[v.tx_id].hash, v.index,
         expect.tx_by_id[truth.proposals[v.proposal_id].tx_id].hash, 0, v.role, v.voter, v.vote)
        for v in votes
    ]  # fmt: skip


def got_votes(votes: list[records.Vote]) -> list[tuple[Any, ...]]:
    return [
        (v.id, v.tx_hash, v.index, v.proposal_tx_hash, v.proposal_index, v.voter_role, v.voter,
         v.vote)
        for v in votes
    ]  # fmt: skip


async def check_dreps(conn: Any, expect: Expect) -> None:
    """Every DRep in the list and in one batch; delegators and votes per DRep."""
    truth = expect.truth
    listing = await fetch_drep_list(conn)
    by_id = sorted(truth.dreps.values(), key=lambda d: d.id)
    assert [attrs.astuple(d, recurse=False) for d in listing] == [
        expected_drep(expect, d.view) for d in by_id
    ]
    assert any(d.active for d in listing)
    ids = [d.raw.hex() if d.raw else d.view for d in by_id[::-1]]
    assert await fetch_dreps(conn, ids) == listing[::-1]
    live = live_vote_delegations(expect)
    votes_by: dict[str, list[Any]] = defaultdict(list)
    for vote in truth.votes:
        votes_by[vote.voter].append(vote)
    for drep in by_id:
        key = drep.view if drep.raw is None else drep.raw
        got = await fetch_drep_delegators(conn, key)
        assert [(d.stake_address, d.tx_hash) for d in got] == [
            (s, expect.tx_by_id[t].hash) for s, t in sorted(live[drep.view], key=lambda d: d[1])
        ]
        assert got_votes(await fetch_drep_votes(conn, key)) == vote_rows(
            expect, votes_by[drep.view]
        )
    assert any(live.values())


async def check_proposals_and_votes(conn: Any, expect: Expect) -> set[str]:
    """Every proposal (listed, by status, one by one) and the votes on each; statuses seen."""
    truth = expect.truth
    block_epoch = {b.id: b.epoch_no for b in truth.blocks}
    listing = await fetch_proposal_list(conn)
    want = []
    for p in sorted(truth.proposals.values(), key=lambda p: p.id):
        status = (
            "enacted" if p.enacted_epoch is not None
            else "ratified" if p.ratified_epoch is not None
            else "expired" if p.expired_epoch is not None
            else "dropped" if p.dropped_epoch is not None
            else "active"
        )  # fmt: skip
        url, anchor_hash = truth.anchors[p.anchor_id] if p.anchor_id else (None, None)
        want.append(
            (p.id, expect.tx_by_id[p.tx_id].hash, p.index, p.type, status, p.deposit,
             p.return_address, block_epoch[expect.block_of_tx[p.tx_id]], p.expiration,
             p.ratified_epoch, p.enacted_epoch, p.dropped_epoch, p.expired_epoch, url,
             anchor_hash, p.description)
        )  # fmt: skip
    assert [attrs.astuple(p, recurse=False) for p in listing] == want
    for status in ("active", "ratified", "enacted", "dropped", "expired"):
        only = await fetch_all(conn, proposal_list(status=status))
        assert only == [p for p in listing if p.status == status]
    by_proposal: dict[int, list[Any]] = defaultdict(list)
    for vote in truth.votes:
        by_proposal[vote.proposal_id].append(vote)
    for proposal in listing:
        assert await fetch_proposal(conn, proposal.tx_hash, proposal.index) == proposal
        got = await fetch_proposal_votes(conn, proposal.tx_hash.hex())
        assert got_votes(got) == vote_rows(expect, by_proposal[proposal.id])
    assert await fetch_proposal(conn, listing[0].tx_hash, 1) is None
    pools: dict[str, list[Any]] = defaultdict(list)
    hot: dict[str, list[Any]] = defaultdict(list)
    for vote in truth.votes:
        if vote.role == "SPO":
            pools[vote.voter].append(vote)
        elif vote.role == "ConstitutionalCommittee":
            hot[vote.voter].append(vote)
    assert pools
    assert hot
    for pool, votes in pools.items():
        got = await fetch_voter_votes(conn, pool_id=pool)
        assert got_votes(got) == vote_rows(expect, votes)
        assert all(v.time.tzinfo is not None for v in got)
    for key, votes in hot.items():
        got = await fetch_voter_votes(conn, hot_key=key)
        assert got_votes(got) == vote_rows(expect, votes)
    return {p.status for p in listing}


async def test_dreps_match_truth(env):
    """DReps: registration, deposit, activity, power, anchor, delegators and votes."""
    conn, expect = env
    await check_dreps(conn, expect)


async def test_proposals_and_votes_match_truth(env):
    """Proposals with their status, and every vote by proposal and by voter."""
    conn, expect = env
    statuses = await check_proposals_and_votes(conn, expect)
    assert {"active", "ratified", "dropped"} <= statuses


async def test_governance_on_a_bigger_chain(big_env):
    """The same checks on a chain with ~90 DReps, ~30 proposals and ~190 votes, paged."""
    conn, expect = big_env
    await check_dreps(conn, expect)
    await check_proposals_and_votes(conn, expect)
    everything = await fetch_drep_list(conn)
    seen: list[int] = []
    cursor = None
    while True:
        page = await pages(conn, drep_list(), page_size=25, cursor=cursor)
        seen += [d.id for d in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [d.id for d in everything]
    assert len(expect.truth.votes) > 100
    assert len(expect.truth.proposals) > 20


async def test_committee_matches_truth(env):
    """The committee in force: cold keys, registered hot keys, expiration."""
    conn, expect = env
    truth = expect.truth
    hot_of = {cold: hot for _t, _c, cold, hot in sorted(truth.committee_registrations)}
    got = await fetch_committee_members(conn)
    assert [(m.cold_key, m.hot_key, m.status, m.expiration_epoch) for m in got] == [
        (
            truth.committee_hashes[cold],
            truth.committee_hashes[hot_of[cold]] if cold in hot_of else None,
            "authorized" if cold in hot_of else "not_authorized",
            expiration,
        )
        for cold, expiration in truth.committee_members
    ]
    assert all(not m.cold_key_has_script for m in got)


async def test_statuses_the_generator_never_reaches(env):
    """Enacted and expired proposals, a resigned member, a retired DRep (rolled back)."""
    conn, expect = env
    truth = expect.truth
    first, second = sorted(truth.proposals)[:2]
    drep = next(d for d in truth.dreps.values() if d.raw is not None)
    async with conn.begin():
        await conn.execute(
            text("UPDATE gov_action_proposal SET enacted_epoch = 7 WHERE id = :i"), {"i": first}
        )
        await conn.execute(
            text(
                "UPDATE gov_action_proposal SET ratified_epoch = NULL, dropped_epoch = NULL, "
                "expired_epoch = 9 WHERE id = :i"
            ),
            {"i": second},
        )
        statuses = {p.id: p.status for p in await fetch_all(conn, proposal_list())}
        assert (statuses[first], statuses[second]) == ("enacted", "expired")
        expired = await fetch_all(conn, proposal_list(status="expired"))
        assert [p.id for p in expired] == [second]
        cold = truth.committee_members[0][0]
        await conn.execute(
            text(
                "INSERT INTO committee_de_registration (tx_id, cert_index, cold_key_id) "
                "VALUES (:t, 0, :c)"
            ),
            {"t": truth.txs[-1].id, "c": cold},
        )
        members = await fetch_all(conn, committee_members())
        assert (members[0].status, members[0].hot_key) == ("resigned", None)
        await conn.execute(
            text(
                "INSERT INTO drep_registration (tx_id, cert_index, deposit, drep_hash_id) "
                "VALUES (:t, 3, -500000000, :d)"
            ),
            {"t": truth.txs[-1].id, "d": drep.id},
        )
        retired = await fetch_one(conn, drep_info(drep.raw))
        assert (retired.registered, retired.deposit, retired.active) == (False, None, False)
        await conn.rollback()
    again = await fetch_one(conn, drep_info(drep.raw))
    assert again.registered


D = "ab" * 28
BAD_INPUT = [
    (drep_info, ("drep1xyz",), "drep_id"),
    (drep_info, ("drep_always_yes",), "drep_id"),
    (drep_info, (b"\x00" * 27,), "drep_id"),
    (dreps_info, (D,), "drep_ids"),
    (dreps_info, ([],), "drep_ids"),
    (dreps_info, ([D, None],), "drep_ids[1]"),
    (dreps_info, ([D] * 10_001,), "drep_ids"),
    (drep_delegators, ("pool1xyz",), "drep_id"),
    (drep_votes, (5,), "drep_id"),
    (pool_votes, ("drep1x",), "pool_id"),
    (committee_votes, ("ab" * 32,), "hot_key"),
    (proposal_info, ("ab" * 31,), "tx_hash"),
    (proposal_votes, (None,), "tx_hash"),
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
    """Statuses and proposal indexes of the wrong kind are rejected too."""
    with pytest.raises(InvalidInputError, match=r"^status"):
        proposal_list(status="open")
    with pytest.raises(InvalidInputError, match=r"^index"):
        proposal_info("ab" * 32, -1)
    with pytest.raises(InvalidInputError, match=r"^index"):
        proposal_votes("ab" * 32, True)


async def test_runners_validate_before_touching_the_connection():
    """Runners raise InvalidInputError before they use the connection at all."""

    class Unusable:
        """Anything the runner touches on this object fails the test."""

        def __getattr__(self, name: str) -> Any:
            pytest.fail(f"the runner used the connection ({name}) before validating")

    conn: Any = Unusable()
    for call in (
        lambda: fetch_drep(conn, "x"),
        lambda: fetch_dreps(conn, "drep1"),
        lambda: fetch_drep_delegators(conn, b""),
        lambda: fetch_drep_votes(conn, "zz" * 28),
        lambda: fetch_voter_votes(conn),
        lambda: fetch_voter_votes(conn, drep_id=D, pool_id=D),
        lambda: fetch_voter_votes(conn, pool_id="pool1"),
        lambda: fetch_voter_votes(conn, hot_key="x"),
        lambda: fetch_proposal_list(conn, status="done"),
        lambda: fetch_proposal(conn, "ab" * 32, index=-4),
        lambda: fetch_proposal_votes(conn, b"\x00"),
    ):
        with pytest.raises(InvalidInputError):
            await call()


@pytest.mark.parametrize(
    ("make", "record"),
    [
        (drep_list, records.DRep),
        (lambda: drep_info(D), records.DRep),
        (lambda: drep_info("drep_always_abstain"), records.DRep),
        (lambda: dreps_info([D]), records.DRep),
        (lambda: drep_delegators(D), records.DRepDelegator),
        (lambda: drep_votes(D), records.Vote),
        (lambda: pool_votes(D), records.Vote),
        (lambda: committee_votes(D), records.Vote),
        (proposal_list, records.Proposal),
        (lambda: proposal_info("ab" * 32), records.Proposal),
        (lambda: proposal_votes("ab" * 32, 1), records.Vote),
        (committee_members, records.CommitteeMember),
    ],
)
def test_select_labels_are_the_record_fields(make, record):
    """Each builder's select list is its record's fields, in order."""
    query = make()
    assert list(query.statement.selected_columns.keys()) == [f.name for f in attrs.fields(record)]
    width = len(query.statement.selected_columns)
    assert type(query.maker.one([None] * width)) is record


def test_drep_ids_parse_in_every_form():
    """CIP-105 and CIP-129 ids, hex and bytes name the same credential."""
    raw = bytes(range(28))
    assert drep_info(raw).params == drep_info(raw.hex()).params
    assert parse_drep_id(raw.hex()) == raw
