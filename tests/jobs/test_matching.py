"""The matching rules providers and requesters share: the capabilities in the contract's order, the
price per hour of runTimeout, and skip reasons that carry their kind."""

from __future__ import annotations

import dataclasses

import pytest

from chain import Capabilities, JobSpec, Wei, tokens
from jobs.matching import (
    RESOURCES,
    Needs,
    SkipKind,
    SkipReason,
    budget_for,
    budget_per_hour,
    capability_gap,
    kind_of,
)

CAPS = Capabilities(gpu_count=1, gpu_memory_mib=8192, gpu_class=8, cpu_cores=4, memory_mib=16384)


def test_resources_are_compared_in_the_contracts_order() -> None:
    assert [r.key for r in RESOURCES] == [
        "gpu_count",
        "gpu_memory_mib",
        "gpu_class",
        "cpu_cores",
        "memory_mib",
    ]
    gap = capability_gap(Needs(cpu_cores=8, memory_mib=1 << 20), CAPS)
    assert gap is not None and (gap.resource.key, gap.needed, gap.offered) == ("cpu_cores", 8, 4)
    assert capability_gap(Needs(gpu_count=1, gpu_memory_mib=8192, gpu_class=8, cpu_cores=4), CAPS) is None
    # As the contract does: GPU memory counts even for a job asking no GPU.
    assert capability_gap(Needs(gpu_memory_mib=9000), CAPS) is not None


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("memory_mib", 1_048_576, "1,048,576 MiB of memory"),
        ("gpu_count", 2, "2 GPUs"),
        ("gpu_class", 9, "GPU class 9"),
        ("cpu_cores", 16, "16 CPU cores"),
        ("gpu_memory_mib", 81_920, "81,920 MiB of GPU memory"),
    ],
)
def test_each_resource_says_an_amount_in_words(key: str, value: int, words: str) -> None:
    assert next(r for r in RESOURCES if r.key == key).amount(value) == words


@pytest.mark.parametrize(
    ("price", "timeout"), [(tokens(1), 600), (tokens(3), 7), (7, 3601), (tokens(1), 36_000)]
)
def test_budget_for_is_the_least_budget_meeting_a_price(price: int, timeout: int) -> None:
    spec = JobSpec(budget=Wei(budget_for(price, timeout)), run_timeout=timeout)
    assert budget_per_hour(spec) >= price
    assert budget_per_hour(dataclasses.replace(spec, budget=Wei(spec.budget - 1))) < price


def test_a_skip_reason_is_its_sentence_and_knows_its_kind() -> None:
    reason = SkipReason("at capacity: 1 of 1 job slots busy", SkipKind.BUSY)
    assert reason == "at capacity: 1 of 1 job slots busy" and "busy" in reason
    assert kind_of(reason) is SkipKind.BUSY and kind_of("a plain sentence") is SkipKind.OTHER
    assert kind_of("risky: " + reason) is SkipKind.OTHER  # a new sentence is a new reason
