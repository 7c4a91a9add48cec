"""Revert data decodes into ContractRevert with fields, and a message a person can act on."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from chain import Capability, ChainError, ContractRevert, JobStatus, RevertDecoder, describe, tokens

PROVIDER = "0xAbCdEF0123456789aBCDef0123456789ABcDEfCd"
ABI = [
    {
        "type": "error",
        "name": "ProviderLacksCapability",
        "inputs": [
            {"name": "jobId", "type": "uint256"},
            {"name": "provider", "type": "address"},
            {"name": "capability", "type": "uint8"},
            {"name": "required", "type": "uint256"},
            {"name": "offered", "type": "uint256"},
        ],
    },
    {
        "type": "error",
        "name": "JobNotInStatus",
        "inputs": [
            {"name": "jobId", "type": "uint256"},
            {"name": "actual", "type": "uint8"},
            {"name": "expected", "type": "uint8"},
        ],
    },
]


def revert_data(signature: str, types: list[str], values: list[object]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def test_custom_error_decodes_with_fields_and_message() -> None:
    data = revert_data(
        "ProviderLacksCapability(uint256,address,uint8,uint256,uint256)",
        ["uint256", "address", "uint8", "uint256", "uint256"],
        [7, PROVIDER, int(Capability.GPU_MEMORY), 16384, 8192],
    )
    exc = RevertDecoder([ABI]).decode(data)
    assert isinstance(exc, ContractRevert) and isinstance(exc, ChainError)
    assert exc.error_name == "ProviderLacksCapability"
    assert exc.fields == {
        "jobId": 7,
        "provider": PROVIDER,
        "capability": int(Capability.GPU_MEMORY),
        "required": 16384,
        "offered": 8192,
    }
    assert str(exc) == "job 7 needs 16384 MiB of GPU memory; provider 0xAbCd…EfCd offers 8192"


def test_job_not_in_status_names_the_states() -> None:
    data = revert_data(
        "JobNotInStatus(uint256,uint8,uint8)",
        ["uint256", "uint8", "uint8"],
        [3, JobStatus.CLAIMED, JobStatus.OPEN],
    )
    assert str(RevertDecoder([ABI]).decode(data)) == "job 3 is Claimed, not Open"


def test_insufficient_free_stake_in_tokens() -> None:
    message = describe(
        "InsufficientFreeStake", {"account": PROVIDER, "available": tokens(50), "required": tokens(100)}
    )
    assert message == "0xAbCd…EfCd has 50 CROWD of free stake; 100 CROWD needed"


def test_revert_string_and_panic() -> None:
    decoder = RevertDecoder([])
    text = decoder.decode(bytes.fromhex("08c379a0") + encode(["string"], ["nope"]))
    assert (text.error_name, str(text)) == ("Error", "nope")
    panic = decoder.decode(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11]))
    assert panic.error_name == "Panic" and "overflow" in str(panic)


def test_unknown_selector_keeps_the_raw_data() -> None:
    exc = RevertDecoder([ABI]).decode(bytes.fromhex("deadbeef"))
    assert exc.error_name == "Unknown"
    assert exc.fields == {"data": "0xdeadbeef"}


def test_error_without_template_lists_its_fields() -> None:
    assert (
        describe("SomethingNew", {"jobId": 4, "digest": b"\x01\x02"})
        == "SomethingNew(jobId=4, digest=0x0102)"
    )


def test_template_with_drifted_field_names_falls_back() -> None:
    assert describe("JobNotInStatus", {"id": 3}) == "JobNotInStatus(id=3)"
