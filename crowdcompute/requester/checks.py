"""Before any escrow moves: can a provider registered on this market run the job, and will it find its image?

The providers are read from the chain (every `ProviderRegistered`, then `capabilitiesOf`/`accountOf`),
so the check works without a gateway; the runtime images the network runs come from the gateway's
`GET /config` when one is used. The rules are the providers' own (`jobs.matching`): the five
capabilities the contract compares at claim, the stake a claim needs, and the price each registered
(`pricePerHour`, the floor a provider applies unless it overrides it).

The examples pin the id in runtime/image.lock, which every node whose build matches the lock runs; they
are posted as written. Where the network runs another id for that image (the gateway advertises it, or
this machine's own build differs from the lock: a local network), `pin_placeholder` posts a copy pinned
to that id instead, with a warning. A job carrying the old placeholder id is pinned the same way, or
refused with the one command that fixes it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chain import Capabilities, EventReader, JobSpec, MarketClient, Role, VerificationMode, seat_bond
from cli_support import short_address, token_amount
from crowdcompute.requester.errors import UnpinnedRuntime
from jobs.bundle import read_job_manifest
from jobs.manifest import MANIFEST_FILENAME, Manifest, ManifestError
from jobs.manifest.pinning import PLACEHOLDER_DIGEST, is_placeholder, locked_runtime, pin_runtime_text
from jobs.matching import RESOURCES, Needs, budget_for, budget_per_hour, capability_gap, largest

__all__ = [
    "FIX_PLACEHOLDER",
    "LocalImageId",
    "Network",
    "RegisteredProvider",
    "RuntimePin",
    "format_reasons",
    "pin_placeholder",
    "read_network",
    "registered_providers",
    "why_no_provider",
]

LocalImageId = Callable[[str], str]
"""The id of an image in this machine's engine; raises (any `Exception`, said in the refusal) without."""

FIX_PLACEHOLDER = "make runtime-image"
"""Builds the runtime image here; `job submit` then pins an example to it by itself."""


@dataclass(frozen=True)
class RegisteredProvider:
    address: str
    capabilities: Capabilities
    stake: int


@dataclass(frozen=True)
class Network:
    """What posting a job meets: the registered providers, the market's minimum stake, the runtime
    images the network's nodes run (None: not known, no gateway was asked), and the free stake of each
    live validator with the market's least seat bond (None: not read)."""

    providers: list[RegisteredProvider]
    min_stake: int
    runtime_images: dict[str, str] | None = None
    validator_free_stakes: list[int] | None = None
    validator_slash: int = 0


def registered_providers(market: MarketClient) -> list[RegisteredProvider]:
    """Every account that registered as a provider on this market, with its capabilities and stake now."""
    reader = EventReader(
        market.rpc,
        market.address,
        market.codec,
        ("ProviderRegistered",),
        start_block=market.deployment.block_number,
        batch_blocks=100_000,
    )
    addresses = dict.fromkeys(str(event.args["provider"]) for event in reader.catch_up())
    providers = []
    for address in addresses:
        account = market.account_of(address)
        if account.role == Role.PROVIDER:
            providers.append(RegisteredProvider(address, market.capabilities_of(address), account.stake))
    return providers


def read_network(market: MarketClient, runtime_images: dict[str, str] | None) -> Network:
    config = market.config()
    return Network(
        registered_providers(market),
        config.min_provider_stake,
        runtime_images,
        validator_free_stakes(market),
        config.validator_slash,
    )


def validator_free_stakes(market: MarketClient) -> list[int]:
    """The free stake (stake less the seat bonds it has locked) of every validator on the roster now."""
    head = market.rpc.block_number()
    roster = market.roster_feed.at(market.roster_root(), head)
    stakes = []
    for member in roster.members():
        account = market.account_of(member.validator)
        stakes.append(account.stake - account.locked)
    return stakes


# -- the rules ----------------------------------------------------------------------------------------


def why_no_provider(spec: JobSpec, manifest: Manifest, network: Network) -> list[str]:
    """Why no registered provider would claim the job, in words (empty when one would)."""
    reasons = _provider_reasons(spec, network)
    image = _image_reason(manifest, network.runtime_images)
    committee = _committee_reason(spec, network)
    return [*reasons, *([image] if image else []), *([committee] if committee else [])]


def _committee_reason(spec: JobSpec, network: Network) -> str | None:
    """Why the job's committee could not decide: a vote counts only if its holder's free stake can lock the
    seat's bond, and a majority of the seats must count."""
    stakes = network.validator_free_stakes
    # An empty roster says nothing yet: validators may register before the result is submitted.
    if not stakes or spec.mode == VerificationMode.NONE or spec.committee_size == 0:
        return None
    bond = seat_bond(spec.budget, spec.committee_size, 0, network.validator_slash)
    majority = (spec.committee_size + 1) // 2
    backable = sum(stake // bond for stake in stakes)
    if backable >= majority:
        return None
    most = max(stakes, default=0)
    return (
        f"its committee could not decide: a seat's bond is {token_amount(bond)} (the budget shared by a "
        f"majority of its {spec.committee_size} seats) and a vote counts only if its validator's free stake "
        f"locks it, but the validators on the roster can back {backable} seat(s) in all (the most free "
        f"stake: {token_amount(most)}), fewer than the {majority} a decision needs; the provider would go "
        "unpaid. Lower the budget, raise the committee size, or wait for validators to stake more"
    )


def _provider_reasons(spec: JobSpec, network: Network) -> list[str]:
    providers = network.providers
    if not providers:
        return ["no provider is registered on this market yet: the job would stay Open until one registers"]
    needs = Needs.of_spec(spec)
    offers = [p.capabilities for p in providers]
    short = [
        f"no registered provider offers {resource.amount(needed)}; the largest offers {most:,}"
        for resource in RESOURCES
        if (needed := getattr(needs, resource.key)) > (most := largest(resource, offers))
    ]
    if short:
        return short
    fitting = [p for p in providers if capability_gap(needs, p.capabilities) is None]
    if not fitting:
        shown = []
        for provider in providers[:3]:
            gap = capability_gap(needs, provider.capabilities)
            assert gap is not None
            shown.append(f"{short_address(provider.address)} has {gap.resource.amount(gap.offered)}")
        more = f" and {len(providers) - 3} more" if len(providers) > 3 else ""
        return [
            "no registered provider offers everything this job asks at once (" + "; ".join(shown) + more + ")"
        ]
    staked = [p for p in fitting if p.stake >= network.min_stake]
    if not staked:
        most = max(p.stake for p in fitting)
        return [
            f"{_providers(len(fitting))} that could run it {'has' if len(fitting) == 1 else 'have'} staked "
            f"less than the market's minimum of {token_amount(network.min_stake)} (the most: "
            f"{token_amount(most)}), so none can claim it"
        ]
    able = [p for p in staked if p.stake >= spec.collateral]
    if not able:
        most = max(p.stake for p in staked)
        return [
            f"its collateral of {token_amount(spec.collateral)} is more than any provider that could run "
            f"it has staked (the most: {token_amount(most)}): lower the collateral"
        ]
    cheapest = min(p.capabilities.price_per_hour for p in able)
    pays = budget_per_hour(spec)
    if pays < cheapest:
        return [
            f"it pays {token_amount(pays)} per hour of its run timeout (budget {token_amount(spec.budget)} "
            f"over {spec.run_timeout:,} s); the cheapest provider that could run it asks "
            f"{token_amount(cheapest)} per hour: raise the budget to at least "
            f"{token_amount(budget_for(cheapest, spec.run_timeout))}, or shorten the run timeout"
        ]
    return []


def _providers(count: int) -> str:
    return "the 1 registered provider" if count == 1 else f"the {count} registered providers"


def _image_reason(manifest: Manifest, runtime_images: dict[str, str] | None) -> str | None:
    name, digest = manifest.runtime.image, manifest.runtime.digest
    if is_placeholder(digest):
        return f"job.toml pins {name} to the examples' placeholder id {digest}, which no provider runs"
    if not runtime_images:
        return None  # the network says nothing about its images: nothing to compare with
    advertised = runtime_images.get(name)
    if advertised is None:
        known = ", ".join(sorted(runtime_images))
        return (
            f"the network's nodes run no image named {name} (the gateway advertises: {known}); "
            "providers never pull images, so none has it"
        )
    if advertised != digest:
        return (
            f"job.toml pins {name} to {digest}, but the network's nodes run {advertised}: no provider has "
            f"the pinned image; set [runtime] digest to {advertised}"
        )
    return None


# -- the examples' placeholder ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuntimePin:
    """A job folder whose placeholder id was replaced: the copy to pack, and what it was pinned to."""

    folder: Path
    image: str
    digest: str
    source: str
    """Where the id came from, in words: `the gateway's runtime images`, `this machine's Docker engine`."""
    replaced: str = PLACEHOLDER_DIGEST
    """The id job.toml named: the placeholder, or runtime/image.lock's id where the network runs another."""

    @property
    def from_lock(self) -> bool:
        return self.replaced != PLACEHOLDER_DIGEST

    def describe(self) -> str:
        if not self.from_lock:
            return (
                f"job.toml named the examples' placeholder image id: pinned {self.image} to {self.digest} "
                f"({self.source}) in the posted copy"
            )
        return (
            f"warning: job.toml pins {self.image} to runtime/image.lock's id {self.replaced}, but the "
            f"network here runs {self.digest} (from {self.source}: a build whose inputs differ from the "
            "lock; `runtime/build_offline.py` names them); pinned the posted copy to that id, which only "
            "nodes built the same way run"
        )


def pin_placeholder(
    job_dir: Path,
    dest: Path,
    runtime_images: dict[str, str] | None,
    local_image_id: LocalImageId,
    lock: tuple[str, str] | None = None,
) -> RuntimePin | None:
    """None when job.toml's image id is the one to post (or cannot be read: packing says why); else a
    copy of `job_dir` at `dest` pinned to the id the gateway advertises for the image, or to this
    machine's. That happens for the placeholder id, and for the image lock's id (`lock`: (tag, id);
    default runtime/image.lock) when the gateway, or without a gateway this machine, runs another id.

    Raises `UnpinnedRuntime` naming the command that fixes it when a placeholder meets no known id."""
    try:
        manifest = read_job_manifest(job_dir)
    except (ManifestError, OSError):
        return None
    name, named = manifest.runtime.image, manifest.runtime.digest
    lock = lock if lock is not None else locked_runtime()
    if lock is not None and (name, named) == lock:
        return _pin_away_from_lock(job_dir, dest, name, named, runtime_images, local_image_id)
    if not is_placeholder(named):
        return None
    digest, source = (runtime_images or {}).get(name), "the gateway's runtime images"
    if digest is None:
        try:
            digest, source = local_image_id(name), "this machine's Docker engine"
        except Exception as exc:  # no engine, no image: both said in the refusal
            raise UnpinnedRuntime(
                f"{job_dir / MANIFEST_FILENAME} pins {name} to the examples' placeholder id "
                f"{PLACEHOLDER_DIGEST}, which no provider runs, and no real id is known here (the gateway "
                f"advertises none for it; {exc}). Build the runtime image on this machine and submit "
                f"again, which pins the job to it: `{FIX_PLACEHOLDER}`"
            ) from None
    text = (job_dir / MANIFEST_FILENAME).read_text()
    shutil.copytree(job_dir, dest, symlinks=True)
    (dest / MANIFEST_FILENAME).write_text(pin_runtime_text(text, digest))
    return RuntimePin(dest, name, digest, source)


def _pin_away_from_lock(
    job_dir: Path,
    dest: Path,
    name: str,
    locked: str,
    runtime_images: dict[str, str] | None,
    local_image_id: LocalImageId,
) -> RuntimePin | None:
    """A job pinning the lock's id: kept unless the network (the gateway, else this machine) runs another."""
    advertised = (runtime_images or {}).get(name)
    if advertised is not None:
        digest, source = advertised, "the gateway's runtime images"
    else:
        try:
            digest, source = local_image_id(name), "this machine's Docker engine"
        except Exception:  # no engine or no image here: the locked id is what the network's nodes build
            return None
    if digest == locked:
        return None
    text = (job_dir / MANIFEST_FILENAME).read_text()
    shutil.copytree(job_dir, dest, symlinks=True)
    (dest / MANIFEST_FILENAME).write_text(pin_runtime_text(text, digest))
    return RuntimePin(dest, name, digest, source, replaced=locked)


def format_reasons(reasons: Sequence[str]) -> str:
    """The reasons as one sentence each, numbered when there are several."""
    if len(reasons) == 1:
        return reasons[0]
    return " ".join(f"({index}) {reason};" for index, reason in enumerate(reasons, start=1)).rstrip(";")
