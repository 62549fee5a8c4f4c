"""The shared ``MetaData`` objects and the two markers every table module uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKeyConstraint, Index, MetaData

__all__ = ["NEAR_TIP", "address_metadata", "logical_fk", "metadata", "near_tip_index"]

#: The default ("core" ``tx_out``) layout: the 76 tables of schema 15/51/6.
metadata = MetaData(info={"layout": "core"})

#: The address-table layout: the same tables, with ``address`` added and ``tx_out`` /
#: ``collateral_tx_out`` pointing to it by ``address_id``.
address_metadata = MetaData(info={"layout": "address"})

#: ``Index.info`` of the indexes db-sync builds only near the chain tip (its stage-4 migrations).
NEAR_TIP: dict[str, Any] = {"near_tip": True}


def _never(*_args: object, **_kwargs: object) -> bool:
    return False


def logical_fk(column: str, target: str) -> ForeignKeyConstraint:
    """A join path SQLAlchemy can follow that never becomes DDL.

    db-sync dropped its foreign keys for insert speed; declaring them here keeps the join map in
    one place (``tx.join(block)`` works) while a schema we create stays identical to db-sync's.
    """
    fk = ForeignKeyConstraint([column], [target], info={"logical": True})
    fk.ddl_if(callable_=_never)
    return fk


def near_tip_index(name: str, *columns: str, **kw: Any) -> Index:
    """An index db-sync creates only once it is within ~30 minutes of the tip."""
    return Index(name, *columns, info=NEAR_TIP, **kw)
