"""Conway governance: DReps (list, information one or many at a time, live delegators, votes),
proposals (list by status, one by its transaction, votes cast), the constitutional committee in
force, and the votes of a pool or a committee member.

DReps are given as ``drep1…`` / ``drep_script1…`` ids (CIP-105 or CIP-129), 56 hex characters,
28 raw bytes, or the predefined ``drep_always_abstain`` / ``drep_always_no_confidence``. A DRep
is **registered** when its latest registration or retirement certificate (``drep_registration``
with a positive or negative deposit) is a registration, and **active** when, moreover, the
``active_until`` epoch of its latest ``drep_distr`` row has not passed. A stake account's live
vote delegation is its latest ``delegation_vote`` with no stake deregistration since.
db-sync indexes none of the governance foreign keys: see :mod:`dbsync_core.indexes`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    LargeBinary,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)

from dbsync_core._exec import fetch_all, fetch_optional
from dbsync_core._outputs import MAX_BATCH
from dbsync_core._rowbuild import RowMaker, function_maker, record_maker
from dbsync_core.accounts import _ONE, _current_epoch, _json
from dbsync_core.codecs import parse_drep_id, parse_hash, parse_non_negative, parse_pool_id
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.pools import _live, _pool_id
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import CommitteeMember, DRep, DRepDelegator, Proposal, Vote
from dbsync_core.schema import (
    block,
    committee,
    committee_de_registration,
    committee_hash,
    committee_member,
    committee_registration,
    delegation_vote,
    drep_distr,
    drep_hash,
    drep_registration,
    epoch_state,
    gov_action_proposal,
    pool_hash,
    stake_address,
    tx,
    voting_anchor,
    voting_procedure,
)
from dbsync_core.txs import utc

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import ColumnElement, FromClause, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "PROPOSAL_STATUSES",
    "committee_members",
    "committee_votes",
    "drep_delegators",
    "drep_info",
    "drep_list",
    "drep_votes",
    "dreps_info",
    "fetch_committee_members",
    "fetch_drep",
    "fetch_drep_delegators",
    "fetch_drep_list",
    "fetch_drep_votes",
    "fetch_dreps",
    "fetch_proposal",
    "fetch_proposal_list",
    "fetch_proposal_votes",
    "fetch_voter_votes",
    "pool_votes",
    "proposal_info",
    "proposal_list",
    "proposal_votes",
]

#: The values of :attr:`Proposal.status <dbsync_core.records.Proposal.status>`.
PROPOSAL_STATUSES = ("active", "ratified", "enacted", "dropped", "expired")
#: The predefined voting options a stake account can delegate its vote to.
PREDEFINED_DREPS = ("drep_always_abstain", "drep_always_no_confidence")


def _text(value: str) -> ColumnElement[Any]:
    return literal_column(f"'{value}'", String)


def _drep_arg(value: str | bytes, arg: str) -> tuple[bytes | None, str | None]:
    """(credential, None) of a DRep id, or (None, view) of a predefined option."""
    if isinstance(value, str) and value in PREDEFINED_DREPS:
        return None, value
    return parse_drep_id(value, arg=arg), None


def _drep_match(raw: ColumnElement[Any], view: ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(type_coerce(drep_hash.c.raw, LargeBinary()) == raw, drep_hash.c.view == view)


def _drep_ids() -> Select[Any]:
    """The ``drep_hash.id`` s of the DRep bound as ``drep_raw`` / ``drep_view``."""
    raw = bindparam("drep_raw", type_=LargeBinary)
    view = bindparam("drep_view", type_=String)
    return select(drep_hash.c.id).where(_drep_match(raw, view))


# ------------------------------------------------------------------ DReps


def _drep_key(record: DRep) -> tuple[object, ...]:
    return (record.id,)


_BY_DREP_ID = Keyset(((drep_hash.c.id, False),), key=_drep_key)


def _latest_cert(*columns: ColumnElement[Any], where: ColumnElement[bool], name: str) -> Any:
    return (
        select(drep_registration.c.tx_id, drep_registration.c.cert_index, *columns)
        .where(drep_registration.c.drep_hash_id == drep_hash.c.id, where)
        .order_by(drep_registration.c.tx_id.desc(), drep_registration.c.cert_index.desc())
        .limit(_ONE)
        .lateral(name)
    )


@functools.cache
def _drep_query(batch: bool) -> tuple[Select[Any], RowMaker[DRep]]:
    dh = drep_hash
    reg = _latest_cert(
        drep_registration.c.deposit,
        where=drep_registration.c.deposit.is_not(None),
        name="drep_reg",
    )
    anchored = _latest_cert(
        drep_registration.c.voting_anchor_id,
        where=drep_registration.c.voting_anchor_id.is_not(None),
        name="drep_anchor",
    )
    distr = (
        select(drep_distr.c.amount, drep_distr.c.active_until)
        .where(drep_distr.c.hash_id == dh.c.id)
        .order_by(drep_distr.c.epoch_no.desc())
        .limit(_ONE)
        .lateral("drep_power")
    )
    registered = func.coalesce(reg.c.deposit > literal_column("0"), false())
    active = and_(
        registered,
        func.coalesce(type_coerce(distr.c.active_until, Integer()) >= _current_epoch(), false()),
    )
    source: FromClause = (
        dh.outerjoin(reg, true())
        .outerjoin(anchored, true())
        .outerjoin(distr, true())
        .outerjoin(voting_anchor, voting_anchor.c.id == anchored.c.voting_anchor_id)
    )
    order: list[ColumnElement[Any]] = [dh.c.id]
    if batch:
        wanted = func.unnest(
            bindparam("drep_raws", type_=ARRAY(LargeBinary)),
            bindparam("drep_views", type_=ARRAY(String)),
        ).table_valued("raw", "view", with_ordinality="ord")
        wanted = wanted.render_derived("wanted", with_types=False)
        source = wanted.join(source, _drep_match(wanted.c.raw, wanted.c.view))
        order = [wanted.c.ord, dh.c.id]
    statement = (
        select(
            dh.c.id,
            dh.c.view.label("drep_id"),
            dh.c.raw.label("hash"),
            dh.c.has_script,
            registered.label("registered"),
            case((registered, reg.c.deposit), else_=None).label("deposit"),
            active.label("active"),
            distr.c.active_until,
            distr.c.amount.label("voting_power"),
            voting_anchor.c.url.label("anchor_url"),
            voting_anchor.c.data_hash.label("anchor_hash"),
        )
        .select_from(source)
        .order_by(*order)
    )
    return statement, Query.of(DRep, statement).maker


def drep_list() -> Query[DRep]:
    """Every DRep (the predefined options included) with registration, deposit, activity and
    latest voting power, by id (keyset)."""
    statement, maker = _drep_query(batch=False)
    return make_query(statement, maker, {}, _BY_DREP_ID)


def _drep_batch(values: Iterable[str | bytes], arg: str) -> dict[str, object]:
    if isinstance(values, str | bytes | bytearray) or not hasattr(values, "__iter__"):
        msg = f"{arg}: expected an iterable of DRep ids, got {type(values).__name__}"
        raise InvalidInputError(msg)
    raws: list[bytes | None] = []
    views: list[str | None] = []
    for index, value in enumerate(values):
        if index >= MAX_BATCH:
            msg = f"{arg}: expected at most {MAX_BATCH} DRep ids"
            raise InvalidInputError(msg)
        raw, view = _drep_arg(value, f"{arg}[{index}]")
        raws.append(raw)
        views.append(view)
    if not raws:
        msg = f"{arg}: expected at least one DRep id"
        raise InvalidInputError(msg)
    return {"drep_raws": raws, "drep_views": views}


def drep_info(drep_id: str | bytes) -> Query[DRep]:
    """A DRep's registration, deposit, activity, voting power and anchor (a key and a script
    DRep with the same credential are two rows)."""
    raw, view = _drep_arg(drep_id, "drep_id")
    statement, maker = _drep_query(batch=True)
    return make_query(statement, maker, {"drep_raws": [raw], "drep_views": [view]})


def dreps_info(drep_ids: Iterable[str | bytes]) -> Query[DRep]:
    """:func:`drep_info` for many DReps in one query, in the order given."""
    statement, maker = _drep_query(batch=True)
    return make_query(statement, maker, _drep_batch(drep_ids, "drep_ids"))


def _delegator_key(record: DRepDelegator) -> tuple[object, ...]:
    return (record.id,)


_BY_VOTE_DELEGATION_ID = Keyset(((delegation_vote.c.id, False),), key=_delegator_key)


@functools.cache
def _delegators_statement() -> tuple[Select[Any], RowMaker[DRepDelegator]]:
    v = delegation_vote
    statement = (
        select(v.c.id, stake_address.c.view.label("stake_address"), tx.c.hash.label("tx_hash"))
        .select_from(
            v.join(stake_address, stake_address.c.id == v.c.addr_id).join(tx, tx.c.id == v.c.tx_id)
        )
        .where(v.c.drep_hash_id.in_(_drep_ids()), _live(v))
        .order_by(v.c.id)
    )
    return statement, Query.of(DRepDelegator, statement).maker


def drep_delegators(drep_id: str | bytes) -> Query[DRepDelegator]:
    """The stake accounts whose live vote delegation is to the DRep (keyset on the
    delegation's id)."""
    raw, view = _drep_arg(drep_id, "drep_id")
    statement, maker = _delegators_statement()
    params = {"drep_raw": raw, "drep_view": view}
    return make_query(statement, maker, params, _BY_VOTE_DELEGATION_ID)


# ------------------------------------------------------------------ votes


def _vote_key(record: Vote) -> tuple[object, ...]:
    return (record.id,)


_BY_VOTE_ID = Keyset(((voting_procedure.c.id, False),), key=_vote_key)


@functools.cache
def _votes_statement(by: str) -> tuple[Select[Any], RowMaker[Vote]]:
    vp, gap = voting_procedure, gov_action_proposal
    proposal_tx = tx.alias("proposal_tx")
    voter_drep = drep_hash.alias("voter_drep")
    voter_pool = pool_hash.alias("voter_pool")
    voter_cc = committee_hash.alias("voter_cc")
    voter = func.coalesce(
        voter_drep.c.view,
        voter_pool.c.view,
        func.encode(voter_cc.c.raw, literal_column("'hex'")),
    )
    base = select(
        vp.c.id,
        tx.c.hash.label("tx_hash"),
        vp.c.index,
        proposal_tx.c.hash.label("proposal_tx_hash"),
        type_coerce(gap.c.index, Integer()).label("proposal_index"),
        vp.c.voter_role,
        voter.label("voter"),
        vp.c.vote,
        utc(block.c.time).label("time"),
    ).select_from(
        vp.join(tx, tx.c.id == vp.c.tx_id)
        .join(block, block.c.id == tx.c.block_id)
        .join(gap, gap.c.id == vp.c.gov_action_proposal_id)
        .join(proposal_tx, proposal_tx.c.id == gap.c.tx_id)
        .outerjoin(voter_drep, voter_drep.c.id == vp.c.drep_voter)
        .outerjoin(voter_pool, voter_pool.c.id == vp.c.pool_voter)
        .outerjoin(voter_cc, voter_cc.c.id == vp.c.committee_voter)
    )
    if by == "proposal":
        condition = vp.c.gov_action_proposal_id == _proposal_id()
    elif by == "drep":
        condition = vp.c.drep_voter.in_(_drep_ids())
    elif by == "pool":
        condition = vp.c.pool_voter == _pool_id()
    else:
        raw = type_coerce(committee_hash.c.raw, LargeBinary())
        wanted = bindparam("committee_raw", type_=LargeBinary)
        condition = vp.c.committee_voter.in_(select(committee_hash.c.id).where(raw == wanted))
    statement = base.where(condition).order_by(vp.c.id)
    return statement, Query.of(Vote, statement).maker


def _votes(by: str, params: dict[str, object]) -> Query[Vote]:
    statement, maker = _votes_statement(by)
    return make_query(statement, maker, params, _BY_VOTE_ID)


def drep_votes(drep_id: str | bytes) -> Query[Vote]:
    """Every vote the DRep cast, oldest first (keyset on id)."""
    raw, view = _drep_arg(drep_id, "drep_id")
    return _votes("drep", {"drep_raw": raw, "drep_view": view})


def pool_votes(pool_id: str | bytes) -> Query[Vote]:
    """Every vote the pool (``pool1…``, hex or bytes) cast, oldest first (keyset on id)."""
    return _votes("pool", {"pool_raw": parse_pool_id(pool_id, arg="pool_id")})


def committee_votes(hot_key: str | bytes) -> Query[Vote]:
    """Every vote cast with a committee member's hot credential (56 hex or 28 bytes)."""
    return _votes("committee", {"committee_raw": parse_hash(hot_key, size=28, arg="hot_key")})


# ------------------------------------------------------------------ proposals


def _proposal_id() -> Any:
    """``gov_action_proposal.id`` of the proposal bound as ``proposal_tx_hash`` and
    ``proposal_index``."""
    made_in = tx.alias("made_in")
    in_tx = select(made_in.c.id).where(
        type_coerce(made_in.c.hash, LargeBinary())
        == bindparam("proposal_tx_hash", type_=LargeBinary)
    )
    gap = gov_action_proposal.alias("wanted_proposal")
    return (
        select(gap.c.id)
        .where(
            gap.c.tx_id == in_tx.scalar_subquery(),
            gap.c.index == bindparam("proposal_index", type_=BigInteger),
        )
        .scalar_subquery()
    )


def _proposal_row(row: Sequence[Any]) -> Proposal:
    return _PROPOSAL_MAKER.one((*row[:15], _json(row[15])))


_PROPOSAL_MAKER = record_maker(Proposal, 16)
PROPOSAL_MAKER: RowMaker[Proposal] = function_maker(_proposal_row)


def _proposal_key(record: Proposal) -> tuple[object, ...]:
    return (record.id,)


_BY_PROPOSAL_ID = Keyset(((gov_action_proposal.c.id, False),), key=_proposal_key)


@functools.cache
def _proposal_statement(one: bool) -> Select[Any]:
    gap = gov_action_proposal
    status = case(
        (gap.c.enacted_epoch.is_not(None), _text("enacted")),
        (gap.c.ratified_epoch.is_not(None), _text("ratified")),
        (gap.c.expired_epoch.is_not(None), _text("expired")),
        (gap.c.dropped_epoch.is_not(None), _text("dropped")),
        else_=_text("active"),
    )
    base = select(
        gap.c.id,
        tx.c.hash.label("tx_hash"),
        type_coerce(gap.c.index, Integer()).label("index"),
        gap.c.type,
        status.label("status"),
        gap.c.deposit,
        stake_address.c.view.label("return_address"),
        block.c.epoch_no.label("proposed_epoch"),
        gap.c.expiration,
        gap.c.ratified_epoch,
        gap.c.enacted_epoch,
        gap.c.dropped_epoch,
        gap.c.expired_epoch,
        voting_anchor.c.url.label("anchor_url"),
        voting_anchor.c.data_hash.label("anchor_hash"),
        gap.c.description,
    ).select_from(
        gap.join(tx, tx.c.id == gap.c.tx_id)
        .join(block, block.c.id == tx.c.block_id)
        .join(stake_address, stake_address.c.id == gap.c.return_address)
        .outerjoin(voting_anchor, voting_anchor.c.id == gap.c.voting_anchor_id)
    )
    if one:
        return base.where(gap.c.id == _proposal_id())
    wanted = bindparam("status", type_=String)
    return base.where(or_(wanted.is_(None), status == wanted)).order_by(gap.c.id)


def _status_arg(value: str | None) -> str | None:
    if value is not None and value not in PROPOSAL_STATUSES:
        msg = f"status: expected one of {', '.join(PROPOSAL_STATUSES)} or None, got {value!r}"
        raise InvalidInputError(msg)
    return value


def _proposal_args(tx_hash: str | bytes, index: int) -> dict[str, object]:
    number = parse_non_negative(index, arg="index")
    return {"proposal_tx_hash": parse_hash(tx_hash, arg="tx_hash"), "proposal_index": number}


def proposal_list(*, status: str | None = None) -> Query[Proposal]:
    """Every governance action proposal, oldest first (keyset on id); ``status`` keeps the
    ``active``, ``ratified``, ``enacted``, ``dropped`` or ``expired`` ones."""
    params = {"status": _status_arg(status)}
    return make_query(_proposal_statement(one=False), PROPOSAL_MAKER, params, _BY_PROPOSAL_ID)


def proposal_info(tx_hash: str | bytes, index: int = 0) -> Query[Proposal]:
    """The proposal made by a transaction (its ``index``-th proposal procedure)."""
    params = _proposal_args(tx_hash, index)
    return make_query(_proposal_statement(one=True), PROPOSAL_MAKER, params)


def proposal_votes(tx_hash: str | bytes, index: int = 0) -> Query[Vote]:
    """Every vote cast on a proposal, oldest first (keyset on id)."""
    return _votes("proposal", _proposal_args(tx_hash, index))


# ------------------------------------------------------------------ committee


@functools.cache
def _committee_statement() -> tuple[Select[Any], RowMaker[CommitteeMember]]:
    gap = gov_action_proposal
    in_force = (
        select(epoch_state.c.committee_id)
        .where(epoch_state.c.committee_id.is_not(None))
        .order_by(epoch_state.c.epoch_no.desc())
        .limit(_ONE)
        .scalar_subquery()
    )
    latest = (
        select(func.max(committee.c.id))
        .select_from(committee.outerjoin(gap, gap.c.id == committee.c.gov_action_proposal_id))
        .where(or_(committee.c.gov_action_proposal_id.is_(None), gap.c.enacted_epoch.is_not(None)))
        .scalar_subquery()
    )
    cm = committee_member
    cold = committee_hash.alias("cold")
    hot = committee_hash.alias("hot")

    def latest_cert(table: Any, *columns: Any, name: str) -> Any:
        return (
            select(table.c.tx_id, table.c.cert_index, *columns)
            .where(table.c.cold_key_id == cm.c.committee_hash_id)
            .order_by(table.c.tx_id.desc(), table.c.cert_index.desc())
            .limit(_ONE)
            .lateral(name)
        )

    reg = latest_cert(committee_registration, committee_registration.c.hot_key_id, name="reg")
    resign = latest_cert(committee_de_registration, name="resign")
    resigned = and_(
        resign.c.tx_id.is_not(None),
        or_(
            reg.c.tx_id.is_(None),
            tuple_(resign.c.tx_id, resign.c.cert_index) > tuple_(reg.c.tx_id, reg.c.cert_index),
        ),
    )
    status = case(
        (resigned, _text("resigned")),
        (reg.c.tx_id.is_not(None), _text("authorized")),
        else_=_text("not_authorized"),
    )
    statement = (
        select(
            cold.c.raw.label("cold_key"),
            cold.c.has_script.label("cold_key_has_script"),
            case((~resigned, hot.c.raw), else_=None).label("hot_key"),
            status.label("status"),
            cm.c.expiration_epoch,
        )
        .select_from(
            cm.join(cold, cold.c.id == cm.c.committee_hash_id)
            .outerjoin(reg, true())
            .outerjoin(resign, true())
            .outerjoin(hot, hot.c.id == reg.c.hot_key_id)
        )
        .where(cm.c.committee_id == func.coalesce(in_force, latest))
        .order_by(cm.c.id)
    )
    return statement, Query.of(CommitteeMember, statement).maker


def committee_members() -> Query[CommitteeMember]:
    """The members of the committee in force (``epoch_state``'s latest, else the latest
    committee not proposed or enacted), with their hot keys and status."""
    statement, maker = _committee_statement()
    return make_query(statement, maker, {})


# ------------------------------------------------------------------ runners


async def fetch_drep_list(conn: AsyncConnection) -> list[DRep]:
    """Every DRep (page :func:`drep_list` on a large database)."""
    return await fetch_all(conn, drep_list())


async def fetch_drep(conn: AsyncConnection, drep_id: str | bytes) -> DRep | None:
    """A DRep's information, or None."""
    return await fetch_optional(conn, drep_info(drep_id))


async def fetch_dreps(conn: AsyncConnection, drep_ids: Iterable[str | bytes]) -> list[DRep]:
    """Many DReps in one query, in the order given."""
    return await fetch_all(conn, dreps_info(drep_ids))


async def fetch_drep_delegators(conn: AsyncConnection, drep_id: str | bytes) -> list[DRepDelegator]:
    """Every live delegator of a DRep."""
    return await fetch_all(conn, drep_delegators(drep_id))


async def fetch_drep_votes(conn: AsyncConnection, drep_id: str | bytes) -> list[Vote]:
    """Every vote of a DRep."""
    return await fetch_all(conn, drep_votes(drep_id))


async def fetch_voter_votes(
    conn: AsyncConnection,
    *,
    drep_id: str | bytes | None = None,
    pool_id: str | bytes | None = None,
    hot_key: str | bytes | None = None,
) -> list[Vote]:
    """Every vote of one voter: a DRep, a pool or a committee member's hot credential."""
    given = [value is not None for value in (drep_id, pool_id, hot_key)]
    if sum(given) != 1:
        msg = "voter: give exactly one of drep_id, pool_id, hot_key"
        raise InvalidInputError(msg)
    if drep_id is not None:
        query = drep_votes(drep_id)
    elif pool_id is not None:
        query = pool_votes(pool_id)
    else:
        assert hot_key is not None
        query = committee_votes(hot_key)
    return await fetch_all(conn, query)


async def fetch_proposal_list(
    conn: AsyncConnection, *, status: str | None = None
) -> list[Proposal]:
    """Every proposal (optionally of one status)."""
    return await fetch_all(conn, proposal_list(status=status))


async def fetch_proposal(
    conn: AsyncConnection, tx_hash: str | bytes, index: int = 0
) -> Proposal | None:
    """A proposal by its transaction and index, or None."""
    return await fetch_optional(conn, proposal_info(tx_hash, index))


async def fetch_proposal_votes(
    conn: AsyncConnection, tx_hash: str | bytes, index: int = 0
) -> list[Vote]:
    """Every vote cast on a proposal."""
    return await fetch_all(conn, proposal_votes(tx_hash, index))


async def fetch_committee_members(conn: AsyncConnection) -> list[CommitteeMember]:
    """The committee in force."""
    return await fetch_all(conn, committee_members())
