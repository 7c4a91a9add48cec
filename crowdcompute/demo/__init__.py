"""The whole marketplace on one machine: `DemoStack` (the processes) and the demo flow built on it.

`crowdcompute demo` (crowdcompute/demo_cli.py) runs it; tests and benches use `DemoStack` directly.
"""

from crowdcompute.demo.errors import DemoError, StackError
from crowdcompute.demo.stack import DemoStack

__all__ = ["DemoError", "DemoStack", "StackError"]
