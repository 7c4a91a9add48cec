"""`job_spec_for`: the dApp's defaults and rules, checked against the dApp's own code (lib/jobSpec.ts)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from chain import JobSpec, VerificationMode, is_confidential, tokens
from crowdcompute.requester import InvalidSpec, job_spec_for
from jobs.cid import Cid, Codec
from jobs.manifest import Manifest, load_manifest
from tests.requester.requester_jobs import write_job

ROOT = Path(__file__).resolve().parents[2]
TSX = ROOT / "node_modules" / ".bin" / "tsx"
DRIVER = Path(__file__).with_name("dapp_job_spec.ts")
CID = Cid(bytes(range(32)), Codec.RAW)
DAG_CID = Cid(b"\x07" * 32, Codec.DAG_PB)


def _variants(tmp_path: Path) -> dict[str, Path]:
    """Manifests that exercise every default: payment hints, fractional cpus, replicate and none modes."""
    return {
        "digits_mlp": ROOT / "examples" / "digits_mlp" / "job.toml",
        "lstm_series": ROOT / "examples" / "lstm_series" / "job.toml",
        "hints": write_job(
            tmp_path / "hints",
            cpus="1.5",
            mode="segments",
            payment='budget = "12.5"\ncollateral = 4\nvalidator_fee = 0.25',
            extra="verify_blocks = 7\n",
        )
        / "job.toml",
        "replicate": write_job(tmp_path / "replicate", mode="replicate", payment="budget = 3") / "job.toml",
        "none": write_job(tmp_path / "none", mode="none", timeout_s=77) / "job.toml",
    }


def _dapp_specs(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not TSX.exists():
        pytest.fail("needs node and the npm packages (`npm install` at the root and in frontend/)")
    done = subprocess.run(
        [node, str(TSX), str(DRIVER)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def _as_dapp(spec: JobSpec) -> dict[str, Any]:
    abi = spec.to_abi()
    return {
        name: str(value)
        if name in ("budget", "collateral", "validatorFee", "reward", "protocolFee")
        else value
        for name, value in abi.items()
    } | {"bundleDigest": "0x" + spec.bundle_digest.hex(), "resultKey": "0x" + spec.result_key.hex()}


def test_the_spec_matches_the_dapps_for_the_examples_and_every_default(tmp_path: Path) -> None:
    manifests = _variants(tmp_path)
    cases, ours = [], []
    for index, path in enumerate(manifests.values()):
        cid = DAG_CID if index % 2 else CID
        digest, codec = cid.to_chain()
        cases.append(
            {"manifest": tomllib.loads(path.read_text()), "digest": "0x" + digest.hex(), "codec": codec}
        )
        ours.append(_as_dapp(job_spec_for(load_manifest(path), cid)))
    theirs = _dapp_specs(cases)
    for name, mine, dapp in zip(manifests, ours, theirs, strict=True):
        assert mine == dapp, name


def test_the_examples_get_the_dapps_defaults() -> None:
    manifest = load_manifest(ROOT / "examples" / "digits_mlp" / "job.toml")
    spec = job_spec_for(manifest, CID)
    assert (spec.budget, spec.collateral, spec.validator_fee) == (tokens(10), tokens(5), tokens(1))
    assert (spec.run_timeout, spec.cpu_cores, spec.memory_mib, spec.gpu_count) == (900, 1, 1024, 0)
    assert (spec.mode, spec.committee_size, spec.samples_per_validator) == (VerificationMode.SEGMENTS, 3, 5)
    assert (spec.verify_blocks, spec.reopen_on_failure) == (20, True)
    assert (spec.bundle_digest, spec.bundle_codec) == CID.to_chain()
    assert spec.escrow == tokens(13)


def test_a_spec_is_clear_unless_given_the_requesters_result_key() -> None:
    manifest = load_manifest(ROOT / "examples" / "digits_mlp" / "job.toml")
    assert not is_confidential(job_spec_for(manifest, CID))
    confidential = job_spec_for(manifest, CID, result_key=b"\x42" * 32)
    assert is_confidential(confidential) and confidential.result_key == b"\x42" * 32


def _hinted(tmp_path: Path) -> Manifest:
    folder = write_job(tmp_path / "job", payment='budget = "12.5"\ncollateral = 4\nvalidator_fee = 2')
    return load_manifest(folder / "job.toml")


def test_arguments_beat_manifest_hints_which_beat_defaults(tmp_path: Path) -> None:
    manifest = _hinted(tmp_path)
    hinted = job_spec_for(manifest, CID)
    assert (hinted.budget, hinted.collateral, hinted.validator_fee) == (tokens("12.5"), tokens(4), tokens(2))
    given = job_spec_for(
        manifest,
        CID,
        budget=tokens(20),
        collateral=tokens(9),
        validator_fee=tokens(3),
        verify_blocks=9,
        run_timeout=120,
    )
    assert (given.budget, given.collateral, given.validator_fee) == (tokens(20), tokens(9), tokens(3))
    assert (given.verify_blocks, given.run_timeout) == (9, 120)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"budget": 0}, "budget", "more than 0"),
        ({"collateral": tokens(1), "validator_fee": tokens(2)}, "collateral", "1 x 2 CROWD = 2 CROWD"),
        ({"verify_blocks": 101}, "verify_blocks", "1..100"),
        ({"run_timeout": 0}, "run_timeout", "1..4294967295"),
        ({"budget": 2**96}, "budget", "uint96"),
    ],
)
def test_a_spec_that_would_revert_is_refused_naming_the_field(
    tmp_path: Path, overrides: dict[str, Any], field: str, words: str
) -> None:
    manifest = load_manifest(write_job(tmp_path / "job", mode="segments") / "job.toml")  # with a committee
    with pytest.raises(InvalidSpec) as caught:
        job_spec_for(manifest, CID, **overrides)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)


def test_mode_none_has_no_committee_and_other_modes_an_odd_one(tmp_path: Path) -> None:
    none = load_manifest(write_job(tmp_path / "none") / "job.toml")  # committee_size = 1 in its TOML
    spec = job_spec_for(none, CID)
    assert (spec.committee_size, spec.escrow) == (0, spec.budget)
    even = write_job(tmp_path / "even", mode="segments")
    toml = even / "job.toml"
    toml.write_text(toml.read_text().replace("committee_size = 1", "committee_size = 2"))
    with pytest.raises(InvalidSpec) as caught:
        job_spec_for(load_manifest(toml), CID)
    assert caught.value.field == "committee_size" and "odd" in str(caught.value)
