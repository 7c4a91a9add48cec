"""The one base of the node daemons (`provider_node.daemon.ProviderNode`, `validator.daemon.ValidatorNode`):
the polling loop with backoff, `wait_idle`, `close`, resuming after a restart, worker threads, and the
configuration fields every node has. Each role keeps only what one of its rounds does.

It may import `chain` and `jobs`, nothing above them.
"""

from node_base.config import NodeConfigBase
from node_base.node import PollingNode, StepReport

__all__ = ["NodeConfigBase", "PollingNode", "StepReport"]
