"""Result records: frozen, slotted attrs classes, one per result shape.

Pure data: hashes are ``bytes``, lovelace and quantities ``int``, times tz-aware UTC ``datetime``.
Records carry no converters or validators, and no ``__weakref__`` slot, so the generated row
builders of :mod:`dbsync_core._rowbuild` can create them without calling the frozen ``__init__``.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003  (kept at runtime: typing.get_type_hints(Block))

import attrs

__all__ = [
    "AddressBalance",
    "AssetAmount",
    "Block",
    "BlockWithTxs",
    "EpochParams",
    "EpochStats",
    "EpochSummary",
    "Tx",
    "TxIn",
    "TxMetadata",
    "TxOut",
    "Utxo",
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
