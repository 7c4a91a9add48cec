"""bench/confidential.py's core on a few MiB: both figures measured, spread and chunk size recorded, and the
results file's other keys (the lead's "overhead") kept when the throughput is written."""

from __future__ import annotations

import json
from pathlib import Path

import bench.confidential as confidential


def test_the_bench_measures_both_ways_and_keeps_the_other_keys(tmp_path: Path) -> None:
    output = tmp_path / "confidential.json"
    output.write_text(json.dumps({"overhead": {"overhead_ratio": 1.05}}))
    assert (
        confidential.main(["--size-mib", "3", "--runs", "2", "--dir", str(tmp_path), "--output", str(output)])
        == 0
    )
    document = json.loads(output.read_text())
    assert document["overhead"] == {"overhead_ratio": 1.05}
    throughput = document["throughput"]
    assert throughput["file_bytes"] == 3 << 20 and throughput["chunk_bytes"] == 1 << 20
    for name in ("encrypt_mb_s", "decrypt_mb_s"):
        low, high = throughput[f"{name}_spread"]
        assert 0 < low <= throughput[name] <= high
    assert len(throughput["runs"]) == 2
    assert set(throughput["runs"][0]["machine"]["encrypt"]) == {
        "load_avg_1m_before",
        "load_avg_1m_after",
        "busy_cores",
    }
    assert [path.name for path in tmp_path.iterdir()] == ["confidential.json"]  # the scratch files are gone
