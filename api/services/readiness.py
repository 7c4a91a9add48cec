"""What the gateway waits for before it calls itself ready: the RPC node, a deployment, a caught-up index."""

from __future__ import annotations

from api.indexer.runner import Indexer
from api.models.health import ReadinessCheck, ReadinessPublic
from api.settings import Settings
from chain import ChainError, Rpc


def _rpc_check(settings: Settings) -> ReadinessCheck:
    try:
        rpc = Rpc.connect(
            settings.rpc_url, expected_chain_id=settings.chain_id, timeout=min(2.0, settings.rpc_timeout_s)
        )
        head = rpc.block_number()
    except (ChainError, OSError) as exc:
        return ReadinessCheck(name="rpc", ok=False, detail=f"RPC not usable: {exc}")
    return ReadinessCheck(name="rpc", ok=True, detail=f"chain {settings.chain_id} at block {head}")


def _deployment_check(settings: Settings) -> ReadinessCheck:
    path = settings.deployment_file
    if not path.is_file():
        return ReadinessCheck(name="deployment", ok=False, detail=f"no deployment file at {path}")
    return ReadinessCheck(name="deployment", ok=True, detail=str(path))


def _indexer_check(settings: Settings, indexer: Indexer) -> ReadinessCheck:
    status = indexer.status
    if not status.running:
        return ReadinessCheck(name="indexer", ok=False, detail="indexer not running")
    if status.waiting_for is not None:
        return ReadinessCheck(name="indexer", ok=False, detail=f"indexer waiting: {status.waiting_for}")
    lag = status.lag
    if lag is None:
        return ReadinessCheck(name="indexer", ok=False, detail="indexer has not reached the chain yet")
    if lag > settings.readiness_max_lag_blocks:
        return ReadinessCheck(name="indexer", ok=False, detail=f"indexer behind by {lag} blocks")
    return ReadinessCheck(name="indexer", ok=True, detail=f"indexed to block {status.last_block}")


def check_readiness(settings: Settings, indexer: Indexer | None) -> ReadinessPublic:
    """Blocking (one RPC round trip): call from a worker thread."""
    checks = [_rpc_check(settings), _deployment_check(settings)]
    if indexer is not None:
        checks.append(_indexer_check(settings, indexer))
    status = indexer.status if indexer is not None else None
    return ReadinessPublic(
        ready=all(c.ok for c in checks),
        waiting_for=[c.detail for c in checks if not c.ok],
        checks=checks,
        last_block=status.last_block if status else None,
        safe_head=status.safe_head if status else None,
    )
