# ruff: noqa: INP001  (a folder of mypy inputs, not a package)
"""Static checks, not tests: catalogue part two's builders and runners carry their records."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_type

from dbsync_core import accounts, assets, governance, indexes, pools, scripts, totals
from dbsync_core._exec import fetch_all, fetch_one, fetch_optional, pages, stream
from dbsync_core.query import Page, Query
from dbsync_core.records import (
    AccountAddress,
    ActiveStake,
    AdaPots,
    Asset,
    AssetAmount,
    AssetHolder,
    AssetMint,
    Block,
    CommitteeMember,
    Datum,
    Delegation,
    DRep,
    DRepDelegator,
    EpochParams,
    Pool,
    PoolDelegator,
    PoolEpoch,
    PoolStake,
    Proposal,
    Redeemer,
    Reward,
    Script,
    StakeAccount,
    StakeRegistration,
    Supply,
    Tx,
    Utxo,
    Vote,
    Withdrawal,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncConnection

    from dbsync_core.layout import Layout

STAKE = "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw"
POOL = "ab" * 28
ASSET = "ab" * 28 + "cafe"
H32 = "00" * 32


async def stake_accounts(conn: AsyncConnection, layout: Layout) -> None:
    assert_type(accounts.stake_account(STAKE, layout=layout), Query[StakeAccount])
    assert_type(accounts.stake_accounts([STAKE, b"\xe1" * 29]), Query[StakeAccount])
    assert_type(await accounts.fetch_stake_account(conn, STAKE), StakeAccount | None)
    assert_type(await accounts.fetch_stake_accounts(conn, [STAKE]), list[StakeAccount])
    assert_type(await accounts.fetch_account_rewards(conn, STAKE, epoch_no=3), list[Reward])
    assert_type(await accounts.fetch_account_withdrawals(conn, STAKE), list[Withdrawal])
    assert_type(await accounts.fetch_account_delegations(conn, STAKE), list[Delegation])
    assert_type(await accounts.fetch_account_registrations(conn, STAKE), list[StakeRegistration])
    assert_type(await accounts.fetch_account_stake_history(conn, STAKE), list[ActiveStake])
    assert_type(await accounts.fetch_account_addresses(conn, STAKE), list[AccountAddress])
    assert_type(await accounts.fetch_account_utxos(conn, STAKE), list[Utxo])
    assert_type(await accounts.fetch_account_assets(conn, STAKE), list[AssetAmount])
    assert_type(await pages(conn, accounts.account_utxos(STAKE), page_size=50), Page[Utxo])
    assert_type(accounts.accounts_utxos([STAKE]), Query[Utxo])
    rewards: AsyncIterator[Reward] = stream(conn, accounts.account_rewards(STAKE))
    async for reward in rewards:
        assert_type(reward, Reward)


async def stake_pools(conn: AsyncConnection) -> None:
    assert_type(pools.pool_list(status="retiring"), Query[Pool])
    assert_type(await pools.fetch_pool(conn, POOL), Pool | None)
    assert_type(await pools.fetch_pools(conn, [POOL]), list[Pool])
    assert_type(await pools.fetch_pool_list(conn), list[Pool])
    assert_type(await pools.fetch_pool_stake(conn, POOL, epoch_no=5), PoolStake | None)
    assert_type(await fetch_all(conn, pools.pools_stake([POOL])), list[PoolStake])
    assert_type(await pools.fetch_pool_delegators(conn, POOL), list[PoolDelegator])
    assert_type(await pools.fetch_pool_blocks(conn, POOL), list[Block])
    assert_type(await pools.fetch_pool_history(conn, POOL), list[PoolEpoch])
    assert_type(pools.pool_blocks(POOL, newest_first=True), Query[Block])


async def native_assets(conn: AsyncConnection, layout: Layout) -> None:
    assert_type(assets.asset_info(ASSET), Query[Asset])
    assert_type(await fetch_one(conn, assets.asset_info("asset1xyz")), Asset)
    assert_type(await assets.fetch_asset(conn, ASSET), Asset | None)
    assert_type(await assets.fetch_assets(conn, [ASSET]), list[Asset])
    assert_type(await fetch_all(conn, assets.assets_by_fingerprints(["asset1x"])), list[Asset])
    assert_type(await assets.fetch_policy_assets(conn, POOL), list[Asset])
    assert_type(assets.asset_holders(ASSET, layout=layout), Query[AssetHolder])
    assert_type(await assets.fetch_asset_holders(conn, ASSET), list[AssetHolder])
    assert_type(await assets.fetch_asset_mints(conn, ASSET), list[AssetMint])
    assert_type(await assets.fetch_asset_txs(conn, ASSET), list[Tx])


async def scripts_and_datums(conn: AsyncConnection) -> None:
    assert_type(scripts.script_info(POOL), Query[Script])
    assert_type(await scripts.fetch_script(conn, POOL), Script | None)
    assert_type(await scripts.fetch_scripts(conn, [POOL]), list[Script])
    assert_type(await scripts.fetch_datum(conn, H32), Datum | None)
    assert_type(await scripts.fetch_datums(conn, [H32]), list[Datum])
    assert_type(await scripts.fetch_tx_redeemers(conn, H32), list[Redeemer])
    assert_type(await scripts.fetch_script_redeemers(conn, POOL), list[Redeemer])
    assert_type(await scripts.fetch_reference_script_utxos(conn, [POOL]), list[Utxo])
    assert_type(scripts.reference_script_utxos([POOL]), Query[Utxo])


async def conway_governance(conn: AsyncConnection) -> None:
    assert_type(governance.drep_list(), Query[DRep])
    assert_type(await governance.fetch_drep(conn, "drep_always_abstain"), DRep | None)
    assert_type(await governance.fetch_dreps(conn, [POOL]), list[DRep])
    assert_type(await governance.fetch_drep_list(conn), list[DRep])
    assert_type(await governance.fetch_drep_delegators(conn, POOL), list[DRepDelegator])
    assert_type(await governance.fetch_drep_votes(conn, POOL), list[Vote])
    assert_type(await governance.fetch_voter_votes(conn, pool_id=POOL), list[Vote])
    assert_type(governance.committee_votes(POOL), Query[Vote])
    assert_type(await governance.fetch_proposal_list(conn, status="active"), list[Proposal])
    assert_type(await governance.fetch_proposal(conn, H32, 0), Proposal | None)
    assert_type(await governance.fetch_proposal_votes(conn, H32), list[Vote])
    assert_type(await governance.fetch_committee_members(conn), list[CommitteeMember])


async def network_totals(conn: AsyncConnection, layout: Layout) -> None:
    assert_type(totals.ada_pots_of(3), Query[AdaPots])
    assert_type(await totals.fetch_ada_pots(conn, 3), AdaPots | None)
    assert_type(await totals.fetch_ada_pots_history(conn), list[AdaPots])
    assert_type(await totals.fetch_supply(conn), Supply | None)
    assert_type(await fetch_optional(conn, totals.supply()), Supply | None)
    assert_type(await totals.fetch_current_params(conn), EpochParams | None)
    assert_type(indexes.recommended_indexes(layout), list[indexes.IndexAdvice])
    assert_type(indexes.indexes_sql(layout), str)
    assert_type(await indexes.fetch_missing_indexes(conn), list[indexes.IndexAdvice])


def misuse(layout: Layout) -> None:
    accounts.stake_account(5)  # type: ignore[arg-type]
    accounts.stake_accounts(STAKE, layout="core")  # type: ignore[arg-type]
    pools.pool_stake(POOL, epoch_no="3")  # type: ignore[arg-type]
    assets.asset_info(b"\x00" * 28)  # type: ignore[arg-type]
    governance.drep_votes(3)  # type: ignore[arg-type]
    totals.ada_pots_of(None)  # type: ignore[arg-type]
    indexes.recommended_indexes("core")  # type: ignore[arg-type]
    indexes.indexes_sql(layout.spent)  # type: ignore[arg-type]
