"""Content store: UnixFS DAGs addressed by CIDs identical to Kubo's, behind one interface, two backends.

from jobs.store import open_store
with open_store() as store:                 # embedded by default, Kubo if CROWDCOMPUTE_KUBO_API is set
    cid = store.add_file("bundle.tar")      # CIDv1 raw leaves, pinned
    for chunk in store.cat(cid): ...        # every block verified against its CID

with open_node_content(gateway_url="http://127.0.0.1:8000") as store:
    store.open(cid)                         # local, else fetched from the gateway, verified, kept locally
"""

from jobs.cid import Cid, Codec, InvalidCid, parse_cid
from jobs.store.base import ContentStore, GcResult
from jobs.store.embedded import EmbeddedStore
from jobs.store.errors import (
    BlockNotFound,
    CidMismatch,
    ContentMissing,
    ContentTooLarge,
    CorruptDag,
    KuboError,
    KuboUnavailable,
    NotAFile,
    NotPinned,
    SourceUnavailable,
    StoreConfigError,
    StoreError,
)
from jobs.store.exporter import ContentStat
from jobs.store.importer import CHUNK_SIZE, MAX_LINKS, DagBuilder, ImportResult, import_stream
from jobs.store.settings import StoreSettings, open_node_content, open_store
from jobs.store.sources import (
    ContentSource,
    ContentSources,
    GatewaySource,
    SourcedStore,
    StoreSource,
    sources_from,
    verified_version,
)

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "BlockNotFound",
    "Cid",
    "CidMismatch",
    "Codec",
    "ContentMissing",
    "ContentSource",
    "ContentSources",
    "ContentStat",
    "ContentStore",
    "ContentTooLarge",
    "CorruptDag",
    "DagBuilder",
    "EmbeddedStore",
    "GatewaySource",
    "GcResult",
    "ImportResult",
    "InvalidCid",
    "KuboError",
    "KuboUnavailable",
    "NotAFile",
    "NotPinned",
    "SourceUnavailable",
    "SourcedStore",
    "StoreConfigError",
    "StoreError",
    "StoreSettings",
    "StoreSource",
    "import_stream",
    "open_node_content",
    "open_store",
    "parse_cid",
    "sources_from",
    "verified_version",
]
