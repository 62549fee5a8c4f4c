"""Stake accounts: status and balances (one account or many in one query), reward history
(``reward`` and ``reward_rest``), withdrawals, delegation and registration history, active stake
per epoch, and the account's addresses, UTxOs and assets.

Accounts are given as ``stake1…`` / ``stake_test1…`` text or their 29 raw bytes. The current
epoch is the database's latest (``max(block.epoch_no)``). An account is **registered** when its
latest registration or deregistration certificate (by tx id, then certificate index) is a
registration; its **live delegation** (pool, and DRep by vote delegation) is its latest
delegation certificate made at or after that registration. A delegation to a pool that has since
retired is still reported: check the pool's status (:mod:`dbsync_core.pools`).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    Integer,
    LargeBinary,
    Table,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from dbsync_core._exec import fetch_all, fetch_optional
from dbsync_core._outputs import MAX_BATCH, Shape, shape_of
from dbsync_core.addresses import UTXO_MAKER
from dbsync_core.codecs import parse_non_negative, parse_stake_address
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.layout import Layout, layout_of
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import (
    AccountAddress,
    ActiveStake,
    AssetAmount,
    Delegation,
    Reward,
    StakeAccount,
    StakeRegistration,
    Utxo,
    Withdrawal,
)
from dbsync_core.schema import (
    address,
    block,
    datum,
    delegation,
    delegation_vote,
    drep_hash,
    epoch_stake,
    ma_tx_out,
    multi_asset,
    pool_hash,
    reward,
    reward_rest,
    script,
    stake_address,
    stake_deregistration,
    stake_registration,
    tx,
    tx_in,
    tx_out,
    tx_out_address,
    withdrawal,
)
from dbsync_core.txs import utc

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy import ColumnElement, FromClause, ScalarSelect, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from dbsync_core._rowbuild import RowMaker

__all__ = [
    "account_addresses",
    "account_assets",
    "account_delegations",
    "account_registrations",
    "account_rewards",
    "account_stake_history",
    "account_utxos",
    "account_withdrawals",
    "accounts_utxos",
    "fetch_account_addresses",
    "fetch_account_assets",
    "fetch_account_delegations",
    "fetch_account_registrations",
    "fetch_account_rewards",
    "fetch_account_stake_history",
    "fetch_account_utxos",
    "fetch_account_withdrawals",
    "fetch_stake_account",
    "fetch_stake_accounts",
    "stake_account",
    "stake_accounts",
]

_WORD31_MAX = 2**31 - 1

#: ``LIMIT 1`` written into the SQL (a bound limit leaves a generic plan guessing).
_ONE: ColumnElement[int] = literal_column("1")

# ------------------------------------------------------------------ helpers shared by the catalogue


def _current_epoch() -> ScalarSelect[Any]:
    """The database's latest epoch, ``max(block.epoch_no)`` (an InitPlan, run once)."""
    return select(func.max(type_coerce(block.c.epoch_no, Integer()))).scalar_subquery()


def _epoch_arg(value: int, arg: str = "epoch_no") -> int:
    number = parse_non_negative(value, arg=arg)
    if number > _WORD31_MAX:
        msg = f"{arg}: expected 0..{_WORD31_MAX}, got {number}"
        raise InvalidInputError(msg)
    return number


def _optional_epoch(value: int | None, arg: str = "epoch_no") -> int | None:
    return None if value is None else _epoch_arg(value, arg)


def _json(value: object) -> object:
    """A JSON column's value decoded (asyncpg hands ``jsonb`` over as text)."""
    return json.loads(value) if isinstance(value, str) else value


def _out_table(shape: Shape) -> Table:
    """The ``tx_out`` table of the layout (the columns every layout shares render alike)."""
    return tx_out_address if shape.address_table else tx_out


def _unspent_row(shape: Shape, out: FromClause) -> ColumnElement[bool]:
    """True for the rows of ``out`` (a ``tx_out`` table or alias) no transaction has spent."""
    if shape.by_tx_in:
        return ~exists().where(
            tx_in.c.tx_out_id == out.c.tx_id, tx_in.c.tx_out_index == out.c.index
        )
    return out.c.consumed_by_tx_id.is_(None)


def _stake_id(name: str = "stake_raw") -> ScalarSelect[Any]:
    """``stake_address.id`` of the raw stake address bound as ``name``."""
    raw = type_coerce(stake_address.c.hash_raw, LargeBinary())
    return (
        select(stake_address.c.id)
        .where(raw == bindparam(name, type_=LargeBinary))
        .scalar_subquery()
    )


def _stake_ids(name: str = "stake_raws") -> Select[Any]:
    """The ``stake_address.id`` s of the raw stake addresses bound as the array ``name``."""
    raw = type_coerce(stake_address.c.hash_raw, LargeBinary())
    return select(stake_address.c.id).where(raw == any_(bindparam(name, type_=ARRAY(LargeBinary))))


def _stake_arg(value: str | bytes, arg: str) -> bytes:
    return parse_stake_address(value, arg=arg)


def _stake_args(values: Iterable[str | bytes], arg: str) -> list[bytes]:
    if isinstance(values, str | bytes | bytearray) or not hasattr(values, "__iter__"):
        msg = f"{arg}: expected an iterable of stake addresses, got {type(values).__name__}"
        raise InvalidInputError(msg)
    raws: list[bytes] = []
    for index, value in enumerate(values):
        if index >= MAX_BATCH:
            msg = f"{arg}: expected at most {MAX_BATCH} stake addresses"
            raise InvalidInputError(msg)
        raws.append(parse_stake_address(value, arg=f"{arg}[{index}]"))
    if not raws:
        msg = f"{arg}: expected at least one stake address"
        raise InvalidInputError(msg)
    return raws


def _latest(
    table: Table, *columns: ColumnElement[Any], owner: ColumnElement[Any], name: str
) -> Any:
    """A LATERAL subquery: the latest row (by tx id, certificate index) of ``table`` for the
    account ``owner``."""
    return (
        select(table.c.tx_id, table.c.cert_index, *columns)
        .where(table.c.addr_id == owner)
        .order_by(table.c.tx_id.desc(), table.c.cert_index.desc())
        .limit(_ONE)
        .lateral(name)
    )


# ------------------------------------------------------------------ accounts


@functools.cache
def _account_statement(shape: Shape) -> tuple[Select[Any], RowMaker[StakeAccount]]:
    wanted = func.unnest(bindparam("stake_raws", type_=ARRAY(LargeBinary))).table_valued(
        "raw", with_ordinality="ord"
    )
    wanted = wanted.render_derived("wanted", with_types=False)
    sa = stake_address
    reg = _latest(stake_registration, stake_registration.c.deposit, owner=sa.c.id, name="reg")
    dereg = _latest(stake_deregistration, owner=sa.c.id, name="dereg")
    deleg = _latest(delegation, delegation.c.pool_hash_id, owner=sa.c.id, name="deleg")
    vote = _latest(delegation_vote, delegation_vote.c.drep_hash_id, owner=sa.c.id, name="vote")
    registered = and_(
        reg.c.tx_id.is_not(None),
        or_(
            dereg.c.tx_id.is_(None),
            tuple_(reg.c.tx_id, reg.c.cert_index) > tuple_(dereg.c.tx_id, dereg.c.cert_index),
        ),
    )
    raw = type_coerce(sa.c.hash_raw, LargeBinary())
    account = (
        select(
            wanted.c.ord,
            sa.c.id.label("addr_id"),
            sa.c.view,
            registered.label("registered"),
            reg.c.tx_id.label("reg_tx"),
            reg.c.cert_index.label("reg_cert"),
            reg.c.deposit,
            deleg.c.tx_id.label("deleg_tx"),
            deleg.c.cert_index.label("deleg_cert"),
            deleg.c.pool_hash_id,
            vote.c.tx_id.label("vote_tx"),
            vote.c.cert_index.label("vote_cert"),
            vote.c.drep_hash_id,
        )
        .select_from(
            wanted.join(sa, raw == wanted.c.raw)
            .outerjoin(reg, true())
            .outerjoin(dereg, true())
            .outerjoin(deleg, true())
            .outerjoin(vote, true())
        )
        .subquery("account")
    )

    def live(tx_id: ColumnElement[Any], cert: ColumnElement[Any]) -> ColumnElement[bool]:
        since = tuple_(account.c.reg_tx, account.c.reg_cert)
        return and_(account.c.registered, tuple_(tx_id, cert) >= since)

    out = _out_table(shape)
    epoch = _current_epoch()
    zero: ColumnElement[int] = literal_column("0")

    def total(amount: ColumnElement[Any], *where: ColumnElement[bool], name: str) -> Any:
        # LATERAL, not a scalar subquery: each sum runs once even where the outer query uses
        # it twice (the planner would copy a scalar subquery into every reference).
        summed = func.coalesce(func.sum(amount), zero).label("amount")
        return select(summed).where(*where).lateral(name)

    owner = account.c.addr_id
    utxo = total(
        out.c.value, out.c.stake_address_id == owner, _unspent_row(shape, out), name="utxo"
    )
    earned = total(
        reward.c.amount,
        reward.c.addr_id == owner,
        reward.c.spendable_epoch <= epoch,
        name="earned",
    )
    earned_rest = total(
        reward_rest.c.amount,
        reward_rest.c.addr_id == owner,
        reward_rest.c.spendable_epoch <= epoch,
        name="earned_rest",
    )
    withdrawn = total(withdrawal.c.amount, withdrawal.c.addr_id == owner, name="withdrawn")
    pool_view = select(pool_hash.c.view).where(
        pool_hash.c.id == account.c.pool_hash_id, live(account.c.deleg_tx, account.c.deleg_cert)
    )
    drep_view = select(drep_hash.c.view).where(
        drep_hash.c.id == account.c.drep_hash_id, live(account.c.vote_tx, account.c.vote_cert)
    )
    sums = (
        select(
            account.c.ord,
            account.c.view.label("stake_address"),
            account.c.registered,
            case((account.c.registered, account.c.deposit), else_=None).label("deposit"),
            pool_view.scalar_subquery().label("pool_id"),
            drep_view.scalar_subquery().label("drep_id"),
            utxo.c.amount.label("utxo_value"),
            (earned.c.amount + earned_rest.c.amount).label("rewards"),
            withdrawn.c.amount.label("withdrawals"),
        )
        .select_from(
            account.join(utxo, true())
            .join(earned, true())
            .join(earned_rest, true())
            .join(withdrawn, true())
        )
        .subquery("sums")
    )
    available = sums.c.rewards - sums.c.withdrawals
    statement = select(
        sums.c.stake_address,
        sums.c.registered,
        sums.c.deposit,
        sums.c.pool_id,
        sums.c.drep_id,
        sums.c.utxo_value,
        sums.c.rewards,
        sums.c.withdrawals,
        available.label("rewards_available"),
        (sums.c.utxo_value + available).label("controlled_total"),
    ).order_by(sums.c.ord)
    return statement, Query.of(StakeAccount, statement).maker


def stake_account(
    stake_address: str | bytes, *, layout: Layout | None = None
) -> Query[StakeAccount]:
    """Status (registered, deposit, pool and DRep delegated to) and balances of one account;
    no row for a stake address the chain has never seen."""
    raw = _stake_arg(stake_address, "stake_address")
    statement, maker = _account_statement(shape_of(layout))
    return make_query(statement, maker, {"stake_raws": [raw]})


def stake_accounts(
    stake_addresses: Iterable[str | bytes], *, layout: Layout | None = None
) -> Query[StakeAccount]:
    """:func:`stake_account` for many accounts in one query, in the order given (unknown ones
    skipped)."""
    raws = _stake_args(stake_addresses, "stake_addresses")
    statement, maker = _account_statement(shape_of(layout))
    return make_query(statement, maker, {"stake_raws": raws})


# ------------------------------------------------------------------ rewards


@functools.cache
def _rewards_statement() -> tuple[Select[Any], RowMaker[Reward]]:
    sid = _stake_id()
    from_pools = (
        select(
            reward.c.earned_epoch,
            reward.c.spendable_epoch,
            reward.c.type,
            reward.c.amount,
            pool_hash.c.view.label("pool_id"),
        )
        .select_from(reward.outerjoin(pool_hash, pool_hash.c.id == reward.c.pool_id))
        .where(reward.c.addr_id == sid)
    )
    rest = select(
        reward_rest.c.earned_epoch,
        reward_rest.c.spendable_epoch,
        reward_rest.c.type,
        reward_rest.c.amount,
        null().label("pool_id"),
    ).where(reward_rest.c.addr_id == sid)
    both = union_all(from_pools, rest).subquery("rewards")
    epoch = bindparam("epoch_no", type_=Integer)
    statement = (
        select(*both.c)
        .where(or_(epoch.is_(None), both.c.earned_epoch == epoch))
        .order_by(
            both.c.spendable_epoch,
            both.c.earned_epoch,
            both.c.type,
            both.c.pool_id,
            both.c.amount,
        )
    )
    return statement, Query.of(Reward, statement).maker


def account_rewards(stake_address: str | bytes, *, epoch_no: int | None = None) -> Query[Reward]:
    """Every reward of the account (``reward`` and ``reward_rest``: member, leader, refund,
    reserves, treasury, proposal refund), by spendable epoch; ``epoch_no`` keeps those earned
    in that epoch. An account has at most a few per epoch: no paging needed."""
    params = {
        "stake_raw": _stake_arg(stake_address, "stake_address"),
        "epoch_no": _optional_epoch(epoch_no),
    }
    statement, maker = _rewards_statement()
    return make_query(statement, maker, params)


# ------------------------------------------------------------------ withdrawals, certificates


def _withdrawal_key(record: Withdrawal) -> tuple[object, ...]:
    return (record.id,)


def _delegation_key(record: Delegation) -> tuple[object, ...]:
    return (record.id,)


_BY_WITHDRAWAL_ID = Keyset(((withdrawal.c.id, False),), key=_withdrawal_key)
_BY_DELEGATION_ID = Keyset(((delegation.c.id, False),), key=_delegation_key)


@functools.cache
def _withdrawals_statement() -> tuple[Select[Any], RowMaker[Withdrawal]]:
    statement = (
        select(
            withdrawal.c.id,
            tx.c.hash.label("tx_hash"),
            block.c.block_no,
            block.c.epoch_no,
            utc(block.c.time).label("time"),
            withdrawal.c.amount,
        )
        .select_from(
            withdrawal.join(tx, tx.c.id == withdrawal.c.tx_id).join(
                block, block.c.id == tx.c.block_id
            )
        )
        .where(withdrawal.c.addr_id == _stake_id())
        .order_by(withdrawal.c.id)
    )
    return statement, Query.of(Withdrawal, statement).maker


def account_withdrawals(stake_address: str | bytes) -> Query[Withdrawal]:
    """The account's reward withdrawals, oldest first (keyset on id)."""
    statement, maker = _withdrawals_statement()
    params = {"stake_raw": _stake_arg(stake_address, "stake_address")}
    return make_query(statement, maker, params, _BY_WITHDRAWAL_ID)


@functools.cache
def _delegations_statement() -> tuple[Select[Any], RowMaker[Delegation]]:
    statement = (
        select(
            delegation.c.id,
            stake_address.c.view.label("stake_address"),
            pool_hash.c.view.label("pool_id"),
            tx.c.hash.label("tx_hash"),
            delegation.c.cert_index,
            delegation.c.active_epoch_no,
            block.c.epoch_no,
            utc(block.c.time).label("time"),
        )
        .select_from(
            delegation.join(stake_address, stake_address.c.id == delegation.c.addr_id)
            .join(pool_hash, pool_hash.c.id == delegation.c.pool_hash_id)
            .join(tx, tx.c.id == delegation.c.tx_id)
            .join(block, block.c.id == tx.c.block_id)
        )
        .where(delegation.c.addr_id == _stake_id())
        .order_by(delegation.c.id)
    )
    return statement, Query.of(Delegation, statement).maker


def account_delegations(stake_address: str | bytes) -> Query[Delegation]:
    """The account's delegation certificates, oldest first (keyset on id)."""
    statement, maker = _delegations_statement()
    params = {"stake_raw": _stake_arg(stake_address, "stake_address")}
    return make_query(statement, maker, params, _BY_DELEGATION_ID)


@functools.cache
def _registrations_statement() -> tuple[Select[Any], RowMaker[StakeRegistration]]:
    sid = _stake_id()

    def part(table: Table, kind: str, deposit: ColumnElement[Any]) -> Select[Any]:
        return (
            select(
                literal(kind).label("kind"),
                tx.c.hash.label("tx_hash"),
                table.c.cert_index,
                table.c.epoch_no,
                utc(block.c.time).label("time"),
                deposit.label("deposit"),
                table.c.tx_id,
            )
            .select_from(
                table.join(tx, tx.c.id == table.c.tx_id).join(block, block.c.id == tx.c.block_id)
            )
            .where(table.c.addr_id == sid)
        )

    both = union_all(
        part(stake_registration, "registration", stake_registration.c.deposit),
        part(stake_deregistration, "deregistration", null()),
    ).subquery("certs")
    statement = select(*[c for c in both.c if c.name != "tx_id"]).order_by(
        both.c.tx_id, both.c.cert_index
    )
    return statement, Query.of(StakeRegistration, statement).maker


def account_registrations(stake_address: str | bytes) -> Query[StakeRegistration]:
    """The account's registration and deregistration certificates, in chain order."""
    statement, maker = _registrations_statement()
    return make_query(statement, maker, {"stake_raw": _stake_arg(stake_address, "stake_address")})


# ------------------------------------------------------------------ active stake


def _epoch_key(record: ActiveStake) -> tuple[object, ...]:
    return (record.epoch_no,)


_BY_STAKE_EPOCH = Keyset(((epoch_stake.c.epoch_no, False),), key=_epoch_key)


@functools.cache
def _stake_history_statement() -> tuple[Select[Any], RowMaker[ActiveStake]]:
    statement = (
        select(
            epoch_stake.c.epoch_no,
            pool_hash.c.view.label("pool_id"),
            epoch_stake.c.amount,
        )
        .select_from(epoch_stake.join(pool_hash, pool_hash.c.id == epoch_stake.c.pool_id))
        .where(epoch_stake.c.addr_id == _stake_id())
        .order_by(epoch_stake.c.epoch_no)
    )
    return statement, Query.of(ActiveStake, statement).maker


def account_stake_history(stake_address: str | bytes) -> Query[ActiveStake]:
    """The account's active stake in each epoch's snapshot (``epoch_stake``), oldest first
    (keyset on the epoch)."""
    statement, maker = _stake_history_statement()
    params = {"stake_raw": _stake_arg(stake_address, "stake_address")}
    return make_query(statement, maker, params, _BY_STAKE_EPOCH)


# ------------------------------------------------------------------ addresses, UTxOs, assets


def _first_out_key(record: AccountAddress) -> tuple[object, ...]:
    return (record.first_out_id,)


@functools.cache
def _addresses_query(
    shape: Shape,
) -> tuple[Select[Any], RowMaker[AccountAddress], Keyset[AccountAddress]]:
    out = _out_table(shape)
    if shape.address_table:
        source: FromClause = out.join(address, address.c.id == out.c.address_id)
        text: ColumnElement[Any] = address.c.address
    else:
        source, text = out, out.c.address
    found = (
        select(text.label("address"), func.min(out.c.id).label("first_out_id"))
        .select_from(source)
        .where(out.c.stake_address_id == _stake_id())
        .group_by(text)
        .subquery("account_addresses")
    )
    statement = select(found.c.address, found.c.first_out_id).order_by(found.c.first_out_id)
    keyset = Keyset(((found.c.first_out_id, False),), key=_first_out_key)
    return statement, Query.of(AccountAddress, statement).maker, keyset


def account_addresses(
    stake_address: str | bytes, *, layout: Layout | None = None
) -> Query[AccountAddress]:
    """The payment addresses whose stake part is the account, in the order of their first
    output (keyset on it). Built from the outputs still in the database (``prune`` removes old
    spent ones)."""
    params = {"stake_raw": _stake_arg(stake_address, "stake_address")}
    statement, maker, keyset = _addresses_query(shape_of(layout))
    return make_query(statement, maker, params, keyset)


def _utxo_key(record: Utxo) -> tuple[object, ...]:
    return (record.id,)


@functools.cache
def _utxos_query(shape: Shape) -> tuple[Select[Any], Keyset[Utxo]]:
    # Not the shared output view: its joins and asset aggregate would run for every unspent
    # output of the account before the sort. As scalar subqueries of the select list they are
    # evaluated after ORDER BY … LIMIT, for the rows of the page only.
    out = _out_table(shape)
    held, asset = ma_tx_out.alias("held"), multi_asset.alias("held_asset")

    def assets(column: ColumnElement[Any], name: str) -> Any:
        return (
            select(func.array_agg(aggregate_order_by(column, held.c.id)))
            .select_from(held.join(asset, asset.c.id == held.c.ident))
            .where(held.c.tx_out_id == out.c.id)
            .scalar_subquery()
            .label(name)
        )

    def lookup(column: ColumnElement[Any], key: ColumnElement[Any], name: str) -> Any:
        table = column.table
        return select(column).where(table.c.id == key).scalar_subquery().label(name)

    if shape.address_table:
        text: Any = lookup(address.c.address, out.c.address_id, "address")
    else:
        text = out.c.address
    statement = (
        select(
            out.c.id,
            lookup(tx.c.hash, out.c.tx_id, "tx_hash"),
            out.c.index,
            text,
            lookup(stake_address.c.view, out.c.stake_address_id, "stake_address"),
            out.c.value,
            assets(asset.c.policy, "policies"),
            assets(asset.c.name, "names"),
            assets(asset.c.fingerprint, "fingerprints"),
            assets(held.c.quantity, "quantities"),
            out.c.data_hash,
            lookup(datum.c.hash, out.c.inline_datum_id, "inline_datum_hash"),
            lookup(script.c.hash, out.c.reference_script_id, "reference_script_hash"),
        )
        .where(out.c.stake_address_id.in_(_stake_ids()), _unspent_row(shape, out))
        .order_by(out.c.id)
    )
    return statement, Keyset(((out.c.id, False),), key=_utxo_key)


def account_utxos(stake_address: str | bytes, *, layout: Layout | None = None) -> Query[Utxo]:
    """The unspent outputs whose stake part is the account, with assets, oldest first (keyset
    on id)."""
    raw = _stake_arg(stake_address, "stake_address")
    statement, keyset = _utxos_query(shape_of(layout))
    return make_query(statement, UTXO_MAKER, {"stake_raws": [raw]}, keyset)


def accounts_utxos(
    stake_addresses: Iterable[str | bytes], *, layout: Layout | None = None
) -> Query[Utxo]:
    """:func:`account_utxos` for many accounts in one query, oldest first."""
    raws = _stake_args(stake_addresses, "stake_addresses")
    statement, keyset = _utxos_query(shape_of(layout))
    return make_query(statement, UTXO_MAKER, {"stake_raws": raws}, keyset)


@functools.cache
def _assets_statement(shape: Shape) -> tuple[Select[Any], RowMaker[AssetAmount]]:
    out = _out_table(shape)
    statement = (
        select(
            multi_asset.c.policy,
            multi_asset.c.name,
            multi_asset.c.fingerprint,
            func.sum(ma_tx_out.c.quantity).label("quantity"),
        )
        .select_from(
            out.join(ma_tx_out, ma_tx_out.c.tx_out_id == out.c.id).join(
                multi_asset, multi_asset.c.id == ma_tx_out.c.ident
            )
        )
        .where(out.c.stake_address_id == _stake_id(), _unspent_row(shape, out))
        .group_by(multi_asset.c.id)
        .order_by(multi_asset.c.policy, multi_asset.c.name)
    )
    return statement, Query.of(AssetAmount, statement).maker


def account_assets(
    stake_address: str | bytes, *, layout: Layout | None = None
) -> Query[AssetAmount]:
    """The native assets held by the account's unspent outputs, summed per asset, by policy
    and name."""
    params = {"stake_raw": _stake_arg(stake_address, "stake_address")}
    statement, maker = _assets_statement(shape_of(layout))
    return make_query(statement, maker, params)


# ------------------------------------------------------------------ runners


async def fetch_stake_account(
    conn: AsyncConnection, stake_address: str | bytes
) -> StakeAccount | None:
    """The account's status and balances, or None for a stake address never seen."""
    stake_account(stake_address)  # validate before any round trip
    layout = await layout_of(conn)
    return await fetch_optional(conn, stake_account(stake_address, layout=layout))


async def fetch_stake_accounts(
    conn: AsyncConnection, stake_addresses: Iterable[str | bytes]
) -> list[StakeAccount]:
    """Many accounts in one query, in the order given (unknown ones skipped)."""
    raws = _stake_args(stake_addresses, "stake_addresses")
    return await fetch_all(conn, stake_accounts(raws, layout=await layout_of(conn)))


async def fetch_account_rewards(
    conn: AsyncConnection, stake_address: str | bytes, *, epoch_no: int | None = None
) -> list[Reward]:
    """Every reward of the account (optionally of one earned epoch)."""
    return await fetch_all(conn, account_rewards(stake_address, epoch_no=epoch_no))


async def fetch_account_withdrawals(
    conn: AsyncConnection, stake_address: str | bytes
) -> list[Withdrawal]:
    """Every withdrawal of the account, oldest first."""
    return await fetch_all(conn, account_withdrawals(stake_address))


async def fetch_account_delegations(
    conn: AsyncConnection, stake_address: str | bytes
) -> list[Delegation]:
    """Every delegation certificate of the account, oldest first."""
    return await fetch_all(conn, account_delegations(stake_address))


async def fetch_account_registrations(
    conn: AsyncConnection, stake_address: str | bytes
) -> list[StakeRegistration]:
    """Every registration and deregistration of the account, in chain order."""
    return await fetch_all(conn, account_registrations(stake_address))


async def fetch_account_stake_history(
    conn: AsyncConnection, stake_address: str | bytes
) -> list[ActiveStake]:
    """The account's active stake per epoch, oldest first."""
    return await fetch_all(conn, account_stake_history(stake_address))


async def fetch_account_addresses(
    conn: AsyncConnection, stake_address: str | bytes
) -> list[AccountAddress]:
    """Every address of the account, in the order of first use."""
    account_addresses(stake_address)
    layout = await layout_of(conn)
    return await fetch_all(conn, account_addresses(stake_address, layout=layout))


async def fetch_account_utxos(conn: AsyncConnection, stake_address: str | bytes) -> list[Utxo]:
    """Every unspent output of the account (for big ones, page :func:`account_utxos`)."""
    account_utxos(stake_address)
    return await fetch_all(conn, account_utxos(stake_address, layout=await layout_of(conn)))


async def fetch_account_assets(
    conn: AsyncConnection, stake_address: str | bytes
) -> list[AssetAmount]:
    """The native assets the account holds."""
    account_assets(stake_address)
    return await fetch_all(conn, account_assets(stake_address, layout=await layout_of(conn)))
