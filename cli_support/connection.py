"""From the connection options to a market client acting as the configured key.

Defaults point at the local devnet: the RPC URL recorded in `.devnet/devnet.json` (else
http://127.0.0.1:8545) and the deployment `deployments/<chainId>.json` (else the one the devnet recorded).
The key comes from `CROWDCOMPUTE_PRIVATE_KEY` or an encrypted keystore (`--keystore`, password from
`CROWDCOMPUTE_KEYSTORE_PASSWORD` or a prompt); anvil's dev keys are refused off a dev chain
(`chain.keys` reads and checks keys; this module decides which one a command uses).
"""

from __future__ import annotations

from pathlib import Path

from chain import Deployment, DeploymentNotFound, MarketClient, Rpc, load_deployment, load_signer, read_info

__all__ = ["DEFAULT_RPC_URL", "connect", "resolve_deployment", "resolve_rpc_url"]

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


def resolve_rpc_url(rpc_url: str | None, devnet_dir: Path) -> str:
    if rpc_url:
        return rpc_url
    info = read_info(devnet_dir)
    return info.rpc_url if info is not None else DEFAULT_RPC_URL


def resolve_deployment(chain_id: int, deployments_dir: Path, devnet_dir: Path) -> Deployment:
    try:
        return load_deployment(chain_id, deployments_dir)
    except DeploymentNotFound:
        info = read_info(devnet_dir)
        if info is not None and info.chain_id == chain_id:
            return info.deployment
        raise


def connect(
    rpc_url: str | None,
    deployments_dir: Path,
    devnet_dir: Path,
    keystore: Path | None,
    *,
    signing: bool = True,
) -> MarketClient:
    """The market client for the configured chain, acting as the configured key (`signing`)."""
    rpc = Rpc.connect(resolve_rpc_url(rpc_url, devnet_dir))
    deployment = resolve_deployment(rpc.chain_id, deployments_dir, devnet_dir)
    account = load_signer(rpc.chain_id, keystore=keystore) if signing else None
    return MarketClient(rpc, deployment, account=account)
