"""The chaos suite: the whole market run under a seeded fault schedule, and what survived it.

`run_chaos(ChaosSettings(...))` starts a `ChaosStack` (gateway, providers and validators as processes, an
RPC proxy that can be cut), posts jobs while `FaultRunner` kills and restarts processes, cuts the RPC
link, stalls the gateway and fills a provider's disk, then gives the market a bounded time to settle and
reads the figures from the chain (`ledger`) and the Docker engine (`engine`). `bench/chaos.py` runs it
from the command line; tests/e2e/test_chaos.py runs a short schedule inside `make test`.
"""

from crowdcompute.chaos.jobs import JobMix
from crowdcompute.chaos.run import DEFAULT_SEED, ChaosResult, ChaosSettings, replay_hint, run_chaos
from crowdcompute.chaos.schedule import FAULT_KINDS, Fault, fault_schedule

__all__ = [
    "DEFAULT_SEED",
    "FAULT_KINDS",
    "ChaosResult",
    "ChaosSettings",
    "Fault",
    "JobMix",
    "fault_schedule",
    "replay_hint",
    "run_chaos",
]
