"""POST /bundles under the gateway's own bundle limits (`bundle_max_*` settings): archives the generic
limits of `jobs.bundle` admit, refused with 413 naming the limit and the setting, leaving nothing behind."""

from __future__ import annotations

import io
import random
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from gateway_protocol import API_KEY_HEADER
from jobs.bundle import DEFAULT_LIMITS
from tests.api.bundle_archives import JOB_FILES, tar_gz
from tests.api.gateway_keys import TEST_API_KEY

AUTH = {API_KEY_HEADER: TEST_API_KEY}
DEFAULT_MAX_FILES = 10_000  # the defaults of bundle_max_files and bundle_max_ratio
DEFAULT_MAX_RATIO = 100.0


def upload(client: TestClient, data: bytes, filename: str):  # type: ignore[no-untyped-def]
    return client.post("/bundles", files={"file": (filename, data)}, headers=AUTH)


def many_empty_files_zip(count: int) -> bytes:
    """A valid job plus `count` empty files: tiny, and cheap for the generic limits (100,000 entries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in JOB_FILES.items():
            archive.writestr(name, data)
        for index in range(count):
            archive.writestr(f"empty/{index}", b"")
    return buffer.getvalue()


def many_empty_files_tar_gz(count: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in JOB_FILES.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for index in range(count):
            archive.addfile(tarfile.TarInfo(f"empty/{index}"))
    return buffer.getvalue()


def sparse_data(size: int) -> bytes:
    """Mostly zeros with a random byte every 500: gzip shrinks it about 146x (under the generic 200x)."""
    rng = random.Random(15)
    return b"".join(bytes(500) + rng.randbytes(1) for _ in range(size // 501))


@pytest.fixture
def pins_and_blocks(settings: Settings, client: TestClient) -> Callable[[], tuple[list[object], list[Path]]]:
    def read() -> tuple[list[object], list[Path]]:
        root = settings.store_settings().store_dir / "blocks"
        blocks = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        return list(client.app.state.gateway.store.pins()), blocks  # type: ignore[attr-defined]

    return read


def assert_refused(response, setting: str, limit: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["code"] == "bundle_refused" and body["detail"].startswith("bundle refused: ")
    assert setting in body["detail"] and f"CROWDCOMPUTE_GATEWAY_{setting.upper()}" in body["detail"]
    assert limit in body["detail"]


@pytest.mark.parametrize(
    ("build", "filename"),
    [(many_empty_files_zip, "job.zip"), (many_empty_files_tar_gz, "job.tar.gz")],
)
def test_more_files_than_bundle_max_files_is_413(
    client: TestClient,
    pins_and_blocks: Callable[[], tuple[list[object], list[Path]]],
    build: Callable[[int], bytes],
    filename: str,
) -> None:
    count = DEFAULT_MAX_FILES  # with the job's own files and folders: past the limit
    assert count + 10 < DEFAULT_LIMITS.max_files  # what the generic limits would take
    response = upload(client, build(count), filename)
    assert_refused(response, "bundle_max_files", str(DEFAULT_MAX_FILES))
    assert pins_and_blocks() == ([], [])


def test_a_compression_ratio_past_bundle_max_ratio_is_413(
    client: TestClient, pins_and_blocks: Callable[[], tuple[list[object], list[Path]]]
) -> None:
    archive = tar_gz({**JOB_FILES, "data/sparse.bin": sparse_data(4 * 1024 * 1024)})
    ratio = 4 * 1024 * 1024 / len(archive)
    assert DEFAULT_MAX_RATIO < ratio < DEFAULT_LIMITS.max_ratio
    assert_refused(upload(client, archive, "job.tar.gz"), "bundle_max_ratio", f"{DEFAULT_MAX_RATIO:g}")
    assert pins_and_blocks() == ([], [])


@pytest.fixture
def tight_client(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(bundle_max_unpacked_bytes=1024 * 1024, upload_tmp_dir=tmp_path / "uploads")
    with TestClient(create_app(settings)) as client:
        yield client


def test_unpacking_past_bundle_max_unpacked_bytes_is_413_and_leaves_no_temporary_files(
    tight_client: TestClient, tmp_path: Path
) -> None:
    incompressible = random.Random(7).randbytes(1024 * 1024 + 1)
    response = upload(tight_client, tar_gz({**JOB_FILES, "weights.bin": incompressible}), "job.tar.gz")
    assert_refused(response, "bundle_max_unpacked_bytes", "1048576 bytes")
    assert list((tmp_path / "uploads").iterdir()) == []
    assert list(tight_client.app.state.gateway.store.pins()) == []  # type: ignore[attr-defined]


def test_a_bundle_within_the_limits_is_stored(tight_client: TestClient) -> None:
    response = upload(tight_client, tar_gz({**JOB_FILES, "data/sparse.bin": bytes(512 * 1024)}), "j.tar.gz")
    assert response.status_code == 201, response.text


def test_the_defaults_are_the_documented_ones(settings: Settings) -> None:
    assert settings.bundle_max_files == DEFAULT_MAX_FILES and settings.bundle_max_ratio == DEFAULT_MAX_RATIO
    assert settings.bundle_max_unpacked_bytes == 1024**3
