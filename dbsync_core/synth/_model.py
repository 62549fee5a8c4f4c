"""Configuration of a synthetic chain and of the db-sync variant it is written as."""

from __future__ import annotations

from typing import Literal

import attrs

from dbsync_core.exceptions import InvalidInputError

__all__ = ["SPENT_MODES", "ChainConfig", "Spent", "Variant"]

Spent = Literal["tx_in", "consumed", "prune"]
SPENT_MODES: tuple[Spent, ...] = ("tx_in", "consumed", "prune")


@attrs.frozen
class Variant:
    """How db-sync was configured: the same chain can be written in any of these forms.

    ``address_table``: ``tx_out.address_id`` → ``address`` (``use_address_table``).
    ``spent``: ``tx_in`` rows (default), ``consumed`` (``tx_out.consumed_by_tx_id``, empty
    ``tx_in``) or ``prune`` (like consumed, and outputs spent deep enough are deleted).
    ``near_tip_indexes``: whether db-sync has built its stage-4 indexes.
    """

    address_table: bool = False
    spent: Spent = "tx_in"
    near_tip_indexes: bool = True

    def __attrs_post_init__(self) -> None:
        if self.spent not in SPENT_MODES:
            msg = f"spent: expected one of {', '.join(SPENT_MODES)}, got {self.spent!r}"
            raise InvalidInputError(msg)

    @property
    def name(self) -> str:
        """A short label, e.g. ``core-tx_in`` or ``address-prune-syncing``."""
        label = f"{'address' if self.address_table else 'core'}-{self.spent}"
        return label if self.near_tip_indexes else label + "-syncing"

    @property
    def extra_migration_tokens(self) -> tuple[str, ...]:
        """The ``extra_migrations.token`` values db-sync writes for this configuration."""
        tokens: list[str] = []
        if self.spent == "consumed":
            tokens.append("ConsumeTxOutPreviouslySet")
        elif self.spent == "prune":
            tokens += ["ConsumeTxOutPreviouslySet", "PruneTxOutFlagPreviouslySet"]
        if self.address_table:
            tokens.append("TxOutAddressPreviouslySet")
        if self.near_tip_indexes:
            tokens.append("StakeDistrEnded")
        return tuple(tokens)


def _positive(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"{attribute.name}: expected a positive int, got {value!r}"
        raise InvalidInputError(msg)


@attrs.frozen
class ChainConfig:
    """What to generate. The same config (seed included) always gives the same chain."""

    txs: int = attrs.field(default=10_000, validator=_positive)
    seed: int = 0
    #: Epochs in all (Byron ones included); by default it grows with ``txs``.
    epochs: int | None = None
    byron_epochs: int = attrs.field(default=2, validator=_positive)
    #: Keep the ground truth (tests); off for very large loads where only rows matter.
    truth: bool = True

    def __attrs_post_init__(self) -> None:
        if self.txs > 20_000_000:
            msg = f"txs: at most 20,000,000, got {self.txs}"
            raise InvalidInputError(msg)
        if self.epochs is not None and self.epochs < self.byron_epochs + 6:
            msg = f"epochs: need at least byron_epochs + 6 = {self.byron_epochs + 6}"
            raise InvalidInputError(msg)

    @property
    def total_epochs(self) -> int:
        """Epochs of the chain, the tip's included."""
        if self.epochs is not None:
            return self.epochs
        return self.byron_epochs + max(6, min(48, self.txs // 20_000 + 4))
