"""Progress as JSON lines on stdout: the gateway relays a job's log and the dApp plots these lines.

    {"event": "metrics", "step": 120, "segment": 5, "loss": 0.53}

Every line is one JSON object with an "event" key; non-finite floats become null (JSON has no NaN).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

__all__ = ["emit"]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(event: str, **fields: Any) -> None:
    """Print one event line and flush, so it reaches the live log at once."""
    record = {"event": event, **{name: _plain(value) for name, value in fields.items()}}
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()
