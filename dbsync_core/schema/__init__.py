"""SQLAlchemy Core tables for the whole cardano-db-sync schema (13.7.2.1+, schema 15/51/6).

Every table is importable by its db-sync name (``from dbsync_core.schema import block, tx``) and
lives in :data:`metadata` (the default "core" ``tx_out`` layout). :data:`address_metadata` is the
address-table layout: the same tables plus ``address``, with :data:`tx_out_address` and
:data:`collateral_tx_out_address` in place of ``tx_out`` and ``collateral_tx_out``. The ``epoch``
and ``epoch_current`` views are read-only selectables. Joins follow db-sync's naming convention
and are declared without emitting foreign-key DDL (db-sync keeps only one real foreign key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Numeric, Table, TableClause, column, table
from sqlalchemy.dialects.postgresql import TIMESTAMP

from dbsync_core.schema import _ddl
from dbsync_core.schema._ddl import (
    SCHEMA_VERSION,
    create_schema,
    index_ddl,
    layout_metadata,
    table_ddl,
    type_ddl,
    view_ddl,
)
from dbsync_core.schema._meta import NEAR_TIP, logical_fk, metadata
from dbsync_core.schema._meta import address_metadata as _address_metadata
from dbsync_core.schema._types import DOMAINS, ENUMS
from dbsync_core.schema.address_layout_tables import (
    address,
    collateral_tx_out_address,
    tx_out_address,
)
from dbsync_core.schema.base import (
    block,
    collateral_tx_in,
    datum,
    extra_key_witness,
    extra_migrations,
    meta,
    redeemer,
    redeemer_data,
    reference_tx_in,
    reverse_index,
    schema_version,
    script,
    slot_leader,
    tx,
    tx_cbor,
    tx_in,
    tx_metadata,
)
from dbsync_core.schema.epoch_protocol import (
    ada_pots,
    cost_model,
    epoch_finalized,
    epoch_param,
    epoch_sync_enabled,
    epoch_sync_time,
    event_info,
    pot_transfer,
    reserve,
    treasury,
)
from dbsync_core.schema.governance import (
    committee,
    committee_de_registration,
    committee_hash,
    committee_member,
    committee_registration,
    constitution,
    delegation_vote,
    drep_distr,
    drep_hash,
    drep_registration,
    epoch_state,
    gov_action_proposal,
    new_committee,
    param_proposal,
    treasury_withdrawal,
    voting_anchor,
    voting_procedure,
)
from dbsync_core.schema.multi_asset import ma_tx_mint, multi_asset
from dbsync_core.schema.off_chain import (
    off_chain_pool_data,
    off_chain_pool_fetch_error,
    off_chain_vote_author,
    off_chain_vote_data,
    off_chain_vote_drep_data,
    off_chain_vote_external_update,
    off_chain_vote_fetch_error,
    off_chain_vote_gov_action_data,
    off_chain_vote_reference,
)
from dbsync_core.schema.pool import (
    delisted_pool,
    pool_hash,
    pool_metadata_ref,
    pool_owner,
    pool_relay,
    pool_retire,
    pool_stat,
    pool_update,
    reserved_pool_ticker,
)
from dbsync_core.schema.stake_delegation import (
    delegation,
    epoch_stake,
    epoch_stake_progress,
    reward,
    reward_rest,
    stake_address,
    stake_deregistration,
    stake_registration,
    withdrawal,
)
from dbsync_core.schema.tx_out import collateral_tx_out, ma_tx_out, tx_out


def _copy_into_address_layout(source: Table) -> Table:
    # to_metadata() drops Index.info and the never-emit rule of logical foreign keys: restore both.
    copy = source.to_metadata(_address_metadata)
    infos = {i.name: i.info for i in source.indexes}
    for index in copy.indexes:
        index.info.update(infos[index.name])
    logical = {
        fk.column_keys[0]: fk.elements[0].target_fullname
        for fk in source.foreign_key_constraints
        if fk.info.get("logical")
    }
    for fk in list(copy.foreign_key_constraints):
        if fk.column_keys[0] in logical:
            copy.constraints.discard(fk)
            copy.foreign_keys.difference_update(fk.elements)
            for col in fk.columns:
                col.foreign_keys.difference_update(fk.elements)
    for column_name, target in logical.items():
        copy.append_constraint(logical_fk(column_name, target))
    return copy


def _complete_address_layout() -> None:
    # The address layout shares every other table; copying them costs as much as defining them,
    # so it is done on first use (layout_metadata(address_table=True) or address_metadata).
    if len(_address_metadata.tables) > 3:
        return
    for name, source in list(metadata.tables.items()):
        if name not in ("tx_out", "collateral_tx_out"):
            _copy_into_address_layout(source)


_ddl.COMPLETE_ADDRESS_LAYOUT = _complete_address_layout

_EPOCH_COLUMNS = (
    ("id", BigInteger()),
    ("out_sum", Numeric()),
    ("fees", Numeric()),
    ("tx_count", BigInteger()),
    ("blk_count", BigInteger()),
    ("no", BigInteger()),
    ("start_time", TIMESTAMP()),
    ("end_time", TIMESTAMP()),
)

#: The ``epoch`` view (finalized epochs plus the live current one); read-only.
epoch: TableClause = table("epoch", *(column(n, t) for n, t in _EPOCH_COLUMNS))
#: The ``epoch_current`` view (the epoch being written); read-only.
epoch_current: TableClause = table("epoch_current", *(column(n, t) for n, t in _EPOCH_COLUMNS))


def __getattr__(name: str) -> Any:
    if name == "address_metadata":
        _complete_address_layout()
        return _address_metadata
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


if TYPE_CHECKING:
    address_metadata = _address_metadata


#: The views, by name.
VIEWS: dict[str, TableClause] = {"epoch": epoch, "epoch_current": epoch_current}

__all__ = [
    "DOMAINS",
    "ENUMS",
    "NEAR_TIP",
    "SCHEMA_VERSION",
    "VIEWS",
    "ada_pots",
    "address",
    "address_metadata",
    "block",
    "collateral_tx_in",
    "collateral_tx_out",
    "collateral_tx_out_address",
    "committee",
    "committee_de_registration",
    "committee_hash",
    "committee_member",
    "committee_registration",
    "constitution",
    "cost_model",
    "create_schema",
    "datum",
    "delegation",
    "delegation_vote",
    "delisted_pool",
    "drep_distr",
    "drep_hash",
    "drep_registration",
    "epoch",
    "epoch_current",
    "epoch_finalized",
    "epoch_param",
    "epoch_stake",
    "epoch_stake_progress",
    "epoch_state",
    "epoch_sync_enabled",
    "epoch_sync_time",
    "event_info",
    "extra_key_witness",
    "extra_migrations",
    "gov_action_proposal",
    "index_ddl",
    "layout_metadata",
    "ma_tx_mint",
    "ma_tx_out",
    "meta",
    "metadata",
    "multi_asset",
    "new_committee",
    "off_chain_pool_data",
    "off_chain_pool_fetch_error",
    "off_chain_vote_author",
    "off_chain_vote_data",
    "off_chain_vote_drep_data",
    "off_chain_vote_external_update",
    "off_chain_vote_fetch_error",
    "off_chain_vote_gov_action_data",
    "off_chain_vote_reference",
    "param_proposal",
    "pool_hash",
    "pool_metadata_ref",
    "pool_owner",
    "pool_relay",
    "pool_retire",
    "pool_stat",
    "pool_update",
    "pot_transfer",
    "redeemer",
    "redeemer_data",
    "reference_tx_in",
    "reserve",
    "reserved_pool_ticker",
    "reverse_index",
    "reward",
    "reward_rest",
    "schema_version",
    "script",
    "slot_leader",
    "stake_address",
    "stake_deregistration",
    "stake_registration",
    "table_ddl",
    "treasury",
    "treasury_withdrawal",
    "tx",
    "tx_cbor",
    "tx_in",
    "tx_metadata",
    "tx_out",
    "tx_out_address",
    "type_ddl",
    "view_ddl",
    "voting_anchor",
    "voting_procedure",
    "withdrawal",
]
