"""Jobs whose committee has one seat, so one validator daemon alone decides them: the restart and
abstention tests watch that one seat closely."""

from __future__ import annotations

from typing import Any

from chain import DevChain, MarketClient
from jobs.cid import Cid
from tests.validator.cheaters import Cheat, ScriptedProvider, honest
from tests.validator.validator_cast import job_spec


def submit_to_one_seat(
    requester: MarketClient, bundle: Cid, provider: ScriptedProvider, cheat: Cheat = honest, **spec: Any
) -> tuple[int, str]:
    """Post a committee-of-one job for `bundle`, let `provider` claim it and submit what `cheat` makes
    (honest work by default); the job id and the address drawn for the seat (once the seed block is
    mined: this mines it)."""
    job_id = requester.post_job(job_spec(bundle, committee_size=1, **spec)).job_id
    provider.run(job_id, cheat)
    DevChain(requester.rpc).mine(1)
    (seat,) = requester.committee_of(job_id)
    return job_id, seat
