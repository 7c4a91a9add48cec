"""A real gateway on 127.0.0.1 that a test stops and starts again on the same port and data folder (as a
restarted gateway process), with a job already claimed by the test provider."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from api.db import Database
from api.indexer.projection import project_batch
from api.settings import Settings
from chain.anvil import free_port
from tests.api import live_gateway
from tests.api.gateway_keys import PROVIDER_ADDRESS
from tests.api.market_events import EventLog

__all__ = ["RestartableGateway", "gateway_settings", "index_claimed_job", "index_events"]


def gateway_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The live gateway's test settings, with quick streams and rate limits no log test reaches."""
    quick = {
        "rate_limit_per_minute": 60_000.0,
        "rate_limit_burst": 10_000,
        "sse_poll_s": 0.05,
        "sse_heartbeat_s": 0.2,
    }
    return live_gateway.gateway_settings(data_dir, **{**quick, **overrides})


def index_claimed_job(app: FastAPI, job_id: int, *, provider: str = PROVIDER_ADDRESS) -> EventLog:
    """Index job `job_id` as posted and claimed by `provider` (the test provider's key signs its logs)."""
    log = EventLog()
    log.post(job_id)
    log.claim(job_id, provider=provider)
    index_events(app.state.gateway.db, log)
    return log


def index_events(db: Database, log: EventLog) -> None:
    """Project `log`'s events into a gateway's index (`Database(settings.db_path)` reaches the index of a
    gateway running in another process)."""
    with db.write() as conn:
        project_batch(conn, log.events, {})


class RestartableGateway:
    """`create_app(settings)` under uvicorn in a thread; `stop` and `start` again behave like a gateway
    process restarted on the same port and data folder."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app: FastAPI | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FastAPI:
        from api.main import create_app

        app = create_app(self.settings)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"gateway-{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        self.app, self._server, self._thread = app, server, thread
        return app

    def stop(self) -> None:
        """Gone at once, as a killed gateway: open connections are not waited for."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(10)
        assert not self._thread.is_alive(), "uvicorn did not stop"
        self._server = self._thread = None

    def __enter__(self) -> RestartableGateway:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
