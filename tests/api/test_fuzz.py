"""The schema-driven fuzz of the gateway (`tests/api/fuzz_api.py`): every operation of `/openapi.json`, valid
and invalid inputs, against the real app on a real uvicorn; no server error, every response as documented.
Seeded: a failure prints the request that replays it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException

from tests.api.fuzz_api import run_fuzz

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 50
"""Per operation and generation mode: about 1,400 cases, 20 to 60 s on two busy cores."""


def test_the_fuzz_finds_no_server_error_and_no_undocumented_response(tmp_path: Path) -> None:
    result = run_fuzz(tmp_path, MAX_EXAMPLES)
    assert len(result.operations) >= 20 and result.cases >= 20 * MAX_EXAMPLES
    assert result.server_errors == 0, result.report()
    assert result.failures == [], result.report()


def test_the_fuzz_sees_a_server_error() -> None:
    """The harness itself: an app that fails on large numbers is caught, and the failure replays it."""
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
    assert any(f["status"] == 500 and "/items/" in f["replay"] for f in result.failures)
    json.dumps(result.failures)  # the bench writes them as they are
