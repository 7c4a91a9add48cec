"""The nodes' hidden `--executor noop` (development and bench/load.py): a provider's no-op result and a
validator's no-op re-run pack to the same bytes, so a `replicate` verdict accepts without Docker."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from jobs.bundle import pack_output
from jobs.executors import ExecutionId, ExecutionRequest, ExecutionState
from jobs.executors.noop import DEV_NOOP_OUTPUT, dev_noop_executor
from tests.jobs.execution_requests import STAND_IN_IMAGE


def _run(tmp_path: Path, name: str) -> bytes:
    executor = dev_noop_executor()
    output = tmp_path / name / "output"
    output.mkdir(parents=True)
    request = ExecutionRequest(ExecutionId(f"exec-{name}"), "job-3", STAND_IN_IMAGE, ("true",), output)
    executor.start(request)
    assert executor.wait(request.execution_id).state is ExecutionState.SUCCEEDED
    return pack_output(output, tmp_path / name / "result.tar").path.read_bytes()


def test_a_providers_and_a_validators_no_op_runs_pack_to_the_same_bytes(tmp_path: Path) -> None:
    provider, validator = _run(tmp_path, "provider"), _run(tmp_path, "validator")
    assert provider == validator
    assert all(data in provider for data in DEV_NOOP_OUTPUT.values())  # a real file, not an empty result


def test_provider_and_validator_run_take_the_hidden_noop_executor() -> None:
    from provider_node.cli import provider_app
    from validator.cli import validator_app

    for app in (provider_app, validator_app):
        result = CliRunner().invoke(app, ["run", "--executor", "noop", "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "--executor" not in result.output  # hidden: a development option
