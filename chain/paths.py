"""Where the repository keeps the things `chain` reads and writes."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
SOLC_SETTINGS = CONTRACTS_DIR / "solc-settings.json"
SOLC_BINARY = REPO_ROOT / "chain" / "bin" / "solc"
ARTIFACTS_DIR = REPO_ROOT / "build" / "contracts"
DEPLOYMENTS_DIR = REPO_ROOT / "deployments"
DEVNET_DIR = REPO_ROOT / ".devnet"
NODE_MODULES = REPO_ROOT / "node_modules"
ANVIL_BINARY = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
