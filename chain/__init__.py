"""Everything that talks JSON-RPC: compile, deploy, typed contract clients, revert decoding, event reading.

Other packages import from here (`from chain import MarketClient, JobSpec`); the modules behind it:

- `rpc.Rpc.connect(url, expected_chain_id=...)`: a checked connection (`RpcUnreachable`, ...);
- `clients.MarketClient` (`post_job`, `claim_job(job_id)`, `sign_vote`, `finalize`, `stake`, views ...) and
  `clients.TokenClient`; `MarketClient.connect(rpc, account=...)` reads `deployments/<chainId>.json`;
- `events.EventReader` (`poll()`, `follow()`, `CheckpointStore`): ordered, confirmed, resumable events;
- `job_store.JobStore`: a job's struct rebuilt from its events and checked against `jobWord`;
- `sender.TxSender`: one per process, shared by every thread and account;
- `keys.load_signer(chain_id)`: the signing key, dev keys refused on live chains;
- `anvil.AnvilProcess` / `anvil.DevChain`: a local node and its test-only controls; `devnet`: `devnet up`;
- `roster`: the live validator roster (a Merkle-sum tree) and seat proofs; `votes`: signed committee votes;
- `types`: the contracts' enums and structs (generated from `contracts/market/Types.sol` by `make setup`),
  `JobId`, `Wei` and the other types that carry meaning.
"""

from chain.abi import AbiEntry, ContractCodec, DecodedLog, decode_params, encode_params
from chain.anvil import AnvilProcess, DevChain
from chain.clients import MarketClient, TokenClient
from chain.committee import (
    FINAL_ROUND,
    appeal_window,
    decision,
    first_vote_block,
    last_vote_block,
    round_seats,
    seat_bond,
    seed_block,
    seed_of,
    settle_block,
)
from chain.compiler import Artifacts, ContractArtifact, compile_contracts, load_settings, source_files
from chain.deploy import DEFAULT_CONFIG, GovernanceSetup, Supply, deploy, deploy_market
from chain.deployments import deployment_path, load_deployment, save_deployment
from chain.dev_accounts import (
    CHEATER_ACCOUNT,
    DEPLOYER_ACCOUNT,
    DEV_ACCOUNT_ROLES,
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    DEV_ROLE_NAMES,
    PROVIDER_ACCOUNTS,
    REQUESTER_ACCOUNT,
    VALIDATOR_ACCOUNTS,
    DevAccountRole,
    dev_account,
    dev_account_index,
    dev_account_roles,
    dev_address,
    dev_private_key,
    is_dev_address,
    is_dev_chain,
)
from chain.devnet import (
    DEV_FUNDING,
    DevnetInfo,
    DevnetStatus,
    devnet_down,
    devnet_status,
    devnet_up,
    read_info,
)
from chain.errors import (
    ArtifactNotFound,
    ChainError,
    ChainIdMismatch,
    CompilationFailed,
    ContractRevert,
    DeploymentNotFound,
    DevKeyOnLiveChain,
    InvalidKey,
    JobDataStale,
    JobNotFound,
    MissingKey,
    NonceTooLow,
    RpcError,
    RpcUnreachable,
    TransactionTimeout,
)
from chain.events import CheckpointStore, EventBatch, EventReader, JsonCheckpointStore, MemoryCheckpointStore
from chain.job_store import JobStore, JobView, JobWord, job_events, result_hash
from chain.keys import (
    KEYSTORE_ENV,
    KEYSTORE_PASSWORD_ENV,
    PRIVATE_KEY_ENV,
    ensure_key_allowed,
    load_account,
    load_signer,
    write_keystore,
)
from chain.paths import CONTRACTS_DIR, DEPLOYMENTS_DIR, DEVNET_DIR, REPO_ROOT
from chain.results import (
    AppealedJob,
    CancelledJob,
    CastVote,
    ClaimedJob,
    ExpiredJob,
    FinalizedJob,
    Payment,
    PayWith,
    Permit,
    PostedJob,
    RegisteredProvider,
    RegisteredValidator,
    StakeAdded,
    SubmittedResult,
    UnbondedWithdrawal,
    UnbondRequested,
    Withdrawal,
)
from chain.revert_messages import MARKET_PAUSED_MESSAGE, describe
from chain.reverts import RevertDecoder
from chain.roster import Roster, RosterError, SeatProof
from chain.rpc import Rpc
from chain.sender import PendingTx, TxSender
from chain.serialize import to_jsonable
from chain.types import *  # noqa: F403 (the generated layout and the typed records: chain.types.__all__)
from chain.types import __all__ as _types_all
from chain.votes import Ballot, SignedVote, sign_vote, vote_digest

__all__ = [
    "Ballot",
    "Roster",
    "RosterError",
    "SeatProof",
    "SignedVote",
    "sign_vote",
    "vote_digest",
    "MARKET_PAUSED_MESSAGE",
    *_types_all,
    "CHEATER_ACCOUNT",
    "CONTRACTS_DIR",
    "DEFAULT_CONFIG",
    "DEPLOYER_ACCOUNT",
    "DEPLOYMENTS_DIR",
    "DEVNET_DIR",
    "DEV_ACCOUNT_ROLES",
    "DEV_ADDRESSES",
    "DEV_FUNDING",
    "DEV_PRIVATE_KEYS",
    "DEV_ROLE_NAMES",
    "KEYSTORE_ENV",
    "KEYSTORE_PASSWORD_ENV",
    "PRIVATE_KEY_ENV",
    "PROVIDER_ACCOUNTS",
    "REPO_ROOT",
    "REQUESTER_ACCOUNT",
    "VALIDATOR_ACCOUNTS",
    "AbiEntry",
    "AnvilProcess",
    "AppealedJob",
    "ArtifactNotFound",
    "Artifacts",
    "CancelledJob",
    "CastVote",
    "ChainError",
    "ChainIdMismatch",
    "CheckpointStore",
    "ClaimedJob",
    "CompilationFailed",
    "ContractArtifact",
    "ContractCodec",
    "ContractRevert",
    "DecodedLog",
    "DeploymentNotFound",
    "DevAccountRole",
    "DevChain",
    "DevKeyOnLiveChain",
    "DevnetInfo",
    "DevnetStatus",
    "EventBatch",
    "EventReader",
    "ExpiredJob",
    "FinalizedJob",
    "InvalidKey",
    "JobDataStale",
    "JobNotFound",
    "JobStore",
    "JobView",
    "JobWord",
    "JsonCheckpointStore",
    "MarketClient",
    "MemoryCheckpointStore",
    "MissingKey",
    "NonceTooLow",
    "PayWith",
    "Payment",
    "PendingTx",
    "Permit",
    "PostedJob",
    "RegisteredProvider",
    "RegisteredValidator",
    "RevertDecoder",
    "Rpc",
    "RpcError",
    "RpcUnreachable",
    "StakeAdded",
    "SubmittedResult",
    "Supply",
    "GovernanceSetup",
    "TokenClient",
    "TransactionTimeout",
    "TxSender",
    "UnbondRequested",
    "UnbondedWithdrawal",
    "Withdrawal",
    "compile_contracts",
    "decode_params",
    "deploy",
    "deploy_market",
    "deployment_path",
    "describe",
    "dev_account",
    "dev_address",
    "dev_private_key",
    "dev_account_index",
    "dev_account_roles",
    "devnet_down",
    "devnet_status",
    "devnet_up",
    "encode_params",
    "ensure_key_allowed",
    "first_vote_block",
    "is_dev_address",
    "job_events",
    "is_dev_chain",
    "last_vote_block",
    "FINAL_ROUND",
    "appeal_window",
    "decision",
    "round_seats",
    "seat_bond",
    "settle_block",
    "load_account",
    "load_deployment",
    "load_settings",
    "load_signer",
    "read_info",
    "result_hash",
    "save_deployment",
    "seed_block",
    "seed_of",
    "source_files",
    "to_jsonable",
    "write_keystore",
]
