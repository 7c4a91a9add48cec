"""The load bench's machinery: many no-op providers and validators on one devnet, jobs posted at an even
rate, and each job's timeline from post to settlement.

`run_load(LoadSettings(...))` starts a `LoadStack` (crowdcompute/demo's stack with `--executor noop` nodes),
posts, watches the chain, settles unanimous acceptances as the requester, samples the gateway's `GET /jobs`,
and returns the figures (`figures`); `bench/load.py` runs it from the command line and writes
bench/results/load.json; tests/load/ runs a tiny one.
"""

from crowdcompute.load.figures import JobTimeline, Timelines, figures, percentile, settled_per_minute
from crowdcompute.load.run import LoadResult, LoadSettings, run_load

__all__ = [
    "JobTimeline",
    "LoadResult",
    "LoadSettings",
    "Timelines",
    "figures",
    "percentile",
    "run_load",
    "settled_per_minute",
]
