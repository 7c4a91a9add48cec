"""A real gateway app served by uvicorn on 127.0.0.1 (a thread of the test process), for tests of other
packages that talk to it over HTTP."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from api.edge.server import uvicorn_config
from api.settings import Settings
from chain.anvil import free_port

__all__ = ["gateway_settings", "serve"]


def gateway_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Test settings: its own folder, no indexer unless asked, fast polls, generous rate limits."""
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "deployments_dir": data_dir / "deployments",
        "frontend_dist": data_dir / "dist",
        "rpc_url": f"http://127.0.0.1:{free_port()}",
        "rpc_timeout_s": 1.0,
        "indexer_enabled": False,
        "indexer_poll_interval_s": 0.05,
        "store_fsync": False,
        "api_keys": [],
        "rate_limit_per_minute": 6000.0,
        "rate_limit_burst": 1000,
        "allowed_hosts": ["127.0.0.1", "localhost", "testserver"],  # TestClient's Host is "testserver"
        "edge_rate_limit_per_minute": 60000.0,
        "edge_rate_limit_burst": 10000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.contextmanager
def serve(app: FastAPI, port: int | None = None, *, edge: Settings | None = None) -> Iterator[str]:
    """Serve `app` until the block ends; yields its URL. With `edge`, uvicorn runs as `gateway serve`
    runs it (`api.edge.server`: request-head timeout, keep-alive, connection and header limits)."""
    port = port or free_port()
    if edge is not None:
        config = uvicorn_config(app, edge, host="127.0.0.1", port=port, lifespan="on")
    else:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
