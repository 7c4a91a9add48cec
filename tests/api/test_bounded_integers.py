"""Every integer a client sends in a path, query or header is bounded at validation: 422 naming it, never a
500 from an overflow in SQLite or in Python's int parsing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway_protocol import API_KEY_HEADER
from tests.api.gateway_keys import TEST_API_KEY

HUGE = "99999999999999999999"  # past SQLite's 64-bit integers
LONG = "9" * 5000  # past Python's int-from-text digit limit
INT64_MAX = 2**63 - 1  # SQLite's largest integer


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (f"/jobs/{HUGE}", ["path", "job_id"]),
        (f"/jobs/{LONG}", ["path", "job_id"]),
        (f"/jobs/{HUGE}/logs", ["path", "job_id"]),
        (f"/jobs/{HUGE}/votes", ["path", "job_id"]),
        (f"/jobs/{INT64_MAX + 1}", ["path", "job_id"]),
        ("/jobs/-1", ["path", "job_id"]),
        (f"/jobs?offset={HUGE}", ["query", "offset"]),
        ("/jobs?offset=1e20", ["query", "offset"]),
        (f"/providers?offset={HUGE}", ["query", "offset"]),
        (f"/validators?offset={HUGE}", ["query", "offset"]),
        (f"/jobs/1/logs?after={HUGE}", ["query", "after"]),
        (f"/jobs/1/logs?limit={HUGE}", ["query", "limit"]),
        (f"/jobs/1/votes?round={HUGE}", ["query", "round"]),
    ],
)
def test_huge_integers_in_paths_and_queries_are_422_naming_the_parameter(
    client: TestClient, path: str, where: list[str]
) -> None:
    response = client.get(path)
    assert response.status_code == 422, response.text
    assert [problem["loc"] for problem in response.json()["detail"]] == [where]


@pytest.mark.parametrize("route", ["logs", "reports", "votes", f"results/{'b' * 59}"])
def test_huge_job_ids_of_write_routes_are_422_naming_the_job_id(client: TestClient, route: str) -> None:
    response = client.post(f"/jobs/{HUGE}/{route}", content=b"{}", headers={API_KEY_HEADER: TEST_API_KEY})
    assert response.status_code == 422, response.text
    assert ["path", "job_id"] in [problem["loc"] for problem in response.json()["detail"]]


@pytest.mark.parametrize("value", [HUGE, LONG])
def test_a_huge_last_event_id_is_422(client: TestClient, value: str) -> None:
    response = client.get("/jobs/1/logs?follow=true", headers={"Last-Event-ID": value})
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [["header", "last-event-id"]]


def test_the_largest_job_id_is_a_plain_404(client: TestClient) -> None:
    response = client.get(f"/jobs/{INT64_MAX}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_openapi_schema_states_the_bounds(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    (job_id,) = [p for p in schema["paths"]["/jobs/{job_id}"]["get"]["parameters"] if p["name"] == "job_id"]
    assert job_id["schema"]["minimum"] == 0 and job_id["schema"]["maximum"] == INT64_MAX
