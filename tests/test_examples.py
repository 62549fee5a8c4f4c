"""The examples in examples/ run against a synthetic chain and answer what the truth says."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from dbsync_core.records import AssetAmount, Utxo
from dbsync_core.serialize import dumps, to_jsonable
from examples.fastapi_app import create_app


def test_records_become_json_types():
    """Records, bytes, datetimes, Decimals and nested tuples become plain JSON values."""
    utxo = Utxo(
        id=7, tx_hash=b"\xab" * 32, index=1, address="addr1x", stake_address=None,
        value=2**70, assets=(AssetAmount(b"\x01" * 28, b"Tok", "asset1x", 5),),
        data_hash=None, inline_datum_hash=b"\x02", reference_script_hash=None,
    )  # fmt: skip
    doc = to_jsonable(utxo)
    assert doc["tx_hash"] == "ab" * 32
    assert doc["value"] == 2**70
    assert doc["assets"] == [
        {"policy": "01" * 28, "name": "546f6b", "fingerprint": "asset1x", "quantity": 5}
    ]
    assert json.loads(dumps(utxo)) == doc
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert to_jsonable({"t": when, "d": Decimal(5), "f": Decimal("1.5")}) == {
        "t": "2024-01-02T03:04:05+00:00", "d": 5, "f": "1.5",
    }  # fmt: skip
    with pytest.raises(TypeError, match="object"):
        to_jsonable(object())


@pytest.fixture(scope="module")
async def api(dbsync_chain_factory):
    db = await dbsync_chain_factory(txs=2500, seed=11)
    app = create_app(create_async_engine(db.url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://example") as client:
        yield client, db.report
    await app.state.engine.dispose()


async def test_fastapi_example_answers_from_the_chain(api):
    """Tip, tx, balance, paged UTxOs and epochs come back as JSON matching the truth."""
    client, report = api
    truth = report.truth
    tip = (await client.get("/tip")).json()
    assert tip["id"] == truth.blocks[-1].id
    tx = next(t for t in truth.txs if t.block_id > 1 and t.outputs)
    got = (await client.get(f"/txs/{tx.hash.hex()}")).json()
    assert (got["fee"], got["out_sum"]) == (tx.fee, tx.out_sum)
    utxos = (await client.get(f"/txs/{tx.hash.hex()}/utxos")).json()
    assert [o["value"] for o in utxos["outputs"]] == [truth.outputs[o].value for o in tx.outputs]
    heavy = report.heavy_address
    balance = (await client.get(f"/addresses/{heavy}")).json()
    assert balance["lovelace"] == truth.balance(heavy)[0]
    ids: list[int] = []
    cursor = None
    while True:
        params = {"count": 200} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"/addresses/{heavy}/utxos", params=params)).json()
        ids += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ids == [o.id for o in truth.utxos(heavy)]
    history = (await client.get(f"/addresses/{heavy}/txs", params={"count": 5})).json()
    assert [t["id"] for t in history["items"]] == truth.address_txs(heavy)[:5]
    epoch = (await client.get(f"/epochs/{truth.tip_epoch}")).json()
    assert epoch["summary"]["tx_count"] == truth.epochs[truth.tip_epoch].tx_count
    health = (await client.get("/health/database")).json()
    assert health["tip"] == truth.blocks[-1].block_no


async def test_fastapi_example_maps_errors(api):
    """Malformed input is a 400 naming the argument; unknown keys and epochs are 404s."""
    client, _report = api
    bad = await client.get("/txs/not-a-hash")
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("tx_hash")
    assert (await client.get("/addresses/addr1bogus")).status_code == 400
    assert (await client.get("/blocks/latest", params={"limit": 0})).status_code == 400
    assert (await client.get("/addresses/x/utxos", params={"cursor": "garbage"})).status_code == 400
    assert (await client.get(f"/txs/{'00' * 32}")).status_code == 404
    assert (await client.get("/epochs/99999")).status_code == 404
