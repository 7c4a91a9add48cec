"""How much memory a real gateway process keeps after slow log readers and maximal log pages.

`python -m tests.api.sse_memory [--send-timeout-s 5]` starts a uvicorn gateway in its own process, gives
job 1 a log of 10,000 lines of 7 kB, fetches 8 pages of `limit=10000` at once, then opens 200 Server-Sent
Event streams that never read while the log grows, closes them, and prints the process's RSS at each step
(the issue's target: at most 50 MiB over the baseline once all is closed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

import httpx

from chain.anvil import free_port
from gateway_protocol import API_KEY_HEADER
from tests.api.gateway_keys import PROVIDER_API_KEY
from tests.api.sse_clients import close_streams, open_idle_streams, rss_mib

_SERVER = r"""
import sys
from pathlib import Path

import uvicorn

from api.indexer.projection import project_batch
from api.main import create_app
from tests.api.gateway_keys import PROVIDER_ADDRESS, PROVIDER_API_KEY
from tests.api.live_gateway import gateway_settings
from tests.api.market_events import EventLog

settings = gateway_settings(
    Path(sys.argv[1]),
    api_keys=[PROVIDER_API_KEY + "@" + PROVIDER_ADDRESS],
    sse_max_streams_per_ip=1000,
    sse_send_timeout_s=float(sys.argv[3]),
    sse_poll_s=0.5,
)
app = create_app(settings)
log = EventLog()
log.post(1)
log.claim(1, provider=PROVIDER_ADDRESS)
with app.state.gateway.db.write() as conn:
    project_batch(conn, log.events, {})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="critical", access_log=False)
"""


def measure(
    *, streams: int = 200, pages: int = 8, send_timeout_s: float = 5.0, say: Callable[[str], None] = print
) -> float:
    """Run the scenario against a fresh gateway process; returns RSS growth (MiB) once all is closed."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, tempfile.mkdtemp(), str(port), str(send_timeout_s)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=120) as http:
            for _ in range(300):
                try:
                    http.get("/healthz")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            seq = 0

            def grow(batches: int) -> None:
                nonlocal seq
                for _ in range(batches):
                    lines = [{"seq": seq + i, "text": "L" * 7000, "ts": 1.0} for i in range(1000)]
                    response = http.post(
                        "/jobs/1/logs",
                        content=json.dumps({"lines": lines}).encode(),
                        headers={API_KEY_HEADER: PROVIDER_API_KEY, "Content-Type": "application/json"},
                    )
                    response.raise_for_status()
                    seq += 1000

            grow(10)
            baseline = rss_mib(server.pid)
            say(f"baseline, 10,000 lines of 7 kB stored: {baseline:.0f} MiB")

            def read_page() -> None:
                with httpx.Client(base_url=url, timeout=120) as reader:
                    reader.get("/jobs/1/logs?limit=10000").raise_for_status()

            readers = [threading.Thread(target=read_page) for _ in range(pages)]
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join()
            say(f"after {pages} pages of limit=10000 at once: {rss_mib(server.pid):.0f} MiB")

            idle = open_idle_streams(url, "/jobs/1/logs?follow=true", streams)
            peak = 0.0
            for second in range(20):
                time.sleep(1.0)
                if second % 4 == 0:
                    grow(1)
                peak = max(peak, rss_mib(server.pid))
            say(f"{streams} streams that never read, 20 s, log growing: peak {peak:.0f} MiB")
            close_streams(idle)
            time.sleep(5)
            after = rss_mib(server.pid)
            say(f"all closed: {after:.0f} MiB ({after - baseline:+.0f} MiB over the baseline)")
            return after - baseline
    finally:
        server.kill()
        server.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--send-timeout-s", type=float, default=5.0)
    args = parser.parse_args()
    measure(streams=args.streams, send_timeout_s=args.send_timeout_s)
