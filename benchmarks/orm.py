"""The ORM side of the benchmarks: declarative classes mapped onto dbsync_core's ``Table`` objects.

``Block``, ``Tx``, ``SlotLeader`` and ``PoolHash`` live in :mod:`dbsync_core._bench` (the core
workloads of ``dbsync-core bench`` need them); this module adds outputs, inputs, assets, stake
addresses, datums and scripts for the address and batch workloads, on the same registry.

db-sync has no foreign keys, so every relationship names its join with ``foreign()``. The join
that the guide the ORM side follows gets wrong is fixed here: an input names the *producing
transaction's id* and the output index, so ``tx_in`` matches ``(tx_out.tx_id, tx_out.index)``,
never ``tx_out.id``.
"""

from __future__ import annotations

from decimal import Decimal  # noqa: TC003  (SQLAlchemy reads Mapped[...] annotations at run time)

from sqlalchemy import and_
from sqlalchemy.orm import Mapped, foreign, relationship

from dbsync_core._bench import (
    BlockModel,
    OrmBase,
    PoolHashModel,
    SlotLeaderModel,
    TxModel,
    plain,
)
from dbsync_core.schema import datum, ma_tx_out, multi_asset, script, stake_address, tx_in, tx_out

__all__ = [
    "BlockModel",
    "DatumModel",
    "MaTxOutModel",
    "MultiAssetModel",
    "OrmBase",
    "PoolHashModel",
    "ScriptModel",
    "SlotLeaderModel",
    "StakeAddressModel",
    "TxInModel",
    "TxModel",
    "TxOutModel",
    "orm_output",
]


class StakeAddressModel(OrmBase):
    """``stake_address``."""

    __table__ = stake_address
    id: Mapped[int]
    view: Mapped[str]


class MultiAssetModel(OrmBase):
    """``multi_asset``: one native asset."""

    __table__ = multi_asset
    id: Mapped[int]
    policy: Mapped[bytes]
    name: Mapped[bytes]
    fingerprint: Mapped[str]


class MaTxOutModel(OrmBase):
    """``ma_tx_out``: a quantity of an asset in an output."""

    __table__ = ma_tx_out
    id: Mapped[int]
    quantity: Mapped[Decimal]
    tx_out_id: Mapped[int]
    ident: Mapped[int]
    asset: Mapped[MultiAssetModel] = relationship(
        primaryjoin=lambda: foreign(MaTxOutModel.ident) == MultiAssetModel.id,
        viewonly=True,
        lazy="raise",
    )


class DatumModel(OrmBase):
    """``datum``."""

    __table__ = datum
    id: Mapped[int]
    hash: Mapped[bytes]


class ScriptModel(OrmBase):
    """``script``."""

    __table__ = script
    id: Mapped[int]
    hash: Mapped[bytes]


class TxInModel(OrmBase):
    """``tx_in``: the input of ``tx_in_id`` that spends output ``tx_out_index`` of the
    transaction ``tx_out_id``."""

    __table__ = tx_in
    id: Mapped[int]
    tx_in_id: Mapped[int]
    tx_out_id: Mapped[int]
    tx_out_index: Mapped[int]
    spender: Mapped[TxModel] = relationship(
        primaryjoin=lambda: foreign(TxInModel.tx_in_id) == TxModel.id,
        viewonly=True,
        lazy="raise",
    )


class TxOutModel(OrmBase):
    """``tx_out`` (db-sync's default layout), with everything an output answer needs."""

    __table__ = tx_out
    id: Mapped[int]
    tx_id: Mapped[int]
    index: Mapped[int]
    address: Mapped[str]
    payment_cred: Mapped[bytes | None]
    stake_address_id: Mapped[int | None]
    value: Mapped[Decimal]
    data_hash: Mapped[bytes | None]
    inline_datum_id: Mapped[int | None]
    reference_script_id: Mapped[int | None]
    consumed_by_tx_id: Mapped[int | None]
    tx: Mapped[TxModel] = relationship(
        primaryjoin=lambda: foreign(TxOutModel.tx_id) == TxModel.id, viewonly=True, lazy="raise"
    )
    stake_address: Mapped[StakeAddressModel | None] = relationship(
        primaryjoin=lambda: foreign(TxOutModel.stake_address_id) == StakeAddressModel.id,
        viewonly=True,
        lazy="raise",
    )
    inline_datum: Mapped[DatumModel | None] = relationship(
        primaryjoin=lambda: foreign(TxOutModel.inline_datum_id) == DatumModel.id,
        viewonly=True,
        lazy="raise",
    )
    reference_script: Mapped[ScriptModel | None] = relationship(
        primaryjoin=lambda: foreign(TxOutModel.reference_script_id) == ScriptModel.id,
        viewonly=True,
        lazy="raise",
    )
    assets: Mapped[list[MaTxOutModel]] = relationship(
        primaryjoin=lambda: foreign(MaTxOutModel.tx_out_id) == TxOutModel.id,
        order_by=lambda: MaTxOutModel.id,
        viewonly=True,
        lazy="raise",
    )
    #: The input that spent this output (``tx_in`` spent tracking).
    spent_by: Mapped[TxInModel | None] = relationship(
        primaryjoin=lambda: and_(
            foreign(TxInModel.tx_out_id) == TxOutModel.tx_id,
            foreign(TxInModel.tx_out_index) == TxOutModel.index,
        ),
        uselist=False,
        viewonly=True,
        lazy="raise",
    )
    #: The spending transaction (``consumed_by_tx_id`` spent tracking).
    consumer: Mapped[TxModel | None] = relationship(
        primaryjoin=lambda: foreign(TxOutModel.consumed_by_tx_id) == TxModel.id,
        viewonly=True,
        lazy="raise",
    )


def orm_output(o: TxOutModel, *, by_tx_in: bool, spent: bool = True) -> tuple[object, ...]:
    """An output model in :class:`~dbsync_core.records.TxOut`'s field order (``spent=False``:
    :class:`~dbsync_core.records.Utxo`'s)."""
    assets = tuple(
        (a.asset.policy, a.asset.name, a.asset.fingerprint, a.quantity) for a in o.assets
    )
    values: tuple[object, ...] = (
        o.id,
        o.tx.hash,
        o.index,
        o.address,
        o.stake_address.view if o.stake_address is not None else None,
        o.value,
        assets,
        o.data_hash,
        o.inline_datum.hash if o.inline_datum is not None else None,
        o.reference_script.hash if o.reference_script is not None else None,
    )
    if spent:
        if by_tx_in:
            spender = o.spent_by.spender.hash if o.spent_by is not None else None
        else:
            spender = o.consumer.hash if o.consumer is not None else None
        values += (spender,)
    result: tuple[object, ...] = plain(values)
    return result


# Referenced so that linters see the re-exports as used.
_ = (BlockModel, PoolHashModel, SlotLeaderModel)
