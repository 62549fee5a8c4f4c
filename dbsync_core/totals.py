"""Network totals: the ada pots of an epoch (or of every epoch), the supply figures derived
from the latest pots, and the protocol parameters in force.

db-sync writes ``ada_pots`` at each epoch boundary (when ledger state is enabled), so these are
figures as of the start of the latest epoch, read in one index lookup, not a scan of the UTxO
set. Definitions (the systems disagree, hence every component is returned):

- ``total`` = ``max_supply - reserves`` (what Blockfrost calls ``total``; Koios's ``supply`` sums
  treasury, rewards, UTxO, deposits and fees, which is the same quantity when the pots balance);
- ``circulating`` = ``utxo + rewards`` (cardano-graphql's definition); Koios's ``circulation``
  and Blockfrost's ``circulating`` are the UTxO alone: use :attr:`Supply.utxo
  <dbsync_core.records.Supply.utxo>` for those.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Integer, Numeric, bindparam, literal_column, select
from sqlalchemy import type_coerce as coerce

from dbsync_core._exec import fetch_all, fetch_optional
from dbsync_core.accounts import _epoch_arg
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import AdaPots, EpochParams, Supply
from dbsync_core.schema import ada_pots, epoch_param

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncConnection

    from dbsync_core._rowbuild import RowMaker

__all__ = [
    "MAX_SUPPLY",
    "ada_pots_history",
    "ada_pots_of",
    "current_params",
    "fetch_ada_pots",
    "fetch_ada_pots_history",
    "fetch_current_params",
    "fetch_supply",
    "supply",
]

#: The ada that will ever exist, in lovelace (45 billion ada).
MAX_SUPPLY = 45_000_000_000_000_000


def _pots_key(record: AdaPots) -> tuple[object, ...]:
    return (record.epoch_no,)


_BY_EPOCH = Keyset(((ada_pots.c.epoch_no, False),), key=_pots_key)


@functools.cache
def _pots_statement(one: bool) -> tuple[Select[Any], RowMaker[AdaPots]]:
    base = select(
        ada_pots.c.epoch_no,
        ada_pots.c.slot_no,
        ada_pots.c.treasury,
        ada_pots.c.reserves,
        ada_pots.c.rewards,
        ada_pots.c.utxo,
        ada_pots.c.deposits_stake,
        ada_pots.c.deposits_drep,
        ada_pots.c.deposits_proposal,
        ada_pots.c.fees,
    )
    epoch = coerce(ada_pots.c.epoch_no, Integer())
    if one:
        statement = base.where(epoch == bindparam("epoch_no", type_=Integer))
    else:
        statement = base.order_by(ada_pots.c.epoch_no)
    return statement, Query.of(AdaPots, statement).maker


def ada_pots_of(epoch_no: int) -> Query[AdaPots]:
    """The pots at the start of ``epoch_no``: treasury, reserves, rewards, UTxO, deposits,
    fees (none before Shelley, or when db-sync keeps no ledger state)."""
    statement, maker = _pots_statement(one=True)
    return make_query(statement, maker, {"epoch_no": _epoch_arg(epoch_no)})


def ada_pots_history() -> Query[AdaPots]:
    """The pots of every epoch, oldest first (keyset on the epoch)."""
    statement, maker = _pots_statement(one=False)
    return make_query(statement, maker, {}, _BY_EPOCH)


@functools.cache
def _supply_statement() -> tuple[Select[Any], RowMaker[Supply]]:
    latest = (
        select(ada_pots)
        .order_by(ada_pots.c.epoch_no.desc(), ada_pots.c.id.desc())
        .limit(literal_column("1"))
        .subquery("latest_pots")
    )
    maximum = coerce(literal_column(str(MAX_SUPPLY)), Numeric())
    statement = select(
        coerce(latest.c.epoch_no, BigInteger()).label("epoch_no"),
        maximum.label("max_supply"),
        (maximum - latest.c.reserves).label("total"),
        (latest.c.utxo + latest.c.rewards).label("circulating"),
        latest.c.utxo,
        latest.c.rewards,
        latest.c.treasury,
        latest.c.reserves,
        (latest.c.deposits_stake + latest.c.deposits_drep + latest.c.deposits_proposal).label(
            "deposits"
        ),
        latest.c.fees,
    )
    return statement, Query.of(Supply, statement).maker


def supply() -> Query[Supply]:
    """Supply figures from the latest epoch's pots (see the module's definitions)."""
    statement, maker = _supply_statement()
    return make_query(statement, maker, {})


@functools.cache
def _params_statement() -> tuple[Select[Any], RowMaker[EpochParams]]:
    skip = {"id", "block_id", "cost_model_id"}
    columns = [c for c in epoch_param.c if c.name not in skip]
    statement = (
        select(*columns)
        .order_by(epoch_param.c.epoch_no.desc(), epoch_param.c.id.desc())
        .limit(literal_column("1"))
    )
    return statement, Query.of(EpochParams, statement).maker


def current_params() -> Query[EpochParams]:
    """The protocol parameters of the latest epoch that has them (Shelley on)."""
    statement, maker = _params_statement()
    return make_query(statement, maker, {})


async def fetch_ada_pots(conn: AsyncConnection, epoch_no: int) -> AdaPots | None:
    """The pots at the start of an epoch, or None."""
    return await fetch_optional(conn, ada_pots_of(epoch_no))


async def fetch_ada_pots_history(conn: AsyncConnection) -> list[AdaPots]:
    """The pots of every epoch, oldest first."""
    return await fetch_all(conn, ada_pots_history())


async def fetch_supply(conn: AsyncConnection) -> Supply | None:
    """Supply figures from the latest pots (None when db-sync wrote none)."""
    return await fetch_optional(conn, supply())


async def fetch_current_params(conn: AsyncConnection) -> EpochParams | None:
    """The protocol parameters in force (None on a Byron-only database)."""
    return await fetch_optional(conn, current_params())
