"""The one base of the node daemons (`provider_node.daemon.ProviderNode`, `validator.daemon.ValidatorNode`):
the polling loop with backoff, `wait_idle`, `close`, resuming after a restart, worker threads, and the
configuration fields every node has, and its data folder (per role and account by default, held by one
daemon at a time: `node_base.folder`); and appealing a round once a role has decided it went wrong: the
bond against the node's limit, the appeal sent, a refusal told from a chain that could not be reached
(`node_base.appeals`). Each role keeps only what one of its rounds does.

It may import `chain` and `jobs`, nothing above them.
"""

from node_base.appeals import AppealAttempt, AppealLimit, AppealStatus, appeal_round
from node_base.config import NodeConfigBase
from node_base.errors import DataDirInUse, NodeBaseError
from node_base.folder import (
    LOCK_FILENAME,
    DataDirLock,
    address_tag,
    default_data_dir,
    hold_data_dir,
    node_data_dir,
    node_label,
    role_root,
)
from node_base.node import PollingNode, StepReport

__all__ = [
    "LOCK_FILENAME",
    "AppealAttempt",
    "AppealLimit",
    "AppealStatus",
    "DataDirInUse",
    "DataDirLock",
    "NodeBaseError",
    "NodeConfigBase",
    "PollingNode",
    "StepReport",
    "address_tag",
    "appeal_round",
    "default_data_dir",
    "hold_data_dir",
    "node_data_dir",
    "node_label",
    "role_root",
]
