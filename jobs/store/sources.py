"""Content from wherever it lies: the node's own store first, then each configured source in order.

A source is anything that hands over a file's bytes by CID: the gateway (`GET {url}/ipfs/{cid}`), a Kubo
node, another store. None of them is trusted: the bytes are run through the importer `ipfs add` uses
(`jobs.store.importer`, both CID versions for a dag-pb CID) on their way in, and refused unless they give
the CID asked for; a source that serves other bytes is logged and the next one is asked. A source that is
down is skipped with its reason; only when no source gives the content does the fetch fail, naming each
source and why.

    store = SourcedStore(EmbeddedStore(root), [GatewaySource("http://127.0.0.1:8000")])
    with store.open(cid) as stream: ...   # local if there; else fetched, verified, added and pinned here

`SourcedStore` is a `ContentStore`: what reads through it (`cat`, `open`, `get`, `read_bytes`, `stat`) and
the local store lacks is fetched, verified, then added and pinned in the local store, so the next read is
local and the node can serve it on. Writes (`add_file`, pins, gc) go to the local store alone.
"""

from __future__ import annotations

import logging
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

import httpx

from jobs.cid import Cid, CidVersion, Codec, parse_cid
from jobs.store.base import CidLike, ContentStore, GcResult, Progress, Source
from jobs.store.errors import (
    BlockNotFound,
    CidMismatch,
    ContentMissing,
    ContentTooLarge,
    SourceUnavailable,
    StoreError,
)
from jobs.store.exporter import ContentStat
from jobs.store.importer import CHUNK_SIZE, DagBuilder

__all__ = [
    "DEFAULT_MAX_FETCH_BYTES",
    "ContentSource",
    "ContentSources",
    "GatewaySource",
    "Sink",
    "SourcedStore",
    "StoreSource",
    "sources_from",
    "verified_version",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_FETCH_BYTES = 16 * 1024**3
"""The most one fetch takes from a source before it is cut off: a hostile source cannot fill the disk."""

_RETRY_LATER = frozenset({408, 425, 429})


class Sink(Protocol):
    """Where a source writes the bytes it serves."""

    def write(self, data: bytes | bytearray | memoryview, /) -> object: ...


class ContentSource(ABC):
    """Somewhere the bytes of a file can be asked for by CID; trusted for nothing."""

    label: str
    """Names the source in messages: "the gateway at http://127.0.0.1:8000"."""

    @abstractmethod
    def fetch(self, cid: Cid, out: Sink) -> None:
        """Write the content of `cid` to `out`. Raises `ContentMissing` when the source answers that it
        does not have it, `SourceUnavailable` when it cannot be asked, another `StoreError` otherwise."""

    def close(self) -> None:  # noqa: B027 - sources without connections need nothing here
        """Release connections."""


class GatewaySource(ContentSource):
    """A crowdcompute gateway's `GET /ipfs/{cid}`."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.label = f"the gateway at {self.url}"
        # trust_env off: a proxy from the environment must not see (or break) traffic to a local gateway.
        self._http = httpx.Client(base_url=self.url, timeout=httpx.Timeout(timeout_s), trust_env=False)

    def __repr__(self) -> str:
        return f"GatewaySource({self.url!r})"

    def fetch(self, cid: Cid, out: Sink) -> None:
        try:
            with self._http.stream("GET", f"/ipfs/{cid}") as response:
                if response.status_code == 404:
                    raise ContentMissing(cid, "does not have it")
                if response.status_code != 200:
                    response.read()
                    reason = f"answered {response.status_code}: {_detail(response)}"
                    if response.status_code >= 500 or response.status_code in _RETRY_LATER:
                        raise SourceUnavailable(reason)
                    raise StoreError(reason)
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    out.write(chunk)
        except httpx.HTTPError as exc:  # refused, reset, timed out, a malformed answer
            raise SourceUnavailable(f"unreachable ({exc or type(exc).__name__})") from None

    def close(self) -> None:
        self._http.close()


class StoreSource(ContentSource):
    """Another content store (a Kubo node, a store folder) read as a source; its blocks verify as read."""

    def __init__(self, store: ContentStore, label: str | None = None, *, owned: bool = False) -> None:
        self.store = store
        self.label = label or f"the store {store!r}"
        self.owned = owned
        """Whether `close` closes the store (a store the caller handed in stays open)."""

    def __repr__(self) -> str:
        return f"StoreSource({self.store!r})"

    def fetch(self, cid: Cid, out: Sink) -> None:
        try:
            for chunk in self.store.cat(cid):
                out.write(chunk)
        except BlockNotFound as exc:
            raise ContentMissing(cid, f"does not have it ({exc})") from None
        except ConnectionError as exc:  # KuboUnavailable and the like
            raise SourceUnavailable(f"unreachable ({exc})") from None

    def close(self) -> None:
        if self.owned:
            self.store.close()


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.reason_phrase or "no reason given"


class _Checked:
    """A file object for a source to write to: every byte goes to `out` and through the importer of each
    layout `cid` may have been made with, and the size is capped."""

    def __init__(self, out: Sink, cid: Cid, max_bytes: int | None) -> None:
        self.out = out
        self.cid = cid
        self.max_bytes = max_bytes
        self.size = 0
        # A dag-pb root is either `ipfs add --cid-version=1` (raw leaves) or plain `ipfs add` (CIDv0).
        versions: tuple[CidVersion, ...] = (1, 0) if cid.codec is Codec.DAG_PB else (1,)
        self._builders = {version: DagBuilder(version) for version in versions}

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.size += len(data)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise ContentTooLarge(f"sent more than the {self.max_bytes} bytes a fetch may take")
        for builder in self._builders.values():
            builder.write(data)
        self.out.write(data)
        return len(data)

    def verified_version(self) -> CidVersion | None:
        """The layout whose root is `cid` (the version to add it with locally), or None."""
        for version, builder in self._builders.items():
            if builder.finish().cid == self.cid:
                return version
        return None

    def got(self) -> Cid:
        return self._builders[1].finish().cid


class _Discard:
    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        return len(data)


def verified_version(stream: BinaryIO, cid: CidLike) -> CidVersion | None:
    """Read `stream` to its end: the CID version whose DAG of these bytes has the root `cid`, or None when
    the bytes are not `cid`'s content (how content from anyone is checked before it is kept)."""
    checked = _Checked(_Discard(), parse_cid(cid), None)
    while chunk := stream.read(CHUNK_SIZE):
        checked.write(chunk)
    return checked.verified_version()


@dataclass
class _Attempts:
    """What each source answered for one CID, for the one message that lists them all."""

    cid: Cid
    answers: list[str] = field(default_factory=list)
    missing: int = 0
    failed: int = 0

    def add(self, label: str, reason: str, *, missing: bool) -> None:
        self.answers.append(f"{label}: {reason}")
        if missing:
            self.missing += 1
        else:
            self.failed += 1

    def error(self) -> StoreError:
        message = f"{self.cid} could not be had from any source: " + "; ".join(self.answers)
        if self.missing and not self.failed:
            return ContentMissing(self.cid, message)
        return SourceUnavailable(message)


class ContentSources:
    """Sources asked in order; the first whose bytes verify against the CID wins."""

    def __init__(self, sources: Sequence[ContentSource]) -> None:
        self.sources = list(sources)

    def __repr__(self) -> str:
        return f"ContentSources({self.sources!r})"

    def fetch_to(
        self,
        cid: CidLike,
        out: BinaryIO,
        *,
        max_bytes: int | None = DEFAULT_MAX_FETCH_BYTES,
        tried: Sequence[tuple[str, str]] = (),
    ) -> CidVersion:
        """Write the verified content of `cid` to `out` (seekable: a failed source's bytes are discarded)
        and return the CID version its DAG was built with. When no source gives it, raises
        `ContentMissing` if every source answered that it does not have it, else `SourceUnavailable`;
        the message names each source (and `tried`, places already looked at) with its answer."""
        wanted = parse_cid(cid)
        attempts = _Attempts(wanted)
        for label, reason in tried:
            attempts.add(label, reason, missing=True)
        for source in self.sources:
            out.seek(0)
            out.truncate()
            checked = _Checked(out, wanted, max_bytes)
            try:
                source.fetch(wanted, checked)
            except ContentMissing as exc:
                log.info("%s does not have %s", source.label, wanted)
                attempts.add(source.label, _reason(exc), missing=True)
                continue
            except StoreError as exc:
                log.warning("%s skipped for %s: %s", source.label, wanted, _reason(exc))
                attempts.add(source.label, _reason(exc), missing=False)
                continue
            version = checked.verified_version()
            if version is None:
                got = checked.got()
                log.error(
                    "%s served %d bytes for %s that hash to %s: refused; asking the next source",
                    source.label,
                    checked.size,
                    wanted,
                    got,
                )
                attempts.add(source.label, f"served other bytes (they hash to {got}), refused", missing=False)
                continue
            out.flush()
            log.info("%s fetched from %s (%d bytes), verified", wanted, source.label, checked.size)
            return version
        raise attempts.error()

    def close(self) -> None:
        for source in self.sources:
            source.close()


def _reason(exc: StoreError) -> str:
    return exc.args[0] if exc.args else type(exc).__name__


class SourcedStore(ContentStore):
    """A local store that fetches what it lacks from `sources` (see the module docstring)."""

    def __init__(
        self,
        local: ContentStore,
        sources: Sequence[ContentSource] = (),
        *,
        max_fetch_bytes: int | None = DEFAULT_MAX_FETCH_BYTES,
        spool_dir: Path | None = None,
    ) -> None:
        self.local = local
        self.sources = ContentSources(sources)
        self.max_fetch_bytes = max_fetch_bytes
        self.spool_dir = spool_dir
        self.label = f"the local store ({local!r})"

    def __repr__(self) -> str:
        return f"SourcedStore({self.local!r}, {self.sources.sources!r})"

    def fetch(self, cid: CidLike, *, max_bytes: int | None = None) -> Cid:
        """Make sure the local store holds `cid` (pinned), fetching and verifying it if it does not."""
        wanted = parse_cid(cid)
        if self.local.has(wanted):
            return wanted
        if self.spool_dir is not None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.spool_dir) as spool:
            version = self.sources.fetch_to(
                wanted,
                spool,
                max_bytes=max_bytes if max_bytes is not None else self.max_fetch_bytes,
                tried=[(self.label, "does not have it")],
            )
            spool.seek(0)
            added = self.local.add_file(spool, cid_version=version, pin=True)
        if added != wanted:  # verified above: only a local store that builds other DAGs gets here
            raise CidMismatch(wanted, f"the local store added the fetched content of {wanted} as {added}")
        return wanted

    # -- reads: fetched first when the local store lacks them --------------------------------------

    def cat(self, cid: CidLike) -> Iterator[bytes]:
        wanted = self.fetch(cid)
        yield from self.local.cat(wanted)

    def stat(self, cid: CidLike) -> ContentStat:
        return self.local.stat(self.fetch(cid))

    # -- the rest is the local store's -------------------------------------------------------------

    def add_file(
        self,
        source: Source,
        *,
        cid_version: CidVersion = 1,
        only_hash: bool = False,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> Cid:
        return self.local.add_file(
            source, cid_version=cid_version, only_hash=only_hash, pin=pin, progress=progress
        )

    def get_block(self, cid: CidLike) -> bytes:
        return self.local.get_block(cid)

    def has(self, cid: CidLike) -> bool:
        return self.local.has(cid)

    def pin(self, cid: CidLike) -> None:
        self.local.pin(cid)

    def unpin(self, cid: CidLike) -> None:
        self.local.unpin(cid)

    def pins(self) -> list[Cid]:
        return self.local.pins()

    def gc(self) -> GcResult:
        return self.local.gc()

    def close(self) -> None:
        try:
            self.sources.close()
        finally:
            self.local.close()


def sources_from(
    *,
    store: ContentStore | None = None,
    gateway_url: str | None = None,
    kubo_api: str | None = None,
    kubo_timeout: float = 120.0,
) -> list[ContentSource]:
    """The sources configured, in the order they are asked: a store, the gateway, a Kubo node."""
    sources: list[ContentSource] = []
    if store is not None:
        sources.append(StoreSource(store))
    if gateway_url:
        sources.append(GatewaySource(gateway_url))
    if kubo_api:
        from jobs.store.kubo import KuboStore

        kubo = KuboStore(kubo_api, timeout=kubo_timeout)
        sources.append(StoreSource(kubo, f"the Kubo node at {kubo.api}", owned=True))
    return sources
