"""Who may store bundles (`api.services.quotas`): an API key, or an address with tokens at stake, each
within its quota of bundles no job references; a fresh key is refused before its body is read."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.indexer.projection import project_batch
from api.main import create_app
from api.services.quotas import UploadSlots
from api.settings import Settings
from gateway_protocol import API_KEY_HEADER, body_hash, request_headers
from jobs.bundle import repack_upload
from jobs.store import Cid
from tests.api.bundle_archives import JOB_FILES, tar_gz
from tests.api.gateway_keys import PROVIDER_ADDRESS, PROVIDER_KEY, TEST_API_KEY, TEST_GATEWAY, staked_in_tests
from tests.api.market_events import EventLog

FIRST = tar_gz(JOB_FILES)
SECOND = tar_gz({**JOB_FILES, "data/more.txt": b"another bundle"})


def canonical_size(archive: bytes) -> int:
    out = io.BytesIO()
    repack_upload(io.BytesIO(archive), out)
    return len(out.getvalue())


def upload(client: TestClient, archive: bytes, key: str | None = PROVIDER_KEY):  # type: ignore[no-untyped-def]
    headers = (
        request_headers(key, 31337, "POST", "/bundles", gateway=TEST_GATEWAY, body_hash=body_hash(archive))
        if key is not None
        else {API_KEY_HEADER: TEST_API_KEY}
    )
    return client.post("/bundles", files={"file": ("job.tar.gz", archive)}, headers=headers)


def written(settings: Settings) -> list[Path]:
    """Every file the uploads left: temporary files and store blocks."""
    places = [settings.upload_tmp_dir, settings.store_settings().store_dir / "blocks"]
    return [
        p for place in places if place is not None and place.exists() for p in place.rglob("*") if p.is_file()
    ]


def fresh_key(i: int) -> str:
    return "0x" + f"{i + 1:064x}"


@pytest.fixture
def tmp_settings(make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    return make_settings(upload_tmp_dir=tmp_path / "uploads")


def test_fresh_keys_are_refused_before_a_byte_is_written(tmp_settings: Settings) -> None:
    app = create_app(tmp_settings)
    app.state.gateway.upload_stake = staked_in_tests
    with TestClient(app) as client:
        for i in range(30):
            response = upload(client, FIRST, key=fresh_key(i))
            assert response.status_code == 403, response.text
            body = response.json()
            assert body["code"] == "stake_required" and "upload_min_tokens" in body["detail"]
        # Refused before the nonce is recorded: nothing about them reaches the database either.
        assert (
            app.state.gateway.db.connection().execute("SELECT COUNT(*) FROM used_nonces").fetchone()[0] == 0
        )
    assert written(tmp_settings) == [] and not tmp_settings.upload_tmp_dir.exists()  # type: ignore[union-attr]


def test_an_rpc_failure_is_a_503_naming_the_rpc_never_an_acceptance(tmp_settings: Settings) -> None:
    with TestClient(create_app(tmp_settings)) as client:  # the real lookup; nothing listens at rpc_url
        response = upload(client, FIRST)
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "rpc_url" in detail and tmp_settings.rpc_url.split("//")[1] in detail
    assert written(tmp_settings) == []


def test_an_address_with_stake_below_the_minimum_is_refused(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(upload_min_tokens=100))  # the test keys hold 50
    app.state.gateway.upload_stake = staked_in_tests
    with TestClient(app) as client:
        response = upload(client, FIRST)
    assert response.status_code == 403
    assert "has 50 tokens" in response.json()["detail"] and "at least 100" in response.json()["detail"]


@pytest.fixture
def quota_app(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[tuple[FastAPI, Settings]]:
    """Room for one of FIRST and SECOND, not both."""
    quota = canonical_size(FIRST) + canonical_size(SECOND) - 1
    settings = make_settings(upload_quota_bytes=quota, upload_tmp_dir=tmp_path / "uploads")
    app = create_app(settings)
    app.state.gateway.upload_stake = staked_in_tests
    yield app, settings


@pytest.mark.parametrize("key", [PROVIDER_KEY, None], ids=["signed", "api-key"])
def test_an_identity_stops_at_its_quota_until_a_job_references_its_bundles(
    quota_app: tuple[FastAPI, Settings], key: str | None
) -> None:
    app, settings = quota_app
    with TestClient(app) as client:
        first = upload(client, FIRST, key)
        assert first.status_code == 201, first.text
        refused = upload(client, SECOND, key)
        assert refused.status_code == 413, refused.text
        body = refused.json()
        assert body["code"] == "quota_exceeded"
        assert (
            "upload_quota_bytes" in body["detail"]
            and f"holds {canonical_size(FIRST)} bytes" in body["detail"]
        )
        assert f"quota of {settings.upload_quota_bytes} bytes" in body["detail"]
        assert [str(c) for c in app.state.gateway.store.pins()] == [first.json()["cid"]]

        # Once a job uses the first bundle, it no longer counts against the quota.
        jobs = EventLog()
        jobs.post(1, bundle=Cid.parse(first.json()["cid"]).to_chain())
        with app.state.gateway.db.write() as conn:
            project_batch(conn, jobs.events, {})
        assert upload(client, SECOND, key).status_code == 201


def test_the_quota_is_checked_from_content_length_before_reading(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(upload_quota_bytes=len(FIRST) // 2, upload_tmp_dir=tmp_path / "uploads")
    app = create_app(settings)
    app.state.gateway.upload_stake = staked_in_tests
    with TestClient(app) as client:
        response = upload(client, FIRST)
    assert response.status_code == 413 and response.json()["code"] == "quota_exceeded"
    assert written(settings) == [] and not (tmp_path / "uploads").exists()


def test_uploads_are_charged_to_the_uploader(client: TestClient) -> None:
    assert upload(client, FIRST).status_code == 201
    assert upload(client, SECOND, key=None).status_code == 201
    rows = client.app.state.gateway.db.connection().execute("SELECT uploaded_by FROM bundles").fetchall()  # type: ignore[attr-defined]
    owners = sorted(row[0] for row in rows)
    assert owners[0] == PROVIDER_ADDRESS and owners[1].startswith("api-key:")
    assert TEST_API_KEY not in owners[1], "the key itself is never stored"


def test_the_stored_size_counts_even_when_the_upload_is_smaller(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A compressed upload passes the Content-Length check; its canonical tar, which is what is stored, does
    not fit, so it is refused after the repack and nothing reaches the store."""
    assert len(FIRST) < canonical_size(FIRST)
    settings = make_settings(
        upload_quota_bytes=canonical_size(FIRST) - 1, upload_tmp_dir=tmp_path / "uploads"
    )
    app = create_app(settings)
    app.state.gateway.upload_stake = staked_in_tests
    with TestClient(app) as client:
        response = upload(client, FIRST)
        assert response.status_code == 413 and response.json()["code"] == "quota_exceeded"
        assert app.state.gateway.store.pins() == []
    assert written(settings) == []


def test_the_quota_is_checked_while_streaming_a_body_of_unknown_length(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(upload_quota_bytes=10_000, upload_tmp_dir=tmp_path / "uploads")
    app = create_app(settings)
    app.state.gateway.upload_stake = staked_in_tests
    data = bytes(range(256)) * 80  # 20,480 bytes
    form = (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="job.tar"\r\n\r\n'
        + data
        + b"\r\n--xyz--\r\n"
    )
    headers = request_headers(
        PROVIDER_KEY, 31337, "POST", "/bundles", gateway=TEST_GATEWAY, body_hash=body_hash(data)
    )
    headers["Content-Type"] = "multipart/form-data; boundary=xyz"
    with TestClient(app) as client:
        response = client.post("/bundles", content=iter([form[:5000], form[5000:]]), headers=headers)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "quota_exceeded" and "at least 10001 bytes" in response.json()["detail"]
    assert written(settings) == []


def test_an_identity_uploads_one_bundle_at_a_time() -> None:
    """Concurrent uploads of one identity wait for each other (both cannot fit in the same room of its
    quota); another identity's upload goes ahead."""

    async def scenario() -> tuple[list[str], int]:
        slots = UploadSlots()
        order: list[str] = []
        inside, release = asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with slots.hold("0xaa"):
                order.append("first in")
                inside.set()
                await release.wait()
                order.append("first out")

        async def second(identity: str, name: str) -> None:
            await inside.wait()
            async with slots.hold(identity):
                order.append(name)

        tasks = [
            asyncio.create_task(first()),
            asyncio.create_task(second("0xaa", "same identity in")),
            asyncio.create_task(second("api-key:1", "other identity in")),
        ]
        await inside.wait()
        for _ in range(10):
            await asyncio.sleep(0)
        order.append("release")
        release.set()
        await asyncio.gather(*tasks)
        return order, len(slots._slots)

    order, left = asyncio.run(scenario())
    assert order == ["first in", "other identity in", "release", "first out", "same identity in"]
    assert left == 0, "no slot is kept once its uploads are done"
