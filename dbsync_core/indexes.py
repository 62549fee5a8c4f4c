"""The indexes the query catalogue needs beyond db-sync's own, per db-sync layout, as SQL a DBA
can apply (``CREATE INDEX CONCURRENTLY IF NOT EXISTS``, outside a transaction).

db-sync creates few lookup indexes and dropped many in 13.1: nothing on ``tx_out.address`` (core
layout), ``tx_out.address_id`` and ``tx_out.stake_address_id`` (address-table layout),
``multi_asset.fingerprint``, ``ma_tx_out.ident``, ``ma_tx_mint.ident``, ``tx_metadata.key``,
``collateral_tx_in.tx_in_id``, ``reference_tx_in.tx_in_id``, ``redeemer.tx_id`` or
``.script_hash``, ``reward_rest.addr_id``, nor on any governance foreign key. Without these, the
queries listed in :attr:`IndexAdvice.serves` read whole tables. Each was found by running every
catalogue query under ``EXPLAIN`` on a 200,000-transaction chain (see ``tests/test_indexes.py``).

Index names start with ``dbsync_core_`` so they never collide with db-sync's (``idx_…``), and
every statement is idempotent. db-sync's own stage-4 indexes are not repeated here: a database
still in its first sync lacks them (``Layout.near_tip_indexes``) until db-sync builds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from dbsync_core.exceptions import InvalidInputError
from dbsync_core.layout import Layout, SpentMode, layout_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "INDEXES",
    "IndexAdvice",
    "fetch_missing_indexes",
    "indexes_sql",
    "recommended_indexes",
]


@attrs.frozen
class IndexAdvice:
    """One index to add: its DDL, the catalogue queries it serves, the layouts it applies to."""

    name: str
    table: str
    #: ``CREATE INDEX CONCURRENTLY IF NOT EXISTS …`` (run it outside a transaction).
    sql: str
    #: The catalogue builders (``module.function``) whose plans use it.
    serves: tuple[str, ...]
    #: Why the catalogue needs it.
    reason: str
    #: The ``tx_out`` layout it applies to: core (False), address table (True), or both (None).
    address_table: bool | None = None
    #: The spent-output tracking modes it applies to (None: all).
    spent: tuple[SpentMode, ...] | None = None

    def applies_to(self, layout: Layout) -> bool:
        """True when a database of ``layout`` needs this index."""
        if self.address_table is not None and self.address_table != layout.address_table:
            return False
        return self.spent is None or layout.spent in self.spent


def _advice(
    name: str,
    table: str,
    definition: str,
    serves: tuple[str, ...],
    reason: str,
    *,
    address_table: bool | None = None,
    spent: tuple[SpentMode, ...] | None = None,
) -> IndexAdvice:
    sql = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} {definition}"
    return IndexAdvice(name, table, sql, serves, reason, address_table, spent)


_ASSET_INFO = (
    "assets.asset_info",
    "assets.assets_info",
    "assets.assets_by_fingerprints",
    "assets.policy_assets",
)

#: Every index the catalogue recommends, whatever the layout (see :func:`recommended_indexes`).
INDEXES: tuple[IndexAdvice, ...] = (
    # ----------------------------------------------------------------- outputs and addresses
    _advice(
        "dbsync_core_tx_out_address",
        "tx_out",
        "USING hash (address)",
        (
            "addresses.address_utxos",
            "addresses.addresses_utxos",
            "addresses.address_outputs",
            "addresses.addresses_outputs",
            "addresses.address_balance",
            "addresses.address_balances",
            "addresses.address_txs",
            "addresses.addresses_txs",
        ),
        "Byron (Base58) addresses have no payment credential: they are found by their text, "
        "which db-sync leaves unindexed (the line is commented out upstream).",
        address_table=False,
    ),
    _advice(
        "dbsync_core_tx_out_address_id",
        "tx_out",
        "(address_id)",
        (
            "addresses.address_utxos",
            "addresses.addresses_utxos",
            "addresses.address_outputs",
            "addresses.addresses_outputs",
            "addresses.address_balance",
            "addresses.address_balances",
            "addresses.address_txs",
            "addresses.addresses_txs",
        ),
        "The address-table layout finds an address's outputs through tx_out.address_id, "
        "which db-sync does not index.",
        address_table=True,
    ),
    _advice(
        "dbsync_core_tx_out_stake_address_id",
        "tx_out",
        "(stake_address_id)",
        (
            "accounts.stake_account",
            "accounts.stake_accounts",
            "accounts.account_addresses",
            "accounts.account_utxos",
            "accounts.accounts_utxos",
            "accounts.account_assets",
        ),
        "db-sync skips its stage-4 tx_out(stake_address_id) index in the address-table "
        "layout; every account balance and UTxO query starts there.",
        address_table=True,
    ),
    _advice(
        "dbsync_core_tx_out_unspent_stake",
        "tx_out",
        "(stake_address_id) INCLUDE (value) WHERE consumed_by_tx_id IS NULL",
        ("accounts.stake_account", "accounts.stake_accounts", "accounts.account_utxos"),
        "Where db-sync fills consumed_by_tx_id, an account's UTxO value is summed from this "
        "partial covering index alone (Blockfrost adds the same).",
        spent=("consumed", "prune"),
    ),
    _advice(
        "dbsync_core_tx_in_tx_out",
        "tx_in",
        "(tx_out_id, tx_out_index) INCLUDE (tx_in_id)",
        (
            "addresses.address_utxos",
            "addresses.addresses_utxos",
            "addresses.address_outputs",
            "addresses.addresses_outputs",
            "addresses.address_balance",
            "addresses.address_balances",
            "addresses.address_txs",
            "addresses.addresses_txs",
            "accounts.stake_account",
            "accounts.stake_accounts",
            "accounts.account_utxos",
            "accounts.accounts_utxos",
            "accounts.account_assets",
            "assets.asset_holders",
            "scripts.reference_script_utxos",
            "txs.tx_outputs",
        ),
        "The unspent test (NOT EXISTS a tx_in naming the output's tx and index) and spent-by "
        "lookups probe both columns; db-sync 13.1 dropped the unique key that covered them.",
        spent=("tx_in",),
    ),
    _advice(
        "dbsync_core_ma_tx_out_tx_out_id",
        "ma_tx_out",
        "(tx_out_id) INCLUDE (ident, quantity)",
        (
            "addresses.address_utxos",
            "addresses.addresses_utxos",
            "addresses.address_outputs",
            "addresses.addresses_outputs",
            "addresses.address_balance",
            "addresses.address_balances",
            "accounts.account_utxos",
            "accounts.accounts_utxos",
            "accounts.account_assets",
            "scripts.reference_script_utxos",
            "txs.tx_outputs",
            "txs.tx_inputs",
        ),
        "Every output's assets are read by output id; covering the asset and quantity lets "
        "balances of busy addresses read the index alone (db-sync's own ma_tx_out(tx_out_id) "
        "index then becomes redundant), where a heap read per output makes planners scan the "
        "whole table instead.",
    ),
    # ----------------------------------------------------------------- transactions
    _advice(
        "dbsync_core_collateral_tx_in_tx_in_id",
        "collateral_tx_in",
        "(tx_in_id)",
        ("txs.tx_inputs",),
        "A transaction's collateral inputs are found by the spending tx id.",
    ),
    _advice(
        "dbsync_core_reference_tx_in_tx_in_id",
        "reference_tx_in",
        "(tx_in_id)",
        ("txs.tx_inputs",),
        "A transaction's reference inputs are found by the spending tx id.",
    ),
    _advice(
        "dbsync_core_tx_metadata_key",
        "tx_metadata",
        "(key, id)",
        ("txs.txs_by_metadata_label",),
        "Metadata by label, in id order (keyset); db-sync has no index on tx_metadata.key.",
    ),
    # ----------------------------------------------------------------- assets
    _advice(
        "dbsync_core_ma_tx_out_ident",
        "ma_tx_out",
        "(ident, tx_out_id) INCLUDE (quantity)",
        ("assets.asset_holders", "assets.asset_txs", *_ASSET_INFO),
        "Holders, the outputs of an asset and the CIP-68 reference token's latest output all "
        "start from the asset; db-sync only indexes ma_tx_out by output.",
    ),
    _advice(
        "dbsync_core_ma_tx_mint_ident",
        "ma_tx_mint",
        "(ident, id)",
        ("assets.asset_mints", "assets.asset_txs", *_ASSET_INFO),
        "Supply, mint and burn counts, first mint, CIP-25 metadata and mint history read an "
        "asset's mints.",
    ),
    _advice(
        "dbsync_core_multi_asset_fingerprint",
        "multi_asset",
        "(fingerprint)",
        (
            "assets.asset_info",
            "assets.assets_by_fingerprints",
            "assets.asset_holders",
            "assets.asset_mints",
            "assets.asset_txs",
        ),
        "CIP-14 fingerprints are stored but not indexed by db-sync.",
    ),
    # ----------------------------------------------------------------- scripts
    _advice(
        "dbsync_core_redeemer_tx_id",
        "redeemer",
        "(tx_id)",
        ("scripts.tx_redeemers",),
        "A transaction's redeemers; db-sync 13.1 dropped the index that covered tx_id.",
    ),
    _advice(
        "dbsync_core_redeemer_script_hash",
        "redeemer",
        "(script_hash, id)",
        ("scripts.script_redeemers",),
        "A script's redeemers in id order (keyset).",
    ),
    # ----------------------------------------------------------------- stake and pools
    _advice(
        "dbsync_core_reward_rest_addr_id",
        "reward_rest",
        "(addr_id)",
        ("accounts.stake_account", "accounts.stake_accounts", "accounts.account_rewards"),
        "MIR, treasury and proposal-refund rewards of an account.",
    ),
    _advice(
        "dbsync_core_epoch_stake_pool_epoch",
        "epoch_stake",
        "(pool_id, epoch_no)",
        ("pools.pool_stake", "pools.pools_stake", "pools.pool_history"),
        "A pool's snapshot in one epoch without reading its snapshots of every epoch.",
    ),
    # ----------------------------------------------------------------- governance
    _advice(
        "dbsync_core_delegation_vote_addr_id",
        "delegation_vote",
        "(addr_id, tx_id)",
        ("accounts.stake_account", "accounts.stake_accounts", "governance.drep_delegators"),
        "An account's latest vote delegation (and whether a later one replaced it).",
    ),
    _advice(
        "dbsync_core_delegation_vote_drep_hash_id",
        "delegation_vote",
        "(drep_hash_id)",
        ("governance.drep_delegators",),
        "A DRep's delegators.",
    ),
    _advice(
        "dbsync_core_drep_registration_drep_hash_id",
        "drep_registration",
        "(drep_hash_id, tx_id)",
        ("governance.drep_list", "governance.drep_info", "governance.dreps_info"),
        "A DRep's latest registration, retirement and update certificates.",
    ),
    _advice(
        "dbsync_core_gov_action_proposal_tx_id",
        "gov_action_proposal",
        "(tx_id)",
        ("governance.proposal_info", "governance.proposal_votes"),
        "A proposal by the transaction that made it.",
    ),
    _advice(
        "dbsync_core_voting_procedure_proposal",
        "voting_procedure",
        "(gov_action_proposal_id)",
        ("governance.proposal_votes",),
        "The votes on a proposal.",
    ),
    _advice(
        "dbsync_core_voting_procedure_drep_voter",
        "voting_procedure",
        "(drep_voter) WHERE drep_voter IS NOT NULL",
        ("governance.drep_votes",),
        "A DRep's votes (partial: only DRep votes fill the column).",
    ),
    _advice(
        "dbsync_core_voting_procedure_pool_voter",
        "voting_procedure",
        "(pool_voter) WHERE pool_voter IS NOT NULL",
        ("governance.pool_votes",),
        "A pool's votes (partial: only pool votes fill the column).",
    ),
    _advice(
        "dbsync_core_voting_procedure_committee_voter",
        "voting_procedure",
        "(committee_voter) WHERE committee_voter IS NOT NULL",
        ("governance.committee_votes",),
        "A committee member's votes (partial: only committee votes fill the column).",
    ),
    _advice(
        "dbsync_core_committee_registration_cold_key_id",
        "committee_registration",
        "(cold_key_id)",
        ("governance.committee_members",),
        "A committee member's latest hot key registration.",
    ),
    _advice(
        "dbsync_core_committee_de_registration_cold_key_id",
        "committee_de_registration",
        "(cold_key_id)",
        ("governance.committee_members",),
        "A committee member's resignation.",
    ),
)


def _layout_arg(layout: object) -> Layout:
    if not isinstance(layout, Layout):
        msg = f"layout: expected a Layout, got {type(layout).__name__}"
        raise InvalidInputError(msg)
    return layout


def recommended_indexes(layout: Layout) -> list[IndexAdvice]:
    """The indexes a database of ``layout`` needs (``await layout_of(conn)`` gives it)."""
    checked = _layout_arg(layout)
    return [advice for advice in INDEXES if advice.applies_to(checked)]


def indexes_sql(layout: Layout) -> str:
    """The statements of :func:`recommended_indexes` as one script, each with its purpose.

    ``CREATE INDEX CONCURRENTLY`` cannot run inside a transaction: run the statements one by one
    (``psql -f`` does; a multi-statement ``execute`` does not)."""
    kind = "address table" if _layout_arg(layout).address_table else "core"
    title = f"(layout: {kind}, spent outputs by {layout.spent})."
    lines = [
        f"-- Indexes dbsync_core's query catalogue needs beyond db-sync's own {title}",
        "-- CONCURRENTLY: run each statement on its own, outside a transaction.",
    ]
    for advice in recommended_indexes(layout):
        lines += ["", f"-- {advice.reason}", f"-- Serves: {', '.join(advice.serves)}"]
        lines.append(advice.sql + ";")
    return "\n".join(lines) + "\n"


async def fetch_missing_indexes(conn: AsyncConnection) -> list[IndexAdvice]:
    """The recommended indexes the database ``conn`` reads does not have yet (by name), for
    its detected layout."""
    from sqlalchemy import text  # noqa: PLC0415  (one catalog read, off the hot path)

    wanted = recommended_indexes(await layout_of(conn))
    result = await conn.execute(
        text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    )
    present = {row[0] for row in result}
    return [advice for advice in wanted if advice.name not in present]
