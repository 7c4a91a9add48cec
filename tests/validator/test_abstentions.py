"""A validator that cannot verify for reasons of its own abstains and says why; it never votes against
the provider for its own trouble.

Real faults only: the node's content store is a Kubo API address where nothing listens (a daemon that
is down), and a job pinned to a runtime image this host does not have. The job is the digits example
with a committee of one, submitted by an honest scripted provider; with its only seat abstaining (it
signs nothing), the window closes without votes and the job settles Unverified: the provider's collateral
unlocked, the requester refunded. The silent seat loses its bond (to the requester, as nobody won): a
seat that cannot verify costs its holder, so it is worth keeping the node's store and images in order.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from chain import DEV_ADDRESSES, JobStatus, MarketClient, Outcome, dev_account
from chain.anvil import DevChain, free_port
from jobs.bundle import BundleCache, pack_directory
from jobs.store import EmbeddedStore
from jobs.store.kubo import KuboStore
from tests.validator.cheaters import ScriptedProvider
from tests.validator.seats import submit_to_one_seat
from tests.validator.validator_cast import (
    HONEST_PROVIDER,
    REQUESTER,
    VALIDATORS,
    Committee,
    Ledger,
    Settled,
    VerifiableJob,
)
from validator.state import Phase

pytestmark = pytest.mark.slow

WATCHED = [DEV_ADDRESSES[i] for i in (REQUESTER, HONEST_PROVIDER, *VALIDATORS)]
ABSENT_IMAGE = "crowdcompute/runtime-cpu:not-built-here"


def assert_settled_unverified(
    settled: Settled, seat: str, before: Ledger, requester: MarketClient, job_id: int
) -> None:
    """No vote: the job closes Unverified, the provider loses nothing (and gets the silent seat's bond)."""
    assert not settled.named("VoteCast")
    finalized = settled.finalized.args
    assert (Outcome(finalized["outcome"]), finalized["accepts"], finalized["rejects"]) == (
        Outcome.UNVERIFIED,
        0,
        0,
    )
    bond = requester.config().validator_slash  # a small job's seat bond is the configured minimum
    assert settled.slashed() == {seat: bond} and not settled.named("ProviderPaid")
    spec = requester.job(job_id).job.spec
    after = Ledger.read(requester, WATCHED)
    # Collateral unlocked, nothing taken; nobody voted, so the silent seat's bond goes to the provider.
    assert before.delta(after, DEV_ADDRESSES[HONEST_PROVIDER]) == {"balance": bond}
    assert before.delta(after, DEV_ADDRESSES[REQUESTER]) == {"balance": spec.escrow}
    assert before.delta(after, seat) == {"stake": -bond}, "no fee for a silent seat, and its bond is lost"
    assert requester.status_of(job_id) == JobStatus.CLOSED
    record = settled.records[seat]
    assert (record.phase, record.approve, record.outcome) == (Phase.ABSTAINED, None, "unverified")


@pytest.mark.filterwarnings("ignore:The 'strict' parameter:FutureWarning")  # ipfshttpclient on urllib3
@pytest.mark.parametrize("bundle_cached", [True, False], ids=["result-fetch", "bundle-fetch"])
def test_store_down_validator_abstains_with_the_reason_not_against_the_provider(
    bundle_cached: bool,
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    store: EmbeddedStore,
    make_node: Any,
    dev_chain: DevChain,
) -> None:
    """The node's Kubo is down. With the bundle cached from earlier work, the result fetch fails: the node
    keeps trying (a store that answers "not there" would make it a withheld result after half the
    window), then abstains. Without the bundle, it abstains at once: it cannot even read the job."""
    before = Ledger.read(requester, WATCHED)
    job_id, seat = submit_to_one_seat(requester, digits_job.cid, provider)
    assert store.has(digits_job.cid), "the provider published its result; only this node's store is down"
    down = KuboStore(f"http://127.0.0.1:{free_port()}", timeout=5)
    node = make_node(seat, content_store=down)
    if bundle_cached:
        BundleCache(store, node.config.bundles_dir).get(digits_job.cid)  # fetched before the store went down

    settled = Committee([node], requester, dev_chain).run_until_closed(job_id)

    record = settled.records[seat]
    assert "unreachable" in record.reason, record.reason
    if bundle_cached:
        assert record.reason.startswith("could not fetch the result: the content store failed"), record.reason
        assert record.tries > 1, "it kept trying while the window allowed"
    else:
        assert record.reason.startswith("its bundle cannot be used here"), record.reason
    assert record.cpu_s is None, "nothing was re-executed"
    assert_settled_unverified(settled, seat, before, requester, job_id)


@pytest.fixture(scope="module")
def absent_image_job(
    tmp_path_factory: pytest.TempPathFactory, store: EmbeddedStore, digits_job: VerifiableJob
) -> VerifiableJob:
    """The digits job pinned to a runtime image nobody built on this host."""
    folder = tmp_path_factory.mktemp("absent-image") / "job"
    shutil.copytree(digits_job.folder, folder)
    manifest = folder / "job.toml"
    text, changed = re.subn(r'(?m)^image = "[^"]*"', f'image = "{ABSENT_IMAGE}"', manifest.read_text())
    assert changed == 1
    manifest.write_text(text)
    buffer = io.BytesIO()
    pack_directory(folder, buffer)
    return VerifiableJob(folder, store.add_bytes(buffer.getvalue()), digits_job.image)


def test_job_image_missing_here_validator_abstains_not_against_the_provider(
    requester: MarketClient,
    absent_image_job: VerifiableJob,
    store: EmbeddedStore,
    make_node: Any,
    dev_chain: DevChain,
    tmp_path: Path,
) -> None:
    before = Ledger.read(requester, WATCHED)
    provider = ScriptedProvider(  # trains on its own host, where the image is no concern
        requester.with_account(dev_account(HONEST_PROVIDER)), store, absent_image_job.folder, tmp_path / "p"
    )
    job_id, seat = submit_to_one_seat(requester, absent_image_job.cid, provider)

    settled = Committee([make_node(seat)], requester, dev_chain).run_until_closed(job_id)

    record = settled.records[seat]
    assert record.reason.startswith("the container engine could not re-execute it"), record.reason
    assert ABSENT_IMAGE in record.reason and "not present on this host" in record.reason
    assert_settled_unverified(settled, seat, before, requester, job_id)
