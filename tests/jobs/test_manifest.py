"""The job manifest: every rule, and messages that name the field, the value given and what is allowed."""

from __future__ import annotations

import copy
import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic
import pytest

from jobs.errors import JobsError
from jobs.manifest import (
    MISSING,
    JobRequirements,
    Manifest,
    ManifestError,
    ManifestProblem,
    VerificationMode,
    load_manifest,
    manifest_json_schema,
    to_requirements,
    validate_manifest,
)

FIXTURE = Path(__file__).parent / "fixtures" / "minimal_job"
BASE: dict[str, Any] = tomllib.loads((FIXTURE / "job.toml").read_text())
DELETE = object()
GPU_JOB = {"resources.gpus": 1, "resources.gpu_memory_mib": 16_000, "verification.tolerance": 1e-4}


def manifest_data(**changes: object) -> dict[str, Any]:
    """The fixture's data with changes at dotted paths ('resources.gpus'); DELETE removes a key."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = data
        for parent in parents:
            node = node.setdefault(parent, {})
        if value is DELETE:
            node.pop(key, None)
        else:
            node[key] = value
    return data


def problems_of(**changes: object) -> list[ManifestProblem]:
    with pytest.raises(ManifestError) as caught:
        validate_manifest(manifest_data(**changes))
    return caught.value.problems


# --- the valid fixture --------------------------------------------------------------------------------


def test_fixture_loads_from_folder_file_and_bytes() -> None:
    from_folder = load_manifest(FIXTURE)
    assert (
        from_folder
        == load_manifest(FIXTURE / "job.toml")
        == load_manifest((FIXTURE / "job.toml").read_bytes())
    )
    assert from_folder.name == "minimal-job"
    assert from_folder.resources.gpus == 0
    assert from_folder.verification.committee_size == 3
    assert from_folder.outputs.path == "."
    assert from_folder.payment is None


def test_fixture_to_requirements() -> None:
    requirements = to_requirements(load_manifest(FIXTURE))
    assert requirements == JobRequirements(
        gpuCount=0,
        gpuMemoryMiB=0,
        gpuClass=0,
        cpuCores=1,
        memoryMiB=512,
        runTimeout=600,
        mode=VerificationMode.SEGMENTS,
        committeeSize=3,
        samplesPerValidator=1,
    )


def test_to_requirements_gpu_job_rounds_cpus_up_and_maps_every_field() -> None:
    manifest = validate_manifest(
        manifest_data(
            **GPU_JOB,
            **{"resources.gpu_class": 7, "resources.cpus": 2.5, "resources.memory_mib": 65_536},
            **{
                "resources.timeout_s": 7200,
                "verification.committee_size": 5,
                "verification.samples_per_validator": 4,
            },
        )
    )
    requirements = manifest.to_requirements()
    assert (requirements.gpuCount, requirements.gpuMemoryMiB, requirements.gpuClass) == (1, 16_000, 7)
    assert (requirements.cpuCores, requirements.memoryMiB, requirements.runTimeout) == (3, 65_536, 7200)
    assert (requirements.committeeSize, requirements.samplesPerValidator) == (5, 4)


@pytest.mark.parametrize(("mode", "ordinal"), [("none", 0), ("segments", 1), ("shards", 2), ("replicate", 3)])
def test_to_requirements_mode_is_the_solidity_enum_ordinal(mode: str, ordinal: int) -> None:
    changes: dict[str, object] = {"verification.mode": mode}
    if mode != "segments":
        changes["verification.checkpoint_interval"] = DELETE
    if mode in ("none", "replicate"):
        changes["verification.samples_per_validator"] = DELETE
    requirements = validate_manifest(manifest_data(**changes)).to_requirements()
    assert requirements.mode == ordinal and isinstance(requirements.mode, int)
    if mode in ("none", "replicate"):
        assert requirements.samplesPerValidator == 0


def test_manifest_is_frozen() -> None:
    manifest = load_manifest(FIXTURE)
    with pytest.raises(pydantic.ValidationError):
        manifest.name = "other"


def test_validate_manifest_accepts_json_input() -> None:
    assert validate_manifest(json.loads(json.dumps(BASE))) == load_manifest(FIXTURE)


# --- every rule ---------------------------------------------------------------------------------------

# (changes, field, value as shown, what the message says is allowed)
RULES: dict[str, tuple[dict[str, object], str, str | None, str]] = {
    "name-not-a-slug": ({"name": "My Job"}, "name", "'My Job'", "must be a slug"),
    "name-double-hyphen": ({"name": "a--b"}, "name", "'a--b'", "must be a slug"),
    "name-empty": ({"name": ""}, "name", "''", "must not be empty"),
    "name-too-long": ({"name": "a" * 65}, "name", repr("a" * 65), "must be at most 64 characters"),
    "name-missing": ({"name": DELETE}, "name", None, "missing; required"),
    "description-not-string": ({"description": 5}, "description", "5", "must be a string"),
    "unknown-top-level-field": (
        {"nmae": "x"},
        "nmae",
        None,
        "unknown field; allowed: manifest_version, name,",
    ),
    "manifest-version": ({"manifest_version": 2}, "manifest_version", "2", "must be 1"),
    "section-not-a-table": ({"resources": 5}, "resources", "5", "must be a table"),
    "runtime-missing": ({"runtime": DELETE}, "runtime", None, "missing; required"),
    "image-without-tag": ({"runtime.image": "python"}, "runtime.image", "'python'", "image name with a tag"),
    "image-upper-case": ({"runtime.image": "Python:3.11"}, "runtime.image", "'Python:3.11'", "with a tag"),
    "image-with-digest": (
        {"runtime.image": "python@sha256:" + "0" * 64},
        "runtime.image",
        repr("python@sha256:" + "0" * 64),
        "put the digest in runtime.digest",
    ),
    "digest-short": ({"runtime.digest": "sha256:abc"}, "runtime.digest", "'sha256:abc'", "64 lowercase hex"),
    "digest-missing": ({"runtime.digest": DELETE}, "runtime.digest", None, "missing; required"),
    "entrypoint-empty": ({"runtime.entrypoint": []}, "runtime.entrypoint", "[]", "must not be empty"),
    "entrypoint-a-string": (
        {"runtime.entrypoint": "python train.py"},
        "runtime.entrypoint",
        "'python train.py'",
        "must be a list",
    ),
    "entrypoint-empty-arg": (
        {"runtime.entrypoint": ["python", ""]},
        "runtime.entrypoint[1]",
        "''",
        "non-empty string",
    ),
    "entrypoint-non-string-arg": (
        {"runtime.entrypoint": ["python", 3]},
        "runtime.entrypoint[1]",
        "3",
        "must be a string",
    ),
    "env-value-not-string": ({"runtime.env": {"SEED": 1}}, "runtime.env.SEED", "1", "must be a string"),
    "env-bad-name": ({"runtime.env": {"1X": "a"}}, "runtime.env", "'1X'", "letters, digits and '_'"),
    "env-reserved-name": (
        {"runtime.env": {"CROWDCOMPUTE_STEP": "1"}},
        "runtime.env",
        "'CROWDCOMPUTE_STEP'",
        "set by the executor",
    ),
    "env-secret-name": ({"runtime.env": {"HF_TOKEN": "x"}}, "runtime.env", "'HF_TOKEN'", "holds a secret"),
    "env-secret-name-pair": (
        {"runtime.env": {"OPENAI_API_KEY": "x"}},
        "runtime.env",
        "'OPENAI_API_KEY'",
        "holds a secret",
    ),
    "env-secret-value": (
        {"runtime.env": {"HUB": "hf_" + "a" * 34}},
        "runtime.env.HUB",
        "<redacted>",
        "looks like a Hugging Face token",
    ),
    "env-private-key-value": (
        {"runtime.env": {"CERT": "-----BEGIN RSA PRIVATE KEY-----\nabc"}},
        "runtime.env.CERT",
        "<redacted>",
        "PEM private key",
    ),
    "gpus-negative": ({"resources.gpus": -1}, "resources.gpus", "-1", "must be >= 0"),
    "gpus-over-uint8": ({"resources.gpus": 256}, "resources.gpus", "256", "must be <= 255"),
    "gpus-bool": ({"resources.gpus": True}, "resources.gpus", "True", "must be an integer"),
    "gpu-memory-negative": (
        {"resources.gpu_memory_mib": -1},
        "resources.gpu_memory_mib",
        "-1",
        "must be >= 0",
    ),
    "gpu-class-over-255": ({"resources.gpu_class": 256}, "resources.gpu_class", "256", "must be <= 255"),
    "cpus-zero": ({"resources.cpus": 0}, "resources.cpus", "0", "must be > 0"),
    "cpus-quoted": ({"resources.cpus": "4"}, "resources.cpus", "'4'", "must be a number (without quotes)"),
    "cpus-nan": ({"resources.cpus": float("nan")}, "resources.cpus", "nan", "must be a finite number"),
    "cpus-over-uint16": ({"resources.cpus": 70_000}, "resources.cpus", "70000", "must be <= 65535"),
    "memory-zero": ({"resources.memory_mib": 0}, "resources.memory_mib", "0", "must be >= 1"),
    "memory-missing": ({"resources.memory_mib": DELETE}, "resources.memory_mib", None, "missing; required"),
    "disk-zero": ({"resources.disk_mib": 0}, "resources.disk_mib", "0", "must be >= 1"),
    "timeout-float": ({"resources.timeout_s": 1.5}, "resources.timeout_s", "1.5", "must be an integer"),
    "timeout-over-uint32": (
        {"resources.timeout_s": 2**32},
        "resources.timeout_s",
        "4294967296",
        "must be <= 4294967295",
    ),
    "resources-unknown-field": (
        {"resources.gpu": 1},
        "resources.gpu",
        None,
        "unknown field; allowed: gpus, gpu_memory_mib, gpu_class, cpus, memory_mib, disk_mib, timeout_s",
    ),
    "gpu-memory-without-gpus": (
        {"resources.gpu_memory_mib": 8000},
        "resources.gpu_memory_mib",
        "8000",
        "must be 0 when resources.gpus is 0",
    ),
    "gpu-class-without-gpus": (
        {"resources.gpu_class": 3},
        "resources.gpu_class",
        "3",
        "must be 0 when resources.gpus is 0",
    ),
    "mode-unknown": (
        {"verification.mode": "all"},
        "verification.mode",
        "'all'",
        "must be one of 'none', 'segments', 'shards' or 'replicate'",
    ),
    "checkpoint-interval-missing": (
        {"verification.checkpoint_interval": DELETE},
        "verification.checkpoint_interval",
        None,
        "required when mode is 'segments'",
    ),
    "checkpoint-interval-zero": (
        {"verification.checkpoint_interval": 0},
        "verification.checkpoint_interval",
        "0",
        "must be >= 1",
    ),
    "checkpoint-interval-with-shards": (
        {"verification.mode": "shards"},
        "verification.checkpoint_interval",
        "10",
        "only used with mode 'segments' (mode is 'shards')",
    ),
    "segments-with-none": (
        {"verification.mode": "none", "verification.checkpoint_interval": DELETE, "verification.segments": 4},
        "verification.segments",
        "4",
        "only used with mode 'segments' (mode is 'none')",
    ),
    "samples-missing-for-shards": (
        {
            "verification.mode": "shards",
            "verification.checkpoint_interval": DELETE,
            "verification.samples_per_validator": DELETE,
        },
        "verification.samples_per_validator",
        None,
        "required (>= 1) with mode 'shards'",
    ),
    "samples-with-replicate": (
        {"verification.mode": "replicate", "verification.checkpoint_interval": DELETE},
        "verification.samples_per_validator",
        "1",
        "each validator re-runs the whole job",
    ),
    "samples-more-than-segments": (
        {"verification.segments": 2, "verification.samples_per_validator": 3},
        "verification.samples_per_validator",
        "3",
        "must be <= verification.segments (2)",
    ),
    "committee-zero": (
        {"verification.committee_size": 0},
        "verification.committee_size",
        "0",
        "must be >= 1",
    ),
    "committee-nine": (
        {"verification.committee_size": 9},
        "verification.committee_size",
        "9",
        "must be <= 8",
    ),
    "tolerance-negative": (
        {"verification.tolerance": -0.1},
        "verification.tolerance",
        "-0.1",
        "must be >= 0",
    ),
    "tolerance-missing-for-gpu-segments": (
        {**GPU_JOB, "verification.tolerance": DELETE},
        "verification.tolerance",
        None,
        "required (> 0) when resources.gpus > 0 and verification.mode is 'segments'",
    ),
    "tolerance-zero-for-gpu-segments": (
        {**GPU_JOB, "verification.tolerance": 0.0},
        "verification.tolerance",
        "0.0",
        "must be > 0 when resources.gpus > 0 and verification.mode is 'segments'",
    ),
    "verify-blocks-over-240": (
        {"verification.verify_blocks": 241},
        "verification.verify_blocks",
        "241",
        "<= 240",
    ),
    "output-path-absolute": (
        {"outputs.path": "/model"},
        "outputs.path",
        "'/model'",
        "must be a relative path",
    ),
    "output-path-dotdot": (
        {"outputs.path": "a/../../b"},
        "outputs.path",
        "'a/../../b'",
        "'..' is not allowed",
    ),
    "output-path-backslash": (
        {"outputs.path": "a\\b"},
        "outputs.path",
        repr("a\\b"),
        "must be a relative path",
    ),
    "output-size-zero": ({"outputs.max_size_mib": 0}, "outputs.max_size_mib", "0", "must be >= 1"),
    "output-larger-than-disk": (
        {"outputs.max_size_mib": 1000},
        "outputs.max_size_mib",
        "1000",
        "must be <= resources.disk_mib (256)",
    ),
    "budget-negative": ({"payment.budget": -1}, "payment.budget", "-1", "token amount >= 0"),
    "budget-not-a-number": ({"payment.budget": "ten"}, "payment.budget", "'ten'", "must be a token amount"),
    "budget-bool": ({"payment.budget": True}, "payment.budget", "True", "must be a token amount"),
    "budget-too-precise": (
        {"payment.budget": "0.0000000000000000001"},
        "payment.budget",
        "'0.0000000000000000001'",
        "18 decimal places",
    ),
    "budget-over-uint96": (
        {"payment.budget": 10**11},
        "payment.budget",
        "100000000000",
        "tokens (uint96 on chain)",
    ),
    "validator-fee-nan": ({"payment.validator_fee": "NaN"}, "payment.validator_fee", "'NaN'", "finite"),
    "collateral-below-fees": (
        {"payment.collateral": 1, "payment.validator_fee": "0.5"},
        "payment.collateral",
        "'1'",
        "must be >= verification.committee_size x payment.validator_fee = 3 x 0.5 = 1.5",
    ),
    "payment-unknown-field": (
        {"payment.price": 1},
        "payment.price",
        None,
        "unknown field; allowed: budget, collateral, validator_fee",
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_rule_refused_with_field_value_and_what_is_allowed(rule: str) -> None:
    changes, field, shown, allowed = RULES[rule]
    problems = problems_of(**changes)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.field == field
    assert allowed in problem.message
    text = str(ManifestError(problems))
    if shown is None:  # a missing or unknown field: no value to show
        assert problem.value is MISSING
        assert text == f"{field}: {problem.message}"
    else:
        assert text == f"{field}: {shown} is not allowed; {problem.message}"


def test_message_reads_as_documented() -> None:
    with pytest.raises(ManifestError) as caught:
        validate_manifest(manifest_data(**{"resources.gpu_memory_mib": -1}))
    assert str(caught.value) == "resources.gpu_memory_mib: -1 is not allowed; must be >= 0"
    field, value, message = caught.value.problems[0]
    assert (field, value, message) == ("resources.gpu_memory_mib", -1, "must be >= 0")


def test_missing_field_reads_as_missing() -> None:
    with pytest.raises(ManifestError) as caught:
        validate_manifest(manifest_data(**{"resources.memory_mib": DELETE}))
    assert str(caught.value) == "resources.memory_mib: missing; required"


def test_problems_in_several_sections_all_reported_at_once() -> None:
    problems = problems_of(**{"name": "Bad", "resources.cpus": -1, "verification.committee_size": 99})
    assert [problem.field for problem in problems] == [
        "name",
        "resources.cpus",
        "verification.committee_size",
    ]
    text = str(ManifestError(problems))
    assert text.startswith("the manifest has 3 problems:\n")
    assert "  - resources.cpus: -1 is not allowed; must be > 0" in text.splitlines()


def test_secret_value_never_echoed_in_the_error() -> None:
    secret = "hf_" + "S3cr3t" * 6
    with pytest.raises(ManifestError) as caught:
        validate_manifest(manifest_data(**{"runtime.env": {"HUB": secret}}))
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.problems)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("name", ["TOKENIZERS_PARALLELISM", "PYTHONHASHSEED", "OMP_NUM_THREADS", "KEYBOARD"])
def test_env_ordinary_names_accepted(name: str) -> None:
    manifest = validate_manifest(manifest_data(**{"runtime.env": {name: "1"}}))
    assert manifest.runtime.env == {name: "1"}


def test_tolerance_not_needed_on_cpu_or_without_segments() -> None:
    validate_manifest(manifest_data())  # CPU, segments, no tolerance: exact comparison
    validate_manifest(
        manifest_data(
            **{**GPU_JOB, "verification.tolerance": DELETE, "verification.mode": "shards"},
            **{"verification.checkpoint_interval": DELETE},
        )
    )


def test_outputs_path_normalised() -> None:
    assert (
        validate_manifest(manifest_data(**{"outputs.path": "./model//final/"})).outputs.path == "model/final"
    )


def test_payment_exact_token_amounts_in_base_units() -> None:
    manifest = validate_manifest(
        manifest_data(**{"payment.budget": "12.5", "payment.collateral": 3, "payment.validator_fee": 0.1})
    )
    assert manifest.payment is not None
    assert manifest.payment.budget == Decimal("12.5")
    units = manifest.payment.in_base_units()
    assert units.budget == 12_500_000_000_000_000_000
    assert units.collateral == 3 * 10**18
    assert units.validatorFee == 10**17


# --- reading job.toml ---------------------------------------------------------------------------------


def test_load_invalid_toml_names_file_and_position() -> None:
    with pytest.raises(ManifestError, match=r"^job\.toml: not valid TOML: .*line 2, column 13"):
        load_manifest(b'name = "x"\nresources = ]\n')


def test_load_not_utf8_refused() -> None:
    with pytest.raises(ManifestError, match=r"^job\.toml: not valid UTF-8"):
        load_manifest(b'name = "\xff"\n')


def test_load_huge_file_refused_before_parsing() -> None:
    with pytest.raises(ManifestError, match="larger than 1024 KiB"):
        load_manifest(b"#" * (1024 * 1024 + 1))


def test_load_missing_file_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"^job\.toml: missing"):
        load_manifest(tmp_path)


def test_load_toml_types_wrong_type_named() -> None:
    text = (FIXTURE / "job.toml").read_text().replace("memory_mib = 512", 'memory_mib = "512"')
    with pytest.raises(ManifestError) as caught:
        load_manifest(text.encode())
    assert (
        str(caught.value) == "resources.memory_mib: '512' is not allowed; must be an integer (without quotes)"
    )


def test_manifest_error_is_a_jobs_error_and_a_value_error() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(b"")
    assert isinstance(caught.value, JobsError) and isinstance(caught.value, ValueError)


# --- JSON Schema ----------------------------------------------------------------------------------------


def test_json_schema_describes_every_section_and_its_bounds() -> None:
    schema = manifest_json_schema()
    json.dumps(schema)  # serialisable as the gateway will serve it
    assert set(schema["required"]) == {"name", "runtime", "resources", "verification", "outputs"}
    assert schema["additionalProperties"] is False
    definitions = schema["$defs"]
    resources = definitions["Resources"]
    assert resources["additionalProperties"] is False
    assert resources["properties"]["gpu_class"]["maximum"] == 255
    assert resources["properties"]["cpus"]["exclusiveMinimum"] == 0
    assert definitions["Runtime"]["properties"]["digest"]["pattern"] == "^sha256:[0-9a-f]{64}$"
    assert definitions["Verification"]["properties"]["committee_size"]["maximum"] == 8
    assert set(definitions["Verification"]["properties"]["mode"]["enum"]) == {
        "segments",
        "shards",
        "replicate",
        "none",
    }


def test_json_schema_is_a_manifest_model_schema() -> None:
    assert manifest_json_schema() == Manifest.model_json_schema()
