"""Result records: frozen, slotted attrs classes, one per result shape.

Pure data: hashes are ``bytes``, lovelace and quantities ``int``, times tz-aware UTC ``datetime``.
Records carry no converters or validators, and no ``__weakref__`` slot, so the generated row
builders of :mod:`dbsync_core._rowbuild` can create them without calling the frozen ``__init__``.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003  (kept at runtime: typing.get_type_hints(Block))

import attrs

__all__ = [
    "AccountAddress",
    "ActiveStake",
    "AdaPots",
    "AddressBalance",
    "Asset",
    "AssetAmount",
    "AssetHolder",
    "AssetMint",
    "Block",
    "BlockWithTxs",
    "CommitteeMember",
    "DRep",
    "DRepDelegator",
    "Datum",
    "Delegation",
    "EpochParams",
    "EpochStats",
    "EpochSummary",
    "Pool",
    "PoolDelegator",
    "PoolEpoch",
    "PoolRelay",
    "PoolStake",
    "Proposal",
    "Redeemer",
    "Reward",
    "Script",
    "StakeAccount",
    "StakeRegistration",
    "Supply",
    "Tx",
    "TxIn",
    "TxMetadata",
    "TxOut",
    "Utxo",
    "Vote",
    "Withdrawal",
]


@attrs.frozen(slots=True, weakref_slot=False)
class Block:
    """A block, with its slot leader's hash and, from Shelley on, the leader's pool id."""

    id: int
    hash: bytes
    epoch_no: int | None
    slot_no: int | None
    epoch_slot_no: int | None
    block_no: int | None
    previous_id: int | None
    slot_leader: bytes
    pool_id: str | None
    size: int
    time: datetime
    tx_count: int
    proto_major: int
    proto_minor: int
    vrf_key: str | None
    op_cert: bytes | None
    op_cert_counter: int | None


@attrs.frozen(slots=True, weakref_slot=False)
class AssetAmount:
    """A quantity of one native asset."""

    policy: bytes
    name: bytes
    fingerprint: str
    quantity: int


@attrs.frozen(slots=True, weakref_slot=False)
class Tx:
    """A transaction with the block it is in."""

    id: int
    hash: bytes
    block_id: int
    block_hash: bytes
    block_no: int | None
    epoch_no: int | None
    slot_no: int | None
    time: datetime
    block_index: int
    out_sum: int
    fee: int
    #: Net deposit: taken for registrations, negative when refunds exceed them.
    deposit: int | None
    size: int
    invalid_before: int | None
    invalid_hereafter: int | None
    #: False for a transaction whose scripts failed: it forfeited its collateral.
    valid_contract: bool
    script_size: int
    treasury_donation: int


@attrs.frozen(slots=True, weakref_slot=False)
class TxOut:
    """A transaction output with its assets and, once spent, the spending transaction."""

    id: int
    tx_hash: bytes
    index: int
    address: str
    stake_address: str | None
    value: int
    assets: tuple[AssetAmount, ...]
    data_hash: bytes | None
    inline_datum_hash: bytes | None
    reference_script_hash: bytes | None
    #: The spending transaction; None while unspent.
    spent_by_tx_hash: bytes | None


@attrs.frozen(slots=True, weakref_slot=False)
class Utxo:
    """An unspent output."""

    id: int
    tx_hash: bytes
    index: int
    address: str
    stake_address: str | None
    value: int
    assets: tuple[AssetAmount, ...]
    data_hash: bytes | None
    inline_datum_hash: bytes | None
    reference_script_hash: bytes | None


@attrs.frozen(slots=True, weakref_slot=False)
class TxIn:
    """An input of a transaction, resolved to the output it names.

    ``kind`` is ``"spend"``, ``"collateral"`` or ``"reference"``. The output's fields are None
    when it is no longer in the database (deleted by db-sync's ``prune`` mode).
    """

    kind: str
    tx_hash: bytes
    index: int
    address: str | None
    stake_address: str | None
    value: int | None
    assets: tuple[AssetAmount, ...]


@attrs.frozen(slots=True, weakref_slot=False)
class TxMetadata:
    """One metadata entry (label and value) of a transaction."""

    id: int
    tx_hash: bytes
    key: int
    #: The value as JSON (None when db-sync could not represent it as JSON).
    json: object
    #: The value as CBOR, as it was on chain (``tx_metadata.bytes``).
    cbor: bytes


@attrs.frozen(slots=True, weakref_slot=False)
class BlockWithTxs:
    """A block and its transactions, in block order."""

    block: Block
    txs: tuple[Tx, ...]


@attrs.frozen(slots=True, weakref_slot=False)
class AddressBalance:
    """What an address holds: lovelace and assets over its unspent outputs."""

    address: str
    lovelace: int
    utxo_count: int
    assets: tuple[AssetAmount, ...]


@attrs.frozen(slots=True, weakref_slot=False)
class EpochSummary:
    """An epoch's totals (the ``epoch`` view, or computed when db-sync does not keep it)."""

    no: int
    start_time: datetime | None
    end_time: datetime | None
    blk_count: int
    tx_count: int
    fees: int
    out_sum: int


@attrs.frozen(slots=True, weakref_slot=False)
class EpochStats:
    """Transaction and block statistics of an epoch, computed from its blocks in one query."""

    epoch_no: int
    tx_count: int
    total_fees: int
    average_fee: float
    total_size: int
    block_count: int
    start_time: datetime | None
    end_time: datetime | None


@attrs.frozen(slots=True, weakref_slot=False)
class EpochParams:
    """The protocol parameters in force during an epoch."""

    epoch_no: int
    min_fee_a: int
    min_fee_b: int
    max_block_size: int
    max_tx_size: int
    max_bh_size: int
    key_deposit: int
    pool_deposit: int
    max_epoch: int
    optimal_pool_count: int
    influence: float
    monetary_expand_rate: float
    treasury_growth_rate: float
    decentralisation: float
    protocol_major: int
    protocol_minor: int
    min_utxo_value: int
    min_pool_cost: int
    nonce: bytes | None
    price_mem: float | None
    price_step: float | None
    max_tx_ex_mem: int | None
    max_tx_ex_steps: int | None
    max_block_ex_mem: int | None
    max_block_ex_steps: int | None
    max_val_size: int | None
    collateral_percent: int | None
    max_collateral_inputs: int | None
    extra_entropy: bytes | None
    coins_per_utxo_size: int | None
    pvt_motion_no_confidence: float | None
    pvt_committee_normal: float | None
    pvt_committee_no_confidence: float | None
    pvt_hard_fork_initiation: float | None
    dvt_motion_no_confidence: float | None
    dvt_committee_normal: float | None
    dvt_committee_no_confidence: float | None
    dvt_update_to_constitution: float | None
    dvt_hard_fork_initiation: float | None
    dvt_p_p_network_group: float | None
    dvt_p_p_economic_group: float | None
    dvt_p_p_technical_group: float | None
    dvt_p_p_gov_group: float | None
    dvt_treasury_withdrawal: float | None
    committee_min_size: int | None
    committee_max_term_length: int | None
    gov_action_lifetime: int | None
    gov_action_deposit: int | None
    drep_deposit: int | None
    drep_activity: int | None
    pvtpp_security_group: float | None
    min_fee_ref_script_cost_per_byte: float | None


# ------------------------------------------------------------------ stake accounts


@attrs.frozen(slots=True, weakref_slot=False)
class StakeAccount:
    """A stake account's status and balances (as of the database's latest epoch).

    ``rewards`` counts ``reward`` and ``reward_rest`` rows spendable by the current epoch;
    ``rewards_available`` is that minus every withdrawal; ``controlled_total`` adds the value
    of the account's unspent outputs.
    """

    stake_address: str
    registered: bool
    #: The deposit of the latest registration while registered, else None.
    deposit: int | None
    #: The pool of the live delegation (bech32 ``pool1…``), else None.
    pool_id: str | None
    #: The DRep of the live vote delegation (its ``view``), else None.
    drep_id: str | None
    utxo_value: int
    rewards: int
    withdrawals: int
    rewards_available: int
    controlled_total: int


@attrs.frozen(slots=True, weakref_slot=False)
class Reward:
    """One reward of a stake account (``reward`` or ``reward_rest``)."""

    earned_epoch: int
    spendable_epoch: int
    #: ``member``, ``leader``, ``refund`` (``reward``) or ``reserves``, ``treasury``,
    #: ``proposal_refund`` (``reward_rest``).
    type: str
    amount: int
    #: The pool it came from (``reward`` rows), else None.
    pool_id: str | None


@attrs.frozen(slots=True, weakref_slot=False)
class Withdrawal:
    """A withdrawal of rewards from a stake account."""

    id: int
    tx_hash: bytes
    block_no: int | None
    epoch_no: int | None
    time: datetime
    amount: int


@attrs.frozen(slots=True, weakref_slot=False)
class Delegation:
    """A stake delegation certificate."""

    id: int
    stake_address: str
    pool_id: str
    tx_hash: bytes
    cert_index: int
    active_epoch_no: int
    epoch_no: int | None
    time: datetime


@attrs.frozen(slots=True, weakref_slot=False)
class StakeRegistration:
    """A stake key registration (``kind="registration"``) or deregistration certificate."""

    kind: str
    tx_hash: bytes
    cert_index: int
    epoch_no: int
    time: datetime
    #: The deposit taken (registrations), else None.
    deposit: int | None


@attrs.frozen(slots=True, weakref_slot=False)
class ActiveStake:
    """A stake account's active stake in an epoch's snapshot (``epoch_stake``)."""

    epoch_no: int
    pool_id: str
    amount: int


@attrs.frozen(slots=True, weakref_slot=False)
class AccountAddress:
    """An address whose stake part is the account, with its first output still in the
    database."""

    address: str
    first_out_id: int


# ------------------------------------------------------------------ pools


@attrs.frozen(slots=True, weakref_slot=False)
class PoolRelay:
    """A relay of a pool, as its latest registration declared it."""

    ipv4: str | None
    ipv6: str | None
    dns_name: str | None
    dns_srv_name: str | None
    port: int | None


@attrs.frozen(slots=True, weakref_slot=False)
class Pool:
    """A stake pool: status and the parameters of its latest registration certificate.

    ``status`` is ``registered``, ``retiring`` (a retirement announced for a later epoch) or
    ``retired``.
    """

    id: int
    pool_id: str
    hash: bytes
    status: str
    #: The announced retirement epoch while retiring or retired, else None.
    retiring_epoch: int | None
    pledge: int
    fixed_cost: int
    margin: float
    vrf_key_hash: bytes
    reward_address: str
    owners: tuple[str, ...]
    relays: tuple[PoolRelay, ...]
    metadata_url: str | None
    metadata_hash: bytes | None
    #: The epoch from which the latest parameters apply.
    active_epoch_no: int
    registered_tx_hash: bytes


@attrs.frozen(slots=True, weakref_slot=False)
class PoolStake:
    """A pool's active stake and delegator count in an epoch's snapshot."""

    pool_id: str
    epoch_no: int
    active_stake: int
    delegator_count: int


@attrs.frozen(slots=True, weakref_slot=False)
class PoolDelegator:
    """A stake account whose live delegation is to the pool."""

    id: int
    stake_address: str
    tx_hash: bytes
    active_epoch_no: int


@attrs.frozen(slots=True, weakref_slot=False)
class PoolEpoch:
    """A pool's figures in one epoch: snapshot stake, blocks made, rewards earned."""

    epoch_no: int
    active_stake: int
    delegator_count: int
    block_count: int
    #: Member rewards earned in the epoch by the pool's delegators.
    delegator_rewards: int
    #: The operator's (leader) reward earned in the epoch.
    leader_rewards: int


# ------------------------------------------------------------------ assets


@attrs.frozen(slots=True, weakref_slot=False)
class Asset:
    """A native asset: supply, mints and its CIP-25 / CIP-68 metadata.

    ``cip25`` is the asset's entry in the label-721 metadata of its latest mint carrying one
    (under the policy id in hex, then the asset name as text or hex); ``cip68`` is the inline
    datum (db-sync's JSON) of the latest output holding the asset's CIP-68 reference token.
    """

    id: int
    policy: bytes
    name: bytes
    fingerprint: str
    #: Minted minus burned.
    supply: int
    mint_count: int
    burn_count: int
    first_mint_tx_hash: bytes | None
    first_mint_time: datetime | None
    cip25: object
    cip68: object


@attrs.frozen(slots=True, weakref_slot=False)
class AssetHolder:
    """An address holding an asset, and the quantity over its unspent outputs."""

    address: str
    quantity: int


@attrs.frozen(slots=True, weakref_slot=False)
class AssetMint:
    """A mint (positive quantity) or burn (negative) of an asset."""

    id: int
    tx_hash: bytes
    quantity: int
    block_no: int | None
    time: datetime


# ------------------------------------------------------------------ scripts and datums


@attrs.frozen(slots=True, weakref_slot=False)
class Script:
    """A script (native or Plutus) by its hash."""

    hash: bytes
    #: ``multisig``, ``timelock``, ``plutusV1``, ``plutusV2`` or ``plutusV3``.
    type: str
    serialised_size: int | None
    #: The serialised script (Plutus), else None.
    cbor: bytes | None
    #: The script as JSON (native scripts), else None.
    json: object
    #: The transaction that first carried it.
    tx_hash: bytes


@attrs.frozen(slots=True, weakref_slot=False)
class Datum:
    """A datum by its hash: db-sync's JSON rendering and the CBOR bytes."""

    hash: bytes
    value: object
    cbor: bytes
    #: The transaction that first carried it.
    tx_hash: bytes


@attrs.frozen(slots=True, weakref_slot=False)
class Redeemer:
    """A redeemer: what a script was run for, its budget and its data."""

    id: int
    tx_hash: bytes
    #: ``spend``, ``mint``, ``cert``, ``reward``, ``vote`` or ``propose``.
    purpose: str
    index: int
    unit_mem: int
    unit_steps: int
    fee: int | None
    script_hash: bytes | None
    datum_hash: bytes
    datum_value: object
    datum_cbor: bytes


# ------------------------------------------------------------------ governance


@attrs.frozen(slots=True, weakref_slot=False)
class DRep:
    """A delegated representative: registration, deposit, activity and voting power.

    ``registered`` follows its latest registration or retirement certificate; ``active``
    means registered with an ``active_until`` epoch (from ``drep_distr``) not yet passed.
    """

    id: int
    drep_id: str
    #: The credential (None for the predefined ``drep_always_…`` options).
    hash: bytes | None
    has_script: bool
    registered: bool
    deposit: int | None
    active: bool
    active_until: int | None
    #: The delegated stake of the latest ``drep_distr`` epoch, else None.
    voting_power: int | None
    anchor_url: str | None
    anchor_hash: bytes | None


@attrs.frozen(slots=True, weakref_slot=False)
class DRepDelegator:
    """A stake account whose live vote delegation is to the DRep."""

    id: int
    stake_address: str
    tx_hash: bytes


@attrs.frozen(slots=True, weakref_slot=False)
class Proposal:
    """A governance action proposal and where it stands.

    ``status`` is ``enacted``, ``ratified``, ``expired``, ``dropped`` or ``active``.
    """

    id: int
    tx_hash: bytes
    index: int
    type: str
    status: str
    deposit: int
    return_address: str
    proposed_epoch: int | None
    expiration: int | None
    ratified_epoch: int | None
    enacted_epoch: int | None
    dropped_epoch: int | None
    expired_epoch: int | None
    anchor_url: str | None
    anchor_hash: bytes | None
    description: object


@attrs.frozen(slots=True, weakref_slot=False)
class Vote:
    """A vote cast on a proposal.

    ``voter`` is the DRep's id, the pool's ``pool1…`` id or the committee member's hot
    credential in hex, by ``voter_role`` (``DRep``, ``SPO``, ``ConstitutionalCommittee``).
    """

    id: int
    tx_hash: bytes
    index: int
    proposal_tx_hash: bytes
    proposal_index: int
    voter_role: str
    voter: str
    vote: str
    time: datetime


@attrs.frozen(slots=True, weakref_slot=False)
class CommitteeMember:
    """A member of the constitutional committee in force.

    ``status`` is ``authorized`` (a hot key is registered), ``not_authorized`` or ``resigned``.
    """

    cold_key: bytes
    cold_key_has_script: bool
    hot_key: bytes | None
    status: str
    expiration_epoch: int


# ------------------------------------------------------------------ totals


@attrs.frozen(slots=True, weakref_slot=False)
class AdaPots:
    """The ada pots at the start of an epoch (``ada_pots``)."""

    epoch_no: int
    slot_no: int
    treasury: int
    reserves: int
    rewards: int
    utxo: int
    deposits_stake: int
    deposits_drep: int
    deposits_proposal: int
    fees: int


@attrs.frozen(slots=True, weakref_slot=False)
class Supply:
    """Ada supply figures from the latest epoch's pots (see the docs for each definition).

    ``total`` is ``max_supply - reserves``; ``circulating`` is ``utxo + rewards``.
    """

    epoch_no: int
    max_supply: int
    total: int
    circulating: int
    utxo: int
    rewards: int
    treasury: int
    reserves: int
    deposits: int
    fees: int
