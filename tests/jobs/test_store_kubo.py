"""The Kubo backend, against a minimal Kubo RPC double.

No Kubo daemon can be installed on these machines, so these tests run `KuboStore` (ipfshttpclient 0.7,
constructed directly) against a small HTTP server on 127.0.0.1 that answers the endpoints the backend uses
as the Kubo RPC reference describes them: POST only (GET is 405), query `arg=` for operands, booleans
parsed like Go's strconv.ParseBool, JSON answers, NDJSON for `add` and `repo/gc`, errors as HTTP 500 with
`{"Message", "Code", "Type": "error"}`. The double keeps its blocks in an `EmbeddedStore`, so its CIDs are
the ones real Kubo gives (see test_store_importer.py for that evidence).

Endpoints: /api/v0/version, add (multipart, cid-version, raw-leaves, chunker, pin, only-hash), cat,
block/get, block/stat, pin/add, pin/rm, pin/ls, repo/gc.

The double can also lie: flip a byte in the blocks it serves, or answer `add` with another CID; the backend
must refuse both.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from jobs.cid import Cid
from jobs.errors import JobsError
from jobs.store import (
    BlockNotFound,
    CidMismatch,
    EmbeddedStore,
    KuboError,
    KuboUnavailable,
    NotPinned,
    StoreConfigError,
    StoreSettings,
    open_store,
)
from jobs.store.dagpb import decode_pbnode
from jobs.store.importer import CHUNK_SIZE
from jobs.store.kubo import KuboStore, to_multiaddr

# ipfshttpclient 0.7 passes urllib3 2 a deprecated argument on every request; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The 'strict' parameter is no longer needed:FutureWarning")

MakeBytes = Callable[[str, int], bytes]
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class KuboRpcError(Exception):
    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class KuboDouble(ThreadingHTTPServer):
    """A Kubo RPC API stand-in backed by an embedded store."""

    daemon_threads = True

    def __init__(self, store: EmbeddedStore) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.store = store
        self.tamper_blocks = False
        self.lie_about_add = False
        self.fail_with: str | None = None
        self.requests: list[tuple[str, dict[str, list[str]]]] = []

    @property
    def api(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: KuboDouble

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._read_body()
        self._send(405, b"405 - Method Not Allowed\n", "text/plain")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        body = self._read_body()
        command = url.path.removeprefix("/api/v0/")
        self.server.requests.append((command, query))
        route = getattr(self, "rpc_" + command.replace("/", "_"), None)
        if route is None or not url.path.startswith("/api/v0/"):
            self._send(404, b"404 page not found\n", "text/plain")
            return
        try:
            if self.server.fail_with is not None:
                raise KuboRpcError(self.server.fail_with)
            route(query, body)
        except KuboRpcError as exc:
            self._error(str(exc), exc.status)
        except JobsError as exc:
            self._error(str(exc), 500)

    # -- plumbing ---------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, document: Any) -> None:
        self._send(200, json.dumps(document).encode() + b"\n", "application/json")

    def _ndjson(self, documents: list[Any]) -> None:
        body = b"".join(json.dumps(document).encode() + b"\n" for document in documents)
        self._send(200, body, "application/json", {"X-Chunked-Output": "1"})

    def _error(self, message: str, status: int) -> None:
        body = json.dumps({"Message": message, "Code": 0, "Type": "error"}).encode() + b"\n"
        self._send(status, body, "application/json")

    @staticmethod
    def _bool(query: dict[str, list[str]], name: str, default: bool) -> bool:
        values = query.get(name)
        if not values:
            return default
        if values[0] in _TRUE:
            return True
        if values[0] in _FALSE:
            return False
        raise KuboRpcError(f'invalid boolean value for option "{name}": {values[0]!r}', 400)

    @staticmethod
    def _arg(query: dict[str, list[str]]) -> Cid:
        values = query.get("arg")
        if not values:
            raise KuboRpcError('argument "cid" is required', 400)
        try:
            return Cid.parse(values[0])
        except JobsError as exc:
            raise KuboRpcError(f"invalid path {values[0]!r}: {exc}", 400) from None

    def _block(self, cid: Cid) -> bytes:
        try:
            block = self.server.store.get_block(cid)
        except BlockNotFound:
            raise KuboRpcError(f"block was not found locally (offline): ipld: could not find {cid}") from None
        if self.server.tamper_blocks and block:
            damaged = bytearray(block)
            damaged[len(damaged) // 2] ^= 0xFF
            return bytes(damaged)
        return block

    # -- endpoints --------------------------------------------------------------------------------------

    def rpc_version(self, query: dict[str, list[str]], body: bytes) -> None:
        self._json(
            {"Version": "0.22.0", "Commit": "", "Repo": "14", "System": "amd64/linux", "Golang": "go1.19"}
        )

    def rpc_add(self, query: dict[str, list[str]], body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if "boundary=" not in content_type:
            raise KuboRpcError("request Content-Type is not multipart", 400)
        boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip().strip('"').encode()
        parts = [part for part in body.split(b"--" + boundary) if part not in (b"", b"--\r\n", b"--")]
        if len(parts) != 1:
            raise KuboRpcError("the test double takes exactly one file per add", 400)
        head, _, content = parts[0].lstrip(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        version = int(query.get("cid-version", ["0"])[0])
        raw_leaves = self._bool(query, "raw-leaves", version == 1)
        chunker = query.get("chunker", ["size-262144"])[0]
        if version not in (0, 1) or raw_leaves != (version == 1) or chunker != "size-262144":
            raise KuboRpcError("the test double supports --cid-version=1 --raw-leaves and plain v0 only")
        result = self.server.store.import_file(
            io.BytesIO(content),
            cid_version=version,  # type: ignore[arg-type]
            only_hash=self._bool(query, "only-hash", False),
            pin=self._bool(query, "pin", True),
        )
        cid = result.cid
        if self.server.lie_about_add:
            cid = self.server.store.add_bytes(b"something else", cid_version=version, pin=False)  # type: ignore[arg-type]
        name = "file"
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-disposition") and b'filename="' in line:
                name = line.split(b'filename="', 1)[1].split(b'"', 1)[0].decode()
        self._ndjson([{"Name": name, "Hash": str(cid), "Size": str(result.cumulative_size)}])

    def rpc_cat(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        data = b"".join(self.server.store.cat(cid))
        self._send(200, data, "text/plain", {"X-Stream-Output": "1"})

    def rpc_block_get(self, query: dict[str, list[str]], body: bytes) -> None:
        self._send(200, self._block(self._arg(query)), "text/plain", {"X-Stream-Output": "1"})

    def rpc_block_stat(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        self._json({"Key": str(cid), "Size": len(self._block(cid))})

    def rpc_pin_add(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        if not self._bool(query, "recursive", True):
            raise KuboRpcError("the test double pins recursively only")
        try:
            self.server.store.pin(cid)
        except BlockNotFound as exc:
            raise KuboRpcError(
                f"block was not found locally (offline): ipld: could not find {exc.cid}"
            ) from None
        self._json({"Pins": [str(cid)]})

    def rpc_pin_rm(self, query: dict[str, list[str]], body: bytes) -> None:
        cid = self._arg(query)
        try:
            self.server.store.unpin(cid)
        except NotPinned:
            raise KuboRpcError("not pinned or pinned indirectly") from None
        self._json({"Pins": [str(cid)]})

    def rpc_pin_ls(self, query: dict[str, list[str]], body: bytes) -> None:
        kind = query.get("type", ["all"])[0]
        pins = self.server.store.pins() if kind in ("all", "recursive") else []
        self._json({"Keys": {str(cid): {"Type": "recursive"} for cid in pins}})

    def rpc_repo_gc(self, query: dict[str, list[str]], body: bytes) -> None:
        removed = self.server.store.gc().removed
        self._ndjson([{"Key": {"/": str(cid)}} for cid in removed])


@pytest.fixture
def double(tmp_path: Path) -> Iterator[KuboDouble]:
    server = KuboDouble(EmbeddedStore(tmp_path / "kubo-node", fsync=False))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def kubo(double: KuboDouble) -> Iterator[KuboStore]:
    store = KuboStore(double.api, timeout=10)
    yield store
    store.close()


# -- the double itself ----------------------------------------------------------------------------------


def test_double_is_a_kubo_0_22_that_connect_would_refuse(kubo: KuboStore) -> None:
    assert kubo.version()["Version"] == "0.22.0"


def test_double_answers_get_with_405(double: KuboDouble) -> None:
    with socket.create_connection(("127.0.0.1", double.server_address[1]), timeout=5) as conn:
        conn.sendall(
            b"GET /api/v0/version HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        assert conn.recv(64).startswith(b"HTTP/1.1 405")


# -- adding ---------------------------------------------------------------------------------------------


def test_add_sends_kubo_flags_and_gets_the_embedded_cid(
    kubo: KuboStore, double: KuboDouble, tmp_path: Path, make_bytes: MakeBytes
) -> None:
    data = make_bytes("kubo-add", 3 * CHUNK_SIZE + 11)
    expected = EmbeddedStore(tmp_path / "local").add_bytes(data, only_hash=True)
    assert kubo.add_bytes(data) == expected
    command, query = double.requests[-1]
    assert command == "add"
    assert query["cid-version"] == ["1"]
    assert query["raw-leaves"][0] in _TRUE
    assert query["chunker"] == ["size-262144"]
    assert query["pin"][0] in _TRUE
    assert double.store.pins() == [expected]


def test_add_v0_matches_kubo_known_value(kubo: KuboStore) -> None:
    assert (
        str(kubo.add_bytes(b"hello world\n", cid_version=0))
        == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    )
    assert (
        str(kubo.add_bytes(b"hello world\n")) == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    )


def test_add_from_path_reports_progress(kubo: KuboStore, tmp_path: Path, make_bytes: MakeBytes) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(make_bytes("kubo-progress", 2 * CHUNK_SIZE + 1))
    seen: list[int] = []
    cid = kubo.add_file(path, progress=seen.append)
    assert seen[-1] == path.stat().st_size
    assert kubo.read_bytes(cid) == path.read_bytes()


def test_only_hash_never_contacts_the_node(kubo: KuboStore, double: KuboDouble) -> None:
    cid = kubo.add_bytes(b"offline", only_hash=True)
    assert str(cid).startswith("bafkrei")
    assert double.requests == []


def test_add_answered_with_another_cid_is_refused(kubo: KuboStore, double: KuboDouble) -> None:
    double.lie_about_add = True
    with pytest.raises(CidMismatch):
        kubo.add_bytes(b"honest content")


# -- reading --------------------------------------------------------------------------------------------


def test_cat_walks_verified_blocks(kubo: KuboStore, double: KuboDouble, make_bytes: MakeBytes) -> None:
    data = make_bytes("kubo-cat", 175 * CHUNK_SIZE + 3)
    cid = double.store.add_bytes(data)
    assert b"".join(kubo.cat(cid)) == data
    commands = {command for command, _ in double.requests}
    assert commands == {"block/get"}  # never the unverifiable /cat stream
    info = kubo.stat(cid)
    assert (info.type, info.size) == ("file", len(data))


def test_get_and_open(kubo: KuboStore, double: KuboDouble, tmp_path: Path, make_bytes: MakeBytes) -> None:
    data = make_bytes("kubo-get", CHUNK_SIZE + 9)
    cid = double.store.add_bytes(data, cid_version=0)
    assert kubo.get(cid, tmp_path / "out").read_bytes() == data
    assert kubo.open(cid).read() == data


@pytest.mark.parametrize("version", [0, 1])
def test_tampered_blocks_are_refused(
    kubo: KuboStore, double: KuboDouble, make_bytes: MakeBytes, version: int
) -> None:
    data = make_bytes("kubo-tamper", 2 * CHUNK_SIZE)
    cid = double.store.add_bytes(data, cid_version=version)  # type: ignore[arg-type]
    leaf = Cid.from_bytes(decode_pbnode(double.store.get_block(cid)).links[0].hash)
    double.tamper_blocks = True
    with pytest.raises(CidMismatch):
        next(kubo.cat(cid))
    with pytest.raises(CidMismatch):
        kubo.get_block(leaf)
    with pytest.raises(CidMismatch):
        kubo.stat(cid)


def test_tampered_single_block_file_is_refused(kubo: KuboStore, double: KuboDouble) -> None:
    cid = double.store.add_bytes(b"hello world\n")
    double.tamper_blocks = True
    served = bytearray()
    with pytest.raises(CidMismatch):
        for chunk in kubo.cat(cid):
            served += chunk
    assert served == b""


def test_missing_block_is_block_not_found(kubo: KuboStore) -> None:
    absent = Cid.parse("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    with pytest.raises(BlockNotFound):
        kubo.get_block(absent)
    assert kubo.has(absent) is False


def test_has_asks_offline(kubo: KuboStore, double: KuboDouble) -> None:
    cid = double.store.add_bytes(b"here")
    assert kubo.has(cid) is True
    assert double.requests[-1][0] == "block/stat"
    assert double.requests[-1][1]["offline"] == ["true"]


# -- pins and gc ----------------------------------------------------------------------------------------


def test_pin_unpin_pins_and_gc(kubo: KuboStore, double: KuboDouble, make_bytes: MakeBytes) -> None:
    data = make_bytes("kubo-pins", 2 * CHUNK_SIZE)
    cid = kubo.add_bytes(data, pin=False)
    assert kubo.pins() == []
    kubo.pin(cid)
    assert kubo.pins() == [cid]
    assert kubo.gc().removed == ()
    kubo.unpin(cid)
    assert kubo.pins() == []
    result = kubo.gc()
    assert len(result.removed) == 3
    assert result.freed_bytes is None
    assert not kubo.has(cid)
    with pytest.raises(NotPinned):
        kubo.unpin(cid)


def test_pin_of_content_the_node_cannot_find_is_block_not_found(kubo: KuboStore) -> None:
    with pytest.raises(BlockNotFound, match="could not find"):
        kubo.pin("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")


def test_rpc_errors_become_kubo_errors(kubo: KuboStore, double: KuboDouble) -> None:
    double.fail_with = "repo is locked"
    with pytest.raises(KuboError, match="repo is locked") as raised:
        kubo.pins()
    assert isinstance(raised.value, JobsError)


# -- configuration and failures -------------------------------------------------------------------------


def test_unreachable_api_is_kubo_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = KuboStore(f"/ip4/127.0.0.1/tcp/{port}", timeout=2)
    with pytest.raises(KuboUnavailable):
        store.version()
    with pytest.raises(ConnectionError):
        store.add_bytes(b"x")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/ip4/127.0.0.1/tcp/5001", "/ip4/127.0.0.1/tcp/5001"),
        ("http://127.0.0.1:5001", "/ip4/127.0.0.1/tcp/5001"),
        ("http://localhost:5001/", "/dns/localhost/tcp/5001"),
        ("https://kubo.example:443", "/dns/kubo.example/tcp/443/https"),
        ("http://[::1]:5001", "/ip6/::1/tcp/5001"),
    ],
)
def test_api_address_forms(given: str, expected: str) -> None:
    assert to_multiaddr(given) == expected


def test_bad_api_address_is_a_config_error() -> None:
    with pytest.raises(StoreConfigError):
        to_multiaddr("ftp://nowhere")


def test_open_store_picks_kubo_when_an_api_is_set(
    monkeypatch: pytest.MonkeyPatch, double: KuboDouble
) -> None:
    monkeypatch.setenv("CROWDCOMPUTE_KUBO_API", double.api)
    store = open_store()
    assert isinstance(store, KuboStore)
    assert store.api == double.api
    with store:
        assert store.add_bytes(b"via settings") == Cid.parse(str(double.store.pins()[0]))
    assert isinstance(
        open_store(StoreSettings(kubo_api=None, store_dir=Path("/tmp/unused-x"))), EmbeddedStore
    )
