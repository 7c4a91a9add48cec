"""POST /jobs/{id}/results/{cid}: the job's provider publishes its result; anyone else, other bytes, or too
many bytes are refused and leave nothing in the store."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.indexer.projection import project_batch
from api.services.results import result_limit
from api.settings import Settings
from gateway_protocol import API_KEY_HEADER, body_hash, request_headers
from jobs.store import Cid, import_stream
from tests.api.bundle_archives import JOB_FILES, tar_gz
from tests.api.gateway_keys import OTHER_KEY, PROVIDER_ADDRESS, PROVIDER_KEY, TEST_API_KEY, TEST_GATEWAY
from tests.api.market_events import EventLog

MAX_SIZE_MIB = 10  # tests/api/bundle_archives.py's manifest


def packed(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


RESULT = packed({"model.pt": b"weights" * 1000, "checkpoints/ckpt_0.pt": b"c0" * 100_000})


def cid_of(data: bytes) -> Cid:
    return import_stream(io.BytesIO(data)).cid


@pytest.fixture
def jobs(client: TestClient, app: FastAPI) -> EventLog:
    """Job 1 claimed by the test provider, job 2 open; both run a bundle uploaded here (its manifest caps
    outputs at 10 MiB)."""
    uploaded = client.post(
        "/bundles", files={"file": ("job.tar.gz", tar_gz(JOB_FILES))}, headers={API_KEY_HEADER: TEST_API_KEY}
    )
    assert uploaded.status_code == 201, uploaded.text
    bundle = Cid.parse(uploaded.json()["cid"]).to_chain()
    log = EventLog()
    log.post(1, bundle=bundle)
    log.claim(1, provider=PROVIDER_ADDRESS)
    log.post(2, bundle=bundle)
    with app.state.gateway.db.write() as conn:
        project_batch(conn, log.events, {})
    return log


def signed(path: str, body: bytes, key: str = PROVIDER_KEY) -> dict[str, str]:
    return request_headers(key, 31337, "POST", path, gateway=TEST_GATEWAY, body_hash=body_hash(body))


def publish(client: TestClient, job_id: int, cid: Cid | str, body: bytes, key: str = PROVIDER_KEY):  # type: ignore[no-untyped-def]
    path = f"/jobs/{job_id}/results/{cid}"
    return client.post(path, content=body, headers=signed(path, body, key))


def test_the_jobs_provider_publishes_its_result_and_anyone_reads_it_by_cid(
    client: TestClient, jobs: EventLog
) -> None:
    cid = cid_of(RESULT)
    response = publish(client, 1, cid, RESULT)
    assert response.status_code == 201, response.text
    assert response.json() == {"job_id": 1, "cid": str(cid), "size": len(RESULT)}
    assert cid in client.app.state.gateway.store.pins()  # type: ignore[attr-defined]
    served = client.get(f"/ipfs/{cid}")
    assert served.status_code == 200 and served.content == RESULT
    again = publish(client, 1, cid, RESULT)  # a retry after a lost answer is harmless
    assert again.status_code == 201


def test_bytes_that_are_not_the_claimed_cid_are_refused_and_not_stored(
    client: TestClient, jobs: EventLog
) -> None:
    claimed = cid_of(RESULT)
    tampered = RESULT[:-1] + b"x"
    response = publish(client, 1, claimed, tampered)
    assert response.status_code == 400
    assert f"not the content of {claimed}" in response.json()["detail"]
    assert f"hash to {cid_of(tampered)}" in response.json()["detail"]
    store = client.app.state.gateway.store  # type: ignore[attr-defined]
    assert not store.has(claimed) and not store.has(cid_of(tampered))
    assert client.get(f"/ipfs/{claimed}").status_code == 404


def test_only_the_jobs_provider_may_publish(client: TestClient, jobs: EventLog) -> None:
    cid = cid_of(RESULT)
    stranger = publish(client, 1, cid, RESULT, key=OTHER_KEY)
    assert stranger.status_code == 403 and "is not " + PROVIDER_ADDRESS in stranger.json()["detail"]
    unclaimed = publish(client, 2, cid, RESULT)
    assert unclaimed.status_code == 403 and "with no provider" in unclaimed.json()["detail"]
    assert publish(client, 99, cid, RESULT).status_code == 404
    unsigned = client.post(f"/jobs/1/results/{cid}", content=RESULT)
    assert unsigned.status_code == 401
    assert not client.app.state.gateway.store.has(cid)  # type: ignore[attr-defined]


def test_a_result_over_the_manifests_outputs_cap_is_refused(client: TestClient, jobs: EventLog) -> None:
    limit = result_limit(MAX_SIZE_MIB)
    big = b"\0" * (limit + 1)
    response = publish(client, 1, cid_of(big), big)
    assert response.status_code == 413
    assert "outputs.max_size_mib" in response.json()["detail"]
    assert not client.app.state.gateway.store.has(cid_of(big))  # type: ignore[attr-defined]


def test_a_job_whose_bundle_the_gateway_lacks_is_capped_by_the_upload_limit(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from api.main import create_app

    app = create_app(make_settings(upload_max_bytes=len(RESULT)))
    with TestClient(app) as client:
        log = EventLog()
        log.post(3)  # a bundle pinned elsewhere: no manifest here
        log.claim(3, provider=PROVIDER_ADDRESS)
        with app.state.gateway.db.write() as conn:
            project_batch(conn, log.events, {})
        assert publish(client, 3, cid_of(RESULT), RESULT).status_code == 201
        bigger = RESULT + b"\0" * 512
        refused = publish(client, 3, cid_of(bigger), bigger)
        assert refused.status_code == 413 and f"({len(RESULT)} bytes" in refused.json()["detail"]


def test_the_signature_binds_the_job_and_the_cid(client: TestClient, jobs: EventLog) -> None:
    cid = cid_of(RESULT)
    signed_for_other_cid = signed(f"/jobs/1/results/{cid_of(b'x')}", RESULT)
    response = client.post(f"/jobs/1/results/{cid}", content=RESULT, headers=signed_for_other_cid)
    assert response.status_code == 401


def test_the_signature_binds_the_bytes(client: TestClient, jobs: EventLog) -> None:
    """A captured request replayed with other bytes (even ones that are the content of its CID) is refused
    before anything is stored."""
    other = packed({"model.pt": b"other weights"})
    path = f"/jobs/1/results/{cid_of(other)}"
    response = client.post(path, content=other, headers=signed(path, RESULT))
    assert response.status_code == 401
    assert response.json()["code"] == "body_hash_mismatch" and body_hash(RESULT) in response.json()["detail"]
    assert not client.app.state.gateway.store.has(cid_of(other))  # type: ignore[attr-defined]
