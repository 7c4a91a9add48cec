"""Deployment records: `deployments/<chainId>.json`, written by `chain.deploy`, read by every client."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from chain.errors import DeploymentNotFound
from chain.paths import DEPLOYMENTS_DIR
from chain.types import Deployment


def deployment_path(chain_id: int, directory: Path = DEPLOYMENTS_DIR) -> Path:
    return directory / f"{chain_id}.json"


def load_deployment(chain_id: int, directory: Path = DEPLOYMENTS_DIR) -> Deployment:
    path = deployment_path(chain_id, directory)
    try:
        return Deployment.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise DeploymentNotFound(
            f"no deployment for chain id {chain_id} ({path} is missing): "
            "run scripts/deploy.py or `crowdcompute devnet up`"
        ) from None


def save_deployment(deployment: Deployment, directory: Path = DEPLOYMENTS_DIR) -> Path:
    path = deployment_path(deployment.chain_id, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(deployment.to_json(), f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path
