"""Structs round-trip through their ABI form; enums and helpers mirror the contracts."""

from __future__ import annotations

from chain import (
    Capabilities,
    Deployment,
    Job,
    JobSpec,
    JobState,
    JobStatus,
    MarketConfig,
    VerificationMode,
    enum_label,
    tokens,
)

SPEC = JobSpec(
    budget=tokens(10),
    bundle_digest=b"\x11" * 32,
    bundle_codec=0x55,
    verify_blocks=1,
    collateral=tokens(5),
    run_timeout=3600,
    gpu_memory_mib=16384,
    memory_mib=2048,
    mode=VerificationMode.REPLICATE,
    committee_size=3,
    validator_fee=tokens(1),
)


def test_job_round_trips_with_solidity_names() -> None:
    job = Job(SPEC, JobState(provider="0x" + "ab" * 20, deadline=99))
    abi = job.to_abi()
    assert abi["spec"]["gpuMemoryMiB"] == 16384
    assert abi["spec"]["memoryMiB"] == 2048
    assert abi["spec"]["mode"] == 3 and abi["spec"]["reopenOnFailure"] is False
    assert abi["state"]["submitBlock"] == 0
    back = Job.from_abi(abi)
    assert back.spec == SPEC
    assert back.state.provider == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert isinstance(back.spec.mode, VerificationMode)


def test_escrow_is_budget_plus_committee_fees() -> None:
    assert SPEC.escrow == tokens(13)


def test_tuple_form_follows_declaration_order() -> None:
    caps = Capabilities.from_abi((1, 8192, 2, 16, 32768, tokens(2)))
    assert caps == Capabilities(1, 8192, 2, 16, 32768, tokens(2))


def test_deployment_json_round_trip() -> None:
    config = MarketConfig(3600, tokens(100), tokens(50), tokens(10), 500)
    deployment = Deployment(
        chain_id=31337,
        market="0x" + "12" * 20,
        token="0x" + "34" * 20,
        block_number=1,
        deployer="0x" + "56" * 20,
        tx_hash="0x" + "78" * 32,
        config=config,
        abi_hash="0xabc",
    )
    assert Deployment.from_json(deployment.to_json()).config == config


def test_enum_labels_match_solidity() -> None:
    assert enum_label(JobStatus.CLAIMED) == "Claimed"
    assert enum_label(VerificationMode.NONE) == "None"
