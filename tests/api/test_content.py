"""GET /ipfs/{cid}: verified bytes, HTTP ranges, ETag, and damaged blocks never served."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jobs.store import Cid, EmbeddedStore

CHUNK = 256 * 1024


def content(size: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def store_of(app: FastAPI) -> EmbeddedStore:
    store = app.state.gateway.store
    assert isinstance(store, EmbeddedStore)
    return store


def corrupt(store: EmbeddedStore, cid: Cid) -> None:
    path = store.blocks.path(cid.digest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def leaves(store: EmbeddedStore, root: Cid) -> list[Cid]:
    from jobs.store.exporter import child_cids

    return child_cids(root, store.get_block(root))


@pytest.fixture
def big(app: FastAPI) -> tuple[str, bytes]:
    data = content(3 * CHUNK + 1000)  # four raw leaves under one dag-pb root
    return str(store_of(app).add_bytes(data)), data


def test_whole_content_with_etag_and_length(client: TestClient, big: tuple[str, bytes]) -> None:
    cid, data = big
    response = client.get(f"/ipfs/{cid}")
    assert response.status_code == 200 and response.content == data
    assert response.headers["etag"] == f'"{cid}"'
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert client.get(f"/ipfs/{cid}", headers={"If-None-Match": f'"{cid}"'}).status_code == 304


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        (f"bytes={CHUNK - 5}-{CHUNK + 5}", CHUNK - 5, CHUNK + 5),  # across a block boundary
        (f"bytes={2 * CHUNK}-", 2 * CHUNK, 3 * CHUNK + 999),
        ("bytes=-100", 3 * CHUNK + 900, 3 * CHUNK + 999),
        ("bytes=10-99999999", 10, 3 * CHUNK + 999),
    ],
)
def test_ranges(client: TestClient, big: tuple[str, bytes], header: str, start: int, end: int) -> None:
    cid, data = big
    response = client.get(f"/ipfs/{cid}", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == data[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
    assert response.headers["content-length"] == str(end - start + 1)


def test_unsatisfiable_and_ignored_ranges(client: TestClient, big: tuple[str, bytes]) -> None:
    cid, data = big
    past = client.get(f"/ipfs/{cid}", headers={"Range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(data)}"
    several = client.get(f"/ipfs/{cid}", headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == data


def test_missing_and_malformed_cids(client: TestClient) -> None:
    assert client.get("/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku").status_code == 404
    assert client.get("/ipfs/hello").status_code == 400


def test_a_tampered_single_block_is_never_served(client: TestClient) -> None:
    data = b"model weights\n" * 100
    store = store_of(client.app)  # type: ignore[arg-type]
    cid = store.add_bytes(data)
    corrupt(store, cid)
    response = client.get(f"/ipfs/{cid}")
    assert response.status_code == 500
    assert response.json()["code"] == "content_corrupted"
    assert data[:50] not in response.content


def test_a_tampered_first_leaf_is_an_error_response(client: TestClient, big: tuple[str, bytes]) -> None:
    cid, _ = big
    store = store_of(client.app)  # type: ignore[arg-type]
    corrupt(store, leaves(store, Cid.parse(cid))[0])
    response = client.get(f"/ipfs/{cid}")
    assert response.status_code == 500 and response.json()["code"] == "content_corrupted"
    ranged = client.get(
        f"/ipfs/{cid}", headers={"Range": f"bytes={CHUNK}-"}
    )  # skips the bad leaf? still read
    assert ranged.status_code == 500


def test_a_tampered_later_leaf_aborts_the_transfer(
    app: FastAPI, live_url: str, big: tuple[str, bytes]
) -> None:
    cid, data = big
    store = store_of(app)
    bad = leaves(store, Cid.parse(cid))[2]
    corrupt(store, bad)
    received = bytearray()
    with (
        pytest.raises(httpx.HTTPError),
        httpx.stream("GET", f"{live_url}/ipfs/{cid}", timeout=10) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
    # Everything before the damaged block arrived; nothing of it or after it did.
    assert len(received) <= 2 * CHUNK
    assert bytes(received) == data[: len(received)]


# -- RFC 9110: HEAD, conditional requests, and ranges that are absurd rather than well-formed -----------


def test_head_answers_the_headers_of_get_without_the_content(
    client: TestClient, live_url: str, big: tuple[str, bytes]
) -> None:
    cid, data = big
    for response in (client.head(f"/ipfs/{cid}"), httpx.head(f"{live_url}/ipfs/{cid}", timeout=10)):
        assert response.status_code == 200 and response.content == b""
        assert response.headers["content-length"] == str(len(data))
        assert response.headers["etag"] == f'"{cid}"' and response.headers["accept-ranges"] == "bytes"
        assert "immutable" in response.headers["cache-control"]
        assert response.headers["content-type"] == "application/octet-stream"
    # Range is defined for GET only: HEAD describes the whole content.
    ranged = client.head(f"/ipfs/{cid}", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 200 and ranged.headers["content-length"] == str(len(data))
    assert client.head(f"/ipfs/{cid}", headers={"If-None-Match": f'"{cid}"'}).status_code == 304
    assert client.head("/ipfs/hello").status_code == 400
    assert client.head("/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku").status_code == 404


@pytest.mark.parametrize(
    "header",
    ['"{cid}"', 'W/"{cid}"', '"other", "{cid}"', '"a,b", W/"{cid}" ', "*"],
)
def test_if_none_match_compares_entity_tags(client: TestClient, big: tuple[str, bytes], header: str) -> None:
    cid, _ = big
    response = client.get(f"/ipfs/{cid}", headers={"If-None-Match": header.format(cid=cid)})
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == f'"{cid}"' and "immutable" in response.headers["cache-control"]


@pytest.mark.parametrize("header", ['"other"', '"{cid}x"', "{cid}", '"{cid}', 'W/"other", "x"'])
def test_if_none_match_of_other_tags_gets_the_content(
    client: TestClient, big: tuple[str, bytes], header: str
) -> None:
    cid, data = big
    response = client.get(f"/ipfs/{cid}", headers={"If-None-Match": header.format(cid=cid)})
    assert response.status_code == 200 and response.content == data


def test_if_none_match_is_judged_only_after_the_cid(client: TestClient) -> None:
    """A garbage path is a 400 and content we do not hold a 404, whatever the condition says."""
    assert client.get("/ipfs/garbage", headers={"If-None-Match": '"garbage"'}).status_code == 400
    assert client.get("/ipfs/garbage", headers={"If-None-Match": "*"}).status_code == 400
    missing = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert client.get(f"/ipfs/{missing}", headers={"If-None-Match": f'"{missing}"'}).status_code == 404
    assert client.get(f"/ipfs/{missing}", headers={"If-None-Match": "*"}).status_code == 404


@pytest.mark.parametrize(
    ("if_range", "ranged"),
    [
        ('"{cid}"', True),
        ('W/"{cid}"', False),  # If-Range compares strongly: a weak tag never matches
        ('"other"', False),
        ("Wed, 21 Oct 2015 07:28:00 GMT", False),  # no Last-Modified is sent, so no date matches
    ],
)
def test_if_range_other_than_the_etag_gets_the_whole_content(
    client: TestClient, big: tuple[str, bytes], if_range: str, ranged: bool
) -> None:
    cid, data = big
    response = client.get(
        f"/ipfs/{cid}", headers={"Range": "bytes=0-9", "If-Range": if_range.format(cid=cid)}
    )
    if ranged:
        assert response.status_code == 206 and response.content == data[:10]
    else:
        assert response.status_code == 200 and response.content == data
        assert "content-range" not in response.headers


@pytest.mark.parametrize(
    ("header", "status", "start", "end"),
    [
        ("bytes=" + "9" * 5000 + "-", 416, 0, 0),  # past the end, however long the number
        ("bytes=0-" + "9" * 5000, 206, 0, 3 * CHUNK + 999),  # the last position clipped
        ("bytes=-" + "9" * 5000, 206, 0, 3 * CHUNK + 999),  # a suffix longer than the content: all of it
        ("bytes=" + "0" * 5000 + "5-9", 206, 5, 9),  # leading zeros are still the same number
        ("bytes=5-" + "1" * 30, 206, 5, 3 * CHUNK + 999),
        ("BYTES=0-9", 206, 0, 9),  # the unit is case-insensitive
    ],
)
def test_absurd_ranges_are_clipped_refused_or_ignored_never_a_server_error(
    client: TestClient, big: tuple[str, bytes], header: str, status: int, start: int, end: int
) -> None:
    cid, data = big
    response = client.get(f"/ipfs/{cid}", headers={"Range": header})
    assert response.status_code == status
    if status == 416:
        assert response.headers["content-range"] == f"bytes */{len(data)}"
        assert response.json()["code"] == "range_not_satisfiable"
    else:
        assert response.content == data[start : end + 1]
