"""The chain, RPC and contract addresses the gateway tells clients, from settings and the deployment file.

The deployment file is read on every call: `crowdcompute devnet up` redeploys into the same file, and a
gateway left running must advertise the new addresses without a restart.
"""

from __future__ import annotations

import json

from api.errors import ServiceUnavailableError
from api.models.config import ConfigPublic
from api.settings import Settings
from chain import DeploymentNotFound, load_deployment


def read_client_config(settings: Settings) -> ConfigPublic:
    """Blocking (reads one small file): call from a worker thread."""
    rpc_url = settings.public_rpc_url or settings.rpc_url
    try:
        deployment = load_deployment(settings.chain_id, settings.deployments_dir)
    except DeploymentNotFound:
        return ConfigPublic(
            chain_id=settings.chain_id,
            rpc_url=rpc_url,
            market=None,
            token=None,
            deployment_block=None,
            runtime_images=settings.runtime_images,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # json.JSONDecodeError is a ValueError; a missing field is a KeyError.
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ServiceUnavailableError(
            f"the deployment file {settings.deployment_file} is unreadable ({type(exc).__name__}: {detail}); "
            "redeploy with `crowdcompute devnet up` or scripts/deploy.py"
        ) from exc
    if deployment.chain_id != settings.chain_id:
        raise ServiceUnavailableError(
            f"the deployment file {settings.deployment_file} is for chain {deployment.chain_id}, "
            f"not the configured chain {settings.chain_id}; fix CROWDCOMPUTE_GATEWAY_CHAIN_ID or the file"
        )
    return ConfigPublic(
        chain_id=settings.chain_id,
        rpc_url=rpc_url,
        market=deployment.market,
        token=deployment.token,
        deployment_block=deployment.block_number,
        runtime_images=settings.runtime_images,
    )
