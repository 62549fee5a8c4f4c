"""Native assets: information (supply, mint and burn counts, first mint, CIP-25 and CIP-68
metadata) by asset id or CIP-14 fingerprint, one or many in one query; the assets of a policy;
holders; mint and burn history; the transactions that touch an asset.

An asset is named by ``policyhex`` + ``namehex`` (optionally dot-separated, see
:func:`~dbsync_core.codecs.parse_asset_id`), an :class:`~dbsync_core.codecs.AssetId`, or its
``asset1…`` fingerprint. db-sync has no index on ``multi_asset.fingerprint`` (nor on
``ma_tx_out.ident`` and ``ma_tx_mint.ident``, which holders, history and supply need): add the
ones :mod:`dbsync_core.indexes` recommends before using these on a large database.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    LargeBinary,
    Numeric,
    String,
    bindparam,
    func,
    literal_column,
    select,
    true,
    type_coerce,
    union,
)
from sqlalchemy.dialects.postgresql import JSONB

from dbsync_core._exec import fetch_all, fetch_optional
from dbsync_core._outputs import MAX_BATCH, Shape, shape_of
from dbsync_core._rowbuild import RowMaker, function_maker, record_maker
from dbsync_core.accounts import _ONE, _json, _out_table, _unspent_row
from dbsync_core.codecs import AssetId, parse_asset_id, parse_fingerprint, parse_hash
from dbsync_core.exceptions import InvalidInputError
from dbsync_core.layout import Layout, layout_of
from dbsync_core.query import Keyset, Query, make_query
from dbsync_core.records import Asset, AssetHolder, AssetMint, Tx
from dbsync_core.schema import (
    address,
    block,
    datum,
    ma_tx_mint,
    ma_tx_out,
    multi_asset,
    tx,
    tx_metadata,
    tx_out,
)
from dbsync_core.txs import BY_TX_ID_DESC, tx_maker, tx_select, utc

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import ColumnElement, FromClause, ScalarSelect, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "asset_holders",
    "asset_info",
    "asset_mints",
    "asset_txs",
    "assets_by_fingerprints",
    "assets_info",
    "fetch_asset",
    "fetch_asset_holders",
    "fetch_asset_mints",
    "fetch_asset_txs",
    "fetch_assets",
    "fetch_policy_assets",
    "policy_assets",
]

#: CIP-67 labels of the user tokens whose metadata is a CIP-68 reference token's datum
#: (222 NFT, 333 FT, 444 RFT), and the reference token's label (100).
CIP68_USER_LABELS = (b"\x00\x0d\xe1\x40", b"\x00\x14\xdf\x10", b"\x00\x1b\xc2\x80")
CIP68_REFERENCE_LABEL = b"\x00\x06\x43\xb0"

_ASSET_NAME_MAX = 32


def _id_pair(value: str | AssetId, arg: str) -> tuple[bytes, bytes]:
    """(policy, name) of an asset id (text or :class:`~dbsync_core.codecs.AssetId`)."""
    if isinstance(value, AssetId):
        policy, name = value.policy, value.name
        if not isinstance(policy, bytes) or len(policy) != 28:
            msg = f"{arg}: an AssetId's policy must be 28 bytes"
            raise InvalidInputError(msg)
        if not isinstance(name, bytes) or len(name) > _ASSET_NAME_MAX:
            msg = f"{arg}: an AssetId's name must be at most 32 bytes"
            raise InvalidInputError(msg)
        return policy, name
    parsed = parse_asset_id(value, arg=arg)
    return parsed.policy, parsed.name


def _asset_arg(value: str | AssetId, arg: str) -> tuple[str, dict[str, object]]:
    """("id", policy and name) or ("fingerprint", fingerprint) of an asset argument."""
    if isinstance(value, str) and value[:6].lower() == "asset1":
        return "fingerprint", {"fingerprint": parse_fingerprint(value, arg=arg)}
    policy, name = _id_pair(value, arg)
    return "id", {"policy": policy, "name": name}


def _ident(kind: str) -> ScalarSelect[Any]:
    """``multi_asset.id`` of the asset bound as ``policy`` and ``name``, or ``fingerprint``."""
    if kind == "fingerprint":
        wanted = multi_asset.c.fingerprint == bindparam("fingerprint", type_=String)
        return select(multi_asset.c.id).where(wanted).scalar_subquery()
    policy = type_coerce(multi_asset.c.policy, LargeBinary())
    name = type_coerce(multi_asset.c.name, LargeBinary())
    return (
        select(multi_asset.c.id)
        .where(
            policy == bindparam("policy", type_=LargeBinary),
            name == bindparam("name", type_=LargeBinary),
        )
        .scalar_subquery()
    )


# ------------------------------------------------------------------ asset information


def _cip25(entry: object, name: bytes) -> object:
    """The asset's entry in a label-721 policy object: keyed by the name as text, else hex."""
    if not isinstance(entry, dict):
        return None
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if text in entry:
            return entry[text]
    return entry.get(name.hex())


def _asset_row(row: Sequence[Any]) -> Asset:
    return _ASSET_MAKER.one(
        (row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
         _cip25(_json(row[9]), row[2]), _json(row[10]))
    )  # fmt: skip


_ASSET_MAKER = record_maker(Asset, 11)
ASSET_MAKER: RowMaker[Asset] = function_maker(_asset_row)


def _asset_key(record: Asset) -> tuple[object, ...]:
    return (record.id,)


def _bytea(hex_digits: bytes) -> ColumnElement[Any]:
    return literal_column(f"'\\x{hex_digits.hex()}'::bytea", LargeBinary())


@functools.cache
def _info_query(source: str) -> tuple[Select[Any], Keyset[Asset]]:
    """Asset information for ``source``: ``ids`` or ``fingerprints`` (arrays, in the order
    given) or ``policy`` (every asset of a policy, by id)."""
    ma = multi_asset
    mint = ma_tx_mint.alias("mint")
    positive = mint.c.quantity > literal_column("0")
    mints = (
        select(
            func.coalesce(func.sum(mint.c.quantity), literal_column("0")).label("supply"),
            func.count().filter(positive).label("mint_count"),
            func.count().filter(mint.c.quantity < literal_column("0")).label("burn_count"),
            func.min(mint.c.tx_id).filter(positive).label("first_tx_id"),
        )
        .where(mint.c.ident == ma.c.id)
        .lateral("mints")
    )
    first_tx = tx.alias("first_tx")
    first_block = block.alias("first_block")
    first_hash = select(first_tx.c.hash).where(first_tx.c.id == mints.c.first_tx_id)
    first_time = (
        select(utc(first_block.c.time))
        .select_from(first_tx.join(first_block, first_block.c.id == first_tx.c.block_id))
        .where(first_tx.c.id == mints.c.first_tx_id)
    )
    # CIP-25: the policy's object in the label-721 metadata of the latest mint carrying one.
    minted = ma_tx_mint.alias("minted")
    policy_hex = func.encode(ma.c.policy, literal_column("'hex'"))
    entry = tx_metadata.c.json.op("->", return_type=JSONB)(policy_hex)
    cip25 = (
        select(entry.label("entry"))
        .select_from(minted.join(tx_metadata, tx_metadata.c.tx_id == minted.c.tx_id))
        .where(
            minted.c.ident == ma.c.id,
            minted.c.quantity > literal_column("0"),
            type_coerce(tx_metadata.c.key, Numeric(20, 0)) == literal_column("721"),
            entry.is_not(None),
        )
        .order_by(minted.c.tx_id.desc(), tx_metadata.c.id.desc())
        .limit(_ONE)
        .lateral("cip25")
    )
    # CIP-68: the inline datum of the latest output holding the (100) reference token.
    ref = ma.alias("reference")
    held = ma_tx_out.alias("reference_held")
    label = func.substring(ma.c.name, _ONE, literal_column("4"))
    reference_name = _bytea(CIP68_REFERENCE_LABEL).op("||", return_type=LargeBinary())(
        func.substring(ma.c.name, literal_column("5"))
    )
    cip68 = (
        select(datum.c.value.label("value"))
        .select_from(
            ref.join(held, held.c.ident == ref.c.id)
            .join(tx_out, tx_out.c.id == held.c.tx_out_id)
            .join(datum, datum.c.id == tx_out.c.inline_datum_id)
        )
        .where(
            label.in_([_bytea(prefix) for prefix in CIP68_USER_LABELS]),
            type_coerce(ref.c.policy, LargeBinary()) == type_coerce(ma.c.policy, LargeBinary()),
            type_coerce(ref.c.name, LargeBinary()) == reference_name,
        )
        .order_by(held.c.tx_out_id.desc())
        .limit(_ONE)
        .lateral("cip68")
    )
    source_from: FromClause = ma
    order: list[Any] = [ma.c.id]
    conditions: list[ColumnElement[bool]] = []
    if source == "ids":
        wanted = func.unnest(
            bindparam("policies", type_=ARRAY(LargeBinary)),
            bindparam("names", type_=ARRAY(LargeBinary)),
        ).table_valued("policy", "name", with_ordinality="ord")
        wanted = wanted.render_derived("wanted", with_types=False)
        source_from = wanted.join(
            ma,
            (type_coerce(ma.c.policy, LargeBinary()) == wanted.c.policy)
            & (type_coerce(ma.c.name, LargeBinary()) == wanted.c.name),
        )
        order = [wanted.c.ord]
    elif source == "fingerprints":
        wanted = func.unnest(bindparam("fingerprints", type_=ARRAY(String))).table_valued(
            "fingerprint", with_ordinality="ord"
        )
        wanted = wanted.render_derived("wanted", with_types=False)
        source_from = wanted.join(ma, ma.c.fingerprint == wanted.c.fingerprint)
        order = [wanted.c.ord]
    else:
        policy = type_coerce(ma.c.policy, LargeBinary())
        conditions.append(policy == bindparam("policy", type_=LargeBinary))
    statement = (
        select(
            ma.c.id,
            ma.c.policy,
            ma.c.name,
            ma.c.fingerprint,
            mints.c.supply,
            mints.c.mint_count,
            mints.c.burn_count,
            first_hash.scalar_subquery().label("first_mint_tx_hash"),
            first_time.scalar_subquery().label("first_mint_time"),
            cip25.c.entry.label("cip25"),
            cip68.c.value.label("cip68"),
        )
        .select_from(
            source_from.join(mints, true()).outerjoin(cip25, true()).outerjoin(cip68, true())
        )
        .where(*conditions)
        .order_by(*order)
    )
    return statement, Keyset(((ma.c.id, False),), key=_asset_key)


def _ids_args(values: Iterable[str | AssetId], arg: str) -> dict[str, object]:
    if isinstance(values, str | bytes | bytearray | AssetId) or not hasattr(values, "__iter__"):
        msg = f"{arg}: expected an iterable of asset ids, got {type(values).__name__}"
        raise InvalidInputError(msg)
    policies: list[bytes] = []
    names: list[bytes] = []
    for index, value in enumerate(values):
        if index >= MAX_BATCH:
            msg = f"{arg}: expected at most {MAX_BATCH} assets"
            raise InvalidInputError(msg)
        item = f"{arg}[{index}]"
        if isinstance(value, str) and value[:6].lower() == "asset1":
            msg = f"{item}: a fingerprint; use assets_by_fingerprints for those"
            raise InvalidInputError(msg)
        policy, name = _id_pair(value, item)
        policies.append(policy)
        names.append(name)
    if not policies:
        msg = f"{arg}: expected at least one asset"
        raise InvalidInputError(msg)
    return {"policies": policies, "names": names}


def asset_info(asset: str | AssetId) -> Query[Asset]:
    """An asset's supply, mint and burn counts, first mint and CIP-25 / CIP-68 metadata, by
    asset id or fingerprint; no row for an unknown asset."""
    kind, params = _asset_arg(asset, "asset")
    if kind == "fingerprint":
        statement, _keyset = _info_query("fingerprints")
        return make_query(statement, ASSET_MAKER, {"fingerprints": [params["fingerprint"]]})
    statement, _keyset = _info_query("ids")
    return make_query(
        statement, ASSET_MAKER, {"policies": [params["policy"]], "names": [params["name"]]}
    )


def assets_info(assets: Iterable[str | AssetId]) -> Query[Asset]:
    """:func:`asset_info` for many asset ids in one query, in the order given."""
    statement, _keyset = _info_query("ids")
    return make_query(statement, ASSET_MAKER, _ids_args(assets, "assets"))


def assets_by_fingerprints(fingerprints: Iterable[str]) -> Query[Asset]:
    """:func:`asset_info` for many CIP-14 fingerprints in one query, in the order given.

    Needs the ``multi_asset(fingerprint)`` index of :mod:`dbsync_core.indexes` on a large
    database (db-sync has none)."""
    arg = "fingerprints"
    if isinstance(fingerprints, str | bytes) or not hasattr(fingerprints, "__iter__"):
        msg = f"{arg}: expected an iterable of fingerprints, got {type(fingerprints).__name__}"
        raise InvalidInputError(msg)
    found: list[str] = []
    for index, value in enumerate(fingerprints):
        if index >= MAX_BATCH:
            msg = f"{arg}: expected at most {MAX_BATCH} fingerprints"
            raise InvalidInputError(msg)
        found.append(parse_fingerprint(value, arg=f"{arg}[{index}]"))
    if not found:
        msg = f"{arg}: expected at least one fingerprint"
        raise InvalidInputError(msg)
    statement, _keyset = _info_query("fingerprints")
    return make_query(statement, ASSET_MAKER, {"fingerprints": found})


def policy_assets(policy: str | bytes) -> Query[Asset]:
    """Every asset of a minting policy (56 hex or 28 bytes), with its information, in creation
    order (keyset on id)."""
    statement, keyset = _info_query("policy")
    params = {"policy": parse_hash(policy, size=28, arg="policy")}
    return make_query(statement, ASSET_MAKER, params, keyset)


# ------------------------------------------------------------------ holders


def _holder_key(record: AssetHolder) -> tuple[object, ...]:
    return (record.address,)


@functools.cache
def _holders_query(
    shape: Shape, kind: str
) -> tuple[Select[Any], RowMaker[AssetHolder], Keyset[AssetHolder]]:
    out = _out_table(shape)
    source: FromClause = ma_tx_out.join(out, out.c.id == ma_tx_out.c.tx_out_id)
    text: ColumnElement[Any]
    if shape.address_table:
        source = source.join(address, address.c.id == out.c.address_id)
        text = address.c.address
    else:
        text = out.c.address
    # Byte order ("C"), whatever the database's collation: pages and sorted() agree.
    text = text.collate("C")
    held = (
        select(text.label("address"), func.sum(ma_tx_out.c.quantity).label("quantity"))
        .select_from(source)
        .where(ma_tx_out.c.ident == _ident(kind), _unspent_row(shape, out))
        .group_by(text)
        .subquery("holders")
    )
    statement = select(held.c.address, held.c.quantity).order_by(held.c.address)
    keyset = Keyset(((held.c.address, False),), key=_holder_key)
    return statement, Query.of(AssetHolder, statement).maker, keyset


def asset_holders(asset: str | AssetId, *, layout: Layout | None = None) -> Query[AssetHolder]:
    """The addresses holding the asset in unspent outputs, with the quantity each holds, in
    byte order of the address (keyset on it)."""
    kind, params = _asset_arg(asset, "asset")
    statement, maker, keyset = _holders_query(shape_of(layout), kind)
    return make_query(statement, maker, params, keyset)


# ------------------------------------------------------------------ mints and txs


def _mint_key(record: AssetMint) -> tuple[object, ...]:
    return (record.id,)


_BY_MINT_ID = Keyset(((ma_tx_mint.c.id, False),), key=_mint_key)


@functools.cache
def _mints_statement(kind: str) -> tuple[Select[Any], RowMaker[AssetMint]]:
    statement = (
        select(
            ma_tx_mint.c.id,
            tx.c.hash.label("tx_hash"),
            ma_tx_mint.c.quantity,
            block.c.block_no,
            utc(block.c.time).label("time"),
        )
        .select_from(
            ma_tx_mint.join(tx, tx.c.id == ma_tx_mint.c.tx_id).join(
                block, block.c.id == tx.c.block_id
            )
        )
        .where(ma_tx_mint.c.ident == _ident(kind))
        .order_by(ma_tx_mint.c.id)
    )
    return statement, Query.of(AssetMint, statement).maker


def asset_mints(asset: str | AssetId) -> Query[AssetMint]:
    """The asset's mints (positive quantity) and burns (negative), oldest first (keyset on
    id)."""
    kind, params = _asset_arg(asset, "asset")
    statement, maker = _mints_statement(kind)
    return make_query(statement, maker, params, _BY_MINT_ID)


@functools.cache
def _txs_statement(kind: str) -> Select[Any]:
    ident = _ident(kind)
    produced = (
        select(tx_out.c.tx_id.label("tx_id"))
        .select_from(ma_tx_out.join(tx_out, tx_out.c.id == ma_tx_out.c.tx_out_id))
        .where(ma_tx_out.c.ident == ident)
    )
    minted = select(ma_tx_mint.c.tx_id.label("tx_id")).where(ma_tx_mint.c.ident == ident)
    touched = union(produced, minted).subquery("touched")
    return tx_select().where(tx.c.id.in_(select(touched.c.tx_id))).order_by(tx.c.id.desc())


def asset_txs(asset: str | AssetId) -> Query[Tx]:
    """Transactions that minted or burned the asset or made an output holding it, newest first
    (keyset on tx id). ``prune`` deletes old spent outputs, and with them what they held."""
    kind, params = _asset_arg(asset, "asset")
    return make_query(_txs_statement(kind), tx_maker(), params, BY_TX_ID_DESC)


# ------------------------------------------------------------------ runners


async def fetch_asset(conn: AsyncConnection, asset: str | AssetId) -> Asset | None:
    """An asset's information by asset id or fingerprint, or None."""
    return await fetch_optional(conn, asset_info(asset))


async def fetch_assets(conn: AsyncConnection, assets: Iterable[str | AssetId]) -> list[Asset]:
    """Many assets (by asset id) in one query, in the order given (unknown ones skipped)."""
    return await fetch_all(conn, assets_info(assets))


async def fetch_policy_assets(conn: AsyncConnection, policy: str | bytes) -> list[Asset]:
    """Every asset of a policy (page :func:`policy_assets` for big ones)."""
    return await fetch_all(conn, policy_assets(policy))


async def fetch_asset_holders(conn: AsyncConnection, asset: str | AssetId) -> list[AssetHolder]:
    """Every holder of the asset (page :func:`asset_holders` for popular ones)."""
    asset_holders(asset)  # validate before any round trip
    return await fetch_all(conn, asset_holders(asset, layout=await layout_of(conn)))


async def fetch_asset_mints(conn: AsyncConnection, asset: str | AssetId) -> list[AssetMint]:
    """Every mint and burn of the asset, oldest first."""
    return await fetch_all(conn, asset_mints(asset))


async def fetch_asset_txs(conn: AsyncConnection, asset: str | AssetId) -> list[Tx]:
    """Every transaction that touched the asset, newest first (page :func:`asset_txs`)."""
    return await fetch_all(conn, asset_txs(asset))
