"""A synthetic cardano-db-sync database: a realistic chain, its ground truth, a fast loader.

>>> report = await seed_database(url, ChainConfig(txs=10_000, seed=1), Variant(spent="consumed"))
>>> report.truth.balance(report.heavy_address)

The same config gives the same chain in every :class:`Variant`; the truth is computed by the
generator, never read back from SQL, so tests can hold queries to it.
"""

from __future__ import annotations

import itertools

from dbsync_core.synth._gen import Generator
from dbsync_core.synth._load import SeedReport, seed_database
from dbsync_core.synth._model import SPENT_MODES, ChainConfig, Spent, Variant
from dbsync_core.synth._truth import Truth

#: Every variant db-sync can be configured into (layout, spent tracking, index stage).
ALL_VARIANTS: tuple[Variant, ...] = tuple(
    Variant(address_table=a, spent=s, near_tip_indexes=n)
    for a, s, n in itertools.product((False, True), SPENT_MODES, (True, False))
)

__all__ = [
    "ALL_VARIANTS",
    "ChainConfig",
    "Generator",
    "SeedReport",
    "Spent",
    "Truth",
    "Variant",
    "seed_database",
]
