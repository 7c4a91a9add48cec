"""`LoadStack`: the demo's stack with many no-op nodes, for the load bench; no Docker at all.

* Providers run `--executor noop`, validators too: every execution ends at once with the same bytes
  (`jobs.executors.noop.DEV_NOOP_OUTPUT`), so a `replicate` verdict accepts and what is measured is the
  market's own machinery (polling, claiming, publishing, voting, settling), not a container.
* Providers sit on dev accounts 2.., validators after them; accounts past anvil's ten (derived from the
  public dev mnemonic, `chain.dev_private_key`) get ether through `anvil_setBalance` and tokens from the
  treasury, as the devnet gives the first ten.
* The chain mines a block every second and only then (`automine=False`, the default): the devnet's mixed
  mining would also mine every transaction at once, and at hundreds of transactions a minute a voting
  window of N blocks then lasts a fraction of N seconds.
* Each provider holds `provider_capacity` jobs at once (default 2) and each validator verifies with
  `validator_workers` threads (default 4): with no-op work a slot only waits on the chain and the gateway
  (a provider's slot from claim to submit, ~2-4 s here), so one slot per node would cap the market near
  the rate under test.
* The runtime image is not looked up in an engine: the jobs pin runtime/image.lock's id, which no-op
  nodes accept as they accept every image.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from chain import DEPLOYER_ACCOUNT, DEV_FUNDING, REPO_ROOT, DevChain, dev_address
from crowdcompute.demo.stack import DemoStack, Node

__all__ = ["LoadStack", "load_accounts", "locked_image_id"]

_FIRST_NODE_ACCOUNT = 2  # 0 deploys, 1 posts the jobs
_DEV_TABLE = 10  # accounts anvil funds with ether and the devnet with tokens
_ETHER = 10_000 * 10**18


def load_accounts(providers: int, validators: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The dev accounts of `providers` providers and `validators` validators: consecutive from 2."""
    provider_accounts = tuple(range(_FIRST_NODE_ACCOUNT, _FIRST_NODE_ACCOUNT + providers))
    first_validator = _FIRST_NODE_ACCOUNT + providers
    return provider_accounts, tuple(range(first_validator, first_validator + validators))


def locked_image_id() -> str:
    """The runtime image id runtime/image.lock records (what the examples pin)."""
    with (REPO_ROOT / "runtime" / "image.lock").open("rb") as lock:
        return str(tomllib.load(lock)["image_id"])


class LoadStack(DemoStack):
    """See the module docstring."""

    runs_containers = False  # no-op nodes: the Docker engine is never asked

    def __init__(
        self,
        root: Path,
        *,
        providers: int = 10,
        validators: int = 5,
        poll_interval_s: float = 0.25,
        automine: bool = False,
        provider_capacity: int = 2,
        validator_workers: int = 4,
        log: Callable[[str], None] | None = None,
    ) -> None:
        provider_accounts, validator_accounts = load_accounts(providers, validators)
        super().__init__(
            root,
            providers=providers,
            validators=validators,
            log=log,
            provider_accounts=provider_accounts,
            validator_accounts=validator_accounts,
        )
        self.poll_interval_s = poll_interval_s
        self.automine = automine
        self.provider_capacity = provider_capacity
        self.validator_workers = validator_workers

    def _devnet_up(self) -> None:
        super()._devnet_up()
        if not self.automine:
            # The devnet also mines each transaction at once, so under load a window of N blocks lasts
            # far less than N seconds and committees miss it; a block a second keeps windows in seconds.
            rpc = self.rpc()
            rpc.request("evm_setAutomine", [False])
            rpc.request("evm_setIntervalMining", [1])
            self._log("chain: a block every second, transactions wait for it (no automine)")

    def _start(self) -> None:
        self._use_locked_image()
        super()._start()

    def _use_locked_image(self) -> None:
        # DemoStack asks the Docker engine for the image's id; a no-op market needs none.
        self.runtime_image_id = locked_image_id()

    def _register_nodes(self) -> None:
        self._fund_extra_accounts()
        super()._register_nodes()

    def _fund_extra_accounts(self) -> None:
        extra = [node.account for node in self.nodes if node.account >= _DEV_TABLE]
        if not extra:
            return
        chain = DevChain(self.rpc())
        treasury = self.market(DEPLOYER_ACCOUNT).token
        for account in extra:
            chain.set_balance(dev_address(account), _ETHER)
            treasury.transfer(dev_address(account), DEV_FUNDING)
        self._log(f"funded dev accounts {extra[0]}..{extra[-1]} (past anvil's ten) with ether and tokens")

    def _gateway_settings(self) -> dict[str, str]:
        # Every node reaches the gateway from 127.0.0.1, as one client; each has its own address elsewhere.
        # The per-client vote limit (120 a minute) would hold 5 validators voting on 100 jobs a minute (300
        # votes) back, and the failed-authentication budget (30 a minute) is spent by energy reports the
        # index refuses (403) until it has seen the claim, after which every node's requests get 429.
        return super()._gateway_settings() | {
            "VOTE_RATE_LIMIT_PER_MINUTE": "60000",
            "VOTE_RATE_LIMIT_BURST": "10000",
            "REPORT_RATE_LIMIT_PER_MINUTE": "60000",
            "REPORT_RATE_LIMIT_BURST": "10000",
            "AUTH_FAILURE_LIMIT_PER_MINUTE": "60000",
            "AUTH_FAILURE_BURST": "10000",
            "MAX_REQUESTS_PER_CLIENT": "1024",
        }

    def _role_argv(self, node: Node, *args: str) -> list[str]:
        argv = super()._role_argv(node, *args)
        if args and args[0] == "run":
            argv += ["--executor", "noop", "--poll-interval", f"{self.poll_interval_s:g}"]
            # A no-op job or replay costs nothing: a slot or worker waits on the chain and the gateway.
            if node.role == "validator":
                argv += ["--workers", str(self.validator_workers)]
            else:
                argv += ["--capacity", str(self.provider_capacity)]
        return argv
