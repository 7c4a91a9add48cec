"""One sentence per contract error, from its decoded fields: what went wrong, with the numbers to act on.

Errors without a template read as `Name(field=value, ...)`, so a new contract error never hides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import IntEnum
from typing import Any

from chain.types import TOKEN_DECIMALS, Capability, JobSpecField, JobStatus, Role, VoteReason, enum_label

Fields = Mapping[str, Any]

MARKET_PAUSED_MESSAGE = (
    "the market is paused by its guardian: new posts and claims are refused; "
    "running jobs settle and withdrawals work"
)


# The sentences' own wording of addresses and amounts; people-facing code uses `cli_support.display`,
# which reads the same (tests/cli_support/test_display.py holds the two to the same text).
def _address(address: Any) -> str:
    text = str(address)
    return f"{text[:6]}…{text[-4:]}" if len(text) == 42 else text


def _tokens(wei: Any) -> str:
    value = Decimal(int(wei)) / Decimal(10**TOKEN_DECIMALS)
    return f"{format(value.normalize(), 'f') if value else '0'} CROWD"


def _label(enum_type: type[IntEnum], value: Any) -> str:
    try:
        return enum_label(enum_type(int(value)))
    except ValueError:
        return str(value)


_CAPABILITY_UNITS: dict[Capability, tuple[str, str]] = {
    Capability.GPU_COUNT: ("{} GPUs", "{}"),
    Capability.GPU_MEMORY: ("{} MiB of GPU memory", "{}"),
    Capability.GPU_CLASS: ("GPU class {}", "class {}"),
    Capability.CPU_CORES: ("{} CPU cores", "{}"),
    Capability.MEMORY: ("{} MiB of memory", "{}"),
}


def _lacks_capability(f: Fields) -> str:
    try:
        capability = Capability(int(f["capability"]))
    except ValueError:
        return (
            f"job {f['jobId']} needs capability {f['capability']} = {f['required']}; "
            f"provider {_address(f['provider'])} offers {f['offered']}"
        )
    need, offer = _CAPABILITY_UNITS[capability]
    return (
        f"job {f['jobId']} needs {need.format(f['required'])}; "
        f"provider {_address(f['provider'])} offers {offer.format(f['offered'])}"
    )


def _invalid_spec(f: Fields) -> str:
    return f"invalid job spec: {_label(JobSpecField, f['field'])} is {f['value']}; the limit is {f['limit']}"


_TEMPLATES: dict[str, Callable[[Fields], str]] = {
    # Jobs (IJobMarket)
    "InvalidJobSpec": _invalid_spec,
    "JobNotInStatus": lambda f: (
        f"job {f['jobId']} is {_label(JobStatus, f['actual'])}, not {_label(JobStatus, f['expected'])}"
    ),
    "JobDataMismatch": lambda f: (
        f"job {f['jobId']}: the job data sent does not match the chain (rebuild it from the job's events)"
    ),
    "NotJobRequester": lambda f: (
        f"only job {f['jobId']}'s requester {_address(f['requester'])} may do this; "
        f"caller is {_address(f['caller'])}"
    ),
    "NotJobProvider": lambda f: (
        f"only job {f['jobId']}'s provider {_address(f['provider'])} may do this; "
        f"caller is {_address(f['caller'])}"
    ),
    "RequesterCannotClaim": lambda f: (
        f"{_address(f['requester'])} posted job {f['jobId']} and may not claim it"
    ),
    "ProviderLacksCapability": _lacks_capability,
    "SubmitDeadlinePassed": lambda f: (
        f"job {f['jobId']}'s deadline passed at {f['deadline']}: it can no longer be submitted or released; "
        "anyone may expire it now"
    ),
    "DeadlineNotReached": lambda f: f"job {f['jobId']} can only expire after its deadline {f['deadline']}",
    "EmptyResult": lambda f: f"job {f['jobId']}: a result needs a nonzero result digest",
    "VotingNotOpen": lambda f: f"voting on job {f['jobId']} opens at block {f['firstBlock']}",
    "VoteWindowClosed": lambda f: f"voting on job {f['jobId']} closed after block {f['lastBlock']}",
    "CommitteeSlotOutOfRange": lambda f: (
        f"job {f['jobId']} has a committee of {f['committeeSize']}; slot {f['slot']} does not exist"
    ),
    "NotOnCommittee": lambda f: (
        f"{_address(f['caller'])} is not the validator at committee slot {f['slot']} of job {f['jobId']}"
    ),
    "AlreadyVoted": lambda f: f"committee slot {f['slot']} has already voted on job {f['jobId']}",
    "VoteReasonNeedsRejection": lambda f: (
        f"job {f['jobId']}: a vote giving the finding {enum_label(VoteReason(f['reason']))} must reject"
    ),
    "ProviderCannotVote": lambda f: f"{_address(f['provider'])} ran job {f['jobId']} and may not vote on it",
    "VerificationPending": lambda f: (
        f"job {f['jobId']} is still in its voting or appeal window; it can be finalized after block "
        f"{f['untilBlock']}"
    ),
    "NoFurtherAppeal": lambda f: (
        f"job {f['jobId']} cannot be appealed: it is in its final round, or it has no committee"
    ),
    "AppealNotOpen": lambda f: (
        f"job {f['jobId']} can be appealed only in blocks {f['fromBlock']}..{f['untilBlock']} "
        "(after its votes closed); not now"
    ),
    "NotEntitledToAppeal": lambda f: (
        f"{_address(f['caller'])} may not appeal job {f['jobId']}: only its requester, its provider or a "
        "seat whose vote lost the round may"
    ),
    "SeedUnavailable": lambda f: (
        f"job {f['jobId']}: the hash of its seed block {f['seedBlock']} cannot be read now"
    ),
    # Confidential jobs (IJobMarket.releaseClaim, IKeyRelease)
    "NotConfidential": lambda f: (
        f"job {f['jobId']} is not confidential (its spec has no result key): keys and claim releases "
        "are only for confidential jobs; a clear job's provider submits or lets the job expire"
    ),
    "InvalidEncryptionKey": lambda f: (
        "the encryption key is zero: publish the 32-byte X25519 public half of the node's key pair"
    ),
    "InvalidSealedKey": lambda f: (
        f"a sealed key is 1..256 bytes; this one is {f['length']}: "
        "send the HPKE `enc | ciphertext` of one key"
    ),
    "SealedKeyCountMismatch": lambda f: (
        f"{f['recipients']} recipients but {f['sealedKeys']} sealed keys: pass one seal per recipient"
    ),
    # Accounts and stake (IStaking)
    "ZeroAmount": lambda f: "the amount must be more than zero",
    "AccountNotInRole": lambda f: (
        f"{_address(f['account'])} is registered as {_label(Role, f['actual'])}; "
        f"this needs {_label(Role, f['expected'])}"
    ),
    "RoleAlreadyAssigned": lambda f: (
        f"{_address(f['account'])} is already a {_label(Role, f['role'])}; roles are exclusive"
    ),
    "ValidatorAlreadyRegistered": lambda f: (
        f"{_address(f['validator'])} is already validator number {f['index']}"
    ),
    "ValidatorListFull": lambda f: f"the validator list is full ({f['max']} entries)",
    "InsufficientFreeStake": lambda f: (
        f"{_address(f['account'])} has {_tokens(f['available'])} of free stake; "
        f"{_tokens(f['required'])} needed"
    ),
    "StakeBelowMinimum": lambda f: (
        f"{_address(f['account'])} has {_tokens(f['stake'])} staked; the minimum is {_tokens(f['minimum'])}"
    ),
    "NothingToWithdraw": lambda f: f"{_address(f['account'])} has no balance or reward to withdraw",
    "NothingUnbonding": lambda f: f"{_address(f['account'])} has nothing unbonding",
    "UnbondingLocked": lambda f: (
        f"{_address(f['account'])}'s unbonding stake is released at {f['releaseAt']}"
    ),
    "ValidatorIndexOutOfRange": lambda f: f"there is no validator {f['index']} (the list has {f['count']})",
    # Governance and pause (IGoverned)
    "MarketPaused": lambda f: MARKET_PAUSED_MESSAGE,
    "NotGovernor": lambda f: (
        f"only the market's governor (its timelock) may do this; caller is {_address(f['caller'])}"
    ),
    "NotGuardian": lambda f: f"only the market's guardian may do this; caller is {_address(f['caller'])}",
    "InvalidGovernor": lambda f: "the market needs a governor (a nonzero timelock address)",
    # Deployment (ICrowdMarket) and the token
    "InvalidSupply": lambda f: (
        f"initial supply {_tokens(f['initialSupply'])} and cap {_tokens(f['cap'])} do not fit "
        f"(the cap may be at most {_tokens(f['maxCap'])})"
    ),
    "InvalidRewardBps": lambda f: f"rewardBps {f['rewardBps']} is above {f['max']}",
    "InvalidFeeBps": lambda f: (
        f"feeBps {f['feeBps']} must be at most {f['max']} and above rewardBps {f['rewardBps']} "
        "(unless rewardBps is 0)"
    ),
    "InvalidEpochLength": lambda f: "epochLength must be more than 0 seconds",
    "CrowdTokenUnauthorizedMinter": lambda f: (
        f"{_address(f['caller'])} may not mint; only {_address(f['minter'])} can"
    ),
    "ERC20InsufficientBalance": lambda f: (
        f"{_address(f['sender'])} holds {_tokens(f['balance'])}; {_tokens(f['needed'])} needed: "
        f"send it {_tokens(max(0, int(f['needed']) - int(f['balance'])))} more first, or pay less"
    ),
    "ERC20InsufficientAllowance": lambda f: (
        f"{_address(f['spender'])} is allowed to spend {_tokens(f['allowance'])} of the payer's tokens; "
        f"{_tokens(f['needed'])} needed: approve it for at least {_tokens(f['needed'])} first, "
        "or pay with an EIP-2612 permit in the same transaction"
    ),
    "ERC2612ExpiredSignature": lambda f: f"the permit expired at {f['deadline']}",
    "ERC2612InvalidSigner": lambda f: (
        f"the permit was signed by {_address(f['signer'])}, not by {_address(f['owner'])}"
    ),
    "ERC20ExceededCap": lambda f: (
        f"minting would raise the supply to {_tokens(f['increasedSupply'])}, "
        f"over the cap of {_tokens(f['cap'])}"
    ),
    "ReentrancyGuardReentrantCall": lambda f: "reentrant call refused",
    "Error": lambda f: str(f["message"]),
    "Panic": lambda f: f"panic 0x{int(f['code']):02x}: {f['reason']}",
}


def _generic(name: str, fields: Fields) -> str:
    inner = ", ".join(f"{k}={_plain(v)}" for k, v in fields.items())
    return f"{name}({inner})"


def _plain(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def describe(name: str, fields: Fields) -> str:
    """The human message for error `name` with decoded `fields`."""
    template = _TEMPLATES.get(name)
    if template is None:
        return _generic(name, fields)
    try:
        return template(fields)
    except (KeyError, ValueError, TypeError):
        # The contract's field names drifted from the template: still say everything we know.
        return _generic(name, fields)
