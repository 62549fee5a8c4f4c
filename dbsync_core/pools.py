"""Stake pools: the list (optionally by status), current parameters (one pool or many in one
query), active stake and delegator count in an epoch's snapshot, live delegators, blocks made
and per-epoch history.

Pools are given as ``pool1…`` ids, 56 hex characters or 28 raw bytes. A pool's parameters are
those of its latest registration certificate (``pool_update``, by tx id then certificate index);
it is ``retiring`` when a retirement certificate came after that, for an epoch still ahead, and
``retired`` once that epoch has begun (the current epoch is ``max(block.epoch_no)``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    Integer,
    LargeBinary,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
    union,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from dbsync_core._exec import fetch_all, fetch_optional
from dbsync_core._outputs import MAX_BATCH
from dbsync_core._rowbuild import RowMaker, function_maker, record_maker
from dbsync_core.accounts import _ONE, _current_epoch, _optional_epoch
from dbsync_core.blocks import blocks_by_slot_leader
from dbsync_core.codecs import parse_pool_id
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import Block, Pool, PoolDelegator, PoolEpoch, PoolRelay, PoolStake
from dbsync_core.schema import (
    block,
    delegation,
    epoch_stake,
    pool_hash,
    pool_metadata_ref,
    pool_owner,
    pool_relay,
    pool_retire,
    pool_update,
    reward,
    slot_leader,
    stake_address,
    stake_deregistration,
    tx,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import ColumnElement, FromClause, ScalarSelect, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "POOL_STATUSES",
    "fetch_pool",
    "fetch_pool_blocks",
    "fetch_pool_delegators",
    "fetch_pool_history",
    "fetch_pool_list",
    "fetch_pool_stake",
    "fetch_pools",
    "pool_blocks",
    "pool_delegators",
    "pool_history",
    "pool_info",
    "pool_list",
    "pool_stake",
    "pools_info",
    "pools_stake",
]

#: The values of :attr:`Pool.status <dbsync_core.records.Pool.status>` (and ``status=``).
POOL_STATUSES = ("registered", "retiring", "retired")


def _pool_arg(value: str | bytes, arg: str = "pool_id") -> bytes:
    return parse_pool_id(value, arg=arg)


def _pool_args(values: Iterable[str | bytes], arg: str = "pool_ids") -> list[bytes]:
    if isinstance(values, str | bytes | bytearray) or not hasattr(values, "__iter__"):
        msg = f"{arg}: expected an iterable of pool ids, got {type(values).__name__}"
        raise InvalidInputError(msg)
    raws: list[bytes] = []
    for index, value in enumerate(values):
        if index >= MAX_BATCH:
            msg = f"{arg}: expected at most {MAX_BATCH} pool ids"
            raise InvalidInputError(msg)
        raws.append(parse_pool_id(value, arg=f"{arg}[{index}]"))
    if not raws:
        msg = f"{arg}: expected at least one pool id"
        raise InvalidInputError(msg)
    return raws


def _pool_hash_raw() -> ColumnElement[Any]:
    return type_coerce(pool_hash.c.hash_raw, LargeBinary())


def _pool_id(name: str = "pool_raw") -> ScalarSelect[Any]:
    """``pool_hash.id`` of the 28-byte pool hash bound as ``name``."""
    wanted = bindparam(name, type_=LargeBinary)
    return select(pool_hash.c.id).where(_pool_hash_raw() == wanted).scalar_subquery()


def _wanted(name: str) -> Any:
    wanted = func.unnest(bindparam(name, type_=ARRAY(LargeBinary))).table_valued(
        "raw", with_ordinality="ord"
    )
    return wanted.render_derived("wanted", with_types=False)


# ------------------------------------------------------------------ pools


def _pool_row(row: Sequence[Any]) -> Pool:
    relays = tuple(map(PoolRelay, row[11] or (), row[12] or (), row[13] or (), row[14] or (),
                       row[15] or ()))  # fmt: skip
    return _POOL_MAKER.one(
        (row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
         tuple(row[10] or ()), relays, row[16], row[17], row[18], row[19])
    )  # fmt: skip


_POOL_MAKER = record_maker(Pool, 16)
POOL_MAKER: RowMaker[Pool] = function_maker(_pool_row)


def _pool_key(record: Pool) -> tuple[object, ...]:
    return (record.id,)


@functools.cache
def _pool_query(batch: bool) -> tuple[Select[Any], Keyset[Pool]]:
    ph = pool_hash
    update = (
        select(pool_update)
        .where(pool_update.c.hash_id == ph.c.id)
        .order_by(pool_update.c.registered_tx_id.desc(), pool_update.c.cert_index.desc())
        .limit(_ONE)
        .lateral("latest_update")
    )
    retire = (
        select(
            pool_retire.c.announced_tx_id, pool_retire.c.cert_index, pool_retire.c.retiring_epoch
        )
        .where(pool_retire.c.hash_id == ph.c.id)
        .order_by(pool_retire.c.announced_tx_id.desc(), pool_retire.c.cert_index.desc())
        .limit(_ONE)
        .lateral("latest_retire")
    )
    retired_since = and_(
        retire.c.announced_tx_id.is_not(None),
        tuple_(retire.c.announced_tx_id, retire.c.cert_index)
        > tuple_(update.c.registered_tx_id, update.c.cert_index),
    )
    status = case(
        (~retired_since, literal_column("'registered'", String)),
        (retire.c.retiring_epoch <= _current_epoch(), literal_column("'retired'", String)),
        else_=literal_column("'retiring'", String),
    )
    source: FromClause = ph.join(update, true()).outerjoin(retire, true())
    columns: list[Any] = []
    if batch:
        wanted = _wanted("pool_raws")
        source = wanted.join(source, _pool_hash_raw() == wanted.c.raw)
        columns.append(wanted.c.ord)
    current = (
        select(
            *columns,
            ph.c.id,
            ph.c.view.label("pool_id"),
            ph.c.hash_raw.label("hash"),
            status.label("status"),
            case((retired_since, retire.c.retiring_epoch), else_=None).label("retiring_epoch"),
            update.c.id.label("update_id"),
            update.c.pledge,
            update.c.fixed_cost,
            update.c.margin,
            update.c.vrf_key_hash,
            update.c.reward_addr_id,
            update.c.meta_id,
            update.c.active_epoch_no,
            update.c.registered_tx_id,
        )
        .select_from(source)
        .subquery("pool")
    )
    owner = stake_address.alias("owner")
    owners = (
        select(func.array_agg(aggregate_order_by(owner.c.view, owner.c.view)))
        .select_from(pool_owner.join(owner, owner.c.id == pool_owner.c.addr_id))
        .where(pool_owner.c.pool_update_id == current.c.update_id)
        .scalar_subquery()
    )
    order = pool_relay.c.id
    relays = (
        select(
            *[
                func.array_agg(aggregate_order_by(pool_relay.c[name], order)).label(f"{name}s")
                for name in ("ipv4", "ipv6", "dns_name", "dns_srv_name", "port")
            ]
        )
        .where(pool_relay.c.update_id == current.c.update_id)
        .lateral("relays")
    )
    reward_account = (
        select(stake_address.c.view)
        .where(stake_address.c.id == current.c.reward_addr_id)
        .scalar_subquery()
    )
    meta = pool_metadata_ref
    registered_in = select(tx.c.hash).where(tx.c.id == current.c.registered_tx_id)
    statement = select(
        current.c.id,
        current.c.pool_id,
        current.c.hash,
        current.c.status,
        current.c.retiring_epoch,
        current.c.pledge,
        current.c.fixed_cost,
        current.c.margin,
        current.c.vrf_key_hash,
        reward_account.label("reward_address"),
        owners.label("owners"),
        relays.c.ipv4s,
        relays.c.ipv6s,
        relays.c.dns_names,
        relays.c.dns_srv_names,
        relays.c.ports,
        meta.c.url.label("metadata_url"),
        meta.c.hash.label("metadata_hash"),
        current.c.active_epoch_no,
        registered_in.scalar_subquery().label("registered_tx_hash"),
    ).select_from(current.outerjoin(meta, meta.c.id == current.c.meta_id).outerjoin(relays, true()))
    if batch:
        statement = statement.order_by(current.c.ord)
    else:
        wanted_status = bindparam("status", type_=String)
        statement = statement.where(
            or_(wanted_status.is_(None), current.c.status == wanted_status)
        ).order_by(current.c.id)
    return statement, Keyset(((current.c.id, False),), key=_pool_key)


def _status_arg(value: str | None) -> str | None:
    if value is not None and value not in POOL_STATUSES:
        msg = f"status: expected one of {', '.join(POOL_STATUSES)} or None, got {value!r}"
        raise InvalidInputError(msg)
    return value


def pool_list(*, status: str | None = None) -> Query[Pool]:
    """Every pool with its current parameters, in registration order (keyset on id);
    ``status`` keeps the ``registered``, ``retiring`` or ``retired`` ones."""
    statement, keyset = _pool_query(batch=False)
    return make_query(statement, POOL_MAKER, {"status": _status_arg(status)}, keyset)


def pool_info(pool_id: str | bytes) -> Query[Pool]:
    """A pool's status and current parameters: pledge, cost, margin, owners, relays, metadata
    reference, reward account; no row for an unknown pool."""
    statement, _keyset = _pool_query(batch=True)
    return make_query(statement, POOL_MAKER, {"pool_raws": [_pool_arg(pool_id)]})


def pools_info(pool_ids: Iterable[str | bytes]) -> Query[Pool]:
    """:func:`pool_info` for many pools in one query, in the order given (unknown skipped)."""
    statement, _keyset = _pool_query(batch=True)
    return make_query(statement, POOL_MAKER, {"pool_raws": _pool_args(pool_ids)})


# ------------------------------------------------------------------ active stake


@functools.cache
def _stake_statement() -> tuple[Select[Any], RowMaker[PoolStake]]:
    wanted = _wanted("pool_raws")
    epoch = func.coalesce(bindparam("epoch_no", type_=Integer), _current_epoch())
    snapshot = (
        select(
            func.coalesce(func.sum(epoch_stake.c.amount), literal_column("0")).label("amount"),
            func.count().label("delegators"),
        )
        .where(
            epoch_stake.c.pool_id == pool_hash.c.id,
            type_coerce(epoch_stake.c.epoch_no, Integer()) == epoch,
        )
        .lateral("snapshot")
    )
    statement = (
        select(
            pool_hash.c.view.label("pool_id"),
            epoch.label("epoch_no"),
            snapshot.c.amount.label("active_stake"),
            snapshot.c.delegators.label("delegator_count"),
        )
        .select_from(
            wanted.join(pool_hash, _pool_hash_raw() == wanted.c.raw).join(snapshot, true())
        )
        .order_by(wanted.c.ord)
    )
    return statement, Query.of(PoolStake, statement).maker


def pool_stake(pool_id: str | bytes, *, epoch_no: int | None = None) -> Query[PoolStake]:
    """A pool's active stake and delegator count in the snapshot of ``epoch_no`` (default: the
    current epoch); zeros when it had none."""
    statement, maker = _stake_statement()
    params = {"pool_raws": [_pool_arg(pool_id)], "epoch_no": _optional_epoch(epoch_no)}
    return make_query(statement, maker, params)


def pools_stake(
    pool_ids: Iterable[str | bytes], *, epoch_no: int | None = None
) -> Query[PoolStake]:
    """:func:`pool_stake` for many pools in one query, in the order given."""
    statement, maker = _stake_statement()
    params = {"pool_raws": _pool_args(pool_ids), "epoch_no": _optional_epoch(epoch_no)}
    return make_query(statement, maker, params)


# ------------------------------------------------------------------ delegators


def _delegator_key(record: PoolDelegator) -> tuple[object, ...]:
    return (record.id,)


_BY_DELEGATION_ID = Keyset(((delegation.c.id, False),), key=_delegator_key)


def _live(d: FromClause) -> ColumnElement[bool]:
    """True for the rows of ``d`` (``delegation`` or ``delegation_vote``) that are their
    account's live delegation: no later one, and no deregistration since."""
    later = d.alias("later")
    after = tuple_(later.c.tx_id, later.c.cert_index) > tuple_(d.c.tx_id, d.c.cert_index)
    dereg = stake_deregistration
    since = tuple_(dereg.c.tx_id, dereg.c.cert_index) > tuple_(d.c.tx_id, d.c.cert_index)
    return and_(
        ~exists().where(later.c.addr_id == d.c.addr_id, after),
        ~exists().where(dereg.c.addr_id == d.c.addr_id, since),
    )


@functools.cache
def _delegators_statement() -> tuple[Select[Any], RowMaker[PoolDelegator]]:
    statement = (
        select(
            delegation.c.id,
            stake_address.c.view.label("stake_address"),
            tx.c.hash.label("tx_hash"),
            delegation.c.active_epoch_no,
        )
        .select_from(
            delegation.join(stake_address, stake_address.c.id == delegation.c.addr_id).join(
                tx, tx.c.id == delegation.c.tx_id
            )
        )
        .where(delegation.c.pool_hash_id == _pool_id(), _live(delegation))
        .order_by(delegation.c.id)
    )
    return statement, Query.of(PoolDelegator, statement).maker


def pool_delegators(pool_id: str | bytes) -> Query[PoolDelegator]:
    """The accounts whose live delegation is to the pool, by delegation (keyset on its id)."""
    statement, maker = _delegators_statement()
    return make_query(statement, maker, {"pool_raw": _pool_arg(pool_id)}, _BY_DELEGATION_ID)


# ------------------------------------------------------------------ blocks and history


def pool_blocks(pool_id: str | bytes, *, newest_first: bool = False) -> Query[Block]:
    """The blocks the pool made, in chain order (keyset on id; ``newest_first`` reverses)."""
    return blocks_by_slot_leader(_pool_arg(pool_id), newest_first=newest_first)


def _history_key(record: PoolEpoch) -> tuple[object, ...]:
    return (record.epoch_no,)


@functools.cache
def _history_query() -> tuple[Select[Any], RowMaker[PoolEpoch], Keyset[PoolEpoch]]:
    pid = _pool_id()
    zero: ColumnElement[int] = literal_column("0")
    # CTEs: each is read twice (for the epochs and for the figures) but computed once.
    stake = (
        select(
            epoch_stake.c.epoch_no,
            func.sum(epoch_stake.c.amount).label("amount"),
            func.count().label("delegators"),
        )
        .where(epoch_stake.c.pool_id == pid)
        .group_by(epoch_stake.c.epoch_no)
        .cte("stake")
    )
    made = (
        select(block.c.epoch_no, func.count().label("blocks"))
        .select_from(block.join(slot_leader, slot_leader.c.id == block.c.slot_leader_id))
        .where(slot_leader.c.pool_hash_id == pid, block.c.epoch_no.is_not(None))
        .group_by(block.c.epoch_no)
        .cte("made")
    )
    member = reward.c.type == literal_column("'member'")
    leader = reward.c.type == literal_column("'leader'")
    earned = (
        select(
            reward.c.earned_epoch.label("epoch_no"),
            func.coalesce(func.sum(reward.c.amount).filter(member), zero).label("members"),
            func.coalesce(func.sum(reward.c.amount).filter(leader), zero).label("leader"),
        )
        .where(reward.c.pool_id == pid, or_(member, leader))
        .group_by(reward.c.earned_epoch)
        .cte("earned")
    )
    epochs = union(
        select(type_coerce(stake.c.epoch_no, Integer()).label("epoch_no")),
        select(type_coerce(made.c.epoch_no, Integer()).label("epoch_no")),
        select(type_coerce(earned.c.epoch_no, Integer()).label("epoch_no")),
    ).subquery("epochs")
    statement = (
        select(
            epochs.c.epoch_no,
            func.coalesce(stake.c.amount, zero).label("active_stake"),
            func.coalesce(stake.c.delegators, zero).label("delegator_count"),
            func.coalesce(made.c.blocks, zero).label("block_count"),
            func.coalesce(earned.c.members, zero).label("delegator_rewards"),
            func.coalesce(earned.c.leader, zero).label("leader_rewards"),
        )
        .select_from(
            epochs.outerjoin(stake, stake.c.epoch_no == epochs.c.epoch_no)
            .outerjoin(made, made.c.epoch_no == epochs.c.epoch_no)
            .outerjoin(earned, earned.c.epoch_no == epochs.c.epoch_no)
        )
        .order_by(epochs.c.epoch_no.desc())
    )
    keyset = Keyset(((epochs.c.epoch_no, True),), key=_history_key)
    return statement, Query.of(PoolEpoch, statement).maker, keyset


def pool_history(pool_id: str | bytes) -> Query[PoolEpoch]:
    """Per epoch, newest first (keyset on the epoch): the pool's snapshot stake and delegator
    count, blocks made, and member and leader rewards earned."""
    statement, maker, keyset = _history_query()
    return make_query(statement, maker, {"pool_raw": _pool_arg(pool_id)}, keyset)


# ------------------------------------------------------------------ runners


async def fetch_pool_list(conn: AsyncConnection, *, status: str | None = None) -> list[Pool]:
    """Every pool (optionally of one status); page :func:`pool_list` on a large database."""
    return await fetch_all(conn, pool_list(status=status))


async def fetch_pool(conn: AsyncConnection, pool_id: str | bytes) -> Pool | None:
    """A pool's status and current parameters, or None."""
    return await fetch_optional(conn, pool_info(pool_id))


async def fetch_pools(conn: AsyncConnection, pool_ids: Iterable[str | bytes]) -> list[Pool]:
    """Many pools in one query, in the order given (unknown ones skipped)."""
    return await fetch_all(conn, pools_info(pool_ids))


async def fetch_pool_stake(
    conn: AsyncConnection, pool_id: str | bytes, *, epoch_no: int | None = None
) -> PoolStake | None:
    """A pool's active stake and delegator count (None for an unknown pool)."""
    return await fetch_optional(conn, pool_stake(pool_id, epoch_no=epoch_no))


async def fetch_pool_delegators(conn: AsyncConnection, pool_id: str | bytes) -> list[PoolDelegator]:
    """Every live delegator of the pool (page :func:`pool_delegators` for big pools)."""
    return await fetch_all(conn, pool_delegators(pool_id))


async def fetch_pool_blocks(
    conn: AsyncConnection, pool_id: str | bytes, *, newest_first: bool = False
) -> list[Block]:
    """Every block the pool made (page :func:`pool_blocks` for big pools)."""
    return await fetch_all(conn, pool_blocks(pool_id, newest_first=newest_first))


async def fetch_pool_history(conn: AsyncConnection, pool_id: str | bytes) -> list[PoolEpoch]:
    """The pool's per-epoch figures, newest first."""
    return await fetch_all(conn, pool_history(pool_id))
