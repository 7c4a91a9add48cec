"""What the image holds of the venv depends on the wheels alone, not on where the venv or the wheels were."""

from __future__ import annotations

from runtime.offline.packages import normalised_record

RECORD = """\
../../../bin/torchrun,sha256=jPAxsBt4k40atfB2OPPQjH3907T6Kf5YCSR9bRLU8P0,266
torch/__init__.py,sha256=abc,100
torch-2.13.0+cpu.dist-info/direct_url.json,sha256=def,80
torch-2.13.0+cpu.dist-info/RECORD,,
"""


def test_records_drop_the_scripts_and_the_wheels_origin_whose_hashes_name_host_paths() -> None:
    assert (
        normalised_record(RECORD) == "torch/__init__.py,sha256=abc,100\ntorch-2.13.0+cpu.dist-info/RECORD,,\n"
    )
    other_venv = RECORD.replace("jPAxsBt4k40atfB2OPPQjH3907T6Kf5YCSR9bRLU8P0", "Zm9vYmFy").replace(
        "def", "xyz"
    )
    assert normalised_record(other_venv) == normalised_record(RECORD)
