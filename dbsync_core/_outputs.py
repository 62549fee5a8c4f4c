"""Transaction outputs in every db-sync layout: the SQL fragments the catalogue shares.

db-sync stores outputs two ways (``tx_out.address`` or ``tx_out.address_id`` → ``address``) and
marks them spent two ways (a ``tx_in`` row naming the producing *tx id* and index, or
``tx_out.consumed_by_tx_id``). :func:`output_view` hides both behind one subquery with the same
columns, so a query is written once and specialised per :class:`Shape`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import (
    ARRAY,
    LargeBinary,
    String,
    and_,
    any_,
    bindparam,
    exists,
    func,
    null,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from dbsync_core.codecs import parse_address
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.layout import DEFAULT_LAYOUT, Layout
from dbsync_core.records import AssetAmount
from dbsync_core.schema import (
    address,
    datum,
    ma_tx_out,
    multi_asset,
    script,
    stake_address,
    tx,
    tx_in,
    tx_out,
    tx_out_address,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import ColumnElement, Subquery

__all__ = [
    "MAX_BATCH",
    "AddressArgs",
    "Shape",
    "address_args",
    "address_filter",
    "assets_of",
    "output_view",
    "shape_of",
    "spent_by_hash",
    "unspent",
    "utxo_columns",
]

#: The most keys one batch call takes (one array parameter, one query).
MAX_BATCH = 10_000


@attrs.frozen
class Shape:
    """The two layout facts output queries depend on."""

    address_table: bool
    spent: str  # "tx_in", "consumed" or "prune"

    @property
    def by_tx_in(self) -> bool:
        """Spent outputs are found through ``tx_in`` rows (else ``consumed_by_tx_id``)."""
        return self.spent == "tx_in"


def shape_of(layout: Layout | None) -> Shape:
    """The :class:`Shape` of ``layout`` (db-sync's defaults when None)."""
    if layout is None:
        layout = DEFAULT_LAYOUT
    elif not isinstance(layout, Layout):
        msg = f"layout: expected a Layout, got {type(layout).__name__}"
        raise InvalidInputError(msg)
    return Shape(layout.address_table, layout.spent)


@functools.cache
def output_view(shape: Shape) -> Subquery:
    """Every output as one row: ids, address, stake address, value, assets, datum, script.

    Assets come as four parallel arrays (policies, names, fingerprints, quantities) from a
    LATERAL aggregate, ordered by ``ma_tx_out.id``; :func:`assets_of` turns them into records.
    """
    o = tx_out_address if shape.address_table else tx_out
    produced = tx.alias("produced")
    stake = stake_address.alias("out_stake")
    inline = datum.alias("out_datum")
    ref_script = script.alias("out_script")
    m = ma_tx_out.alias("m")
    ma = multi_asset.alias("ma")
    order = m.c.id
    assets = (
        select(
            func.array_agg(aggregate_order_by(ma.c.policy, order)).label("policies"),
            func.array_agg(aggregate_order_by(ma.c.name, order)).label("names"),
            func.array_agg(aggregate_order_by(ma.c.fingerprint, order)).label("fingerprints"),
            func.array_agg(aggregate_order_by(m.c.quantity, order)).label("quantities"),
        )
        .select_from(m.join(ma, ma.c.id == m.c.ident))
        .where(m.c.tx_out_id == o.c.id)
        .lateral("out_assets")
    )
    source = (
        o.join(produced, produced.c.id == o.c.tx_id)
        .outerjoin(stake, stake.c.id == o.c.stake_address_id)
        .outerjoin(inline, inline.c.id == o.c.inline_datum_id)
        .outerjoin(ref_script, ref_script.c.id == o.c.reference_script_id)
    )
    if shape.address_table:
        source = source.join(address, address.c.id == o.c.address_id)
        address_text: Any = address.c.address
        payment_cred: Any = address.c.payment_cred
        address_id: Any = o.c.address_id
    else:
        address_text = o.c.address
        payment_cred = o.c.payment_cred
        address_id = null()
    source = source.outerjoin(assets, true())
    return (
        select(
            o.c.id,
            o.c.tx_id,
            produced.c.hash.label("tx_hash"),
            o.c.index,
            address_text.label("address"),
            payment_cred.label("payment_cred"),
            address_id.label("address_id"),
            stake.c.view.label("stake_address"),
            o.c.stake_address_id,
            o.c.value,
            assets.c.policies,
            assets.c.names,
            assets.c.fingerprints,
            assets.c.quantities,
            o.c.data_hash,
            inline.c.hash.label("inline_datum_hash"),
            ref_script.c.hash.label("reference_script_hash"),
            o.c.consumed_by_tx_id,
        )
        .select_from(source)
        .subquery("ov")
    )


def utxo_columns(ov: Subquery) -> tuple[ColumnElement[Any], ...]:
    """The columns of a :class:`~dbsync_core.records.Utxo` row (assets as four arrays)."""
    c = ov.c
    return (
        c.id, c.tx_hash, c.index, c.address, c.stake_address, c.value, c.policies, c.names,
        c.fingerprints, c.quantities, c.data_hash, c.inline_datum_hash, c.reference_script_hash,
    )  # fmt: skip


def unspent(shape: Shape, ov: Subquery) -> ColumnElement[bool]:
    """True for the rows of ``ov`` that no transaction has spent."""
    if shape.by_tx_in:
        return ~exists().where(tx_in.c.tx_out_id == ov.c.tx_id, tx_in.c.tx_out_index == ov.c.index)
    return ov.c.consumed_by_tx_id.is_(None)


def spent_by_hash(shape: Shape, ov: Subquery) -> ColumnElement[Any]:
    """The hash of the transaction that spent the row of ``ov`` (NULL while unspent)."""
    spender = tx.alias("spender")
    if shape.by_tx_in:
        return (
            select(spender.c.hash)
            .select_from(tx_in.join(spender, spender.c.id == tx_in.c.tx_in_id))
            .where(tx_in.c.tx_out_id == ov.c.tx_id, tx_in.c.tx_out_index == ov.c.index)
            .limit(1)
            .scalar_subquery()
        )
    return select(spender.c.hash).where(spender.c.id == ov.c.consumed_by_tx_id).scalar_subquery()


def assets_of(
    policies: Sequence[bytes] | None,
    names: Sequence[bytes] | None,
    fingerprints: Sequence[str] | None,
    quantities: Sequence[int] | None,
) -> tuple[AssetAmount, ...]:
    """The asset records of one output (or aggregate) from the four parallel arrays."""
    if not policies:
        return ()
    return tuple(map(AssetAmount, policies, names or (), fingerprints or (), quantities or ()))


# ------------------------------------------------------------------------- address arguments


@attrs.frozen
class AddressArgs:
    """Parsed addresses as the array parameters of :func:`address_filter`."""

    texts: list[str]
    creds: list[bytes]
    raws: list[bytes]
    #: Every address is a Shelley one (has a payment credential): the indexed path applies.
    all_shelley: bool


def address_args(values: Iterable[str], *, arg: str) -> AddressArgs:
    """Validate a batch of addresses (bech32 or Base58); InvalidInputError before any SQL."""
    if isinstance(values, str | bytes | bytearray) or not hasattr(values, "__iter__"):
        msg = f"{arg}: expected an iterable of address strings, got {type(values).__name__}"
        raise InvalidInputError(msg)
    texts: list[str] = []
    creds: list[bytes] = []
    raws: list[bytes] = []
    all_shelley = True
    for index, value in enumerate(values):
        if index >= MAX_BATCH:
            msg = f"{arg}: expected at most {MAX_BATCH} addresses"
            raise InvalidInputError(msg)
        parsed = parse_address(value, arg=f"{arg}[{index}]")
        texts.append(parsed.text)
        raws.append(parsed.raw)
        if parsed.payment_cred is None:
            all_shelley = False
        else:
            creds.append(parsed.payment_cred)
    if not texts:
        msg = f"{arg}: expected at least one address"
        raise InvalidInputError(msg)
    return AddressArgs(texts, creds, raws, all_shelley)


def address_filter(shape: Shape, ov: Subquery, *, indexed: bool) -> ColumnElement[bool]:
    """Rows of ``ov`` at the addresses bound as ``addrs`` (and ``creds`` / ``raws``).

    Core layout: ``tx_out.address`` has no index in db-sync, so Shelley addresses are found
    through the (stage-4) ``payment_cred`` index and then matched exactly (``indexed=True``);
    Byron addresses only by text. Address-table layout: through ``address.raw`` (hash index).
    """
    if shape.address_table:
        ids = select(address.c.id).where(
            type_coerce(address.c.raw, LargeBinary())
            == any_(bindparam("raws", type_=ARRAY(LargeBinary)))
        )
        return ov.c.address_id.in_(ids)
    by_text = ov.c.address == any_(bindparam("addrs", type_=ARRAY(String)))
    if not indexed:
        return by_text
    by_cred = ov.c.payment_cred == any_(bindparam("creds", type_=ARRAY(LargeBinary)))
    return and_(by_cred, by_text)


def address_params(shape: Shape, args: AddressArgs) -> dict[str, object]:
    """The bind values :func:`address_filter` needs."""
    if shape.address_table:
        return {"raws": args.raws}
    if args.all_shelley:
        return {"addrs": args.texts, "creds": args.creds}
    return {"addrs": args.texts}
