"""Content store: UnixFS DAGs addressed by CIDs identical to Kubo's, behind one interface, two backends.

from jobs.store import open_store
with open_store() as store:                 # embedded by default, Kubo if CROWDCOMPUTE_KUBO_API is set
    cid = store.add_file("bundle.tar")      # CIDv1 raw leaves, pinned
    for chunk in store.cat(cid): ...        # every block verified against its CID
"""

from jobs.cid import Cid, Codec, InvalidCid, parse_cid
from jobs.store.base import ContentStore, GcResult
from jobs.store.embedded import EmbeddedStore
from jobs.store.errors import (
    BlockNotFound,
    CidMismatch,
    CorruptDag,
    KuboError,
    KuboUnavailable,
    NotAFile,
    NotPinned,
    StoreConfigError,
    StoreError,
)
from jobs.store.exporter import ContentStat
from jobs.store.importer import CHUNK_SIZE, MAX_LINKS, DagBuilder, ImportResult, import_stream
from jobs.store.settings import StoreSettings, open_store

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "BlockNotFound",
    "Cid",
    "CidMismatch",
    "Codec",
    "ContentStat",
    "ContentStore",
    "CorruptDag",
    "DagBuilder",
    "EmbeddedStore",
    "GcResult",
    "ImportResult",
    "InvalidCid",
    "KuboError",
    "KuboUnavailable",
    "NotAFile",
    "NotPinned",
    "StoreConfigError",
    "StoreError",
    "StoreSettings",
    "import_stream",
    "open_store",
    "parse_cid",
]
