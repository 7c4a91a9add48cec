"""`python -m provider_node ...`: the provider commands without the `crowdcompute` wrapper."""

from provider_node.cli import provider_app

provider_app(prog_name="crowdcompute provider")
