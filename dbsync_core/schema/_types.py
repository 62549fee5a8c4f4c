"""db-sync's domains and enums as SQLAlchemy types.

db-sync declares its columns with a dozen PostgreSQL domains (labels since stage_two 30 dropped
their CHECKs) and eight enums. They are real named types here so that the DDL the library emits
is the DDL db-sync emits; ``create_schema`` creates them itself, hence ``create_type=False``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, LargeBinary, Numeric, SmallInteger
from sqlalchemy.dialects.postgresql import DOMAIN, ENUM

__all__ = [
    "DOMAINS",
    "ENUMS",
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


def _domain(name: str, base: object) -> DOMAIN:
    domain = DOMAIN(name, base, create_type=False)  # type: ignore[arg-type]
    # A domain compares like its base type. Without this, SQLAlchemy 2.1 warns on every operator
    # (``==``, ``<``, ``desc()``, ``any_``) used on a domain-typed column.
    inner: Any = base
    while isinstance(inner, DOMAIN):
        inner = inner.data_type
    if hasattr(inner, "operator_classes"):
        object.__setattr__(domain, "operator_classes", inner.operator_classes)
    return domain


# Byte strings. Lengths are documentation only: the CHECKs were dropped upstream.
hash32type = _domain("hash32type", LargeBinary())
hash28type = _domain("hash28type", LargeBinary())
addr29type = _domain("addr29type", LargeBinary())
asset32type = _domain("asset32type", LargeBinary())

# Unsigned 64-bit quantities are numeric(20,0): asyncpg decodes them as Decimal unless told not to.
lovelace = _domain("lovelace", Numeric(20, 0))
word64type = _domain("word64type", Numeric(20, 0))
int65type = _domain("int65type", Numeric(20, 0))
word128type = _domain("word128type", Numeric(39, 0))
outsum = _domain("outsum", word128type)

word63type = _domain("word63type", BigInteger())
word31type = _domain("word31type", Integer())
txindex = _domain("txindex", SmallInteger())

#: Every domain in creation order (``outsum`` is declared over ``word128type``).
DOMAINS: tuple[DOMAIN, ...] = (
    addr29type,
    asset32type,
    hash28type,
    hash32type,
    int65type,
    lovelace,
    txindex,
    word128type,
    outsum,
    word31type,
    word63type,
    word64type,
)


def _enum(name: str, *values: str) -> ENUM:
    return ENUM(*values, name=name, create_type=False)


anchortype = _enum(
    "anchortype", "gov_action", "drep", "other", "vote", "committee_dereg", "constitution"
)
govactiontype = _enum(
    "govactiontype",
    "ParameterChange",
    "HardForkInitiation",
    "TreasuryWithdrawals",
    "NoConfidence",
    "NewCommittee",
    "NewConstitution",
    "InfoAction",
)
rewardtype = _enum(
    "rewardtype", "leader", "member", "reserves", "treasury", "refund", "proposal_refund"
)
scriptpurposetype = _enum("scriptpurposetype", "spend", "mint", "cert", "reward", "vote", "propose")
scripttype = _enum("scripttype", "multisig", "timelock", "plutusV1", "plutusV2", "plutusV3")
syncstatetype = _enum("syncstatetype", "lagging", "following")
vote = _enum("vote", "Yes", "No", "Abstain")
voterrole = _enum("voterrole", "ConstitutionalCommittee", "DRep", "SPO")

#: Every enum, with its labels in declaration order.
ENUMS: tuple[ENUM, ...] = (
    anchortype,
    govactiontype,
    rewardtype,
    scriptpurposetype,
    scripttype,
    syncstatetype,
    vote,
    voterrole,
)
