"""The synthetic chain generator on its own: determinism, validation and ledger invariants.

These run the generator without a database (it is pure Python), so Hypothesis can try many
chains; tests/test_synth_db.py holds the loaded database to the same rules with SQL.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import Counter, defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbsync_core.codecs import asset_fingerprint, parse_address, stake_address_text
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.synth import ALL_VARIANTS, ChainConfig, Generator, Truth, Variant
from dbsync_core.synth._gen import COLUMNS


def generate(txs: int, seed: int) -> tuple[Generator, dict[str, list[tuple[Any, ...]]]]:
    gen = Generator(ChainConfig(txs=txs, seed=seed), batch_rows=997)
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for batch in gen.batches():
        for table, batch_rows in batch.items():
            rows[table].extend(batch_rows)
    return gen, rows


def digest(rows: dict[str, list[tuple[Any, ...]]]) -> str:
    return hashlib.sha256(pickle.dumps(sorted(rows.items()))).hexdigest()


def check_ledger(truth: Truth) -> None:
    """Every rule a ledger keeps, checked on the generator's own record of the chain."""
    spent_by: Counter[int] = Counter()
    for tx in truth.txs:
        ins = tx.inputs
        spent_by.update(ins)
        for out_id in ins:
            out = truth.outputs[out_id]
            assert out.tx_id < tx.id, "an input spends an earlier output"
            assert out.spent_by == tx.id
        in_value = sum(truth.outputs[i].value for i in ins)
        out_value = sum(truth.outputs[o].value for o in tx.outputs)
        assert out_value == tx.out_sum
        if tx.block_id == 1:  # genesis distribution: no inputs, no fee
            assert not ins
            assert tx.fee == 0
            continue
        assert ins, "every non-genesis tx spends something"
        assert in_value + tx.withdrawals == tx.out_sum + tx.fee + tx.deposit + tx.donation
        assert tx.fee > 0
        if not tx.valid:
            assert ins == tx.collateral_inputs, "a failed tx forfeits exactly its collateral"
            assert tx.deposit == 0
        for out_id in tx.outputs:
            assert truth.outputs[out_id].value >= 1_000_000, "min UTxO"
    assert max(spent_by.values(), default=1) == 1, "an output is spent at most once"
    # assets are conserved: what is held equals what was minted minus burned
    held: Counter[int] = Counter()
    for out in truth.unspent():
        held.update(out.assets)
    for ident, asset in truth.assets_by_ident.items():
        assert held[ident] == truth.asset_supply(ident) >= 0, asset


def test_same_seed_same_rows():
    """Two runs with the same config produce identical rows, batch boundaries aside."""
    _g1, rows1 = generate(800, seed=7)
    _g2, rows2 = generate(800, seed=7)
    assert digest(rows1) == digest(rows2)
    _g3, rows3 = generate(800, seed=8)
    assert digest(rows1) != digest(rows3)


def test_rows_match_the_copy_columns():
    """Every row has one value per COPY column (tx_out rows carry the address id last)."""
    _gen, rows = generate(1500, seed=1)
    for table, table_rows in rows.items():
        width = len(COLUMNS[table]) + (table in ("tx_out", "collateral_tx_out"))
        assert {len(r) for r in table_rows} == {width}, table


def test_requested_tx_count_is_met():
    """The chain has the txs asked for (plus the genesis distribution)."""
    gen, rows = generate(3000, seed=2)
    genesis = sum(1 for r in rows["tx"] if r[2] == 1)
    assert len(rows["tx"]) - genesis == 3000
    assert gen.truth is not None


def test_chain_covers_every_feature():
    """A modest chain already has each kind of data the catalogue reads."""
    _gen, rows = generate(6000, seed=3)
    must_have = [
        "block", "tx", "tx_out", "tx_in", "collateral_tx_in", "collateral_tx_out",
        "reference_tx_in", "multi_asset", "ma_tx_out", "ma_tx_mint", "tx_metadata", "script",
        "datum", "redeemer", "redeemer_data", "stake_address", "stake_registration",
        "stake_deregistration", "delegation", "withdrawal", "reward", "epoch_stake",
        "pool_hash", "pool_update", "pool_owner", "pool_relay", "pool_metadata_ref",
        "epoch_param", "ada_pots", "epoch_finalized", "cost_model", "drep_hash",
        "drep_registration", "delegation_vote", "committee", "committee_member",
        "voting_anchor", "gov_action_proposal", "voting_procedure", "drep_distr",
    ]  # fmt: skip
    assert [t for t in must_have if not rows.get(t)] == []
    script_types = {r[3] for r in rows["script"]}
    assert {"timelock", "plutusV1", "plutusV2"} <= script_types
    assert any(r[10] is False for r in rows["tx"]), "a failed phase-2 tx"
    assert any(r[1] < 0 for r in rows["ma_tx_mint"]), "a burn"
    labels = {r[1] for r in rows["tx_metadata"]}
    assert {674, 721} <= labels
    reward_types = {r[1] for r in rows["reward"]} | {r[1] for r in rows["reward_rest"]}
    assert reward_types == {"member", "leader", "refund", "reserves", "treasury", "proposal_refund"}


def test_special_blocks_are_shaped_like_dbsync():
    """Genesis has no epoch/slot/number; Byron EBBs have an epoch but no slot or number."""
    _gen, rows = generate(1000, seed=4)
    blocks = sorted(rows["block"])
    genesis = blocks[0]
    assert genesis[2:6] == (None, None, None, None)
    assert genesis[6] is None  # previous_id
    ebbs = [b for b in blocks if b[2] is not None and b[3] is None]
    assert len(ebbs) == 2  # one per Byron epoch
    assert all(b[5] is None and b[4] is None for b in ebbs)
    numbered = [b[5] for b in blocks if b[5] is not None]
    assert numbered == list(range(1, len(numbered) + 1))
    slots = [b[3] for b in blocks if b[3] is not None]
    assert slots == sorted(slots)
    assert len(set(slots)) == len(slots)


def test_addresses_and_ids_decode_to_their_credentials():
    """Bech32/Base58 texts decode to the stored credentials; views and fingerprints agree."""
    _gen, rows = generate(2500, seed=5)
    stake_raw = {r[0]: r[1] for r in rows["stake_address"]}
    for r in rows["stake_address"]:
        assert stake_address_text(r[1]) == r[2]
    for r in rows["tx_out"]:
        parsed = parse_address(r[3])
        assert parsed.payment_cred == r[5]
        assert parsed.payment_is_script == r[4]
        expected_stake = stake_raw[r[6]] if r[6] is not None else None
        assert parsed.stake_address_raw == expected_stake
    for r in rows["multi_asset"]:
        assert asset_fingerprint(r[1], r[2]) == r[3]


def test_heavy_address_dominates():
    """The exchange address holds the most UTxOs and appears in the most txs."""
    gen, _rows = generate(8000, seed=6)
    truth = gen.truth
    assert truth is not None
    per_address = Counter(o.address for o in truth.unspent())
    top, top_count = per_address.most_common(1)[0]
    assert top == gen.heavy.text
    assert top_count >= 10 * sorted(per_address.values())[len(per_address) // 2]
    assert len(truth.address_txs(top)) >= 0.05 * 8000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"txs": 0},
        {"txs": -5},
        {"txs": True},
        {"txs": 30_000_000},
        {"byron_epochs": 0},
        {"epochs": 3},
    ],
)
def test_bad_config_is_rejected(kwargs):
    """Nonsense sizes raise InvalidInputError naming the field."""
    with pytest.raises(InvalidInputError, match=next(iter(kwargs))):
        ChainConfig(**kwargs)


def test_bad_variant_is_rejected():
    """An unknown spent mode raises InvalidInputError."""
    with pytest.raises(InvalidInputError, match="spent"):
        Variant(spent="bootstrap")  # type: ignore[arg-type]


def test_variants_are_all_distinct_and_named():
    """The twelve variants have distinct names and the tokens db-sync writes for each."""
    names = {v.name for v in ALL_VARIANTS}
    assert len(names) == len(ALL_VARIANTS) == 12
    prune = Variant(spent="prune", address_table=True)
    assert "PruneTxOutFlagPreviouslySet" in prune.extra_migration_tokens
    assert "TxOutAddressPreviouslySet" in prune.extra_migration_tokens
    assert Variant().extra_migration_tokens == ("StakeDistrEnded",)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(txs=st.integers(min_value=1, max_value=1500), seed=st.integers(0, 2**32))
def test_ledger_invariants_hold_for_any_chain(txs, seed):
    """Inputs spend earlier outputs once, value and assets are conserved, for any seed/size."""
    gen, rows = generate(txs, seed)
    assert gen.truth is not None
    check_ledger(gen.truth)
    tx_hashes = [r[1] for r in rows["tx"]]
    block_hashes = [r[1] for r in rows["block"]]
    assert all(len(h) == 32 for h in tx_hashes + block_hashes)
    assert len(set(tx_hashes)) == len(tx_hashes)
    assert len(set(block_hashes)) == len(block_hashes)
    # block.tx_count and block_index agree with the txs
    per_block = defaultdict(list)
    for r in rows["tx"]:
        per_block[r[2]].append(r[3])
    for b in rows["block"]:
        assert sorted(per_block.get(b[0], [])) == list(range(b[10]))
