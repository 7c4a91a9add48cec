"""The schema-driven fuzz of the gateway (`tests/api/fuzz_api.py`): every operation of `/openapi.json`, valid
and invalid inputs, against the real app on a real uvicorn; no server error, every response as documented.
Seeded: a failure prints the request that replays it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI, HTTPException

from api.main import create_app
from api.settings import Settings
from gateway_protocol import API_KEY_HEADER
from tests.api.fuzz_api import run_fuzz
from tests.api.gateway_keys import TEST_API_KEY

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 50
"""Per operation and generation mode: about 1,400 cases, 20 to 60 s on two busy cores."""


def test_the_fuzz_finds_no_server_error_and_no_undocumented_response(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        rate_limit_per_minute=1e9,  # every case reaches the handlers instead of a 429
        rate_limit_burst=1_000_000,
        report_rate_limit_burst=1_000_000,
        vote_rate_limit_burst=1_000_000,
    )
    result = run_fuzz(create_app(settings), MAX_EXAMPLES, headers={API_KEY_HEADER: TEST_API_KEY})
    report = "\n".join(str(failure) for failure in result.failures)
    assert len(result.operations) >= 20 and result.cases >= 20 * MAX_EXAMPLES
    assert result.server_errors == 0, report
    assert result.failures == [], report


def test_the_fuzz_sees_a_server_error() -> None:
    """The harness itself: an app that fails on large numbers is caught, and the failure names the request."""
    app = FastAPI()

    @app.get("/items/{number}")
    def read_item(number: int) -> dict[str, int]:
        if number > 1000:
            raise RuntimeError("overflow")
        if number < 0:
            raise HTTPException(404, "no such item")
        return {"number": number}

    result = run_fuzz(app, 30)
    assert result.server_errors > 0
    assert any(f.status == 500 and "/items/" in f.curl for f in result.failures)
