"""The Kubo backend: a Kubo node's RPC API (through ipfshttpclient 0.7), trusted for nothing.

- Reads go block by block (`/api/v0/block/get`); each block is hashed here and refused (`CidMismatch`)
  unless it matches the CID asked for, before any of its bytes reach the caller. The DAG walk and the
  structure checks are the same as the embedded backend's.
- Adds stream the file to `/api/v0/add` with Kubo's flags for our layout (`cid-version`, `raw-leaves`,
  `chunker=size-262144`) while the embedded importer hashes the same bytes on the way out; the CID Kubo
  answers must equal the one computed here, or the add fails with `CidMismatch` (a node configured with
  another chunker or link count would otherwise hand back CIDs no other party reproduces).
- `only_hash` never touches the node.

`ipfshttpclient.connect()` refuses daemons newer than 0.7, so the client is constructed directly.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, TypeVar

from jobs.cid import Cid, CidVersion, InvalidCid, parse_cid
from jobs.store.base import CidLike, ContentStore, GcResult, Progress, Source, open_source
from jobs.store.errors import (
    BlockNotFound,
    CidMismatch,
    KuboError,
    KuboUnavailable,
    NotPinned,
    StoreConfigError,
)
from jobs.store.importer import CHUNK_SIZE, DagBuilder, import_stream

__all__ = ["KuboStore", "to_multiaddr"]

log = logging.getLogger(__name__)

# ipfshttpclient 0.7 passes a `strict` argument that urllib3 2 warns about on every request.
warnings.filterwarnings(
    "ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning
)

T = TypeVar("T")

_URL = re.compile(r"^(?P<scheme>https?)://(?P<host>\[[0-9a-fA-F:]+\]|[^/:]+)(?::(?P<port>\d+))?/?$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_NOT_FOUND = ("not found", "could not find", "no link named")
_NOT_PINNED = "not pinned"


def to_multiaddr(api: str) -> str:
    """Accept a multiaddr (`/ip4/127.0.0.1/tcp/5001`) or an http(s) URL (`http://127.0.0.1:5001`)."""
    api = api.strip()
    if api.startswith("/"):
        return api
    match = _URL.match(api)
    if not match:
        raise StoreConfigError(
            f"Kubo API address {api!r} is neither a multiaddr nor an http(s)://host:port URL"
        )
    host = match["host"]
    port = match["port"] or ("443" if match["scheme"] == "https" else "80")
    if host.startswith("["):
        proto, host = "ip6", host[1:-1]
    elif _IPV4.match(host):
        proto = "ip4"
    else:
        proto = "dns"
    suffix = "/https" if match["scheme"] == "https" else ""
    return f"/{proto}/{host}/tcp/{port}{suffix}"


def _is_not_found(exc: KuboError) -> bool:
    return not isinstance(exc, KuboUnavailable) and any(text in str(exc).lower() for text in _NOT_FOUND)


class _TeeReader:
    """A file object for ipfshttpclient that feeds every byte it hands out into a local `DagBuilder`."""

    name = "file"

    def __init__(self, stream: BinaryIO, builder: DagBuilder, progress: Progress | None) -> None:
        self._stream = stream
        self._builder = builder
        self._progress = progress
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size if size and size > 0 else CHUNK_SIZE)
        if data:
            self._builder.write(data)
            self.total += len(data)
            if self._progress is not None:
                self._progress(self.total)
        return data


class KuboStore(ContentStore):
    """Content through a Kubo node's RPC API, every block re-verified locally."""

    def __init__(self, api: str, *, timeout: float = 120.0) -> None:
        import ipfshttpclient

        self.api = to_multiaddr(api)
        self._errors = ipfshttpclient.exceptions
        try:
            self._client = ipfshttpclient.Client(self.api, session=True, chunk_size=1 << 20, timeout=timeout)
        except ipfshttpclient.exceptions.AddressError as exc:
            raise StoreConfigError(f"Kubo API address {api!r} is not usable: {exc}") from None

    def __repr__(self) -> str:
        return f"KuboStore({self.api!r})"

    def _call(self, what: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        errors = self._errors
        try:
            return func(*args, **kwargs)
        except errors.TimeoutError:
            raise KuboUnavailable(f"Kubo RPC API at {self.api} did not answer {what} in time") from None
        except errors.ConnectionError as exc:
            raise KuboUnavailable(f"Kubo RPC API at {self.api} is unreachable ({what}): {exc}") from None
        except errors.ErrorResponse as exc:
            raise KuboError(f"Kubo {what} failed: {exc}") from None
        except errors.Error as exc:
            raise KuboError(f"Kubo {what} failed: {type(exc).__name__}: {exc}") from None

    def version(self) -> dict[str, Any]:
        """The node's `/api/v0/version` answer (also a cheap reachability check)."""
        return dict(self._call("version", self._client.version))

    # -- adding ---------------------------------------------------------------------------------------

    def add_file(
        self,
        source: Source,
        *,
        cid_version: CidVersion = 1,
        only_hash: bool = False,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> Cid:
        if only_hash:
            with open_source(source) as stream:
                return import_stream(stream, cid_version=cid_version, progress=progress).cid
        builder = DagBuilder(cid_version)
        with open_source(source) as stream:
            tee = _TeeReader(stream, builder, progress)
            answer = self._call(
                "add",
                self._client.add,
                tee,
                cid_version=cid_version,
                raw_leaves=cid_version == 1,
                chunker=f"size-{CHUNK_SIZE}",
                pin=pin,
            )
        local = builder.finish().cid
        try:
            remote = Cid.parse(str(answer["Hash"]))
        except (KeyError, TypeError, InvalidCid) as exc:
            raise KuboError(f"Kubo add answered without a usable CID: {exc}") from None
        if remote != local:
            raise CidMismatch(
                local,
                f"Kubo answered {remote} for content whose CID is {local} "
                "(is the node configured with another chunker or layout?)",
            )
        log.info("added %s to Kubo at %s (%d bytes)", local, self.api, tee.total)
        return local

    # -- reading --------------------------------------------------------------------------------------

    def get_block(self, cid: CidLike) -> bytes:
        wanted = parse_cid(cid)
        try:
            block = self._call("block/get", self._client.block.get, str(wanted))
        except KuboError as exc:
            if _is_not_found(exc):
                raise BlockNotFound(wanted, f"Kubo could not find block {wanted}: {exc}") from None
            raise
        if not isinstance(block, bytes):
            raise KuboError(f"Kubo block/get answered {type(block).__name__}, not bytes")
        if not wanted.matches(block):
            log.error("Kubo at %s served bytes for %s that do not hash to it", self.api, wanted)
            raise CidMismatch(wanted, f"Kubo served a block for {wanted} whose bytes hash to something else")
        return block

    def has(self, cid: CidLike) -> bool:
        wanted = parse_cid(cid)
        try:
            self._call("block/stat", self._client.block.stat, str(wanted), offline=True)
        except KuboUnavailable:
            raise
        except KuboError:
            return False
        return True

    # -- pins and gc ----------------------------------------------------------------------------------

    def pin(self, cid: CidLike) -> None:
        root = parse_cid(cid)
        try:
            self._call("pin/add", self._client.pin.add, str(root))
        except KuboError as exc:
            if _is_not_found(exc):
                raise BlockNotFound(root, f"Kubo could not pin {root}: {exc}") from None
            raise
        log.info("pinned %s on Kubo at %s", root, self.api)

    def unpin(self, cid: CidLike) -> None:
        root = parse_cid(cid)
        try:
            self._call("pin/rm", self._client.pin.rm, str(root))
        except KuboError as exc:
            if _NOT_PINNED in str(exc).lower():
                raise NotPinned(f"{root} is not pinned") from None
            raise

    def pins(self) -> list[Cid]:
        answer = self._call("pin/ls", self._client.pin.ls, type="recursive")
        keys = answer.get("Keys", {}) if hasattr(answer, "get") else {}
        return [Cid.parse(str(key)) for key in keys]

    def gc(self) -> GcResult:
        answer = self._call("repo/gc", self._client.repo.gc)
        removed: list[Cid] = []
        for item in answer or []:
            error = item.get("Error")
            if error:
                raise KuboError(f"Kubo repo/gc failed: {error}")
            key = item.get("Key")
            text = key.get("/") if isinstance(key, Mapping) else key
            if text:
                removed.append(Cid.parse(str(text)))
        return GcResult(tuple(removed), None)

    def close(self) -> None:
        self._client.close()
