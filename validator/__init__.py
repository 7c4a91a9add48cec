"""crowdcompute's validator node: follow submissions it sits on the committee of, re-execute a random
sample of the work in Docker, vote with evidence, and settle decided jobs.

Modules: `cli` (`crowdcompute validator register|run|status`), `daemon` (the event loop and voting),
`verify` (fetch, sample, re-execute, judge), `reexecute` (staging and running the job's image),
`verdict` (pure judging rules and the evidence format), `state` (restart-safe records), `config`.
"""
