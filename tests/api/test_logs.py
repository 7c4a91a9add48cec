"""The log relay: signed pushes from the job's provider, reads, and Server-Sent Events until the job ends."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.indexer.projection import project_batch
from gateway_protocol import API_KEY_HEADER, log_batch_headers
from tests.api.gateway_keys import OTHER_KEY, PROVIDER_ADDRESS, PROVIDER_API_KEY, PROVIDER_KEY, TEST_API_KEY
from tests.api.market_events import EventLog

INDEX_BACKENDS = ("sqlite", "postgresql")
"""Each test that builds the gateway runs on both index backends (tests/api/conftest.py)."""


def index(app: FastAPI, log: EventLog) -> None:
    with app.state.gateway.db.write() as conn:
        project_batch(conn, log.events, {})


@pytest.fixture
def events(app: FastAPI) -> EventLog:
    """Job 1 claimed by the test provider; job 2 still open."""
    log = EventLog()
    log.post(1)
    log.claim(1, provider=PROVIDER_ADDRESS)
    log.post(2)
    index(app, log)
    return log


def batch(first: int, count: int, prefix: str = "step") -> bytes:
    lines = [{"seq": first + i, "text": f"{prefix} {first + i}", "ts": 1.5} for i in range(count)]
    return json.dumps({"lines": lines}).encode()


def push(client: TestClient, job_id: int, body: bytes, key: str = PROVIDER_KEY, first: int | None = None):  # type: ignore[no-untyped-def]
    from_seq = json.loads(body)["lines"][0]["seq"] if first is None else first
    headers = log_batch_headers(key, 31337, job_id, from_seq, body)
    return client.post(
        f"/jobs/{job_id}/logs", content=body, headers={**headers, "Content-Type": "application/json"}
    )


def test_the_provider_pushes_and_anyone_reads(client: TestClient, events: EventLog) -> None:
    first = push(client, 1, batch(0, 3))
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 3, "duplicates": 0, "next_seq": 3}
    assert push(client, 1, batch(3, 2)).json()["next_seq"] == 5

    lines = client.get("/jobs/1/logs").json()
    assert [line["text"] for line in lines["data"]] == [f"step {i}" for i in range(5)]
    assert lines["next_seq"] == 5 and lines["job_state"] == "Claimed"
    assert [line["seq"] for line in client.get("/jobs/1/logs?after=2&limit=1").json()["data"]] == [3]


def test_a_repeated_batch_is_harmless_and_a_rewrite_conflicts(client: TestClient, events: EventLog) -> None:
    push(client, 1, batch(0, 3))
    assert push(client, 1, batch(0, 3)).json() == {"accepted": 0, "duplicates": 3, "next_seq": 3}
    assert push(client, 1, batch(1, 3)).json() == {"accepted": 1, "duplicates": 2, "next_seq": 4}
    rewrite = push(client, 1, batch(2, 1, prefix="other"))
    assert rewrite.status_code == 409 and "continues at seq 4" in rewrite.json()["detail"]
    assert [line["text"] for line in client.get("/jobs/1/logs").json()["data"]][2] == "step 2"


def test_seqs_a_provider_skipped_are_stored_as_gaps_and_shown_as_gaps(
    client: TestClient, events: EventLog
) -> None:
    push(client, 1, batch(0, 3))
    skipped = push(client, 1, batch(10, 2))  # the provider's spool dropped 3..9 when it was full
    assert skipped.status_code == 200 and skipped.json() == {"accepted": 2, "duplicates": 0, "next_seq": 12}
    push(client, 1, batch(15, 1))
    page = client.get("/jobs/1/logs").json()
    assert [line["seq"] for line in page["data"]] == [0, 1, 2, 10, 11, 15]
    assert page["gaps"] == [{"first": 3, "last": 9}, {"first": 12, "last": 14}]
    assert client.get("/jobs/1/logs?after=10").json()["gaps"] == [{"first": 12, "last": 14}]
    assert client.get("/jobs/1/logs?after=-1&limit=3").json()["gaps"] == []
    late = push(client, 1, batch(5, 1))  # a line arriving late fills its place, once
    assert late.json()["accepted"] == 1
    assert client.get("/jobs/1/logs").json()["gaps"] == [
        {"first": 3, "last": 4},
        {"first": 6, "last": 9},
        {"first": 12, "last": 14},
    ]


def test_follow_marks_missing_seqs_with_a_gap_event(client: TestClient, events: EventLog) -> None:
    push(client, 1, batch(0, 2))
    push(client, 1, batch(5, 2))
    done = EventLog(first_block=events.block + 1)
    done.submit(1, provider=PROVIDER_ADDRESS)
    done.accept(1, provider=PROVIDER_ADDRESS)
    index(client.app, done)  # type: ignore[arg-type]
    response = client.get("/jobs/1/logs?follow=true")
    events_seen = [line for line in response.text.splitlines() if line.startswith(("event: ", "id: "))]
    assert events_seen == [
        "id: 0", "event: log", "id: 1", "event: log",
        "id: 4", "event: gap",
        "id: 5", "event: log", "id: 6", "event: log",
        "event: end",
    ]  # fmt: skip
    assert 'data: {"first":2,"last":4}' in response.text
    resumed = client.get("/jobs/1/logs?follow=true", headers={"Last-Event-ID": "4"})
    assert "event: gap" not in resumed.text and "id: 5" in resumed.text


def test_only_the_jobs_provider_may_push(client: TestClient, events: EventLog) -> None:
    other = push(client, 1, batch(0, 1), key=OTHER_KEY)
    assert other.status_code == 403
    assert push(client, 2, batch(0, 1)).status_code == 403  # open job: no provider yet
    assert push(client, 99, batch(0, 1)).status_code == 404
    assert client.get("/jobs/1/logs").json()["data"] == []


def test_the_signature_covers_the_lines(client: TestClient, events: EventLog) -> None:
    body = batch(0, 2)
    headers = log_batch_headers(PROVIDER_KEY, 31337, 1, 0, body)
    forged = body.replace(b"step 1", b"evil 1")
    response = client.post(
        "/jobs/1/logs", content=forged, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert push(client, 1, body, first=1).status_code == 401  # fromSeq must match the batch


def test_api_keys_push_only_when_bound_to_the_provider(client: TestClient, events: EventLog) -> None:
    body = batch(0, 1)
    bound = client.post(
        "/jobs/1/logs",
        content=body,
        headers={API_KEY_HEADER: PROVIDER_API_KEY, "Content-Type": "application/json"},
    )
    assert bound.status_code == 200
    unbound = client.post(
        "/jobs/1/logs",
        content=body,
        headers={API_KEY_HEADER: TEST_API_KEY, "Content-Type": "application/json"},
    )
    assert unbound.status_code == 403
    anonymous = client.post("/jobs/1/logs", content=body, headers={"Content-Type": "application/json"})
    assert anonymous.status_code == 401


def test_malformed_batches(client: TestClient, events: EventLog) -> None:
    not_consecutive = json.dumps({"lines": [{"seq": 0, "text": "a"}, {"seq": 2, "text": "b"}]}).encode()
    assert push(client, 1, not_consecutive).status_code == 400
    long_line = json.dumps({"lines": [{"seq": 0, "text": "x" * 20_000}]}).encode()
    assert push(client, 1, long_line).status_code == 400
    assert push(client, 1, b"{}", first=0).status_code == 422
    assert push(client, 1, b"{not json", first=0).status_code == 422


def test_follow_streams_lines_with_heartbeats_until_the_job_ends(
    app: FastAPI, live_url: str, events: EventLog
) -> None:
    with httpx.Client(base_url=live_url, timeout=10) as http:
        body = batch(0, 2)
        headers = log_batch_headers(PROVIDER_KEY, 31337, 1, 0, body)
        assert (
            http.post(
                "/jobs/1/logs", content=body, headers={**headers, "Content-Type": "application/json"}
            ).status_code
            == 200
        )

        def later() -> None:
            time.sleep(0.5)
            more = batch(2, 1)
            http.post(
                "/jobs/1/logs",
                content=more,
                headers={
                    **log_batch_headers(PROVIDER_KEY, 31337, 1, 2, more),
                    "Content-Type": "application/json",
                },
            )
            time.sleep(0.3)
            done = EventLog(first_block=events.block + 1)
            done.submit(1, provider=PROVIDER_ADDRESS)
            done.accept(1, provider=PROVIDER_ADDRESS)
            index(app, done)

        writer = threading.Thread(target=later)
        writer.start()
        received: list[str] = []
        started = time.monotonic()
        with http.stream("GET", "/jobs/1/logs", params={"follow": "true"}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                received.append(line)
        writer.join()
        assert time.monotonic() - started < 8

    data = [json.loads(line[len("data: ") :]) for line in received if line.startswith("data: ")]
    assert [d["text"] for d in data[:-1]] == ["step 0", "step 1", "step 2"]
    assert data[-1] == {"job_state": "Accepted", "next_seq": 3}
    assert "event: end" in received and "id: 2" in received
    assert ": heartbeat" in received


def test_follow_resumes_after_last_event_id(client: TestClient, events: EventLog) -> None:
    push(client, 1, batch(0, 4))
    done = EventLog(first_block=events.block + 1)
    done.submit(1, provider=PROVIDER_ADDRESS)
    done.accept(1, provider=PROVIDER_ADDRESS)
    index(client.app, done)  # type: ignore[arg-type]
    response = client.get("/jobs/1/logs?follow=true", headers={"Last-Event-ID": "1"})
    ids = [line for line in response.text.splitlines() if line.startswith("id: ")]
    assert ids == ["id: 2", "id: 3"] and "event: end" in response.text
    assert client.get("/jobs/42/logs?follow=true").status_code == 404
