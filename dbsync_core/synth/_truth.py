"""The generator's own record of the chain it wrote: the oracle the tests compare queries with.

Everything here is computed by the generator while it builds rows, never read back from SQL. The
answers are plain Python values (hashes as ``bytes``, amounts as ``int``, times as naive UTC
``datetime`` as db-sync stores them).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "AddressTruth",
    "AssetTruth",
    "BlockTruth",
    "DRepTruth",
    "DatumTruth",
    "EpochTruth",
    "OutputTruth",
    "PoolTruth",
    "PoolUpdateTruth",
    "PotsTruth",
    "ProposalTruth",
    "RedeemerTruth",
    "ScriptTruth",
    "StakeTruth",
    "Truth",
    "TxTruth",
    "VoteTruth",
]


@attrs.define
class BlockTruth:
    id: int
    hash: bytes
    epoch_no: int | None
    slot_no: int | None
    epoch_slot_no: int | None
    block_no: int | None
    slot_leader_id: int
    time: datetime
    tx_count: int
    txs: list[int] = attrs.field(factory=list)


@attrs.define
class TxTruth:
    id: int
    hash: bytes
    block_id: int
    block_index: int
    valid: bool = True
    fee: int = 0
    out_sum: int = 0
    deposit: int = 0
    size: int = 0
    withdrawals: int = 0
    donation: int = 0
    inputs: list[int] = attrs.field(factory=list)  # tx_out ids really spent
    outputs: list[int] = attrs.field(factory=list)
    collateral_inputs: list[int] = attrs.field(factory=list)
    reference_inputs: list[int] = attrs.field(factory=list)
    metadata: dict[int, object] = attrs.field(factory=dict)


@attrs.define
class OutputTruth:
    id: int
    tx_id: int
    index: int
    address: str
    stake_address: str | None
    value: int
    assets: dict[int, int]  # multi_asset id -> quantity
    spent_by: int | None = None
    data_hash: bytes | None = None
    inline_datum_id: int | None = None
    reference_script_id: int | None = None


@attrs.define
class AddressTruth:
    address: str
    payment_cred: bytes | None
    stake_address: str | None
    has_script: bool = False
    txs: set[int] = attrs.field(factory=set)


@attrs.define
class StakeTruth:
    view: str
    raw: bytes
    registered: bool = False
    #: (tx id, cert index, pool view, active epoch)
    delegations: list[tuple[int, int, str, int]] = attrs.field(factory=list)
    #: (tx id, cert index, registration?) in chain order
    registrations: list[tuple[int, int, bool]] = attrs.field(factory=list)
    #: (earned epoch, spendable epoch, type, amount, pool view or None)
    rewards: list[tuple[int, int, str, int, str | None]] = attrs.field(factory=list)
    withdrawals: list[tuple[int, int]] = attrs.field(factory=list)  # (tx id, amount)
    epoch_stake: dict[int, tuple[str, int]] = attrs.field(factory=dict)  # epoch -> (pool, amount)
    drep: str | None = None
    #: (tx id, cert index, DRep view) in chain order
    vote_delegations: list[tuple[int, int, str]] = attrs.field(factory=list)


@attrs.define
class AssetTruth:
    ident: int
    policy: bytes
    name: bytes
    fingerprint: str
    mints: list[tuple[int, int]] = attrs.field(factory=list)  # (tx id, quantity)


@attrs.define
class PoolUpdateTruth:
    """One pool registration certificate (a ``pool_update`` row and its owners and relays)."""

    tx_id: int
    cert_index: int
    pledge: int
    margin: float
    fixed_cost: int
    active_epoch_no: int
    vrf_key_hash: bytes
    reward_address: str
    owners: list[str]
    #: (ipv4, ipv6, dns name, dns srv name, port)
    relays: list[tuple[str | None, str | None, str | None, str | None, int | None]]
    metadata_url: str
    metadata_hash: bytes
    deposit: int | None


@attrs.define
class PoolTruth:
    view: str
    hash_raw: bytes
    blocks: list[int] = attrs.field(factory=list)
    updates: list[int] = attrs.field(factory=list)  # registered tx ids
    retiring_epoch: int | None = None
    update_rows: list[PoolUpdateTruth] = attrs.field(factory=list)
    #: (announced tx id, cert index, retiring epoch) in chain order
    retirements: list[tuple[int, int, int]] = attrs.field(factory=list)


@attrs.define
class DRepTruth:
    id: int
    view: str
    raw: bytes | None
    #: (tx id, cert index, deposit, voting anchor id) in chain order
    registrations: list[tuple[int, int, int | None, int | None]] = attrs.field(factory=list)
    #: epoch -> (amount, active until)
    distr: dict[int, tuple[int, int | None]] = attrs.field(factory=dict)


@attrs.define
class ProposalTruth:
    id: int
    tx_id: int
    index: int
    type: str
    deposit: int
    return_address: str
    expiration: int | None
    ratified_epoch: int | None
    enacted_epoch: int | None
    dropped_epoch: int | None
    expired_epoch: int | None
    anchor_id: int | None
    description: object


@attrs.define
class VoteTruth:
    id: int
    tx_id: int
    index: int
    proposal_id: int
    role: str
    #: DRep view, pool view, or the committee hot credential in hex
    voter: str
    vote: str


@attrs.define
class ScriptTruth:
    id: int
    hash: bytes
    type: str
    json: object
    cbor: bytes | None
    size: int | None
    tx_id: int


@attrs.define
class DatumTruth:
    id: int
    hash: bytes
    value: object
    cbor: bytes
    tx_id: int


@attrs.define
class RedeemerTruth:
    id: int
    tx_id: int
    purpose: str
    index: int
    unit_mem: int
    unit_steps: int
    fee: int
    script_hash: bytes
    data_hash: bytes
    value: object
    cbor: bytes


@attrs.define
class PotsTruth:
    epoch_no: int
    slot_no: int
    treasury: int
    reserves: int
    rewards: int
    utxo: int
    deposits_stake: int
    fees: int
    deposits_drep: int
    deposits_proposal: int


@attrs.define
class EpochTruth:
    no: int
    blk_count: int
    tx_count: int
    fees: int
    out_sum: int
    start_time: datetime | None
    end_time: datetime | None


@attrs.define
class Truth:
    """The chain as the generator built it, with the answers the catalogue must give."""

    blocks: list[BlockTruth] = attrs.field(factory=list)
    txs: list[TxTruth] = attrs.field(factory=list)
    outputs: dict[int, OutputTruth] = attrs.field(factory=dict)
    addresses: dict[str, AddressTruth] = attrs.field(factory=dict)
    stakes: dict[str, StakeTruth] = attrs.field(factory=dict)
    assets_by_ident: dict[int, AssetTruth] = attrs.field(factory=dict)
    pools: dict[str, PoolTruth] = attrs.field(factory=dict)
    epochs: dict[int, EpochTruth] = attrs.field(factory=dict)
    ada_pots: dict[int, tuple[int, int, int, int]] = attrs.field(factory=dict)
    tip_epoch: int = 0
    #: Every pot of each epoch's ``ada_pots`` row.
    pots: dict[int, PotsTruth] = attrs.field(factory=dict)
    dreps: dict[str, DRepTruth] = attrs.field(factory=dict)
    proposals: dict[int, ProposalTruth] = attrs.field(factory=dict)
    votes: list[VoteTruth] = attrs.field(factory=list)
    #: voting_anchor id -> (url, data hash)
    anchors: dict[int, tuple[str, bytes]] = attrs.field(factory=dict)
    #: committee_hash id -> raw credential
    committee_hashes: dict[int, bytes] = attrs.field(factory=dict)
    #: (cold committee_hash id, expiration epoch) of the committee's members
    committee_members: list[tuple[int, int]] = attrs.field(factory=list)
    #: (tx id, cert index, cold id, hot id) committee hot key registrations in chain order
    committee_registrations: list[tuple[int, int, int, int]] = attrs.field(factory=list)
    scripts: dict[bytes, ScriptTruth] = attrs.field(factory=dict)
    datums: dict[bytes, DatumTruth] = attrs.field(factory=dict)
    redeemers: list[RedeemerTruth] = attrs.field(factory=list)

    # --------------------------------------------------------------- UTxOs and balances

    def unspent(self) -> list[OutputTruth]:
        """Every unspent output, in ``tx_out.id`` order."""
        return [o for o in self.outputs.values() if o.spent_by is None]

    def utxos(self, address: str) -> list[OutputTruth]:
        """The unspent outputs at ``address``, oldest first."""
        return [o for o in self.outputs.values() if o.address == address and o.spent_by is None]

    def balance(self, address: str) -> tuple[int, dict[int, int]]:
        """(lovelace, {multi_asset id: quantity}) held by ``address``."""
        return _sum_outputs(self.utxos(address))

    def address_txs(self, address: str) -> list[int]:
        """Ids of the txs that paid to or spent from ``address``, newest first."""
        found = self.addresses.get(address)
        return sorted(found.txs, reverse=True) if found else []

    def stake_utxos(self, view: str) -> list[OutputTruth]:
        """The unspent outputs whose address delegates to stake address ``view``."""
        return [o for o in self.outputs.values() if o.stake_address == view and o.spent_by is None]

    def stake_balance(self, view: str) -> tuple[int, dict[int, int]]:
        """UTxO value (lovelace, assets) controlled by stake address ``view``."""
        return _sum_outputs(self.stake_utxos(view))

    def rewards_available(self, view: str, epoch: int | None = None) -> int:
        """Rewards spendable by ``epoch`` (default: the tip's) minus withdrawals."""
        epoch = self.tip_epoch if epoch is None else epoch
        stake = self.stakes.get(view)
        if stake is None:
            return 0
        earned = sum(
            amount for _e, spendable, _t, amount, _p in stake.rewards if spendable <= epoch
        )
        return earned - sum(amount for _tx, amount in stake.withdrawals)

    def stake_controlled_total(self, view: str) -> int:
        """UTxO lovelace plus available rewards (what Koios calls ``total_balance``)."""
        return self.stake_balance(view)[0] + self.rewards_available(view)

    # --------------------------------------------------------------- assets

    def asset_supply(self, ident: int) -> int:
        """Minted minus burned."""
        return sum(q for _tx, q in self.assets_by_ident[ident].mints)

    def asset_holders(self, ident: int) -> dict[str, int]:
        """{address: quantity} over the unspent outputs."""
        holders: dict[str, int] = defaultdict(int)
        for out in self.unspent():
            q = out.assets.get(ident)
            if q:
                holders[out.address] += q
        return dict(holders)

    # --------------------------------------------------------------- blocks and txs

    def tx_by_hash(self, tx_hash: bytes) -> TxTruth | None:
        """The tx with this hash, if any."""
        for tx in self.txs:
            if tx.hash == tx_hash:
                return tx
        return None

    def block_txs(self, block_id: int) -> list[TxTruth]:
        """The txs of a block, in block order."""
        return sorted((t for t in self.txs if t.block_id == block_id), key=lambda t: t.block_index)


def _sum_outputs(outputs: list[OutputTruth]) -> tuple[int, dict[int, int]]:
    lovelace = 0
    assets: dict[int, int] = defaultdict(int)
    for out in outputs:
        lovelace += out.value
        for ident, q in out.assets.items():
            assets[ident] += q
    return lovelace, dict(assets)
