"""The log relay on the open internet: pushes refused from their headers, inputs that must not break it,
pages bounded in bytes, and bounds on Server-Sent Event streams (how many, and how slow a reader)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from chain import JobId
from crowdcompute.requester.gateway import GatewayClient
from crowdcompute.requester.logs import read_log
from gateway_protocol import ADDRESS_HEADER, API_KEY_HEADER, log_batch_headers
from tests.api.gateway_keys import OTHER_KEY, PROVIDER_ADDRESS, PROVIDER_KEY, TEST_API_KEY
from tests.api.live_gateway import serve
from tests.api.market_events import EventLog
from tests.api.sse_clients import close_streams, open_idle_streams
from tests.api.test_logs import batch, index, push


def claimed_job(app: FastAPI) -> EventLog:
    """Job 1 claimed by the test provider."""
    log = EventLog()
    log.post(1)
    log.claim(1, provider=PROVIDER_ADDRESS)
    index(app, log)
    return log


@pytest.fixture
def job(app: FastAPI) -> EventLog:
    return claimed_job(app)


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def head_only(url: str, headers: dict[str, str], body_length: int = 8_000_000) -> tuple[int, str]:
    """POST /jobs/1/logs announcing a large body and sending none of it: the answer must come anyway."""
    port = int(url.rsplit(":", 1)[1])
    lines = [
        "POST /jobs/1/logs HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {body_length}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while not _complete(reply):
            chunk = sock.recv(4096)  # a gateway that waits for the body first never answers: this times out
            assert chunk, "the gateway closed the connection without an answer"
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, reply.decode(errors="replace")


def _complete(reply: bytes) -> bool:
    head, sep, body = reply.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


# --- 1. who pushes is settled before the body is read ---


def test_a_push_without_credentials_is_refused_before_its_body_arrives(
    app: FastAPI, live_url: str, job: EventLog
) -> None:
    status, reply = head_only(live_url, {})
    assert status == 401 and "authentication required" in reply


def test_a_push_claiming_another_address_is_refused_before_its_body_arrives(
    app: FastAPI, live_url: str, job: EventLog
) -> None:
    # Headers signed for other lines, by someone else: refused on the claimed address alone.
    signed = log_batch_headers(OTHER_KEY, 31337, JobId(1), 0, batch(0, 1))
    status, reply = head_only(live_url, signed)
    assert status == 403 and "is not " + PROVIDER_ADDRESS in reply
    status, reply = head_only(live_url, {API_KEY_HEADER: TEST_API_KEY})
    assert status == 403 and "not bound to an address" in reply
    status, _ = head_only(live_url, {**signed, ADDRESS_HEADER: "not-an-address"})
    assert status == 401


def test_the_provider_still_needs_a_signature_over_the_body(client: TestClient, job: EventLog) -> None:
    body = batch(0, 2)
    headers = log_batch_headers(PROVIDER_KEY, 31337, JobId(1), 0, body)
    forged = client.post(
        "/jobs/1/logs", content=body.replace(b"step 1", b"evil 1"), headers=headers
    )  # the provider's address, a signature over other lines
    assert forged.status_code == 401 and "bad signature" in forged.json()["detail"]
    assert client.get("/jobs/1/logs").json()["data"] == []


def test_the_push_body_is_still_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/jobs/{job_id}/logs"]["post"]["requestBody"]["content"]["application/json"]
    lines = body["schema"]["properties"]["lines"]
    assert lines["minItems"] == 1
    assert {"seq", "text", "stream", "ts"} <= set(lines["items"]["properties"])


# --- 2. inputs that must not break the relay ---


def test_a_lone_surrogate_is_refused_naming_its_line(client: TestClient, job: EventLog) -> None:
    body = b'{"lines":[{"seq":0,"text":"fine"},{"seq":1,"text":"bad \\ud800 text"}]}'
    response = push(client, 1, body)
    assert response.status_code == 400, response.text
    assert "line seq 1" in response.json()["detail"] and "surrogate" in response.json()["detail"]
    assert client.get("/jobs/1/logs").json()["data"] == []


@pytest.mark.parametrize("ts", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_timestamps_must_be_finite(client: TestClient, job: EventLog, ts: str) -> None:
    body = f'{{"lines":[{{"seq":0,"text":"a","ts":{ts}}}]}}'.encode()
    response = push(client, 1, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "lines", 0, "ts"]


def test_a_stored_non_finite_timestamp_is_sent_as_null(client: TestClient, job: EventLog) -> None:
    push(client, 1, batch(0, 2))
    with client.app.state.gateway.db.write() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE job_logs SET ts = ? WHERE seq = 1", (float("-inf"),))
    page = client.get("/jobs/1/logs")
    assert page.status_code == 200
    assert [line["ts"] for line in page.json()["data"]] == [1.5, None]
    done = EventLog(first_block=job.block + 1)
    done.submit(1, provider=PROVIDER_ADDRESS)
    done.accept(1, provider=PROVIDER_ADDRESS)
    index(client.app, done)  # type: ignore[arg-type]
    stream = client.get("/jobs/1/logs?follow=true").text
    assert "Infinity" not in stream and '"ts":null' in stream


# --- 3. pages bounded in bytes ---


def kib_lines(first: int, count: int) -> bytes:
    lines = [{"seq": first + i, "text": f"{first + i:04d}" + "x" * 1020} for i in range(count)]
    return json.dumps({"lines": lines}).encode()


@pytest.fixture
def small_pages(make_settings: Callable[..., Settings]) -> Iterator[tuple[FastAPI, TestClient]]:
    app = create_app(make_settings(log_page_max_bytes=4096))
    claimed_job(app)
    with TestClient(app) as client:
        yield app, client


def test_a_page_stops_at_its_byte_bound_and_says_where_to_go_on(
    small_pages: tuple[FastAPI, TestClient],
) -> None:
    _, client = small_pages
    assert push(client, 1, kib_lines(0, 10)).status_code == 200
    page = client.get("/jobs/1/logs?limit=1000").json()
    assert page["truncated"] is True and 1 <= page["count"] < 10
    assert page["next_after"] == page["data"][-1]["seq"] and page["next_seq"] == 10
    seen = [line["seq"] for line in page["data"]]
    while page["next_after"] is not None:
        page = client.get(f"/jobs/1/logs?after={page['next_after']}").json()
        seen += [line["seq"] for line in page["data"]]
    assert seen == list(range(10)) and page["truncated"] is False


def test_a_line_larger_than_the_bound_still_comes_alone(small_pages: tuple[FastAPI, TestClient]) -> None:
    _, client = small_pages
    body = json.dumps({"lines": [{"seq": 0, "text": "y" * 10_000}, {"seq": 1, "text": "z"}]}).encode()
    assert push(client, 1, body).status_code == 200
    page = client.get("/jobs/1/logs").json()
    assert [line["seq"] for line in page["data"]] == [0] and page["next_after"] == 0
    assert client.get("/jobs/1/logs?limit=2&after=-1").json()["count"] == 1


def test_a_page_that_reaches_the_end_has_no_next_after(client: TestClient, job: EventLog) -> None:
    push(client, 1, batch(0, 3))
    assert client.get("/jobs/1/logs?limit=3").json()["next_after"] is None
    assert client.get("/jobs/1/logs?limit=2").json()["next_after"] == 1


def test_the_requester_reads_every_page(small_pages: tuple[FastAPI, TestClient]) -> None:
    app, client = small_pages
    push(client, 1, kib_lines(0, 12))
    with serve(app) as url, GatewayClient(url) as gateway:
        page = read_log(gateway, JobId(1))
    assert [line.seq for line in page.lines] == list(range(12)) and page.next_seq == 12


# --- 4. bounds on streams ---


def limited_app(make_settings: Callable[..., Settings], **overrides: Any) -> FastAPI:
    app = create_app(make_settings(sse_heartbeat_s=0.2, **overrides))
    claimed_job(app)
    return app


def test_a_client_may_hold_a_few_streams_and_gets_a_slot_back_when_one_closes(
    make_settings: Callable[..., Settings],
) -> None:
    app = limited_app(make_settings, sse_max_streams_per_ip=2)
    streams = app.state.gateway.log_streams
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        held = [http.stream("GET", "/jobs/1/logs?follow=true") for _ in range(2)]
        for stream in held:
            assert stream.__enter__().status_code == 200
        third = http.get("/jobs/1/logs?follow=true")
        assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
        assert third.json()["code"] == "rate_limited" and "close one" in third.json()["detail"]
        assert http.get("/jobs/1/logs").status_code == 200  # pages are not streams
        held[0].__exit__(None, None, None)
        wait_until(lambda: streams.open == 1, "the closed stream's slot")
        with http.stream("GET", "/jobs/1/logs?follow=true") as again:
            assert again.status_code == 200
        held[1].__exit__(None, None, None)
    assert streams.open == 0


def test_the_gateway_holds_a_bounded_number_of_streams(make_settings: Callable[..., Settings]) -> None:
    app = limited_app(make_settings, sse_max_streams=1)
    with (
        serve(app) as url,
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream("GET", "/jobs/1/logs?follow=true") as first,
    ):
        assert first.status_code == 200
        second = http.get("/jobs/1/logs?follow=true")
        assert second.status_code == 503 and "Retry-After" in second.headers
        assert second.json()["code"] == "busy"


def test_a_reader_that_takes_no_data_is_closed_and_its_slot_freed(
    make_settings: Callable[..., Settings],
) -> None:
    app = limited_app(make_settings, sse_max_streams_per_ip=1, sse_send_timeout_s=0.5)
    streams = app.state.gateway.log_streams
    with serve(app) as url:
        idle = open_idle_streams(url, "/jobs/1/logs?follow=true", 1)
        try:
            wait_until(lambda: streams.open == 1, "the idle stream to open")
            client = TestClient(app)
            for first in range(0, 6000, 500):  # ~6 MiB: more than the socket buffers hold
                text = json.dumps(
                    {"lines": [{"seq": first + i, "text": "w" * 1000} for i in range(500)]}
                ).encode()
                assert push(client, 1, text).status_code == 200
            wait_until(lambda: streams.open == 0, "the gateway to close the stream nobody reads")
            with (
                httpx.Client(base_url=url, timeout=10) as http,
                http.stream("GET", "/jobs/1/logs?follow=true&after=5990") as again,
            ):
                assert again.status_code == 200
        finally:
            close_streams(idle)


def test_pushes_naming_the_provider_from_elsewhere_do_not_spend_its_budget(
    make_settings: Callable[..., Settings],
) -> None:
    """The per-address limit is charged before the signature is checked, so it is charged per address and
    client: a stranger who names the provider in unsigned pushes runs out of its own budget, not the
    provider's (which would silence the provider's log)."""
    app = create_app(make_settings(rate_limit_burst=3, rate_limit_per_minute=1.0))
    with TestClient(app, client=("10.9.9.9", 40000)) as stranger:
        claimed_job(app)
        body = batch(0, 2)
        forged = log_batch_headers(PROVIDER_KEY, 31337, JobId(1), 0, body)
        statuses = [
            stranger.post(
                "/jobs/1/logs", content=body.replace(b"step 1", b"evil 1"), headers=forged
            ).status_code
            for _ in range(5)
        ]
        assert statuses == [401, 401, 401, 429, 429]
        provider = TestClient(app, client=("10.1.1.1", 40000))
        pushed = provider.post("/jobs/1/logs", content=body, headers=forged)
        assert pushed.status_code == 200 and pushed.json()["accepted"] == 2
