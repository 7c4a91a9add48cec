"""Why no registered provider would run a job, in words: each rule of `crowdcompute.requester.checks` on
hand-made networks (the chain path is in test_requester_checks.py)."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from chain import Capabilities, JobSpec, VerificationMode, tokens
from crowdcompute.requester.checks import Network, RegisteredProvider, why_no_provider
from jobs.manifest import Manifest, validate_manifest
from tests.requester.requester_jobs import FAKE_DIGEST

IMAGE = "crowdcompute/runtime-cpu:torch2.13"
SPEC = JobSpec(
    budget=tokens(10),
    collateral=tokens(5),
    run_timeout=3600,
    cpu_cores=2,
    memory_mib=4096,
)
BIG = RegisteredProvider("0x" + "a1" * 20, Capabilities(cpu_cores=8, memory_mib=2048), tokens(500))
WIDE = RegisteredProvider("0x" + "b2" * 20, Capabilities(cpu_cores=1, memory_mib=65_536), tokens(500))
FITS = RegisteredProvider(
    "0x" + "c3" * 20, Capabilities(cpu_cores=4, memory_mib=8192, price_per_hour=tokens(2)), tokens(200)
)


def manifest(digest: str = FAKE_DIGEST) -> Manifest:
    text = f"""
name = "t"
[runtime]
image = "{IMAGE}"
digest = "{digest}"
entrypoint = ["python3", "job.py"]
[resources]
cpus = 2
memory_mib = 4096
disk_mib = 64
timeout_s = 3600
[verification]
mode = "none"
committee_size = 1
[outputs]
max_size_mib = 8
"""
    return validate_manifest(tomllib.loads(text))


def network(*providers: RegisteredProvider, images: dict[str, str] | None = None) -> Network:
    return Network(list(providers), tokens(100), images)


def test_a_job_some_provider_would_run_has_no_reasons() -> None:
    assert why_no_provider(SPEC, manifest(), network(BIG, FITS, images={IMAGE: FAKE_DIGEST})) == []
    assert why_no_provider(SPEC, manifest(), network(FITS)) == []  # no images advertised: nothing to compare


def test_a_gap_no_provider_fills_names_the_largest_offer() -> None:
    huge = dataclasses.replace(SPEC, memory_mib=1_048_576, gpu_count=2)
    assert why_no_provider(huge, manifest(), network(BIG, WIDE)) == [
        "no registered provider offers 2 GPUs; the largest offers 0",
        "no registered provider offers 1,048,576 MiB of memory; the largest offers 65,536",
    ]


def test_needs_met_by_different_providers_but_never_by_one() -> None:
    [reason] = why_no_provider(SPEC, manifest(), network(BIG, WIDE))
    assert reason.startswith("no registered provider offers everything this job asks at once (")
    assert "0xa1a1…a1a1 has 2,048 MiB of memory" in reason and "0xb2b2…b2b2 has 1 CPU cores" in reason


def test_stake_collateral_and_price_are_checked_among_those_that_fit() -> None:
    unstaked = dataclasses.replace(FITS, stake=tokens(50))
    [stake] = why_no_provider(SPEC, manifest(), network(unstaked))
    assert stake == (
        "the 1 registered provider that could run it has staked less than the market's minimum of "
        "100 CROWD (the most: 50 CROWD), so none can claim it"
    )
    [collateral] = why_no_provider(
        dataclasses.replace(SPEC, collateral=tokens(300)), manifest(), network(FITS)
    )
    assert "its collateral of 300 CROWD is more than any provider that could run it has staked" in collateral
    [price] = why_no_provider(dataclasses.replace(SPEC, budget=tokens(1)), manifest(), network(FITS))
    assert price == (
        "it pays 1 CROWD per hour of its run timeout (budget 1 CROWD over 3,600 s); the cheapest provider "
        "that could run it asks 2 CROWD per hour: raise the budget to at least 2 CROWD, or shorten the "
        "run timeout"
    )


@pytest.mark.parametrize(
    ("images", "digest", "words"),
    [
        ({"other:1": FAKE_DIGEST}, FAKE_DIGEST, f"the network's nodes run no image named {IMAGE}"),
        ({IMAGE: "sha256:" + "cd" * 32}, FAKE_DIGEST, "set [runtime] digest to sha256:cdcd"),
        ({}, "sha256:" + "0" * 64, "the examples' placeholder id"),
    ],
)
def test_the_image_is_checked_against_what_the_network_runs(
    images: dict[str, str], digest: str, words: str
) -> None:
    [reason] = why_no_provider(SPEC, manifest(digest), network(FITS, images=images))
    assert words in reason


def test_a_committee_the_roster_cannot_back_is_named_with_its_bond_and_the_fixes() -> None:
    # A committee of 3 needs 2 counted votes; a seat's bond is budget / 2 = 5 tokens here.
    spec = dataclasses.replace(
        SPEC, mode=VerificationMode.SEGMENTS, committee_size=3, samples_per_validator=1
    )
    base = network(FITS)

    def with_validators(*free: int) -> Network:
        return dataclasses.replace(base, validator_free_stakes=list(free), validator_slash=tokens(1))

    assert why_no_provider(spec, manifest(), with_validators(tokens(5), tokens(5))) == []
    assert why_no_provider(spec, manifest(), with_validators(tokens(10))) == []  # one stake, two seats' bonds
    assert why_no_provider(spec, manifest(), base) == []  # the roster was not read: nothing to say
    (reason,) = why_no_provider(spec, manifest(), with_validators(tokens(9), tokens(4)))
    assert "a seat's bond is 5" in reason and "can back 1 seat(s) in all" in reason
    assert "the most free stake: 9" in reason and "fewer than the 2 a decision needs" in reason
    assert "Lower the budget, raise the committee size" in reason
    # A job without a committee needs no backing.
    none = dataclasses.replace(spec, mode=VerificationMode.NONE, committee_size=0, samples_per_validator=0)
    assert why_no_provider(none, manifest(), with_validators(tokens(1))) == []
    # Nor does an empty roster block a post: validators may register before the result is submitted.
    assert why_no_provider(spec, manifest(), with_validators()) == []
