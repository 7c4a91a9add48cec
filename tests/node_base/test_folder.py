"""Nodes that share a machine: a data folder per role and account by default, held by one daemon at a
time; a second daemon on the same folder refuses to start, naming the first one's pid."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from chain import (
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    AnvilProcess,
    Deployment,
    DevChain,
    JobId,
    Role,
    save_deployment,
)
from jobs.cid import Cid
from jobs.executors.docker_options import container_name
from node_base import (
    DataDirInUse,
    DataDirLock,
    address_tag,
    default_data_dir,
    hold_data_dir,
    node_data_dir,
    node_label,
)
from provider_node.cli import provider_app
from provider_node.runner import execution_id_for
from provider_node.state import JobRecord, Phase
from tests.cli_support.json_cli import connection_args
from validator.cli import validator_app
from validator.verify import Submission, Verifier

REPO = Path(__file__).resolve().parents[2]
CID = Cid.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
# Holds the folder's lock until its stdin closes, as a running daemon would.
HOLDER = (
    "import sys; from pathlib import Path; from node_base import DataDirLock; "
    "lock = DataDirLock(Path(sys.argv[1])).acquire(); print('held', flush=True); sys.stdin.read()"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process (a daemon, as far as the folder can tell) holding tmp_path/held."""
    folder = tmp_path / "held"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process, folder
    process.kill()
    process.wait(10)


def test_two_validators_with_different_keys_get_different_folders(home: Path) -> None:
    first, second = (node_data_dir(None, Role.VALIDATOR, DEV_ADDRESSES[i]) for i in (7, 8))
    assert first != second
    assert first == home / ".crowdcompute" / "validator" / DEV_ADDRESSES[7].lower()
    assert second == home / ".crowdcompute" / "validator" / DEV_ADDRESSES[8].lower()
    provider = default_data_dir(Role.PROVIDER, DEV_ADDRESSES[7])
    assert provider == home / ".crowdcompute" / "provider" / DEV_ADDRESSES[7].lower()


def test_an_explicit_folder_is_used_as_given(home: Path, tmp_path: Path) -> None:
    assert node_data_dir(tmp_path / "mine", Role.VALIDATOR, DEV_ADDRESSES[7]) == tmp_path / "mine"
    assert node_data_dir(Path("~/x"), Role.PROVIDER, DEV_ADDRESSES[7]) == home / "x"


def test_a_folder_from_before_per_account_defaults_is_named_not_forgotten(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    legacy = home / ".crowdcompute" / "validator"
    legacy.mkdir(parents=True)
    (legacy / "state.db").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="node_base.folder"):
        node_data_dir(None, Role.VALIDATOR, DEV_ADDRESSES[7])
    assert f"start with --data-dir {legacy} to resume it" in caplog.text


def test_the_address_names_folders_and_containers_whole_and_in_lower_case() -> None:
    assert (
        address_tag(DEV_ADDRESSES[7]) == DEV_ADDRESSES[7].lower() and len(address_tag(DEV_ADDRESSES[7])) == 42
    )
    with pytest.raises(ValueError, match="is not an account address"):
        address_tag("0x1234")


def test_a_second_daemon_on_a_held_folder_is_refused_naming_the_holders_pid(
    holder: tuple[subprocess.Popen[str], Path],
) -> None:
    process, folder = holder
    with pytest.raises(DataDirInUse) as caught:
        DataDirLock(folder).acquire()
    assert caught.value.pid == process.pid
    assert f"{folder} is in use by process {process.pid}" in str(caught.value)
    assert "give this one its own --data-dir" in str(caught.value)


def test_the_folder_is_free_again_once_its_holder_is_gone(holder: tuple[subprocess.Popen[str], Path]) -> None:
    process, folder = holder
    process.kill()  # however a daemon ends, the kernel lets its lock go
    process.wait(10)
    with DataDirLock(folder) as lock:
        assert lock.held and lock.path.read_text().strip() == str(os.getpid())
        with pytest.raises(DataDirInUse):
            DataDirLock(folder).acquire()  # held by this process now: a second hold is refused too
    assert not lock.held
    DataDirLock(folder).acquire().close()


def test_hold_data_dir_takes_the_per_account_default(home: Path) -> None:
    lock = hold_data_dir(None, Role.PROVIDER, DEV_ADDRESSES[7])
    try:
        assert lock.data_dir == home / ".crowdcompute" / "provider" / DEV_ADDRESSES[7].lower()
        assert (lock.data_dir / "node.lock").is_file()
    finally:
        lock.close()


# -- the run commands, on the real chain -------------------------------------------------------------


@pytest.fixture
def chain_args(
    anvil: AnvilProcess, deployment: Deployment, tmp_path: Path, dev_chain: DevChain
) -> Iterator[list[str]]:
    """The connection options; the root logger as it was afterwards (a run command sets up its log)."""
    folder = tmp_path / "deployments"
    save_deployment(deployment, folder)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield [*connection_args(anvil.url, folder, tmp_path / "no-devnet"), "--json"]
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(("app", "role"), [(validator_app, "validator"), (provider_app, "provider")])
def test_run_refuses_a_folder_another_daemon_holds(
    app: typer.Typer, role: str, chain_args: list[str], holder: tuple[subprocess.Popen[str], Path]
) -> None:
    process, folder = holder
    env = {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[7]}
    result = CliRunner().invoke(app, ["run", "--data-dir", str(folder), *chain_args], env=env)
    assert result.exit_code == 1, result.output
    message = json.loads(result.stdout)["message"]
    assert f"in use by process {process.pid}" in message, role


def test_run_holds_the_per_account_default_folder(chain_args: list[str], home: Path, tmp_path: Path) -> None:
    """A validator started without --data-dir uses ~/.crowdcompute/validator/<address>/: with that folder
    held, a second one with the same key is refused, one with another key would not be."""
    mine = home / ".crowdcompute" / "validator" / DEV_ADDRESSES[7].lower()
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(mine)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        env = {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[7], "HOME": str(home)}
        result = CliRunner().invoke(validator_app, ["run", *chain_args], env=env)
        assert result.exit_code == 1, result.output
        assert f"{mine} is in use by process {process.pid}" in json.loads(result.stdout)["message"]
    finally:
        process.kill()
        process.wait(10)
    other = node_data_dir(None, Role.VALIDATOR, DEV_ADDRESSES[8])
    assert other != mine and not other.exists()


def test_container_and_work_names_carry_the_nodes_whole_address(tmp_path: Path) -> None:
    """Two nodes whose addresses share their first bytes (as vanity addresses do) still get apart names,
    within what Docker accepts."""
    twins = ["0xabcdef12" + "0" * 31 + "1", "0xabcdef12" + "0" * 31 + "2"]
    largest = JobId(2**64 - 1)
    record = JobRecord(job_id=largest, attempt=255, phase=Phase.CLAIMED, bundle_cid=CID, tries=99)
    runs = [execution_id_for(record, address) for address in twins]
    assert runs[0] != runs[1] and all(address in run for address, run in zip(twins, runs, strict=True))

    submission = Submission(largest, 255, None, CID, b"", 0, b"")  # type: ignore[arg-type]
    verifiers = [Verifier(None, None, None, tmp_path / "work", address) for address in twins]  # type: ignore[arg-type]
    replays = [verifier.execution_id(submission, 99) for verifier in verifiers]
    folders = [verifier.folder(largest, 255) for verifier in verifiers]
    assert replays[0] != replays[1] and folders[0] != folders[1]
    assert folders[0] == tmp_path / "work" / f"{largest}-255-{twins[0]}"
    labels = [node_label(Role.VALIDATOR, address, tmp_path / ("a-long-folder-name" * 8)) for address in twins]
    for name in (*runs, *replays):
        assert twins[0] in name or twins[1] in name
        for named in (container_name(name), container_name(name, labels[0])):
            assert len(named) <= 128 and re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", named)


def test_two_nodes_of_one_account_in_two_folders_label_and_name_their_containers_apart(
    tmp_path: Path,
) -> None:
    """Two stacks on one Docker engine use the same dev accounts: a node's containers are told apart by its
    folder, so one never re-attaches to, cancels or removes the other's; a restart there finds its own."""
    address = "0x" + "ab" * 20
    first = node_label(Role.PROVIDER, address, tmp_path / "stack-1" / "provider")
    second = node_label(Role.PROVIDER, address, tmp_path / "stack-2" / "provider")
    assert first != second and first.startswith(address + "-") and second.startswith(address + "-")
    assert (
        node_label(Role.PROVIDER, address.upper().replace("0X", "0x"), tmp_path / "stack-1" / "provider")
        == first
    )
    relative = node_label(Role.PROVIDER, address, Path(os.path.relpath(tmp_path / "stack-1" / "provider")))
    assert relative == first, "the same folder, however it is written, is the same node"
    validator = node_label(Role.VALIDATOR, address, tmp_path / "stack-1" / "provider")
    assert validator == "validator-" + first, "a validator's label says so (the chaos suite counts by it)"
    execution = "job1-a0-" + address + "-t0"
    assert container_name(execution, first) != container_name(execution, second)
    assert container_name(execution, first).startswith(f"crowdcompute-{execution}-")
