"""Address workloads: every output of an address with its spent status (heavy and light), and
the UTxOs of 1,000 addresses in one call.

The ORM filters on ``payment_cred`` as well as the address text, like the library: db-sync has no
index on ``tx_out.address``, and the point is to compare the Python layers over the same plan,
not a sequential scan against an index scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload

from benchmarks.orm import MaTxOutModel, TxInModel, TxOutModel, orm_output
from dbsync_core import fetch_all
from dbsync_core._bench import CORE, FLOOR, ORM, Env, Impl, Workload, floor_sql, orm_session, plain
from dbsync_core.addresses import address_outputs, addresses_utxos
from dbsync_core.codecs import parse_address

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm.strategy_options import _AbstractLoad

__all__ = ["address_outputs_workload", "batch_addresses_workload"]


def _floor_outputs(rows: Sequence[Any], *, spent: bool = True) -> tuple[Any, ...]:
    # (id, tx_hash, index, address, stake, value, policies, names, fingerprints, quantities,
    #  data_hash, inline_datum_hash, reference_script_hash[, spent_by_tx_hash])
    made = []
    for r in rows:
        assets = tuple(zip(r[6], r[7], r[8], r[9], strict=True)) if r[6] else ()
        made.append((*r[:6], assets, *r[10 : 14 if spent else 13]))
    result: tuple[Any, ...] = plain(made)
    return result


def _loads(*, by_tx_in: bool, spent: bool) -> list[_AbstractLoad]:
    loads: list[_AbstractLoad] = [
        joinedload(TxOutModel.tx),
        joinedload(TxOutModel.stake_address),
        joinedload(TxOutModel.inline_datum),
        joinedload(TxOutModel.reference_script),
        selectinload(TxOutModel.assets).joinedload(MaTxOutModel.asset),
    ]
    if spent:
        if by_tx_in:
            loads.append(selectinload(TxOutModel.spent_by).joinedload(TxInModel.spender))
        else:
            loads.append(joinedload(TxOutModel.consumer))
    return loads


def _unspent(*, by_tx_in: bool) -> Any:
    if by_tx_in:
        return ~exists().where(
            TxInModel.tx_out_id == TxOutModel.tx_id, TxInModel.tx_out_index == TxOutModel.index
        )
    return TxOutModel.consumed_by_tx_id.is_(None)


def _core_layout(env: Env) -> bool:
    return not env.layout.address_table


def address_outputs_workload(env: Env, which: str) -> Workload | None:
    """Every output ever paid to the ``heavy`` or the ``light`` address, with its assets and
    the transaction that spent it: the guide's "address activity" loop, as one query."""
    if not _core_layout(env):
        return None
    address = env.facts.heavy_address if which == "heavy" else env.facts.light_address
    layout = env.layout
    by_tx_in = layout.spent == "tx_in"
    query = address_outputs(address, layout=layout)
    sql, args = floor_sql(query, env.core.sync_engine.dialect)

    async def floor() -> Any:
        return await env.floor.fetch(sql, *args)

    async def core() -> Any:
        return await fetch_all(env.core, address_outputs(address, layout=layout))

    async def orm() -> Any:
        # The guide pages with OFFSET without ORDER BY (rows skipped or repeated) and runs one
        # query per output for its spent status; eager loading does it in a few queries.
        cred = parse_address(address).payment_cred
        async with orm_session(env) as session:
            stmt = (
                select(TxOutModel)
                .where(TxOutModel.payment_cred == cred, TxOutModel.address == address)
                .order_by(TxOutModel.id)
                .options(*_loads(by_tx_in=by_tx_in, spent=True))
            )
            return (await session.execute(stmt)).scalars().all()

    def orm_answer(models: Sequence[TxOutModel]) -> tuple[Any, ...]:
        return tuple(orm_output(o, by_tx_in=by_tx_in) for o in models)

    return Workload(
        f"address_outputs_{which}",
        f"address outputs with spent status, {which} address",
        {FLOOR: Impl(floor, _floor_outputs), CORE: Impl(core, plain), ORM: Impl(orm, orm_answer)},
        max_rounds=5 if which == "heavy" else None,
    )


def batch_addresses_workload(env: Env) -> Workload | None:
    """The unspent outputs of 1,000 addresses (or as many as the chain offers) in one call."""
    if not _core_layout(env) or not env.facts.addresses:
        return None
    addresses = list(env.facts.addresses)
    layout = env.layout
    by_tx_in = layout.spent == "tx_in"
    sql, args = floor_sql(addresses_utxos(addresses, layout=layout), env.core.sync_engine.dialect)

    async def floor() -> Any:
        return await env.floor.fetch(sql, *args)

    async def core() -> Any:
        return await fetch_all(env.core, addresses_utxos(addresses, layout=layout))

    async def orm() -> Any:
        creds = [parse_address(a).payment_cred for a in addresses]
        async with orm_session(env) as session:
            stmt = (
                select(TxOutModel)
                .where(
                    TxOutModel.payment_cred.in_(creds),
                    TxOutModel.address.in_(addresses),
                    _unspent(by_tx_in=by_tx_in),
                )
                .order_by(TxOutModel.id)
                .options(*_loads(by_tx_in=by_tx_in, spent=False))
            )
            return (await session.execute(stmt)).scalars().all()

    def floor_answer(rows: Sequence[Any]) -> tuple[Any, ...]:
        return _floor_outputs(rows, spent=False)

    def orm_answer(models: Sequence[TxOutModel]) -> tuple[Any, ...]:
        return tuple(orm_output(o, by_tx_in=by_tx_in, spent=False) for o in models)

    return Workload(
        "batch_addresses",
        f"UTxOs of {len(addresses):,} addresses, one call",
        {FLOOR: Impl(floor, floor_answer), CORE: Impl(core, plain), ORM: Impl(orm, orm_answer)},
        max_rounds=7,
    )
