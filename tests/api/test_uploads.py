"""POST /bundles: canonical repack, manifest validation, size cap, hostile archives, nothing left behind."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from gateway_protocol import API_KEY_HEADER
from jobs.bundle import repack_upload
from jobs.store import EmbeddedStore
from tests.api.bundle_archives import HOSTILE, JOB_FILES, VALID_MANIFEST, tar_gz, zip_archive
from tests.api.gateway_keys import TEST_API_KEY

INDEX_BACKENDS = ("sqlite", "postgresql")
"""Each test that builds the gateway runs on both index backends (tests/api/conftest.py)."""

AUTH = {API_KEY_HEADER: TEST_API_KEY}


def upload(
    client: TestClient, data: bytes, filename: str = "job.tar.gz", headers: dict[str, str] | None = None
):  # type: ignore[no-untyped-def]
    return client.post(
        "/bundles", files={"file": (filename, data)}, headers=AUTH if headers is None else headers
    )


def stored_blocks(settings: Settings) -> list[Path]:
    root = settings.store_settings().store_dir / "blocks"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def pins(client: TestClient) -> list[str]:
    return [str(c) for c in client.app.state.gateway.store.pins()]  # type: ignore[attr-defined]


def test_upload_returns_the_cid_of_the_canonical_tar(client: TestClient, tmp_path: Path) -> None:
    archive = tar_gz(JOB_FILES)
    response = upload(client, archive)
    assert response.status_code == 201, response.text
    body = response.json()

    with (tmp_path / "canonical.tar").open("wb") as out:
        repack_upload(io.BytesIO(archive), out)
    expected = EmbeddedStore(tmp_path / "other-store").add_file(tmp_path / "canonical.tar", only_hash=True)
    assert body["cid"] == str(expected)
    assert body["size"] == (tmp_path / "canonical.tar").stat().st_size
    assert body["manifest"]["name"] == "digits-mlp" and body["manifest"]["resources"]["memory_mib"] == 512
    assert pins(client) == [body["cid"]]

    served = client.get(f"/ipfs/{body['cid']}")
    assert served.content == (tmp_path / "canonical.tar").read_bytes()
    manifest = client.get(f"/bundles/{body['cid']}/manifest").json()
    assert manifest == {"cid": body["cid"], "manifest": body["manifest"]}


def test_the_same_folder_gives_the_same_cid_in_any_archive_format(client: TestClient) -> None:
    first = upload(client, tar_gz(JOB_FILES, mtime=1)).json()["cid"]
    again = upload(client, tar_gz(JOB_FILES, mtime=2_000_000_000)).json()["cid"]
    zipped = upload(client, zip_archive(JOB_FILES), filename="job.zip")
    assert zipped.status_code == 201, zipped.text
    assert first == again == zipped.json()["cid"]
    assert pins(client) == [first]


def test_manifest_is_read_back_from_the_store_when_not_recorded(client: TestClient) -> None:
    cid = upload(client, tar_gz(JOB_FILES)).json()["cid"]
    client.app.state.gateway.db.connection().execute("DELETE FROM bundles")  # type: ignore[attr-defined]
    assert client.get(f"/bundles/{cid}/manifest").json()["manifest"]["name"] == "digits-mlp"
    assert (
        client.get(
            f"/bundles/{'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'}/manifest"
        ).status_code
        == 404
    )
    assert client.get("/bundles/not-a-cid/manifest").status_code == 400


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_archives_are_refused_and_leave_nothing(
    kind: str, client: TestClient, settings: Settings
) -> None:
    response = upload(client, HOSTILE[kind]())
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["code"] == "bundle_refused" and body["detail"].startswith("bundle refused: ")
    assert pins(client) == [] and stored_blocks(settings) == []


def test_bad_manifest_gets_422_naming_the_field(client: TestClient, settings: Settings) -> None:
    bad = VALID_MANIFEST.replace(b"memory_mib = 512", b"memory_mib = -1")
    response = upload(client, tar_gz({**JOB_FILES, "job.toml": bad}))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "manifest_invalid"
    assert [p["field"] for p in body["problems"]] == ["resources.memory_mib"]
    assert body["problems"][0]["value"] == "-1" and ">= 1" in body["problems"][0]["message"]
    assert pins(client) == [] and stored_blocks(settings) == []


def test_missing_manifest_gets_422(client: TestClient) -> None:
    files = {k: v for k, v in JOB_FILES.items() if k != "job.toml"}
    response = upload(client, tar_gz(files))
    assert response.status_code == 422 and response.json()["problems"][0]["field"] == "job.toml"


@pytest.fixture
def small_client(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(upload_max_bytes=4096, upload_tmp_dir=tmp_path / "uploads")
    with TestClient(create_app(settings)) as client:
        yield client


def test_oversize_upload_gets_413_and_leaves_nothing(small_client: TestClient, tmp_path: Path) -> None:
    response = upload(small_client, b"x" * 64 * 1024)
    assert response.status_code == 413 and response.json()["code"] == "upload_too_large"
    # Also when the body does not announce its length (chunked): the cap applies while streaming.
    boundary = "cc-boundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.tar"\r\n\r\n').encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(16):
            yield b"y" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = small_client.post(
        "/bundles",
        content=chunks(),
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert streamed.status_code == 413
    assert list((tmp_path / "uploads").iterdir()) == []
    assert pins(small_client) == []


def test_upload_needs_credentials_before_the_body_is_read(client: TestClient, settings: Settings) -> None:
    response = upload(client, tar_gz(JOB_FILES), headers={})
    assert response.status_code == 401 and "authentication required" in response.json()["detail"]
    assert stored_blocks(settings) == []


def test_malformed_requests_get_400(client: TestClient) -> None:
    assert client.post("/bundles", content=b"raw", headers=AUTH).status_code == 400
    no_file = client.post("/bundles", data={"other": "x"}, files={"x": ("a", b"b")}, headers=AUTH)
    assert no_file.status_code == 400 and "'file'" in no_file.json()["detail"]


def test_a_failure_after_adding_leaves_nothing_pinned_or_stored(
    app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = app.state.gateway

    def broken_write() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    with TestClient(app, raise_server_exceptions=False) as client:
        monkeypatch.setattr(gateway.db, "write", broken_write)
        response = upload(client, tar_gz(JOB_FILES))
        assert response.status_code == 500
        assert gateway.store.pins() == [] and stored_blocks(settings) == []
        monkeypatch.undo()
        # A bundle that was pinned before keeps its pin when a later upload of it fails.
        cid = upload(client, tar_gz(JOB_FILES)).json()["cid"]
        monkeypatch.setattr(gateway.db, "write", broken_write)
        assert upload(client, tar_gz(JOB_FILES)).status_code == 500
        assert [str(c) for c in gateway.store.pins()] == [cid]
