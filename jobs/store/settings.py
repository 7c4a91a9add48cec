"""Which store a process opens, from the environment (or a settings object built by the caller).

CROWDCOMPUTE_STORE_DIR     embedded store folder (default ~/.crowdcompute/store)
CROWDCOMPUTE_KUBO_API      a Kubo RPC address (/ip4/127.0.0.1/tcp/5001 or http://host:5001): use Kubo
CROWDCOMPUTE_STORE_FSYNC   fsync each block and the pin file (default true)
CROWDCOMPUTE_KUBO_TIMEOUT  seconds per Kubo RPC call (default 120)

A node reads through `open_node_content`: its own store first, then the gateway (`jobs.store.sources`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobs.store.base import ContentStore

if TYPE_CHECKING:
    from jobs.store.sources import SourcedStore

__all__ = ["DEFAULT_STORE_DIR", "StoreSettings", "open_node_content", "open_store"]

log = logging.getLogger(__name__)

DEFAULT_STORE_DIR = Path("~/.crowdcompute/store")


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CROWDCOMPUTE_", extra="ignore")

    store_dir: Path = Field(default=DEFAULT_STORE_DIR, description="folder of the embedded store")
    kubo_api: str | None = Field(default=None, description="Kubo RPC API address; set to use Kubo")
    store_fsync: bool = Field(default=True, description="fsync blocks and pins before an add returns")
    kubo_timeout: float = Field(default=120.0, gt=0, description="seconds per Kubo RPC call")


def open_store(settings: StoreSettings | None = None) -> ContentStore:
    """The configured backend: Kubo when an API address is set, else the embedded store (the default)."""
    settings = settings if settings is not None else StoreSettings()
    if settings.kubo_api:
        from jobs.store.kubo import KuboStore

        log.debug("opening the Kubo store at %s", settings.kubo_api)
        return KuboStore(settings.kubo_api, timeout=settings.kubo_timeout)
    from jobs.store.embedded import EmbeddedStore

    root = settings.store_dir.expanduser()
    log.debug("opening the embedded store at %s", root)
    return EmbeddedStore(root, fsync=settings.store_fsync)


def open_node_content(
    settings: StoreSettings | None = None, *, gateway_url: str | None = None
) -> SourcedStore:
    """A node's content: its own store (`open_store`: embedded, or the Kubo node when one is configured),
    then the gateway at `gateway_url`. What it reads and lacks is fetched, verified and kept in its store."""
    from jobs.store.sources import SourcedStore, sources_from

    local = open_store(settings)
    sources = sources_from(gateway_url=gateway_url)
    log.debug("content of this node: %r, then %r", local, sources)
    return SourcedStore(local, sources)
