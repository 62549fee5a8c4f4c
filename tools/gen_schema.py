"""Generate ``dbsync_core/schema/<group>.py`` from the reference schema JSON.

The reference (``tests/data/dbsync-schema.json``) was read from a database built by db-sync's own
migrations; the table modules are generated from it so a column audit lines up one to one, and the
fidelity tests compare a database built from these modules with the same JSON.

    python tools/gen_schema.py            # rewrite the modules
    python tools/gen_schema.py --check    # exit 1 if a module is out of date
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "dbsync-schema.json"
OUT = ROOT / "dbsync_core" / "schema"

# Grouped like upstream's schema modules (cardano-db's Schema/Core/*.hs and Schema/Variants).
GROUPS: dict[str, tuple[str, list[str]]] = {
    "base": (
        "Blocks, transactions and their inputs, scripts, datums, redeemers, metadata, bookkeeping.",
        [
            "schema_version",
            "meta",
            "extra_migrations",
            "block",
            "slot_leader",
            "tx",
            "tx_in",
            "collateral_tx_in",
            "reference_tx_in",
            "reverse_index",
            "tx_cbor",
            "tx_metadata",
            "extra_key_witness",
            "datum",
            "script",
            "redeemer",
            "redeemer_data",
        ],
    ),
    "tx_out": (
        "Transaction outputs in the default ('core') layout, and the assets they carry.",
        ["tx_out", "collateral_tx_out", "ma_tx_out"],
    ),
    "multi_asset": ("Native assets and their mints and burns.", ["multi_asset", "ma_tx_mint"]),
    "stake_delegation": (
        "Stake addresses, registrations, delegations, rewards, withdrawals and stake snapshots.",
        [
            "stake_address",
            "stake_registration",
            "stake_deregistration",
            "delegation",
            "reward",
            "reward_rest",
            "withdrawal",
            "epoch_stake",
            "epoch_stake_progress",
        ],
    ),
    "pool": (
        "Stake pools: registrations, updates, owners, relays, retirements and statistics.",
        [
            "pool_hash",
            "pool_metadata_ref",
            "pool_update",
            "pool_owner",
            "pool_relay",
            "pool_retire",
            "pool_stat",
            "delisted_pool",
            "reserved_pool_ticker",
        ],
    ),
    "epoch_protocol": (
        "Epochs, protocol parameters, cost models, pots and MIR certificates.",
        [
            "epoch_finalized",
            "epoch_sync_enabled",
            "epoch_sync_time",
            "epoch_param",
            "cost_model",
            "ada_pots",
            "pot_transfer",
            "treasury",
            "reserve",
            "event_info",
        ],
    ),
    "governance": (
        "Conway governance: DReps, committee, proposals, votes, constitution.",
        [
            "drep_hash",
            "committee_hash",
            "voting_anchor",
            "drep_registration",
            "delegation_vote",
            "drep_distr",
            "committee_registration",
            "committee_de_registration",
            "gov_action_proposal",
            "param_proposal",
            "treasury_withdrawal",
            "committee",
            "committee_member",
            "new_committee",
            "constitution",
            "voting_procedure",
            "epoch_state",
        ],
    ),
    "off_chain": (
        "Data db-sync fetches off chain: pool metadata and governance anchors.",
        [
            "off_chain_pool_data",
            "off_chain_pool_fetch_error",
            "off_chain_vote_data",
            "off_chain_vote_author",
            "off_chain_vote_drep_data",
            "off_chain_vote_external_update",
            "off_chain_vote_gov_action_data",
            "off_chain_vote_reference",
            "off_chain_vote_fetch_error",
        ],
    ),
}

# Logical joins (db-sync's naming convention; see the reference's join map). Keyed by
# (table, column) first, then by column name alone.
JOIN_BY_TABLE: dict[tuple[str, str], str] = {
    ("block", "previous_id"): "block.id",
    ("block", "slot_leader_id"): "slot_leader.id",
    ("tx_in", "tx_out_id"): "tx.id",  # the *producing tx*, not tx_out.id
    ("collateral_tx_in", "tx_out_id"): "tx.id",
    ("reference_tx_in", "tx_out_id"): "tx.id",
    ("ma_tx_out", "tx_out_id"): "tx_out.id",
    ("drep_distr", "hash_id"): "drep_hash.id",
    ("pool_update", "hash_id"): "pool_hash.id",
    ("pool_retire", "hash_id"): "pool_hash.id",
    ("epoch_state", "committee_id"): "committee.id",
    ("epoch_state", "no_confidence_id"): "gov_action_proposal.id",
    ("epoch_state", "constitution_id"): "constitution.id",
    ("gov_action_proposal", "param_proposal"): "param_proposal.id",
    ("tx_out", "address_id"): "address.id",
    ("collateral_tx_out", "address_id"): "address.id",
}
JOIN_BY_COLUMN: dict[str, str] = {
    "tx_id": "tx.id",
    "tx_in_id": "tx.id",
    "registered_tx_id": "tx.id",
    "announced_tx_id": "tx.id",
    "consumed_by_tx_id": "tx.id",
    "block_id": "block.id",
    "addr_id": "stake_address.id",
    "stake_address_id": "stake_address.id",
    "reward_addr_id": "stake_address.id",
    "return_address": "stake_address.id",
    "pool_hash_id": "pool_hash.id",
    "pool_id": "pool_hash.id",
    "pool_voter": "pool_hash.id",
    "meta_id": "pool_metadata_ref.id",
    "pmr_id": "pool_metadata_ref.id",
    "update_id": "pool_update.id",
    "pool_update_id": "pool_update.id",
    "inline_datum_id": "datum.id",
    "reference_script_id": "script.id",
    "redeemer_data_id": "redeemer_data.id",
    "redeemer_id": "redeemer.id",
    "ident": "multi_asset.id",
    "drep_hash_id": "drep_hash.id",
    "drep_voter": "drep_hash.id",
    "committee_voter": "committee_hash.id",
    "committee_hash_id": "committee_hash.id",
    "cold_key_id": "committee_hash.id",
    "hot_key_id": "committee_hash.id",
    "gov_action_proposal_id": "gov_action_proposal.id",
    "prev_gov_action_proposal": "gov_action_proposal.id",
    "voting_anchor_id": "voting_anchor.id",
    "cost_model_id": "cost_model.id",
    "off_chain_vote_data_id": "off_chain_vote_data.id",
}

PLAIN_TYPES = {
    "bigint": "BigInteger()",
    "integer": "Integer()",
    "smallint": "SmallInteger()",
    "boolean": "Boolean()",
    "bytea": "LargeBinary()",
    "character varying": "String()",
    "jsonb": "JSONB()",
    "double precision": "DOUBLE_PRECISION()",
    "timestamp without time zone": "TIMESTAMP()",
}

GENERATED = {  # columns whose "default" in the reference is a STORED generation expression
    ("reward", "earned_epoch"),
    ("reward_rest", "earned_epoch"),
}


def column_type(col: dict[str, Any]) -> str:
    if col.get("domain"):
        return str(col["domain"])
    if col.get("enum"):
        return str(col["enum"])
    return PLAIN_TYPES[str(col["type"])]


def join_target(table: str, column: str) -> str | None:
    if (table, column) in JOIN_BY_TABLE:
        return JOIN_BY_TABLE[(table, column)]
    return JOIN_BY_COLUMN.get(column)


def render_table(name: str, spec: dict[str, Any], md: str, py_name: str) -> list[str]:
    cols = spec["columns"]
    assert isinstance(cols, list)
    pk = spec["primary_key"]
    pk_cols = pk["columns"] if isinstance(pk, dict) else []
    lines = [f"{py_name} = Table(", f'    "{name}",', f"    {md},"]
    for col in cols:
        cname = col["name"]
        args = [f'"{cname}"', column_type(col)]
        default = col["default"]
        if (name, cname) in GENERATED:
            expr = " ".join(str(default).split())
            args.append(f"Computed({expr!r}, persisted=True)")
        elif isinstance(default, str) and default.startswith("nextval("):
            pass  # BIGSERIAL: the sequence <table>_id_seq, owned by the column
        elif default is not None:
            args.append(f"server_default=text({default!r})")
        if cname in pk_cols:
            args.append("primary_key=True")
            if not (isinstance(default, str) and default.startswith("nextval(")):
                args.append("autoincrement=False")
        if not col["nullable"] and cname not in pk_cols:
            args.append("nullable=False")
        if col["nullable"] and cname in pk_cols:
            args.append("nullable=True")
        lines.append(f"    Column({', '.join(args)}),")
    if isinstance(pk, dict):
        pcols = ", ".join(f'"{c}"' for c in pk["columns"])
        lines.append(f'    PrimaryKeyConstraint({pcols}, name="{pk["name"]}"),')
    for uq in spec["unique_constraints"]:
        ucols = ", ".join(f'"{c}"' for c in uq["columns"])
        lines.append(f'    UniqueConstraint({ucols}, name="{uq["name"]}"),')
    for chk in spec["check_constraints"]:
        body = chk["definition"].removeprefix("CHECK (").removesuffix(")")
        lines.append(f'    CheckConstraint("{body}", name="{chk["name"]}"),')
    real_fk_cols = set()
    for fk in spec["foreign_keys"]:
        fcols = ", ".join(f'"{c}"' for c in fk["columns"])
        refs = ", ".join(f'"{fk["ref_table"]}.{c}"' for c in fk["ref_columns"])
        real_fk_cols.update(fk["columns"])
        lines.append(
            f"    ForeignKeyConstraint([{fcols}], [{refs}], "
            f'name="{fk["name"]}", ondelete="{fk["on_delete"]}", onupdate="{fk["on_update"]}"),'
        )
    for col in cols:
        target = join_target(name, col["name"])
        if target and col["name"] not in real_fk_cols:
            lines.append(f'    logical_fk("{col["name"]}", "{target}"),')
    backing = {u["name"] for u in spec["unique_constraints"]}
    if isinstance(pk, dict):
        backing.add(pk["name"])
    for idx in spec["indexes"]:
        if idx.get("backs_constraint") in backing:
            continue
        icols = ", ".join(f'"{c}"' for c in idx["columns"])
        kw = ""
        if idx["unique"]:
            kw += ", unique=True"
        if idx["method"] != "btree":
            kw += f', postgresql_using="{idx["method"]}"'
        fn = "near_tip_index" if idx["created"] == "near_tip_stage4" else "Index"
        lines.append(f'    {fn}("{idx["name"]}", {icols}{kw}),')
    lines.append(")")
    return lines


HEADER = '''"""{doc}

Generated by ``tools/gen_schema.py`` from the reference schema (db-sync 13.7.2.1+, schema
15/51/6); edit the generator, not this file.
"""

from __future__ import annotations

from sqlalchemy import (
{sa_imports}
)
{pg_line}
from dbsync_core.schema._meta import {meta_imports}
from dbsync_core.schema._types import {type_imports}

__all__ = [{all_names}]
'''

SA_NAMES = [
    "BigInteger",
    "Boolean",
    "CheckConstraint",
    "Column",
    "Computed",
    "ForeignKeyConstraint",
    "Index",
    "Integer",
    "LargeBinary",
    "PrimaryKeyConstraint",
    "SmallInteger",
    "String",
    "Table",
    "UniqueConstraint",
    "text",
]
PG_NAMES = ["DOUBLE_PRECISION", "JSONB", "TIMESTAMP"]
TYPE_NAMES = [
    "addr29type",
    "anchortype",
    "asset32type",
    "govactiontype",
    "hash28type",
    "hash32type",
    "int65type",
    "lovelace",
    "outsum",
    "rewardtype",
    "scriptpurposetype",
    "scripttype",
    "syncstatetype",
    "txindex",
    "vote",
    "voterrole",
    "word31type",
    "word63type",
    "word64type",
    "word128type",
]


def module_text(doc: str, body: list[str], names: list[str]) -> str:
    text = "\n".join(body)

    def used(candidates: list[str]) -> list[str]:
        return [n for n in candidates if re.search(rf"\b{n}\b", text)]

    meta = used(["address_metadata", "logical_fk", "metadata", "near_tip_index"])
    head = HEADER.format(
        doc=doc,
        sa_imports="\n".join(f"    {n}," for n in used(SA_NAMES)),
        pg_line=(
            f"from sqlalchemy.dialects.postgresql import {', '.join(used(PG_NAMES))}\n"
            if used(PG_NAMES)
            else ""
        ),
        meta_imports=", ".join(meta),
        type_imports=", ".join(used(TYPE_NAMES)),
        all_names=", ".join(f'"{n}"' for n in sorted(names)),
    )
    return head + "\n\n" + text + "\n"


def address_variant(ref: dict[str, Any]) -> tuple[str, list[str]]:
    variant = ref["variants_and_runtime_changes"]["tx_out_address_table_variant"]
    tables = ref["tables"]
    body: list[str] = []
    addr = dict(variant["new_table_address"])
    addr["indexes"] = [dict(i, created="initial") for i in addr["indexes"]]
    body += [*render_table("address", addr, "address_metadata", "address"), ""]
    names = ["address"]
    for tname, change in variant["altered_tables"].items():
        spec = dict(tables[tname])
        spec["columns"] = [
            c for c in spec["columns"] if c["name"] not in change["dropped_columns"]
        ] + change["added_columns"]
        spec["indexes"] = [
            i
            for i in spec["indexes"]
            if i["name"] not in change["indexes_not_created"]
            and not set(i["columns"]) & set(change["dropped_columns"])
        ]
        py = f"{tname}_address"
        body += [f"#: ``{tname}`` in the address-table layout (in ``address_metadata``)."]
        body += [*render_table(tname, spec, "address_metadata", py), ""]
        names.append(py)
    return "\n".join(body), names


def generate() -> dict[Path, str]:
    ref = json.loads(REFERENCE.read_text())
    tables: dict[str, dict[str, Any]] = ref["tables"]
    seen: set[str] = set()
    out: dict[Path, str] = {}
    for module, (doc, names) in GROUPS.items():
        body: list[str] = []
        for name in names:
            body += [*render_table(name, tables[name], "metadata", name), "", ""]
            seen.add(name)
        out[OUT / f"{module}.py"] = module_text(doc, body[:-2], names)
    missing = set(tables) - seen
    if missing:
        raise SystemExit(f"tables not assigned to a module: {sorted(missing)}")
    text, names = address_variant(ref)
    out[OUT / "address_layout_tables.py"] = module_text(
        "The address-table layout's own tables (``use_address_table = true``).",
        text.splitlines(),
        names,
    )
    return out


def main() -> int:
    check = "--check" in sys.argv
    files = generate()
    for path, text in files.items():
        path.write_text(text) if not check else None
    if not check:
        subprocess.run(
            [sys.executable, "-m", "ruff", "format", *map(str, files)], check=True, cwd=ROOT
        )
        return 0
    stale = []
    for path, text in files.items():
        formatted = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        if path.read_text() != formatted:
            stale.append(path.name)
    if stale:
        print("out of date:", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
