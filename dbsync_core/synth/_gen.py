"""The synthetic chain generator: a consistent db-sync database, row by row, with its truth.

One deterministic pass over the chain (``random.Random(seed)``) produces rows in the column
order of :data:`COLUMNS`, in batches, so a loader can COPY them while the next batch is made.
The variant (layout, spent tracking) never touches the random stream: every variant of one seed
is the same chain. Ids are assigned here, in insertion order, as db-sync assigns them.

Model, in short: a genesis block distributes funds to Byron addresses; Byron epochs start with an
epoch-boundary block; from the first Shelley epoch on, wallets with base addresses (a payment and
a stake credential), enterprise and script addresses trade with each other. Activity is skewed:
one "exchange" address receives a share of all payments and rarely spends, a Zipf head of
wallets does most of the rest. Eras switch on features in order (multi-assets, Plutus, inline
datums and reference scripts, Conway governance). Every epoch boundary writes what db-sync
writes: finalized epoch, protocol parameters, pots, stake snapshot, rewards.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from array import array
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dbsync_core.codecs import (
    asset_fingerprint,
    bech32_encode,
    byron_address,
    pool_id_text,
    shelley_address,
    stake_address_text,
)
from dbsync_core.synth import _cbor
from dbsync_core.synth._truth import (
    AddressTruth,
    AssetTruth,
    BlockTruth,
    DatumTruth,
    DRepTruth,
    EpochTruth,
    OutputTruth,
    PoolTruth,
    PoolUpdateTruth,
    PotsTruth,
    ProposalTruth,
    RedeemerTruth,
    ScriptTruth,
    StakeTruth,
    Truth,
    TxTruth,
    VoteTruth,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from dbsync_core.synth._model import ChainConfig

__all__ = ["ADDRESS_ID_LAST", "COLUMNS", "Generator"]

ADA = 1_000_000
MIN_UTXO = 1 * ADA
KEY_DEPOSIT = 2 * ADA
POOL_DEPOSIT = 500 * ADA
DREP_DEPOSIT = 500 * ADA
GOV_DEPOSIT = 1_000 * ADA
SYSTEM_START = datetime(2017, 9, 23, 21, 44, 51)  # noqa: DTZ001 (db-sync stores naive UTC)
BYRON_SLOT_SECONDS = 20
NETWORK = 1

# Copy column lists, in the order the generator builds each row. Generated columns
# (reward.earned_epoch, reward_rest.earned_epoch) are left to PostgreSQL.
COLUMNS: dict[str, tuple[str, ...]] = {
    "slot_leader": ("id", "hash", "pool_hash_id", "description"),
    "block": (
        "id", "hash", "epoch_no", "slot_no", "epoch_slot_no", "block_no", "previous_id",
        "slot_leader_id", "size", "time", "tx_count", "proto_major", "proto_minor", "vrf_key",
        "op_cert", "op_cert_counter",
    ),
    "tx": (
        "id", "hash", "block_id", "block_index", "out_sum", "fee", "deposit", "size",
        "invalid_before", "invalid_hereafter", "valid_contract", "script_size",
        "treasury_donation",
    ),
    "tx_out": (
        "id", "tx_id", "index", "address", "address_has_script", "payment_cred",
        "stake_address_id", "value", "data_hash", "inline_datum_id", "reference_script_id",
        "consumed_by_tx_id",
    ),
    "address": ("id", "address", "raw", "has_script", "payment_cred", "stake_address_id"),
    "tx_in": ("id", "tx_in_id", "tx_out_id", "tx_out_index", "redeemer_id"),
    "collateral_tx_in": ("id", "tx_in_id", "tx_out_id", "tx_out_index"),
    "reference_tx_in": ("id", "tx_in_id", "tx_out_id", "tx_out_index"),
    "collateral_tx_out": (
        "id", "tx_id", "index", "address", "address_has_script", "payment_cred",
        "stake_address_id", "value", "data_hash", "multi_assets_descr", "inline_datum_id",
        "reference_script_id",
    ),
    "multi_asset": ("id", "policy", "name", "fingerprint"),
    "ma_tx_out": ("id", "quantity", "tx_out_id", "ident"),
    "ma_tx_mint": ("id", "quantity", "tx_id", "ident"),
    "tx_metadata": ("id", "key", "json", "bytes", "tx_id"),
    "script": ("id", "tx_id", "hash", "type", "json", "bytes", "serialised_size"),
    "datum": ("id", "hash", "tx_id", "value", "bytes"),
    "redeemer_data": ("id", "hash", "tx_id", "value", "bytes"),
    "redeemer": (
        "id", "tx_id", "unit_mem", "unit_steps", "fee", "purpose", "index", "script_hash",
        "redeemer_data_id",
    ),
    "stake_address": ("id", "hash_raw", "view", "script_hash"),
    "stake_registration": ("id", "addr_id", "cert_index", "epoch_no", "tx_id", "deposit"),
    "stake_deregistration": ("id", "addr_id", "cert_index", "epoch_no", "tx_id", "redeemer_id"),
    "delegation": (
        "id", "addr_id", "cert_index", "pool_hash_id", "active_epoch_no", "tx_id", "slot_no",
        "redeemer_id",
    ),
    "withdrawal": ("id", "addr_id", "amount", "redeemer_id", "tx_id"),
    "reward": ("addr_id", "type", "amount", "spendable_epoch", "pool_id"),
    "reward_rest": ("addr_id", "type", "amount", "spendable_epoch"),
    "epoch_stake": ("id", "addr_id", "pool_id", "amount", "epoch_no"),
    "epoch_stake_progress": ("id", "epoch_no", "completed"),
    "pool_hash": ("id", "hash_raw", "view"),
    "pool_metadata_ref": ("id", "pool_id", "url", "hash", "registered_tx_id"),
    "pool_update": (
        "id", "hash_id", "cert_index", "vrf_key_hash", "pledge", "active_epoch_no", "meta_id",
        "margin", "fixed_cost", "registered_tx_id", "reward_addr_id", "deposit",
    ),
    "pool_owner": ("id", "addr_id", "pool_update_id"),
    "pool_relay": ("id", "update_id", "ipv4", "ipv6", "dns_name", "dns_srv_name", "port"),
    "pool_retire": ("id", "hash_id", "cert_index", "announced_tx_id", "retiring_epoch"),
    "epoch_finalized": (
        "id", "out_sum", "fees", "tx_count", "blk_count", "no", "start_time", "end_time",
    ),
    "epoch_param": (
        "id", "epoch_no", "min_fee_a", "min_fee_b", "max_block_size", "max_tx_size",
        "max_bh_size", "key_deposit", "pool_deposit", "max_epoch", "optimal_pool_count",
        "influence", "monetary_expand_rate", "treasury_growth_rate", "decentralisation",
        "protocol_major", "protocol_minor", "min_utxo_value", "min_pool_cost", "nonce",
        "cost_model_id", "price_mem", "price_step", "max_tx_ex_mem", "max_tx_ex_steps",
        "max_block_ex_mem", "max_block_ex_steps", "max_val_size", "collateral_percent",
        "max_collateral_inputs", "block_id", "coins_per_utxo_size", "gov_action_lifetime",
        "gov_action_deposit", "drep_deposit", "drep_activity",
        "min_fee_ref_script_cost_per_byte",
    ),
    "cost_model": ("id", "costs", "hash"),
    "ada_pots": (
        "id", "slot_no", "epoch_no", "treasury", "reserves", "rewards", "utxo",
        "deposits_stake", "fees", "block_id", "deposits_drep", "deposits_proposal",
    ),
    "drep_hash": ("id", "raw", "view", "has_script"),
    "drep_registration": (
        "id", "tx_id", "cert_index", "deposit", "drep_hash_id", "voting_anchor_id",
    ),
    "delegation_vote": ("id", "addr_id", "cert_index", "drep_hash_id", "tx_id", "redeemer_id"),
    "drep_distr": ("id", "hash_id", "amount", "epoch_no", "active_until"),
    "voting_anchor": ("id", "url", "data_hash", "type", "block_id"),
    "gov_action_proposal": (
        "id", "tx_id", "index", "prev_gov_action_proposal", "deposit", "return_address",
        "expiration", "voting_anchor_id", "type", "description", "param_proposal",
        "ratified_epoch", "enacted_epoch", "dropped_epoch", "expired_epoch",
    ),
    "treasury_withdrawal": ("id", "gov_action_proposal_id", "stake_address_id", "amount"),
    "voting_procedure": (
        "id", "tx_id", "index", "gov_action_proposal_id", "voter_role", "drep_voter",
        "pool_voter", "vote", "voting_anchor_id", "committee_voter", "invalid",
    ),
    "committee_hash": ("id", "raw", "has_script"),
    "committee": ("id", "gov_action_proposal_id", "quorum_numerator", "quorum_denominator"),
    "committee_member": ("id", "committee_id", "committee_hash_id", "expiration_epoch"),
    "committee_registration": ("id", "tx_id", "cert_index", "cold_key_id", "hot_key_id"),
    "constitution": ("id", "gov_action_proposal_id", "voting_anchor_id", "script_hash"),
    "meta": ("id", "start_time", "network_name", "version"),
    "epoch_sync_time": ("id", "no", "seconds", "state"),
}  # fmt: skip

#: Rows of these tables carry one more value, the ``address.id``, used by the address-table layout.
ADDRESS_ID_LAST = ("tx_out", "collateral_tx_out")


def _blake2b(data: bytes, size: int) -> bytes:
    return hashlib.blake2b(data, digest_size=size).digest()


class _Addr:
    """One address and its unspent outputs (ids of ``tx_out`` rows)."""

    __slots__ = (
        "db_id",
        "has_script",
        "idx",
        "payment_cred",
        "raw",
        "stake",
        "text",
        "utxos",
        "value",
    )

    def __init__(
        self,
        idx: int,
        text: str,
        raw: bytes,
        payment_cred: bytes | None,
        stake: _Stake | None,
        *,
        has_script: bool = False,
    ) -> None:
        self.idx = idx
        self.text = text
        self.raw = raw
        self.payment_cred = payment_cred
        self.stake = stake
        self.has_script = has_script
        self.utxos: list[int] = []
        self.value = 0  # lovelace held
        self.db_id = 0  # address.id in the address-table layout, 0 until first used


class _Stake:
    """A stake credential (a ``stake_address`` row once seen) and its ledger state."""

    __slots__ = (
        "db_id",
        "delegations",
        "drep",
        "raw",
        "registered",
        "rewards",
        "utxo_value",
        "view",
        "withdrawn",
    )

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.view = stake_address_text(raw)
        self.db_id = 0
        self.registered = False
        self.delegations: list[tuple[int, int]] = []  # (active_epoch_no, pool index)
        self.drep = 0
        self.utxo_value = 0
        self.rewards = 0  # distributed (all spendable: db-sync inserts them when they are)
        self.withdrawn = 0

    def pool_at(self, epoch: int) -> int | None:
        pool = None
        for active, p in self.delegations:
            if active <= epoch:
                pool = p
        return pool


class _Pool:
    __slots__ = (
        "db_id",
        "fixed_cost",
        "hash_raw",
        "leader_id",
        "margin",
        "owner",
        "pledge",
        "registered_epoch",
        "retiring",
        "view",
    )

    def __init__(self, hash_raw: bytes) -> None:
        self.hash_raw = hash_raw
        self.view = pool_id_text(hash_raw)
        self.db_id = 0
        self.leader_id = 0
        self.registered_epoch = -1
        self.retiring: int | None = None
        self.owner: _Stake | None = None
        self.pledge = 0
        self.margin = 0.0
        self.fixed_cost = 0


class _Funded:
    """The addresses holding outputs, for O(1) random picks, adds and removals."""

    __slots__ = ("items", "pos")

    def __init__(self) -> None:
        self.items: list[_Addr] = []
        self.pos: dict[int, int] = {}

    def add(self, addr: _Addr) -> None:
        if addr.idx not in self.pos:
            self.pos[addr.idx] = len(self.items)
            self.items.append(addr)

    def discard(self, addr: _Addr) -> None:
        i = self.pos.pop(addr.idx, None)
        if i is None:
            return
        last = self.items.pop()
        if last is not addr:
            self.items[i] = last
            self.pos[last.idx] = i

    def pick(self, rng: random.Random) -> _Addr | None:
        return self.items[int(rng.random() * len(self.items))] if self.items else None


class _Tx:
    """A transaction being assembled; it becomes rows only once it balances."""

    __slots__ = (
        "certs",
        "collateral",
        "collateral_return",
        "deposit",
        "extra_size",
        "fee",
        "inputs",
        "metadata",
        "mint",
        "new_asset",
        "outputs",
        "redeemers",
        "references",
        "script_size",
        "scripts",
        "size",
        "valid",
        "withdrawals",
    )

    def __init__(self) -> None:
        self.inputs: list[int] = []
        self.outputs: list[tuple[_Addr, int, dict[int, int] | None, dict[str, Any] | None]] = []
        self.mint: dict[int, int] = {}
        self.new_asset: tuple[bytes, bytes] | None = None
        self.deposit = 0
        self.withdrawals: list[tuple[_Stake, int]] = []
        self.certs: list[tuple[str, tuple[Any, ...]]] = []
        self.metadata: list[tuple[int, Any]] = []
        self.collateral: list[int] = []
        self.collateral_return: tuple[_Addr, int] | None = None
        self.references: list[int] = []
        self.redeemers: list[tuple[str, int, bytes]] = []  # (purpose, index, script hash)
        self.scripts: list[tuple[bytes, str, Any, bytes | None, int | None]] = []
        self.script_size = 0
        self.extra_size = 0
        self.valid = True
        self.fee = 0
        self.size = 0


class Generator:
    """Generate one chain: iterate :meth:`batches`, then read :attr:`truth` and the extras."""

    def __init__(self, config: ChainConfig, *, batch_rows: int = 250_000) -> None:
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.batch_rows = batch_rows
        self.rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.buffered = 0
        self.ids: dict[str, int] = defaultdict(int)
        self.truth: Truth | None = Truth() if config.truth else None
        #: Every spent output: tx_out id, spending tx id, spending block id (parallel arrays).
        self.spent_out = array("q")
        self.spent_by_tx = array("q")
        self.spent_in_block = array("q")
        self.utxo: dict[int, tuple[int, int, _Addr, int, dict[int, int] | None]] = {}
        self.block_id = 0
        self.block_no = 0
        self.epoch = -1
        self.txs_before_block = 0
        self.leader_pool: dict[int, _Pool] = {}
        self._setup()

    # ---------------------------------------------------------------- ids and rows

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _row(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows[table].append(row)
        self.buffered += 1

    # ---------------------------------------------------------------- setup

    def _setup(self) -> None:
        cfg, rng = self.cfg, self.rng
        n = cfg.txs
        shelley_epochs = cfg.total_epochs - cfg.byron_epochs
        self.byron_txs = max(1, n // 25)  # Byron carries ~4% of the transactions
        self.shelley_txs = n - self.byron_txs
        txs_per_block = 3 if n < 3000 else 12
        self.byron_blocks_per_epoch = max(4, self.byron_txs // (3 * cfg.byron_epochs) + 1)
        self.shelley_blocks_per_epoch = max(
            6, self.shelley_txs // (txs_per_block * shelley_epochs) + 1
        )
        first = cfg.byron_epochs
        self.first_shelley = first
        self.mary_epoch = first + shelley_epochs // 6
        self.alonzo_epoch = first + (2 * shelley_epochs) // 6
        self.babbage_epoch = first + (3 * shelley_epochs) // 6
        self.conway_epoch = first + (4 * shelley_epochs) // 6
        self.tip_epoch = cfg.total_epochs - 1

        self._row("meta", (self._next("meta"), SYSTEM_START, "mainnet", "13.7.2.1"))
        self.genesis_leader = self._slot_leader(b"\x00" * 28, None, "Genesis slot leader")
        self.ebb_leader = self._slot_leader(b"\x01" * 28, None, "Epoch boundary slot leader")
        self.byron_leaders = [
            self._slot_leader(rng.randbytes(28), None, f"ByronGenesis-{i:016x}") for i in range(7)
        ]
        self.shelley_genesis_leaders = [
            self._slot_leader(rng.randbytes(28), None, f"ShelleyGenesis-{i:016x}") for i in range(7)
        ]

        self.n_addrs = 0
        self.byron_addrs = [self._byron_addr() for _ in range(max(20, n // 400))]
        self.stakes: list[_Stake] = []
        self.stake_addrs: dict[int, list[_Addr]] = {}  # id(stake) -> its base addresses
        self.shelley_addrs: list[_Addr] = []
        for _ in range(max(30, n // 60)):
            stake = _Stake(bytes((0xE0 | NETWORK,)) + rng.randbytes(28))
            self.stakes.append(stake)
            mine = [self._shelley_addr(rng.randbytes(28), stake)]
            mine += [
                self._shelley_addr(rng.randbytes(28), stake) for _ in range(rng.random() < 0.3)
            ]
            self.stake_addrs[id(stake)] = mine
            self.shelley_addrs += mine
        for _ in range(max(5, n // 500)):  # enterprise addresses: no stake part
            self.shelley_addrs.append(self._shelley_addr(rng.randbytes(28), None))
        rng.shuffle(self.shelley_addrs)
        self.heavy = self.shelley_addrs[0]  # the exchange: a share of all payments lands here
        self.script_addrs: list[_Addr] = []
        self.plutus: list[tuple[bytes, str, bytes, _Addr]] = []  # (hash, type, bytes, address)
        self.script_ids: dict[bytes, int] = {}
        self.ref_script_utxo: dict[bytes, int] = {}  # script hash -> out id holding it
        self.funded_byron = _Funded()
        self.funded_shelley = _Funded()
        self.funded_script = _Funded()
        self.pools: list[_Pool] = []
        self.policies: list[tuple[bytes, _Addr, list[int]]] = []  # (policy, minter, idents)
        self.dreps: list[tuple[int, str]] = []  # (drep_hash id, view)
        self.drep_delegators: dict[int, list[_Stake]] = defaultdict(list)
        self.proposals: list[int] = []
        self.committee_hot: list[int] = []
        self.pending_certs: list[tuple[str, tuple[Any, ...]]] = []
        self.stake_snapshots: dict[int, dict[int, tuple[_Stake, int]]] = {}
        self.scheduled_rest: dict[int, list[tuple[_Stake, str, int]]] = defaultdict(list)
        self.pool_retirements: dict[int, list[_Pool]] = defaultdict(list)
        self.epoch_acc: list[Any] = [0, 0, 0, 0, None, None]
        self.fees_prev_epoch = 0
        self.deposits_stake = 0
        self.deposits_drep = 0
        self.deposits_proposal = 0
        self.treasury = 1_500_000_000 * ADA
        self.reserves = 13_000_000_000 * ADA
        self.cost_model_id: int | None = None
        self.asset_count = 0
        self.asset_ids: dict[tuple[bytes, bytes], int] = {}

    def _slot_leader(self, hash28: bytes, pool_id: int | None, description: str) -> int:
        sid = self._next("slot_leader")
        self._row("slot_leader", (sid, hash28, pool_id, description))
        return sid

    def _byron_addr(self) -> _Addr:
        parsed = byron_address(self.rng.randbytes(28))
        self.n_addrs += 1
        return _Addr(self.n_addrs, parsed.text, parsed.raw, None, None)

    def _shelley_addr(self, payment: bytes, stake: _Stake | None, *, script: bool = False) -> _Addr:
        parsed = shelley_address(
            network_id=NETWORK,
            payment_cred=payment,
            payment_is_script=script,
            stake_cred=stake.raw[1:] if stake else None,
        )
        self.n_addrs += 1
        return _Addr(self.n_addrs, parsed.text, parsed.raw, payment, stake, has_script=script)

    # ---------------------------------------------------------------- the chain

    def batches(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        """Rows by table, a batch at a time; every batch only refers to ids already made."""
        cfg = self.cfg
        self._genesis()
        genesis_txs = self.ids["tx"]
        shelley_epochs = cfg.total_epochs - cfg.byron_epochs
        for epoch in range(cfg.total_epochs):
            byron = epoch < cfg.byron_epochs
            # Cumulative targets: a tx that could not be made is made up for later.
            if byron:
                target = self.byron_txs * (epoch + 1) // cfg.byron_epochs
                n_blocks = self.byron_blocks_per_epoch
            else:
                done = epoch + 1 - cfg.byron_epochs
                target = self.byron_txs + self.shelley_txs * done // shelley_epochs
                n_blocks = self.shelley_blocks_per_epoch
            epoch_txs = max(0, target - (self.ids["tx"] - genesis_txs))
            self._start_epoch(epoch)
            for i, n_txs in enumerate(self._spread(epoch_txs, n_blocks)):
                self._block(epoch, i, n_txs)
                if self.buffered >= self.batch_rows:
                    yield self._take()
        self._finish()
        yield self._take()

    def _spread(self, txs: int, blocks: int) -> list[int]:
        # Uneven but exact: a few blocks are empty, some are full.
        weights = [self.rng.random() ** 2 + 0.05 for _ in range(blocks)]
        total = sum(weights)
        counts = [int(txs * w / total) for w in weights]
        for i in range(txs - sum(counts)):
            counts[i % blocks] += 1
        return counts

    def _take(self) -> dict[str, list[tuple[Any, ...]]]:
        rows, self.rows, self.buffered = self.rows, defaultdict(list), 0
        return dict(rows)

    # ---------------------------------------------------------------- blocks and time

    def _epoch_start_slot(self, epoch: int) -> int:
        byron = self.cfg.byron_epochs
        if epoch <= byron:
            return epoch * self.byron_blocks_per_epoch
        return byron * self.byron_blocks_per_epoch + (epoch - byron) * self._shelley_len()

    def _shelley_len(self) -> int:
        return self.shelley_blocks_per_epoch * 20

    def _slot_time(self, slot: int) -> datetime:
        byron_slots = self.cfg.byron_epochs * self.byron_blocks_per_epoch
        if slot <= byron_slots:
            return SYSTEM_START + timedelta(seconds=slot * BYRON_SLOT_SECONDS)
        return SYSTEM_START + timedelta(
            seconds=byron_slots * BYRON_SLOT_SECONDS + slot - byron_slots
        )

    def _proto(self, epoch: int) -> tuple[int, int]:
        if epoch < self.first_shelley:
            return (1, 0)
        for start, proto in (
            (self.conway_epoch + 1, (10, 0)),
            (self.conway_epoch, (9, 0)),
            (self.babbage_epoch, (8, 0)),
            (self.alonzo_epoch, (6, 0)),
            (self.mary_epoch, (4, 0)),
        ):
            if epoch >= start:
                return proto
        return (2, 0)

    def _block_row(
        self,
        *,
        epoch: int | None,
        slot: int | None,
        epoch_slot: int | None,
        block_no: int | None,
        leader: int,
        time: datetime,
        size: int,
        proto: tuple[int, int],
        shelley: bool,
    ) -> None:
        bid = self._next("block")
        assert bid == self.block_id
        tx_count = self.ids["tx"] - self.txs_before_block
        self.txs_before_block = self.ids["tx"]
        rng = self.rng
        bhash = rng.randbytes(32)
        vrf = bech32_encode("vrf_vk", rng.randbytes(32)) if shelley else None
        op_cert = rng.randbytes(32) if shelley else None
        counter = rng.randrange(20) if shelley else None
        self._row(
            "block",
            (bid, bhash, epoch, slot, epoch_slot, block_no, bid - 1 if bid > 1 else None, leader,
             size, time, tx_count, proto[0], proto[1], vrf, op_cert, counter),
        )  # fmt: skip
        if epoch is not None:
            acc = self.epoch_acc
            acc[2] += tx_count
            acc[3] += 1
            acc[4] = acc[4] or time
            acc[5] = time
        if self.truth is not None:
            self.truth.blocks.append(
                BlockTruth(bid, bhash, epoch, slot, epoch_slot, block_no, leader, time, tx_count)
            )
            pool = self.leader_pool.get(leader)
            if pool is not None:
                self.truth.pools[pool.view].blocks.append(bid)

    def _genesis(self) -> None:
        # The genesis pseudo-block (no epoch, slot or number); its txs hand out the funds.
        self.block_id = self.ids["block"] + 1
        total = 31_000_000_000 * ADA
        shares = [self.rng.random() ** 3 + 0.01 for _ in self.byron_addrs]
        scale = total / sum(shares)
        for i, addr in enumerate(self.byron_addrs):
            tx = _Tx()
            tx.outputs.append((addr, int(shares[i] * scale), None, None))
            self._commit(tx, i)
        self._block_row(
            epoch=None, slot=None, epoch_slot=None, block_no=None, leader=self.genesis_leader,
            time=SYSTEM_START, size=0, proto=(0, 0), shelley=False,
        )  # fmt: skip

    def _block(self, epoch: int, i: int, n_txs: int) -> None:
        rng = self.rng
        byron = epoch < self.cfg.byron_epochs
        start = self._epoch_start_slot(epoch)
        if byron and i == 0:  # an epoch-boundary block opens every Byron epoch
            self.block_id = self.ids["block"] + 1
            self._block_row(
                epoch=epoch, slot=None, epoch_slot=None, block_no=None, leader=self.ebb_leader,
                time=self._slot_time(start), size=0, proto=(0, 0), shelley=False,
            )  # fmt: skip
        epoch_slot = i if byron else min(self._shelley_len() - 1, i * 20 + rng.randrange(20))
        slot = start + epoch_slot
        self.block_no += 1
        self.block_id = self.ids["block"] + 1
        leader = self._leader(epoch)
        # block_index counts the txs made so far (an attempt that made nothing uses no index)
        size = sum(
            self._random_tx(epoch, self.ids["tx"] - self.txs_before_block) for _ in range(n_txs)
        )
        self._block_row(
            epoch=epoch, slot=slot, epoch_slot=epoch_slot, block_no=self.block_no,
            leader=leader, time=self._slot_time(slot), size=size + 800,
            proto=self._proto(epoch), shelley=not byron,
        )  # fmt: skip

    def _leader(self, epoch: int) -> int:
        rng = self.rng
        if epoch < self.first_shelley:
            return self.byron_leaders[rng.randrange(7)]
        active = [
            p
            for p in self.pools
            if p.registered_epoch + 2 <= epoch and (p.retiring is None or p.retiring > epoch)
        ]
        if not active or rng.random() < 0.05:
            return self.shelley_genesis_leaders[rng.randrange(7)]
        return active[int(len(active) * rng.random() ** 1.5)].leader_id

    # ---------------------------------------------------------------- epoch boundaries

    def _start_epoch(self, epoch: int) -> None:
        if epoch > 0:
            self._finalize_epoch(epoch - 1)
        self.epoch = epoch
        self.epoch_acc = [0, 0, 0, 0, None, None]
        if epoch < self.first_shelley:
            return
        first_block = self.ids["block"] + 1
        if epoch == self.alonzo_epoch and self.cost_model_id is None:
            costs = {"PlutusV1": [self.rng.randrange(1, 300_000) for _ in range(166)]}
            self.cost_model_id = self._next("cost_model")
            self._row("cost_model", (self.cost_model_id, json.dumps(costs), self.rng.randbytes(32)))
        self._epoch_param(epoch, first_block)
        self._distribute_rewards(epoch)
        self._epoch_stake(epoch)
        self._ada_pots(epoch, first_block)
        if epoch >= self.conway_epoch:
            self._conway_epoch(epoch, first_block)

    def _epoch_truth(self, epoch: int) -> None:
        out_sum, fees, txs, blocks, start, end = self.epoch_acc
        if self.truth is not None:
            self.truth.epochs[epoch] = EpochTruth(epoch, blocks, txs, fees, out_sum, start, end)

    def _finalize_epoch(self, epoch: int) -> None:
        out_sum, fees, txs, blocks, start, end = self.epoch_acc
        self.fees_prev_epoch = fees
        self._row(
            "epoch_finalized",
            (self._next("epoch_finalized"), out_sum, fees, txs, blocks, epoch, start, end),
        )
        self._epoch_truth(epoch)

    def _finish(self) -> None:
        self._epoch_truth(self.epoch)
        truth = self.truth
        if truth is not None:
            truth.tip_epoch = self.epoch
            for stake in self.stakes:
                if stake.db_id:
                    truth.stakes[stake.view].registered = stake.registered
        self._row("epoch_sync_time", (self._next("epoch_sync_time"), self.epoch, 42, "following"))

    def _epoch_param(self, epoch: int, block_id: int) -> None:
        major, minor = self._proto(epoch)
        pl = epoch >= self.alonzo_epoch
        cw = epoch >= self.conway_epoch
        self._row(
            "epoch_param",
            (
                self._next("epoch_param"), epoch, 44, 155381, 90112, 16384, 1100, KEY_DEPOSIT,
                POOL_DEPOSIT, 18, 500, 0.3, 0.003, 0.2, 0.0, major, minor, MIN_UTXO, 170 * ADA,
                self.rng.randbytes(32), self.cost_model_id if pl else None,
                0.0577 if pl else None, 0.0000721 if pl else None,
                14_000_000 if pl else None, 10_000_000_000 if pl else None,
                62_000_000 if pl else None, 20_000_000_000 if pl else None,
                5000 if pl else None, 150 if pl else None, 3 if pl else None,
                block_id, 4310 if pl else None, 6 if cw else None, GOV_DEPOSIT if cw else None,
                DREP_DEPOSIT if cw else None, 20 if cw else None, 15.0 if cw else None,
            ),
        )  # fmt: skip

    def _ada_pots(self, epoch: int, block_id: int) -> None:
        utxo = sum(entry[3] for entry in self.utxo.values())
        rewards = sum(s.rewards - s.withdrawn for s in self.stakes)
        self._row(
            "ada_pots",
            (
                self._next("ada_pots"), self._epoch_start_slot(epoch), epoch, self.treasury,
                self.reserves, rewards, utxo, self.deposits_stake, self.fees_prev_epoch,
                block_id, self.deposits_drep, self.deposits_proposal,
            ),
        )  # fmt: skip
        if self.truth is not None:
            self.truth.ada_pots[epoch] = (self.treasury, self.reserves, rewards, utxo)
            self.truth.pots[epoch] = PotsTruth(
                epoch, self._epoch_start_slot(epoch), self.treasury, self.reserves, rewards,
                utxo, self.deposits_stake, self.fees_prev_epoch, self.deposits_drep,
                self.deposits_proposal,
            )  # fmt: skip

    def _epoch_stake(self, epoch: int) -> None:
        """The active stake snapshot of ``epoch``: registered, delegated, non-zero."""
        snapshot: dict[int, tuple[_Stake, int]] = {}
        truth = self.truth
        for stake in self.stakes:
            if not stake.registered:
                continue
            pool_idx = stake.pool_at(epoch)
            if pool_idx is None:
                continue
            pool = self.pools[pool_idx]
            if pool.retiring is not None and pool.retiring <= epoch:
                continue
            amount = stake.utxo_value + stake.rewards - stake.withdrawn
            if amount <= 0:
                continue  # zero amounts are not stored (stage_two 47)
            snapshot[stake.db_id] = (stake, amount)
            self._row(
                "epoch_stake", (self._next("epoch_stake"), stake.db_id, pool.db_id, amount, epoch)
            )
            if truth is not None:
                truth.stakes[stake.view].epoch_stake[epoch] = (pool.view, amount)
        self._row("epoch_stake_progress", (self._next("epoch_stake_progress"), epoch, True))
        self.stake_snapshots[epoch] = snapshot
        self.stake_snapshots.pop(epoch - 3, None)

    def _distribute_rewards(self, epoch: int) -> None:
        """Rewards earned in ``epoch - 2``, inserted when they become spendable, at ``epoch``."""
        earned = epoch - 2
        rng = self.rng
        per_pool: dict[int, int] = defaultdict(int)
        for stake, amount in self.stake_snapshots.get(earned, {}).values():
            pool_idx = stake.pool_at(earned)
            if pool_idx is None or not stake.registered:
                continue
            per_pool[pool_idx] += amount
            reward = amount * (3 + rng.randrange(4)) // 10_000
            if reward:
                self._reward(stake, "member", reward, epoch, self.pools[pool_idx], earned)
        for pool_idx, total in sorted(per_pool.items()):
            pool = self.pools[pool_idx]
            if pool.owner is not None and pool.owner.registered:
                leader = pool.fixed_cost + int(total * pool.margin * 0.0005)
                self._reward(pool.owner, "leader", leader, epoch, pool, earned)
        for pool in self.pool_retirements.pop(epoch, []):
            if pool.owner is not None and pool.owner.registered:
                self._reward(pool.owner, "refund", POOL_DEPOSIT, epoch, pool, epoch)
                self.deposits_stake -= POOL_DEPOSIT
        for stake, kind, amount in self.scheduled_rest.pop(epoch, []):
            if stake.registered:
                self._reward_rest(stake, kind, amount, epoch)
        if epoch == self.first_shelley + 2:  # a MIR certificate's payout, once
            for stake in [s for s in self.stakes if s.registered][:5]:
                self._reward_rest(stake, "reserves", 1000 * ADA, epoch)
                self._reward_rest(stake, "treasury", 10 * ADA, epoch)

    def _reward(
        self, stake: _Stake, kind: str, amount: int, spendable: int, pool: _Pool, earned: int
    ) -> None:
        self._row("reward", (stake.db_id, kind, amount, spendable, pool.db_id))
        stake.rewards += amount
        self.reserves -= amount
        if self.truth is not None:
            self.truth.stakes[stake.view].rewards.append(
                (earned, spendable, kind, amount, pool.view)
            )

    def _reward_rest(self, stake: _Stake, kind: str, amount: int, spendable: int) -> None:
        self._row("reward_rest", (stake.db_id, kind, amount, spendable))
        stake.rewards += amount
        if kind == "treasury":
            self.treasury -= amount
        elif kind != "proposal_refund":
            self.reserves -= amount
        if self.truth is not None:
            self.truth.stakes[stake.view].rewards.append(
                (max(spendable - 1, 0), spendable, kind, amount, None)
            )

    # ---------------------------------------------------------------- governance epochs

    def _conway_epoch(self, epoch: int, block_id: int) -> None:
        rng = self.rng
        if epoch == self.conway_epoch:
            truth = self.truth
            for view in ("drep_always_abstain", "drep_always_no_confidence"):
                did = self._next("drep_hash")
                self._row("drep_hash", (did, None, view, False))
                if truth is not None:
                    truth.dreps[view] = DRepTruth(did, view, None)
            cid = self._next("committee")
            self._row("committee", (cid, None, 2, 3))
            for _ in range(3):
                cold = self._next("committee_hash")
                cold_row = (cold, rng.randbytes(28), False)
                self._row("committee_hash", cold_row)
                hot = self._next("committee_hash")
                hot_row = (hot, rng.randbytes(28), False)
                self._row("committee_hash", hot_row)
                self._row(
                    "committee_member",
                    (self._next("committee_member"), cid, cold, self.tip_epoch + 50),
                )
                if truth is not None:
                    truth.committee_hashes[cold] = cold_row[1]
                    truth.committee_hashes[hot] = hot_row[1]
                    truth.committee_members.append((cold, self.tip_epoch + 50))
                self.pending_certs.append(("cc_hot", (cold, hot)))
                self.committee_hot.append(hot)
            anchor = self._anchor("constitution", block_id)
            self._row("constitution", (self._next("constitution"), None, anchor, None))
        snapshot = self.stake_snapshots.get(epoch, {})
        for drep_id, _view in self.dreps:
            amount = sum(
                snapshot[s.db_id][1]
                for s in self.drep_delegators[drep_id]
                if s.db_id in snapshot and s.drep == drep_id
            )
            self._row("drep_distr", (self._next("drep_distr"), drep_id, amount, epoch, epoch + 20))
            if self.truth is not None:
                self.truth.dreps[_view].distr[epoch] = (amount, epoch + 20)

    def _anchor(self, kind: str, block_id: int) -> int:
        aid = self._next("voting_anchor")
        url = f"https://example.org/{kind}/{aid}.jsonld"
        row = (aid, url, self.rng.randbytes(32), kind, block_id)
        self._row("voting_anchor", row)
        if self.truth is not None:
            self.truth.anchors[aid] = (url, row[2])
        return aid

    # ---------------------------------------------------------------- choosing things

    def _zipf(self, seq: list[_Addr], power: float = 3.0) -> _Addr:
        return seq[int(len(seq) * self.rng.random() ** power)]

    def _pick_sender(self, byron: bool) -> _Addr | None:
        rng = self.rng
        if byron:
            for _ in range(4):
                old = self._zipf(self.byron_addrs, 2.0)
                if old.utxos:
                    return old
            return self.funded_byron.pick(rng)
        if self.funded_byron.items and rng.random() < 0.08:
            return self.funded_byron.pick(rng)  # old Byron money moving on
        for _ in range(4):
            candidate = self._zipf(self.shelley_addrs)
            if candidate.utxos and candidate is not self.heavy:
                return candidate
        addr = self.funded_shelley.pick(rng)
        if addr is self.heavy:
            addr = self.funded_shelley.pick(rng)
        if addr is None or addr is self.heavy:
            return self.funded_byron.pick(rng)
        return addr

    def _rich_sender(self, need: int) -> _Addr | None:
        """A funded address holding at least ``need`` lovelace (deposits are large)."""
        rng = self.rng
        best: _Addr | None = None
        for k in range(12):
            pool = self.funded_byron if k % 3 == 2 else self.funded_shelley
            addr = pool.pick(rng)
            if addr is None or addr is self.heavy:
                continue
            if addr.value >= need:
                return addr
            if best is None or addr.value > best.value:
                best = addr
        return best

    def _recipient(self, byron: bool) -> _Addr:
        if byron:
            return self._zipf(self.byron_addrs, 2.0)
        if self.rng.random() < 0.08:
            return self.heavy
        return self._zipf(self.shelley_addrs)

    def _amount(self) -> int:
        rng = self.rng
        return int(ADA * min(5e6, math.exp(rng.gauss(2.5, 1.7)))) + MIN_UTXO

    def _select(
        self, addr: _Addr, need: int, *, pure: bool = False, limit: int = 12, exclude: int = 0
    ) -> tuple[list[int], int]:
        """Outputs of ``addr`` worth at least ``need`` (or all it has, up to ``limit``)."""
        utxos = addr.utxos
        n = len(utxos)
        chosen: list[int] = []
        total = 0
        if not n:
            return chosen, total
        start = int(self.rng.random() * n)
        for k in range(n):
            out_id = utxos[(start + k) % n]
            if out_id == exclude:
                continue
            entry = self.utxo[out_id]
            if pure and entry[4]:
                continue
            chosen.append(out_id)
            total += entry[3]
            if total >= need or len(chosen) >= limit:
                break
        return chosen, total

    # ---------------------------------------------------------------- building txs

    def _balance(self, tx: _Tx, change_to: _Addr, *, withdrawal: int = 0) -> bool:
        """Add the change output; False if the inputs cannot pay for the tx."""
        in_value = 0
        assets: dict[int, int] = defaultdict(int)
        for out_id in tx.inputs:
            entry = self.utxo[out_id]
            in_value += entry[3]
            if entry[4]:
                for ident, q in entry[4].items():
                    assets[ident] += q
        for ident, q in tx.mint.items():
            assets[ident] += q
        paid = 0
        for _addr, value, out_assets, _extra in tx.outputs:
            paid += value
            if out_assets:
                for ident, q in out_assets.items():
                    assets[ident] -= q
        change_assets = {i: q for i, q in assets.items() if q}
        if any(q < 0 for q in change_assets.values()):
            return False
        size = (
            160 + 40 * len(tx.inputs) + 70 * (len(tx.outputs) + 1) + 40 * len(change_assets)
            + tx.extra_size + tx.script_size
        )  # fmt: skip
        fee = 155_381 + 44 * size + 150_000 * len(tx.redeemers)
        change = in_value + withdrawal - paid - fee - tx.deposit
        minimum = MIN_UTXO + (500_000 if change_assets else 0)
        if change < minimum:
            return False
        tx.outputs.append((change_to, change, change_assets or None, None))
        tx.fee, tx.size = fee, size
        return True

    def _random_tx(self, epoch: int, block_index: int) -> int:
        """Make one transaction of a random kind; returns its size (0 if none could be made)."""
        for _attempt in range(16):  # a kind can fail (an empty wallet): draw again
            made = self._one_tx(epoch, block_index)
            if made:
                return made
        return 0

    def _one_tx(self, epoch: int, block_index: int) -> int:
        rng = self.rng
        if epoch < self.first_shelley:
            return self._payment(block_index, byron=True)
        if self.pending_certs:
            made = self._pending(block_index)
            if made:
                return made
        if len(self.pools) < self._pool_target(epoch):
            made = self._pool_registration(block_index, epoch)
            if made:
                return made
        r = rng.random()
        kinds: list[tuple[float, Callable[[int, int], int]]] = [
            (0.04, self._stake_registration),
            (0.02, self._redelegation),
            (0.004, self._deregistration),
            (0.03, self._withdrawal),
            (0.002, self._pool_update_or_retire),
            (0.003, self._heavy_consolidation),
        ]
        if epoch >= self.mary_epoch:
            kinds += [(0.03, self._mint), (0.005, self._burn)]
        if epoch >= self.alonzo_epoch:
            kinds += [(0.02, self._script_lock), (0.02, self._script_spend),
                      (0.004, self._script_fail)]  # fmt: skip
        if epoch >= self.babbage_epoch:
            kinds += [(0.01, self._reference_script)]
        if epoch >= self.conway_epoch:
            kinds += [(0.01, self._drep_registration), (0.02, self._vote_delegation),
                      (0.004, self._proposal), (0.015, self._vote)]  # fmt: skip
        for p, kind in kinds:
            if r < p:
                made = kind(block_index, epoch)
                if made:
                    return made
                break
            r -= p
        return self._payment(block_index, byron=False)

    def _pool_target(self, epoch: int) -> int:
        if epoch < self.first_shelley:
            return 0
        return max(3, min(200, self.cfg.txs // 4000))

    def _payment(self, block_index: int, *, byron: bool) -> int:
        rng = self.rng
        sender = self._pick_sender(byron)
        if sender is None:
            return 0
        recipient = self._recipient(byron)
        amount = self._amount()
        tx = _Tx()
        tx.inputs, total = self._select(sender, amount + 2 * ADA)
        if total < amount + 2 * ADA:
            amount = total - 2 * ADA
            if amount < MIN_UTXO:
                return 0
        assets: dict[int, int] | None = None
        if not byron and rng.random() < 0.5:
            for out_id in tx.inputs:
                held = self.utxo[out_id][4]
                if held:
                    ident, q = next(iter(held.items()))
                    assets = {ident: q if q == 1 or rng.random() < 0.5 else max(1, q // 3)}
                    amount = max(amount, MIN_UTXO + 500_000)
                    break
        tx.outputs.append((recipient, amount, assets, None))
        if not byron:
            r = rng.random()
            if r < 0.05:
                tx.metadata.append((674, {"msg": [f"payment {self.ids['tx'] + 1}"]}))
            elif r < 0.07:
                label = rng.choice((1967, 6770, 61284, 1))
                tx.metadata.append((label, {"k": rng.randrange(10**6), "v": [1, 2, "x"]}))
            tx.extra_size = 60 * len(tx.metadata)
        if not byron and self.epoch >= self.babbage_epoch and rng.random() < 0.02:
            # a reference input: reading an output (an oracle's, say) without spending it
            heavy = self.heavy.utxos
            if heavy and sender is not self.heavy:
                tx.references.append(heavy[int(rng.random() * len(heavy))])
        change_to = sender if byron or sender.stake is None else self._sibling(sender)
        if not self._balance(tx, change_to):
            return 0
        return self._commit(tx, block_index)

    def _sibling(self, addr: _Addr) -> _Addr:
        mine = self.stake_addrs.get(id(addr.stake)) if addr.stake else None
        return self.rng.choice(mine) if mine else addr

    def _funded_of(self, stake: _Stake) -> _Addr | None:
        for addr in self.stake_addrs.get(id(stake), ()):
            if addr.utxos:
                return addr
        return None

    def _simple(self, block_index: int, sender: _Addr, tx: _Tx, *, withdrawal: int = 0) -> int:
        """Pay the tx's deposits and fee from ``sender``; change goes back to it."""
        need = tx.deposit + 3 * ADA + sum(v for _a, v, _m, _x in tx.outputs)
        tx.inputs, total = self._select(sender, max(need - withdrawal, MIN_UTXO), limit=40)
        if total + withdrawal < need:
            return 0
        if not self._balance(tx, sender, withdrawal=withdrawal):
            return 0
        return self._commit(tx, block_index)

    # --- stake

    def _unregistered_funded(self) -> tuple[_Stake, _Addr] | None:
        rng = self.rng
        for _ in range(6):
            stake = self.stakes[int(len(self.stakes) * rng.random() ** 1.5)]
            if not stake.registered:
                addr = self._funded_of(stake)
                if addr is not None:
                    return stake, addr
        return None

    def _registered_funded(self) -> tuple[_Stake, _Addr] | None:
        rng = self.rng
        for _ in range(6):
            stake = self.stakes[int(len(self.stakes) * rng.random() ** 1.5)]
            if stake.registered:
                addr = self._funded_of(stake)
                if addr is not None:
                    return stake, addr
        return None

    def _live_pool(self, epoch: int) -> int | None:
        live = [i for i, p in enumerate(self.pools) if p.retiring is None or p.retiring > epoch + 2]
        if not live:
            return None
        return live[int(len(live) * self.rng.random() ** 1.5)]

    def _stake_registration(self, block_index: int, epoch: int) -> int:
        found = self._unregistered_funded()
        if found is None:
            return 0
        stake, addr = found
        tx = _Tx()
        tx.certs.append(("reg", (stake,)))
        tx.deposit = KEY_DEPOSIT
        pool = self._live_pool(epoch)
        if pool is not None and self.rng.random() < 0.8:
            tx.certs.append(("deleg", (stake, pool)))
        return self._simple(block_index, addr, tx)

    def _redelegation(self, block_index: int, epoch: int) -> int:
        found = self._registered_funded()
        pool = self._live_pool(epoch)
        if found is None or pool is None:
            return 0
        tx = _Tx()
        tx.certs.append(("deleg", (found[0], pool)))
        return self._simple(block_index, found[1], tx)

    def _deregistration(self, block_index: int, epoch: int) -> int:
        found = self._registered_funded()
        if found is None:
            return 0
        stake, addr = found
        if any(stake is p.owner for p in self.pools):
            return 0  # pool reward accounts stay registered
        tx = _Tx()
        available = stake.rewards - stake.withdrawn
        if available:
            tx.withdrawals.append((stake, available))
        tx.certs.append(("dereg", (stake,)))
        tx.deposit = -KEY_DEPOSIT
        del epoch
        return self._simple(block_index, addr, tx, withdrawal=available)

    def _withdrawal(self, block_index: int, epoch: int) -> int:
        rng = self.rng
        for _ in range(6):
            stake = self.stakes[int(len(self.stakes) * rng.random() ** 1.5)]
            available = stake.rewards - stake.withdrawn
            addr = self._funded_of(stake)
            if stake.registered and available > 0 and addr is not None:
                tx = _Tx()
                tx.withdrawals.append((stake, available))
                return self._simple(block_index, addr, tx, withdrawal=available)
        del epoch
        return 0

    # --- pools

    def _pool_registration(self, block_index: int, epoch: int) -> int:
        del epoch
        rng = self.rng
        sender = self._rich_sender(POOL_DEPOSIT + 10 * ADA)
        if sender is None:
            return 0
        owner = self.stakes[rng.randrange(len(self.stakes))]
        if any(owner is p.owner for p in self.pools):
            return 0
        pool = _Pool(rng.randbytes(28))
        pool.owner = owner
        pool.pledge = rng.randrange(10_000, 1_000_000) * ADA
        pool.margin = rng.choice((0.0, 0.01, 0.02, 0.05, 0.1))
        pool.fixed_cost = 340 * ADA
        tx = _Tx()
        if not owner.registered:
            tx.certs.append(("reg", (owner,)))
            tx.deposit += KEY_DEPOSIT
        tx.certs.append(("pool_reg", (pool, True)))
        tx.deposit += POOL_DEPOSIT
        return self._simple(block_index, sender, tx)

    def _pool_update_or_retire(self, block_index: int, epoch: int) -> int:
        rng = self.rng
        live = [p for p in self.pools if p.retiring is None]
        sender = self.funded_shelley.pick(rng)
        if len(live) < 3 or sender is None or sender is self.heavy:
            return 0
        pool = live[rng.randrange(len(live))]
        tx = _Tx()
        if rng.random() < 0.75:
            pool.margin = rng.choice((0.0, 0.01, 0.03))
            pool.pledge = rng.randrange(10_000, 1_000_000) * ADA
            tx.certs.append(("pool_reg", (pool, False)))
        else:
            retiring = min(epoch + 1 + rng.randrange(1, 4), epoch + 18)
            tx.certs.append(("pool_retire", (pool, retiring)))
        return self._simple(block_index, sender, tx)

    def _heavy_consolidation(self, block_index: int, epoch: int) -> int:
        heavy = self.heavy
        if len(heavy.utxos) < 20:
            return 0
        tx = _Tx()
        tx.inputs, total = self._select(heavy, 10**18, limit=8)
        payout = total // 2
        if payout < MIN_UTXO:
            return 0
        tx.outputs.append((self._recipient(byron=False), payout, None, None))
        del epoch
        if not self._balance(tx, heavy):
            return 0
        return self._commit(tx, block_index)

    # --- assets

    def _mint(self, block_index: int, epoch: int) -> int:
        rng = self.rng
        if self.policies and rng.random() < 0.6:
            policy, minter, idents = self.policies[rng.randrange(len(self.policies))]
            if not minter.utxos:
                return 0
            new_policy = None
        else:
            picked = self._pick_sender(byron=False)
            if picked is None or picked.payment_cred is None:
                return 0
            minter = picked
            key = rng.randbytes(28)
            script_json = {"type": "sig", "keyHash": key.hex()}
            script_cbor = _cbor.encode([0, key])
            policy = _blake2b(b"\x00" + script_cbor, 28)
            new_policy = (policy, script_json, script_cbor)
            idents = []
        nft = rng.random() < 0.5
        self.asset_count += 1
        name = (f"SpaceBud{self.asset_count}" if nft else f"Token{self.asset_count}").encode()
        if rng.random() < 0.05:
            name = b""  # the empty asset name exists on mainnet too
        ident = self.asset_ids.get((policy, name))
        tx = _Tx()
        if ident is None:  # its multi_asset row is written only if the mint goes through
            ident = self.ids["multi_asset"] + 1
            tx.new_asset = (policy, name)
        qty = 1 if nft else rng.randrange(10**6, 10**12)
        tx.mint[ident] = qty
        if new_policy is not None:
            tx.scripts.append((policy, "timelock", new_policy[1], new_policy[2], None))
        if nft:
            tx.metadata.append(
                (721, {policy.hex(): {name.decode() or "_": {
                    "name": name.decode(), "image": f"ipfs://Qm{rng.randbytes(16).hex()}"}}}),
            )  # fmt: skip
            tx.extra_size = 120
        tx.outputs.append((minter, 2 * ADA, {ident: qty}, None))
        made = self._simple(block_index, minter, tx)
        if made:
            if new_policy is not None:
                self.policies.append((policy, minter, idents))
            idents.append(ident)
        del epoch
        return made

    def _asset(self, policy: bytes, name: bytes) -> int:
        ident = self.asset_ids.get((policy, name))
        if ident is None:
            ident = self._next("multi_asset")
            fingerprint = asset_fingerprint(policy, name)
            self._row("multi_asset", (ident, policy, name, fingerprint))
            self.asset_ids[(policy, name)] = ident
            if self.truth is not None:
                self.truth.assets_by_ident[ident] = AssetTruth(ident, policy, name, fingerprint)
        return ident

    def _burn(self, block_index: int, epoch: int) -> int:
        rng = self.rng
        if not self.policies:
            return 0
        _policy, minter, idents = self.policies[rng.randrange(len(self.policies))]
        for out_id in minter.utxos:
            held = self.utxo[out_id][4]
            if held:
                for ident, q in held.items():
                    if ident in idents:
                        tx = _Tx()
                        tx.inputs = [out_id]
                        tx.mint[ident] = -(q if q == 1 else max(1, q // 2))
                        extra, total = self._select(minter, 3 * ADA, pure=True, exclude=out_id)
                        tx.inputs += extra
                        del total
                        if not self._balance(tx, minter):
                            return 0
                        del epoch
                        return self._commit(tx, block_index)
        return 0

    # --- Plutus

    def _plutus_script(self, epoch: int) -> tuple[bytes, str, bytes, _Addr]:
        rng = self.rng
        if self.plutus and rng.random() < 0.8:
            return self.plutus[int(len(self.plutus) * rng.random() ** 2)]
        kind = "plutusV3" if epoch >= self.conway_epoch else (
            "plutusV2" if epoch >= self.babbage_epoch else "plutusV1")  # fmt: skip
        body = rng.randbytes(rng.randrange(200, 3000))
        tag = {"plutusV1": b"\x01", "plutusV2": b"\x02", "plutusV3": b"\x03"}[kind]
        script_hash = _blake2b(tag + body, 28)
        addr = self._shelley_addr(script_hash, None, script=True)
        entry = (script_hash, kind, body, addr)
        self.plutus.append(entry)
        self.script_addrs.append(addr)
        return entry

    def _datum(self, tx_id: int) -> tuple[int, bytes]:
        n = self.rng.randrange(10**9)
        raw = _cbor.encode([121, [n]])
        dhash = _blake2b(raw + tx_id.to_bytes(8, "big"), 32)
        did = self._next("datum")
        value = {"constructor": 0, "fields": [{"int": n}]}
        self._row("datum", (did, dhash, tx_id, json.dumps(value), raw))
        if self.truth is not None:
            self.truth.datums[dhash] = DatumTruth(did, dhash, value, raw, tx_id)
        return did, dhash

    def _script_lock(self, block_index: int, epoch: int) -> int:
        sender = self._pick_sender(byron=False)
        if sender is None:
            return 0
        _h, _k, _b, addr = self._plutus_script(epoch)
        tx = _Tx()
        inline = epoch >= self.babbage_epoch and self.rng.random() < 0.7
        tx.outputs.append((addr, self._amount() + 2 * ADA, None, {"datum": inline}))
        return self._simple(block_index, sender, tx)

    def _script_input(self) -> tuple[int, bytes, str, bytes] | None:
        addr = self.funded_script.pick(self.rng)
        if addr is None:
            return None
        for script_hash, kind, body, a in self.plutus:
            if a is addr:
                return addr.utxos[0], script_hash, kind, body
        return None

    def _script_spend(self, block_index: int, epoch: int, *, valid: bool = True) -> int:
        found = self._script_input()
        sender = self._pick_sender(byron=False)
        if found is None or sender is None or sender.payment_cred is None:
            return 0
        out_id, script_hash, kind, body = found
        tx = _Tx()
        tx.valid = valid
        extra, total = self._select(sender, 5 * ADA, exclude=out_id)
        collateral, c_total = self._select(sender, 5 * ADA, pure=True, limit=3)
        if total < 3 * ADA or c_total < 5 * ADA:
            return 0
        tx.inputs = [out_id, *extra]
        tx.collateral = collateral
        tx.redeemers.append(("spend", 0, script_hash))
        ref = self.ref_script_utxo.get(script_hash)
        if ref is not None and ref in self.utxo and ref not in tx.inputs:
            tx.references.append(ref)
        else:
            tx.scripts.append((script_hash, kind, None, body, len(body)))
            tx.script_size = len(body)
        babbage = epoch >= self.babbage_epoch
        if babbage or not valid:
            tx.collateral_return = (sender, c_total - 3 * ADA if not valid else c_total - ADA)
        if not self._balance(tx, sender):
            return 0
        return self._commit(tx, block_index)

    def _script_fail(self, block_index: int, epoch: int) -> int:
        return self._script_spend(block_index, epoch, valid=False)

    def _reference_script(self, block_index: int, epoch: int) -> int:
        sender = self._pick_sender(byron=False)
        if sender is None or not self.plutus:
            return 0
        script_hash, kind, body, _addr = self._plutus_script(epoch)
        tx = _Tx()
        tx.outputs.append((sender, 15 * ADA, None, {"script": (script_hash, kind, body)}))
        return self._simple(block_index, sender, tx)

    # --- Conway

    def _drep_registration(self, block_index: int, epoch: int) -> int:
        sender = self._rich_sender(DREP_DEPOSIT + 10 * ADA)
        if sender is None:
            return 0
        tx = _Tx()
        tx.certs.append(("drep_reg", (self.rng.randbytes(28),)))
        tx.deposit = DREP_DEPOSIT
        del epoch
        return self._simple(block_index, sender, tx)

    def _vote_delegation(self, block_index: int, epoch: int) -> int:
        found = self._registered_funded()
        if found is None or not self.dreps:
            return 0
        stake, addr = found
        drep_id = self.dreps[int(len(self.dreps) * self.rng.random() ** 2)][0]
        tx = _Tx()
        tx.certs.append(("vote_deleg", (stake, drep_id)))
        del epoch
        return self._simple(block_index, addr, tx)

    def _proposal(self, block_index: int, epoch: int) -> int:
        registered = [s for s in self.stakes[:64] if s.registered]
        addr = self._rich_sender(GOV_DEPOSIT + 10 * ADA)
        if not registered or addr is None:
            return 0
        stake = registered[self.rng.randrange(len(registered))]  # the deposit's return account
        tx = _Tx()
        kind = self.rng.choice(("InfoAction", "TreasuryWithdrawals", "ParameterChange"))
        tx.certs.append(("proposal", (stake, kind, epoch)))
        tx.deposit = GOV_DEPOSIT
        return self._simple(block_index, addr, tx)

    def _vote(self, block_index: int, epoch: int) -> int:
        rng = self.rng
        sender = self._pick_sender(byron=False)
        if sender is None or not self.proposals:
            return 0
        proposal = self.proposals[-1 - int(min(len(self.proposals), 5) * rng.random())]
        roles = []
        if self.dreps:
            roles.append(("DRep", self.dreps[rng.randrange(len(self.dreps))][0]))
        live = [p for p in self.pools if p.db_id]
        if live:
            roles.append(("SPO", live[rng.randrange(len(live))].db_id))
        if self.committee_hot:
            roles.append(("ConstitutionalCommittee", rng.choice(self.committee_hot)))
        if not roles:
            return 0
        tx = _Tx()
        for index, (role, voter) in enumerate(roles[: 1 + rng.randrange(len(roles))]):
            vote = rng.choice(("Yes", "Yes", "No", "Abstain"))
            tx.certs.append(("vote", (index, proposal, role, voter, vote)))
        del epoch
        return self._simple(block_index, sender, tx)

    def _pending(self, block_index: int) -> int:
        sender = self._pick_sender(byron=False)
        if sender is None:
            return 0
        tx = _Tx()
        tx.certs.append(self.pending_certs.pop())
        return self._simple(block_index, sender, tx)

    # ---------------------------------------------------------------- writing a tx

    def _commit(self, tx: _Tx, block_index: int) -> int:
        """Write ``tx`` as rows. Value is conserved by construction (see ``_balance``)."""
        if tx.new_asset is not None:
            created = self._asset(*tx.new_asset)
            assert created in tx.mint
        tx_id = self._next("tx")
        thash = self.rng.randbytes(32)
        block_id = self.block_id
        truth = self.truth
        ttx: TxTruth | None = None
        if truth is not None:
            ttx = TxTruth(tx_id, thash, block_id, block_index, valid=tx.valid)
            truth.txs.append(ttx)
            ttx.collateral_inputs = list(tx.collateral)
            ttx.reference_inputs = list(tx.references)
        utxo = self.utxo
        # Collateral and reference inputs name outputs by (producing tx id, index).
        for out_id in tx.collateral:
            src_tx, src_index = utxo[out_id][0], utxo[out_id][1]
            self._row(
                "collateral_tx_in", (self._next("collateral_tx_in"), tx_id, src_tx, src_index)
            )
        for out_id in tx.references:
            src_tx, src_index = utxo[out_id][0], utxo[out_id][1]
            self._row("reference_tx_in", (self._next("reference_tx_in"), tx_id, src_tx, src_index))

        # What is really spent: the inputs, or the collateral when the scripts failed.
        in_value = 0
        for out_id in tx.inputs if tx.valid else tx.collateral:
            src_tx, src_index, addr, value, _assets = utxo.pop(out_id)
            in_value += value
            addr.value -= value
            addr.utxos.remove(out_id)
            if not addr.utxos:
                self._unfund(addr)
            if addr.stake is not None:
                addr.stake.utxo_value -= value
            self._row("tx_in", (self._next("tx_in"), tx_id, src_tx, src_index, None))
            self.spent_out.append(out_id)
            self.spent_by_tx.append(tx_id)
            self.spent_in_block.append(block_id)
            if truth is not None and ttx is not None:
                ttx.inputs.append(out_id)
                truth.outputs[out_id].spent_by = tx_id
                truth.addresses[addr.text].txs.add(tx_id)

        for script_hash, kind, js, body, size in tx.scripts:
            self._script(tx_id, script_hash, kind, js, body, size)

        withdrawn = 0
        for stake, amount in tx.withdrawals:
            withdrawn += amount
            stake.withdrawn += amount
            self._row("withdrawal", (self._next("withdrawal"), stake.db_id, amount, None, tx_id))
            if truth is not None:
                truth.stakes[stake.view].withdrawals.append((tx_id, amount))

        out_sum = 0
        if tx.valid:
            for index, (addr, value, assets, extra) in enumerate(tx.outputs):
                out_sum += value
                self._output(tx_id, index, addr, value, assets, extra, ttx)
            fee = tx.fee
            deposit = tx.deposit
        else:
            # Phase-2 failure: the collateral is forfeit; its return output (if any) is the
            # only output, indexed after the body's outputs, and the fee is what was lost.
            assert tx.collateral_return is not None
            addr, value = tx.collateral_return
            self._output(tx_id, len(tx.outputs), addr, value, None, None, ttx)
            out_sum = value
            fee = in_value - value
            deposit = 0

        if tx.valid:
            for ident, qty in tx.mint.items():
                self._row("ma_tx_mint", (self._next("ma_tx_mint"), qty, tx_id, ident))
                if truth is not None:
                    truth.assets_by_ident[ident].mints.append((tx_id, qty))
            for cert_index, (kind, args) in enumerate(tx.certs):
                self._cert(kind, args, tx_id, cert_index)
        for key, value in tx.metadata:
            self._row(
                "tx_metadata",
                (self._next("tx_metadata"), key, json.dumps(value), _cbor.encode(value), tx_id),
            )
            if ttx is not None:
                ttx.metadata[key] = value
        for purpose, index, script_hash in tx.redeemers:
            self._redeemer(tx_id, purpose, index, script_hash)
        if tx.valid and tx.collateral_return is not None:
            # Recorded for valid txs, never created on chain.
            addr, value = tx.collateral_return
            self._row(
                "collateral_tx_out",
                (self._next("collateral_tx_out"), tx_id, len(tx.outputs), addr.text,
                 addr.has_script, addr.payment_cred,
                 self._see_stake(addr.stake) if addr.stake else None, value, None, "", None,
                 None, self._see_address(addr)),
            )  # fmt: skip

        self._row(
            "tx",
            (tx_id, thash, block_id, block_index, out_sum, fee, deposit, tx.size,
             None, None, tx.valid, tx.script_size, 0),
        )  # fmt: skip
        if ttx is not None:
            ttx.fee, ttx.out_sum, ttx.deposit, ttx.size = fee, out_sum, deposit, tx.size
            ttx.withdrawals = withdrawn
        self.epoch_acc[0] += out_sum
        self.epoch_acc[1] += fee
        return tx.size

    def _unfund(self, addr: _Addr) -> None:
        if addr.has_script:
            self.funded_script.discard(addr)
        elif addr.payment_cred is not None:
            self.funded_shelley.discard(addr)
        else:
            self.funded_byron.discard(addr)

    def _fund(self, addr: _Addr) -> None:
        if addr.has_script:
            self.funded_script.add(addr)
        elif addr.payment_cred is not None:
            self.funded_shelley.add(addr)
        else:
            self.funded_byron.add(addr)

    def _output(
        self,
        tx_id: int,
        index: int,
        addr: _Addr,
        value: int,
        assets: dict[int, int] | None,
        extra: dict[str, Any] | None,
        ttx: TxTruth | None,
    ) -> None:
        out_id = self._next("tx_out")
        stake_id = self._see_stake(addr.stake) if addr.stake is not None else None
        address_id = self._see_address(addr)
        data_hash: bytes | None = None
        inline: int | None = None
        ref_script: int | None = None
        if extra:
            if "datum" in extra:
                did, data_hash = self._datum(tx_id)
                inline = did if extra["datum"] else None
            if "script" in extra:
                script_hash, kind, body = extra["script"]
                ref_script = self._script(tx_id, script_hash, kind, None, body, len(body))
                self.ref_script_utxo[script_hash] = out_id
        self._row(
            "tx_out",
            (out_id, tx_id, index, addr.text, addr.has_script, addr.payment_cred, stake_id,
             value, data_hash, inline, ref_script, None, address_id),
        )  # fmt: skip
        if assets:
            for ident, q in assets.items():
                self._row("ma_tx_out", (self._next("ma_tx_out"), q, out_id, ident))
        self.utxo[out_id] = (tx_id, index, addr, value, assets)
        addr.value += value
        addr.utxos.append(out_id)
        self._fund(addr)
        if addr.stake is not None:
            addr.stake.utxo_value += value
        truth = self.truth
        if truth is not None and ttx is not None:
            truth.outputs[out_id] = OutputTruth(
                out_id, tx_id, index, addr.text, addr.stake.view if addr.stake else None, value,
                dict(assets) if assets else {}, data_hash=data_hash, inline_datum_id=inline,
                reference_script_id=ref_script,
            )  # fmt: skip
            ttx.outputs.append(out_id)
            truth.addresses[addr.text].txs.add(tx_id)

    def _script(
        self, tx_id: int, script_hash: bytes, kind: str, js: Any, body: bytes | None,
        size: int | None,
    ) -> int:  # fmt: skip
        sid = self.script_ids.get(script_hash)
        if sid is None:
            sid = self._next("script")
            self.script_ids[script_hash] = sid
            self._row(
                "script",
                (sid, tx_id, script_hash, kind, json.dumps(js) if js is not None else None, body,
                 size),
            )  # fmt: skip
            if self.truth is not None:
                self.truth.scripts[script_hash] = ScriptTruth(
                    sid, script_hash, kind, js, body, size, tx_id
                )
        return sid

    def _redeemer(self, tx_id: int, purpose: str, index: int, script_hash: bytes) -> None:
        rng = self.rng
        n = rng.randrange(1000)
        raw = _cbor.encode([0, n])
        rd_id = self._next("redeemer_data")
        value = {"constructor": 0, "fields": [{"int": n}]}
        rhash = _blake2b(raw + tx_id.to_bytes(8, "big"), 32)
        self._row("redeemer_data", (rd_id, rhash, tx_id, json.dumps(value), raw))
        row = (
            self._next("redeemer"), tx_id, rng.randrange(10**6, 10**7),
            rng.randrange(10**8, 10**9), 150_000, purpose, index, script_hash, rd_id,
        )  # fmt: skip
        self._row("redeemer", row)
        if self.truth is not None:
            recorded = RedeemerTruth(
                row[0], tx_id, purpose, index, row[2], row[3], row[4], script_hash, rhash,
                value, raw,
            )  # fmt: skip
            self.truth.redeemers.append(recorded)

    def _see_stake(self, stake: _Stake) -> int:
        if not stake.db_id:
            stake.db_id = self._next("stake_address")
            self._row("stake_address", (stake.db_id, stake.raw, stake.view, None))
            if self.truth is not None:
                self.truth.stakes[stake.view] = StakeTruth(stake.view, stake.raw)
        return stake.db_id

    def _see_address(self, addr: _Addr) -> int:
        if not addr.db_id:
            addr.db_id = self._next("address")
            stake_id = self._see_stake(addr.stake) if addr.stake else None
            self._row(
                "address",
                (addr.db_id, addr.text, addr.raw, addr.has_script, addr.payment_cred, stake_id),
            )
            if self.truth is not None:
                self.truth.addresses[addr.text] = AddressTruth(
                    addr.text,
                    addr.payment_cred,
                    addr.stake.view if addr.stake else None,
                    has_script=addr.has_script,
                )
        return addr.db_id

    # ---------------------------------------------------------------- certificates

    def _cert(self, kind: str, args: tuple[Any, ...], tx_id: int, cert_index: int) -> None:
        epoch = self.epoch
        truth = self.truth
        if kind == "reg":
            (stake,) = args
            sid = self._see_stake(stake)
            self._row(
                "stake_registration",
                (self._next("stake_registration"), sid, cert_index, epoch, tx_id, KEY_DEPOSIT),
            )
            stake.registered = True
            self.deposits_stake += KEY_DEPOSIT
            if truth is not None:
                truth.stakes[stake.view].registrations.append((tx_id, cert_index, True))
        elif kind == "dereg":
            (stake,) = args
            self._row(
                "stake_deregistration",
                (self._next("stake_deregistration"), stake.db_id, cert_index, epoch, tx_id, None),
            )
            stake.registered = False
            stake.delegations = []
            stake.drep = 0
            self.deposits_stake -= KEY_DEPOSIT
            if truth is not None:
                truth.stakes[stake.view].registrations.append((tx_id, cert_index, False))
        elif kind == "deleg":
            stake, pool_idx = args
            pool = self.pools[pool_idx]
            slot = self._epoch_start_slot(epoch)
            self._row(
                "delegation",
                (self._next("delegation"), stake.db_id, cert_index, pool.db_id, epoch + 2, tx_id,
                 slot, None),
            )  # fmt: skip
            stake.delegations.append((epoch + 2, pool_idx))
            if truth is not None:
                truth.stakes[stake.view].delegations.append(
                    (tx_id, cert_index, pool.view, epoch + 2)
                )
        elif kind == "pool_reg":
            self._pool_reg(args[0], args[1], tx_id, cert_index)
        elif kind == "pool_retire":
            pool, retiring = args
            self._row(
                "pool_retire",
                (self._next("pool_retire"), pool.db_id, cert_index, tx_id, retiring),
            )
            pool.retiring = retiring
            self.pool_retirements[retiring].append(pool)
            if truth is not None:
                truth.pools[pool.view].retiring_epoch = retiring
                truth.pools[pool.view].retirements.append((tx_id, cert_index, retiring))
        else:
            self._governance_cert(kind, args, tx_id, cert_index)

    def _pool_reg(self, pool: _Pool, first: bool, tx_id: int, cert_index: int) -> None:
        rng = self.rng
        if first:
            pool.db_id = self._next("pool_hash")
            self._row("pool_hash", (pool.db_id, pool.hash_raw, pool.view))
            pool.leader_id = self._slot_leader(
                pool.hash_raw, pool.db_id, f"Pool-{pool.hash_raw.hex()[:16]}"
            )
            pool.registered_epoch = self.epoch
            self.pools.append(pool)
            self.leader_pool[pool.leader_id] = pool
            self.deposits_stake += POOL_DEPOSIT
            if self.truth is not None:
                self.truth.pools[pool.view] = PoolTruth(pool.view, pool.hash_raw)
        assert pool.owner is not None
        owner_id = self._see_stake(pool.owner)
        meta_id = self._next("pool_metadata_ref")
        meta_row = (
            meta_id, pool.db_id, f"https://pools.example.org/{pool.view[:16]}.json",
            rng.randbytes(32), tx_id,
        )  # fmt: skip
        self._row("pool_metadata_ref", meta_row)
        update_id = self._next("pool_update")
        update_row = (
            update_id, pool.db_id, cert_index, rng.randbytes(32), pool.pledge,
            self.epoch + (2 if first else 3), meta_id, pool.margin, pool.fixed_cost, tx_id,
            owner_id, POOL_DEPOSIT if first else None,
        )  # fmt: skip
        self._row("pool_update", update_row)
        self._row("pool_owner", (self._next("pool_owner"), owner_id, update_id))
        relay_row = (
            self._next("pool_relay"), update_id, f"10.{rng.randrange(256)}.0.1", None,
            f"relay{update_id}.pools.example.org", None, 3001,
        )  # fmt: skip
        self._row("pool_relay", relay_row)
        if self.truth is not None:
            self.truth.pools[pool.view].updates.append(tx_id)
            recorded = PoolUpdateTruth(
                tx_id, cert_index, pool.pledge, pool.margin, pool.fixed_cost,
                update_row[5], update_row[3], pool.owner.view, [pool.owner.view],
                [relay_row[2:]], meta_row[2], meta_row[3], update_row[11],
            )  # fmt: skip
            self.truth.pools[pool.view].update_rows.append(recorded)

    def _governance_cert(
        self, kind: str, args: tuple[Any, ...], tx_id: int, cert_index: int
    ) -> None:
        block_id = self.block_id
        if kind == "drep_reg":
            (raw,) = args
            did = self._next("drep_hash")
            view = bech32_encode("drep", raw)
            self._row("drep_hash", (did, raw, view, False))
            anchor = self._anchor("drep", block_id)
            self._row(
                "drep_registration",
                (self._next("drep_registration"), tx_id, cert_index, DREP_DEPOSIT, did, anchor),
            )
            self.dreps.append((did, view))
            self.deposits_drep += DREP_DEPOSIT
            if self.truth is not None:
                self.truth.dreps[view] = DRepTruth(
                    did, view, raw, [(tx_id, cert_index, DREP_DEPOSIT, anchor)]
                )
        elif kind == "vote_deleg":
            stake, drep_id = args
            self._row(
                "delegation_vote",
                (self._next("delegation_vote"), stake.db_id, cert_index, drep_id, tx_id, None),
            )
            stake.drep = drep_id
            self.drep_delegators[drep_id].append(stake)
            if self.truth is not None:
                view = next(v for d, v in self.dreps if d == drep_id)
                self.truth.stakes[stake.view].drep = view
                self.truth.stakes[stake.view].vote_delegations.append((tx_id, cert_index, view))
        elif kind == "proposal":
            self._proposal_rows(args, tx_id)
        elif kind == "vote":
            index, proposal, role, voter, vote = args
            vote_id = self._next("voting_procedure")
            self._row(
                "voting_procedure",
                (vote_id, tx_id, index, proposal, role,
                 voter if role == "DRep" else None, voter if role == "SPO" else None, vote,
                 None, voter if role == "ConstitutionalCommittee" else None, None),
            )  # fmt: skip
            if self.truth is not None:
                self.truth.votes.append(
                    VoteTruth(vote_id, tx_id, index, proposal, role, self._voter(role, voter), vote)
                )
        elif kind == "cc_hot":
            cold, hot = args
            self._row(
                "committee_registration",
                (self._next("committee_registration"), tx_id, cert_index, cold, hot),
            )
            if self.truth is not None:
                self.truth.committee_registrations.append((tx_id, cert_index, cold, hot))
        else:  # pragma: no cover - a typo in a kind above
            msg = f"unknown certificate kind {kind!r}"
            raise AssertionError(msg)

    def _voter(self, role: str, voter: int) -> str:
        """The voter's id as the catalogue shows it (truth only: reads no randomness)."""
        if role == "DRep":
            return next(v for d, v in self.dreps if d == voter)
        if role == "SPO":
            return next(p.view for p in self.pools if p.db_id == voter)
        assert self.truth is not None
        return self.truth.committee_hashes[voter].hex()

    def _proposal_rows(self, args: tuple[Any, ...], tx_id: int) -> None:
        stake, kind, epoch = args
        rng = self.rng
        pid = self._next("gov_action_proposal")
        anchor = self._anchor("gov_action", self.block_id)
        expiration = epoch + 6
        ratified = enacted = dropped = expired = None
        outcome = rng.random()
        if outcome < 0.3:
            ratified, enacted = epoch + 1, epoch + 2
            ends = enacted
        elif outcome < 0.6:
            dropped = ends = epoch + 1
        else:
            expired = ends = expiration + 1
        tip = self.tip_epoch

        def known(e: int | None) -> int | None:  # what db-sync knows at the tip
            return e if e is not None and e <= tip else None

        self._row(
            "gov_action_proposal",
            (pid, tx_id, 0, None, GOV_DEPOSIT, stake.db_id, expiration, anchor, kind,
             json.dumps({"tag": kind}), None, known(ratified), known(enacted), known(dropped),
             known(expired)),
        )  # fmt: skip
        if self.truth is not None:
            self.truth.proposals[pid] = ProposalTruth(
                pid, tx_id, 0, kind, GOV_DEPOSIT, stake.view, expiration, known(ratified),
                known(enacted), known(dropped), known(expired), anchor, {"tag": kind},
            )  # fmt: skip
        if kind == "TreasuryWithdrawals":
            self._row(
                "treasury_withdrawal",
                (self._next("treasury_withdrawal"), pid, stake.db_id, 1000 * ADA),
            )
        self.proposals.append(pid)
        self.deposits_proposal += GOV_DEPOSIT
        self.scheduled_rest[ends].append((stake, "proposal_refund", GOV_DEPOSIT))
