"""Expiry of bundles no job references (`api.services.expiry`): old unreferenced bundles are unpinned and
collected, by the gateway's sweep and by `crowdcompute gateway gc`; referenced and fresh bundles and results
stay."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import gateway_app
from api.indexer.projection import project_batch
from api.main import create_app
from api.services.expiry import sweep_expired_bundles
from api.settings import Settings
from gateway_protocol import API_KEY_HEADER
from jobs.store import Cid
from tests.api.bundle_archives import JOB_FILES, tar_gz
from tests.api.gateway_keys import TEST_API_KEY
from tests.api.market_events import EventLog

INDEX_BACKENDS = ("sqlite", "postgresql")
"""Each test that builds the gateway runs on both index backends (tests/api/conftest.py)."""

DAY = 24 * 3600.0
BUNDLES = {name: tar_gz({**JOB_FILES, "data/which.txt": name.encode()}) for name in ("old", "used", "fresh")}


def upload(client: TestClient, archive: bytes) -> str:
    response = client.post(
        "/bundles", files={"file": ("job.tar.gz", archive)}, headers={API_KEY_HEADER: TEST_API_KEY}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["cid"])


def age(app: FastAPI, cid: str, seconds: float) -> None:
    with app.state.gateway.db.write() as conn:
        conn.execute("UPDATE bundles SET uploaded_at = ? WHERE cid = ?", (time.time() - seconds, cid))


def setup_bundles(client: TestClient, app: FastAPI) -> dict[str, str]:
    """Three bundles: `old` (8 days, no job), `used` (8 days, job 1 runs it), `fresh` (1 hour, no job);
    and job 1's result, pinned."""
    cids = {name: upload(client, archive) for name, archive in BUNDLES.items()}
    age(app, cids["old"], 8 * DAY)
    age(app, cids["used"], 8 * DAY)
    age(app, cids["fresh"], 3600)
    jobs = EventLog()
    jobs.post(1, bundle=Cid.parse(cids["used"]).to_chain())
    with app.state.gateway.db.write() as conn:
        project_batch(conn, jobs.events, {})
    result = app.state.gateway.store.add_file(io.BytesIO(b"a result nobody uploaded as a bundle"), pin=True)
    cids["result"] = str(result)
    return cids


def present(app: FastAPI, cid: str) -> bool:
    store = app.state.gateway.store
    return Cid.parse(cid) in store.pins() and store.has(Cid.parse(cid))


def test_an_old_unreferenced_bundle_is_collected_and_the_others_kept(
    client: TestClient, app: FastAPI
) -> None:
    cids = setup_bundles(client, app)
    gateway = app.state.gateway
    result = sweep_expired_bundles(gateway.db, gateway.store, gateway.settings.unreferenced_bundle_ttl_s)
    assert result.unpinned == (cids["old"],) and result.blocks_removed > 0
    assert not gateway.store.has(Cid.parse(cids["old"]))
    assert client.get(f"/ipfs/{cids['old']}").status_code == 404
    assert all(present(app, cids[name]) for name in ("used", "fresh", "result"))
    rows = {row[0] for row in gateway.db.connection().execute("SELECT cid FROM bundles")}
    assert rows == {cids["used"], cids["fresh"]}
    # Uploaded again, the bundle is stored and counted afresh.
    assert upload(client, BUNDLES["old"]) == cids["old"] and present(app, cids["old"])


def test_the_gateway_sweeps_in_the_background(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(sweep_interval_s=0.05))
    with TestClient(app) as client:
        cids = setup_bundles(client, app)
        deadline = time.monotonic() + 30
        while app.state.gateway.store.has(Cid.parse(cids["old"])) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not app.state.gateway.store.has(Cid.parse(cids["old"]))
        assert all(present(app, cids[name]) for name in ("used", "fresh", "result"))


def test_gateway_gc_expires_on_demand(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = make_settings()
    app = create_app(settings)
    with TestClient(app) as client:
        cids = setup_bundles(client, app)
    for name, value in {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(settings.data_dir),
        "API_KEYS": "[]",
        "INDEXER_ENABLED": "false",
    }.items():
        monkeypatch.setenv(f"CROWDCOMPUTE_GATEWAY_{name}", value)
    if settings.database_url is not None:
        monkeypatch.setenv("CROWDCOMPUTE_GATEWAY_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    outcome = CliRunner().invoke(gateway_app, ["gc", "--json"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.output)["unpinned"] == [cids["old"]]
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/ipfs/{cids['old']}").status_code == 404
        for name in ("used", "fresh", "result"):
            assert client.get(f"/ipfs/{cids[name]}").status_code == 200
