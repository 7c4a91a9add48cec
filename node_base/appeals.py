"""Appealing a round's decision once a node has decided it is wrong: the part every node does the same way.

The caller decides that the round went against it (the validator: its vote lost; the provider node: its
result was rejected) and what it is willing to bond. `appeal_round` then compares the market's appeal bond
with that limit (a bond above it is logged, naming `--max-appeal-bond`, and not paid), sends the appeal with
the round's revealed votes, and tells a refusal (`ContractRevert`: logged, not worth retrying) from a chain
that could not be reached (`ChainError`: the caller may try again while the window lasts). The caller keeps
its own state and its own wording of the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol

from chain import TOKEN_DECIMALS, AppealedJob, ChainError, ContractRevert, JobId, SignedVote, Wei

__all__ = ["AppealAttempt", "AppealLimit", "AppealMarket", "AppealStatus", "appeal_round"]

_log = logging.getLogger(__name__)


class AppealMarket(Protocol):
    """What appealing needs of the market (`chain.MarketClient` has it)."""

    def appeal_bond(self, job_id: JobId) -> Wei: ...

    def appeal(self, job_id: JobId, votes: Sequence[SignedVote] = ()) -> AppealedJob: ...


class AppealStatus(Enum):
    APPEALED = "appealed"
    OVER_LIMIT = "over_limit"
    """The bond is above the limit: nothing was sent."""
    REFUSED = "refused"
    """The market refused the appeal (a revert): trying again would be refused too."""
    UNSENT = "unsent"
    """The chain could not be reached: worth another try while the appeal window lasts."""


@dataclass(frozen=True)
class AppealLimit:
    """The most a node bonds on one appeal, and where that figure comes from (said in the log when the bond is
    above it: `--max-appeal-bond`, or the default it stands for)."""

    amount: Wei
    source: str = "--max-appeal-bond"


@dataclass(frozen=True)
class AppealAttempt:
    status: AppealStatus
    bond: Wei
    """The bond the market asked for (what was paid when appealed)."""
    appealed: AppealedJob | None = None
    """The mined appeal, when `status` is `APPEALED`."""

    @property
    def retryable(self) -> bool:
        return self.status is AppealStatus.UNSENT


def appeal_round(
    market: AppealMarket,
    job_id: JobId,
    votes: Sequence[SignedVote],
    limit: AppealLimit,
    what: str,
    *,
    unappealed: str = "",
    log: logging.Logger = _log,
) -> AppealAttempt:
    """Appeal the job's current round with its revealed `votes` when the bond is at most `limit`.

    `what` says why, as the log's subject ("its vote (accepted) lost round 0 (rejected)"); `unappealed` what
    follows when the bond is above the limit ("the provider will be slashed"). Refusals and chain errors are
    logged here; the caller logs a success in its own words.
    """
    bond = market.appeal_bond(job_id)
    if bond > limit.amount:
        consequence = f"; {unappealed}" if unappealed else ""
        log.warning(
            "job %d: %s, but the appeal bond %d is above the limit %d (%s): not appealing%s. "
            "To appeal such a round, run the node with --max-appeal-bond %s (tokens) or more",
            job_id,
            what,
            bond,
            limit.amount,
            limit.source,
            consequence,
            _whole_tokens(bond),
        )
        return AppealAttempt(AppealStatus.OVER_LIMIT, bond)
    try:
        appealed = market.appeal(job_id, votes)
    except ContractRevert as exc:
        log.warning("job %d: %s; the appeal was refused: %s", job_id, what, exc.message)
        return AppealAttempt(AppealStatus.REFUSED, bond)
    except ChainError as exc:
        log.warning("job %d: %s; the appeal could not be sent (%s)", job_id, what, exc)
        return AppealAttempt(AppealStatus.UNSENT, bond)
    return AppealAttempt(AppealStatus.APPEALED, appealed.bond, appealed)


def _whole_tokens(wei: int) -> str:
    """Base units as the whole tokens `--max-appeal-bond` takes: 12.5 for 12.5 * 10**18."""
    value = Decimal(wei).scaleb(-TOKEN_DECIMALS)
    return format(value.normalize(), "f") if value else "0"
