"""Matching: every skip reason in words, the risk warnings, and the ranking that spreads identical nodes."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from chain import DEV_ADDRESSES, JobSpec, tokens
from jobs.executors import ImageDigestMismatch, ImageRef, ImageUnavailable
from jobs.manifest import Manifest, validate_manifest
from jobs.matching import SkipKind, kind_of
from provider_node.images import image_check_for
from provider_node.matching import Offer, budget_per_hour, check_manifest, check_spec, rank, risk_reasons
from tests.provider_node.provider_jobs import PROVIDER_CAPS, SPEC, manifest_text

ME = DEV_ADDRESSES[2]
OFFER = Offer(
    address=ME,
    capabilities=PROVIDER_CAPS,
    price_floor=tokens(1),
    stake=tokens(200),
    free_stake=tokens(200),
    min_stake=tokens(100),
    active_jobs=0,
    capacity=1,
)


def spec(**changes: object) -> JobSpec:
    return dataclasses.replace(SPEC, **{"requester": DEV_ADDRESSES[1], **changes})  # type: ignore[arg-type]


def manifest(**changes: object) -> Manifest:
    return validate_manifest(tomllib.loads(manifest_text(**changes)))  # type: ignore[arg-type]


def test_check_spec_accepts_a_job_that_fits() -> None:
    assert check_spec(spec(), OFFER) is None


@pytest.mark.parametrize(
    ("changes", "offer_changes", "words"),
    [
        ({"gpu_memory_mib": 4096}, {}, "too little GPU memory: needs 4096 MiB, this node offers 0 MiB"),
        ({"gpu_count": 1}, {}, "too few GPUs: needs 1, this node offers 0"),
        ({"cpu_cores": 4}, {}, "too few CPU cores: needs 4, this node offers 2"),
        ({"memory_mib": 4096}, {}, "too little memory: needs 4096 MiB"),
        (
            {"budget": tokens(1), "run_timeout": 7200},
            {},
            "price below this node's floor: pays 0.5 CROWD per hour of runTimeout "
            "(budget 1 CROWD over 7200 s)",
        ),
        (
            {"collateral": tokens(300)},
            {},
            "not enough free stake for the collateral: 300 CROWD needed, 200 CROWD free",
        ),
        ({}, {"stake": tokens(50), "free_stake": tokens(50)}, "stake below the providers' minimum"),
        ({}, {"active_jobs": 1}, "at capacity: 1 of 1 job slots busy"),
        ({"requester": ME}, {}, "posted by this node's own account"),
    ],
)
def test_check_spec_says_why_it_skips(
    changes: dict[str, object], offer_changes: dict[str, object], words: str
) -> None:
    reason = check_spec(spec(**changes), dataclasses.replace(OFFER, **offer_changes))
    assert reason is not None and words in reason


def test_budget_per_hour_is_the_budget_over_the_run_timeout_in_hours() -> None:
    assert budget_per_hour(spec(budget=tokens(3), run_timeout=1800)) == tokens(6)


def test_check_manifest_asks_the_image_check_and_compares_resources() -> None:
    seen: list[ImageRef] = []

    def absent(image: ImageRef) -> str:
        seen.append(image)
        return f"runtime image {image.name} is not present locally"

    reason = check_manifest(manifest(image="crowdcompute/absent:1"), OFFER, absent)
    assert reason == "runtime image crowdcompute/absent:1 is not present locally"
    assert seen[0].name == "crowdcompute/absent:1"
    too_big = check_manifest(manifest(memory_mib=8192), OFFER, lambda image: None)
    assert too_big is not None and "too little memory: needs 8192 MiB" in too_big
    assert check_manifest(manifest(), OFFER, lambda image: None) is None


def test_risk_reasons_name_a_timeout_that_reaches_the_deadline_and_a_high_collateral() -> None:
    assert risk_reasons(manifest(timeout_s=60), spec(), 30) == []
    risks = risk_reasons(manifest(timeout_s=3590), spec(collateral=tokens(20)), 30)
    assert any("must be submitted within 3600 s" in r for r in risks)
    assert any("collateral (20 CROWD) is more than it pays (10 CROWD)" in r for r in risks)


def test_rank_puts_the_best_pay_first_and_spreads_ties_across_nodes() -> None:
    jobs = [(1, spec()), (2, spec(budget=tokens(20))), (3, spec())]
    assert rank(jobs, ME)[0] == 2
    assert rank(jobs, ME, tie_break=False) == [2, 1, 3]
    equal = [(job_id, spec()) for job_id in range(1, 41)]
    firsts = {rank(equal, address)[0] for address in DEV_ADDRESSES}
    assert len(firsts) > 5, "identical nodes should not all want the same job first"


@pytest.mark.parametrize(
    ("changes", "offer_changes", "kind"),
    [
        ({"gpu_memory_mib": 4096}, {}, SkipKind.GPU_MEMORY),
        ({"cpu_cores": 4}, {}, SkipKind.CPU_CORES),
        ({"memory_mib": 4096}, {}, SkipKind.MEMORY),
        ({"budget": tokens(1), "run_timeout": 7200}, {}, SkipKind.PRICE),
        ({"collateral": tokens(300)}, {}, SkipKind.COLLATERAL),
        ({}, {"stake": tokens(50), "free_stake": tokens(50)}, SkipKind.STAKE),
        ({}, {"active_jobs": 1}, SkipKind.BUSY),
        ({"requester": ME}, {}, SkipKind.OWN_JOB),
    ],
)
def test_each_skip_reason_carries_the_kind_reports_are_grouped_by(
    changes: dict[str, object], offer_changes: dict[str, object], kind: SkipKind
) -> None:
    reason = check_spec(spec(**changes), dataclasses.replace(OFFER, **offer_changes))
    assert reason is not None and kind_of(reason) is kind


def test_the_image_checks_reasons_say_absent_or_another_digest() -> None:
    class Engine:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def resolve_image(self, image: ImageRef) -> str:
            raise self.error

    absent = image_check_for(Engine(ImageUnavailable("no such image")))  # type: ignore[arg-type]
    other = image_check_for(Engine(ImageDigestMismatch("a:1", "sha256:" + "ab" * 32, ("sha256:x",))))  # type: ignore[arg-type]
    image = ImageRef("a:1", "sha256:" + "ab" * 32)
    assert kind_of(absent(image) or "") is SkipKind.IMAGE_ABSENT
    assert kind_of(other(image) or "") is SkipKind.IMAGE_DIGEST
    too_big = check_manifest(manifest(memory_mib=8192), OFFER, lambda image: None)
    assert too_big is not None and kind_of(too_big) is SkipKind.MEMORY
