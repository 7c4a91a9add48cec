"""`crowdcompute store ...` through Typer's test runner: stdout carries only results, errors are one line."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobs.cid import Cid
from jobs.store import EmbeddedStore
from jobs.store.cli import store_app
from jobs.store.dagpb import decode_pbnode
from jobs.store.importer import CHUNK_SIZE

HELLO_V1 = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
HELLO_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"

Invoke = Callable[..., Result]
MakeBytes = Callable[[str, int], bytes]


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CROWDCOMPUTE_KUBO_API", raising=False)
    monkeypatch.setenv("CROWDCOMPUTE_STORE_DIR", str(tmp_path / "store"))
    return tmp_path / "store"


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world\n")
    return path


@pytest.fixture
def run() -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, input: bytes | None = None) -> Result:
        return runner.invoke(store_app, list(args), input=input, catch_exceptions=False)

    return invoke


def test_add_prints_the_cid_alone(run: Invoke, store_dir: Path, hello: Path) -> None:
    result = run("add", str(hello))
    assert result.exit_code == 0
    assert result.stdout == HELLO_V1 + "\n"
    assert result.stderr == ""
    assert EmbeddedStore(store_dir).pins() == [Cid.parse(HELLO_V1)]


def test_add_cid_version_0(run: Invoke, store_dir: Path, hello: Path) -> None:
    assert run("add", "--cid-version", "0", str(hello)).stdout == HELLO_V0 + "\n"


def test_add_rejects_other_cid_versions(run: Invoke, store_dir: Path, hello: Path) -> None:
    assert run("add", "--cid-version", "2", str(hello)).exit_code == 2


def test_add_only_hash_stores_nothing(run: Invoke, store_dir: Path, hello: Path) -> None:
    assert run("add", "--only-hash", str(hello)).stdout == HELLO_V1 + "\n"
    result = run("cat", HELLO_V1)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1


def test_add_json(run: Invoke, store_dir: Path, hello: Path) -> None:
    document = json.loads(run("add", "--json", str(hello)).stdout)
    assert document == {"cid": HELLO_V1, "size": 12, "cid_version": 1, "pinned": True}


def test_add_from_stdin(run: Invoke, store_dir: Path) -> None:
    assert run("add", "-", input=b"hello world\n").stdout == HELLO_V1 + "\n"


def test_add_with_store_dir_option(run: Invoke, tmp_path: Path, hello: Path) -> None:
    result = run("--store-dir", str(tmp_path / "other"), "add", str(hello))
    assert result.exit_code == 0
    assert EmbeddedStore(tmp_path / "other").has(HELLO_V1)


def test_cat_writes_the_bytes(run: Invoke, store_dir: Path, tmp_path: Path, make_bytes: MakeBytes) -> None:
    data = make_bytes("cli-cat", 2 * CHUNK_SIZE + 5)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    cid = run("add", str(path)).stdout.strip()
    result = run("cat", cid)
    assert result.exit_code == 0
    assert result.stdout_bytes == data


def test_cat_of_a_tampered_block_fails_with_one_line(
    run: Invoke, store_dir: Path, tmp_path: Path, make_bytes: MakeBytes
) -> None:
    data = make_bytes("cli-tamper", 2 * CHUNK_SIZE)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    cid = Cid.parse(run("add", str(path)).stdout.strip())
    store = EmbeddedStore(store_dir)
    leaf = Cid.from_bytes(decode_pbnode(store.get_block(cid)).links[1].hash)
    block_path = store.blocks.path(leaf.digest)
    damaged = bytearray(block_path.read_bytes())
    damaged[0] ^= 1
    block_path.write_bytes(bytes(damaged))
    result = run("cat", str(cid))
    assert result.exit_code == 1
    assert result.stdout_bytes == data[:CHUNK_SIZE]  # only the verified first chunk
    assert result.stderr.startswith("error: ") and "corrupt" in result.stderr
    assert result.stderr.count("\n") == 1


def test_pin_unpin_pins_gc(run: Invoke, store_dir: Path, hello: Path) -> None:
    run("add", "--no-pin", str(hello))
    assert json.loads(run("pins", "--json").stdout) == {"pins": []}
    assert json.loads(run("pin", "--json", HELLO_V1).stdout) == {"pinned": HELLO_V1}
    assert run("pins").stdout == HELLO_V1 + "\n"
    assert json.loads(run("gc", "--json").stdout) == {"removed": 0, "freed_bytes": 0}
    assert run("unpin", HELLO_V1).stdout == f"unpinned {HELLO_V1}\n"
    assert json.loads(run("gc", "--json").stdout) == {"removed": 1, "freed_bytes": 12}
    result = run("unpin", HELLO_V1)
    assert result.exit_code == 1
    assert result.stderr == f"error: {HELLO_V1} is not pinned\n"


def test_stat_and_get(run: Invoke, store_dir: Path, hello: Path, tmp_path: Path) -> None:
    run("add", str(hello))
    document = json.loads(run("stat", "--json", HELLO_V1).stdout)
    assert document == {"cid": HELLO_V1, "type": "raw", "size": 12, "cumulative_size": 12, "links": 0}
    out = tmp_path / "copy.txt"
    assert run("get", HELLO_V1, str(out)).exit_code == 0
    assert out.read_bytes() == b"hello world\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cat", "not-a-cid"), "is not a CID"),
        (("add", "/nonexistent/file"), "No such file or directory"),
        (("pin", HELLO_V1), "is not in the store"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    run: Invoke, store_dir: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_add_of_a_folder_is_refused(run: Invoke, store_dir: Path, tmp_path: Path) -> None:
    result = run("add", str(tmp_path))
    assert result.exit_code == 1
    assert "is a folder" in result.stderr


@pytest.mark.filterwarnings("ignore:The 'strict' parameter is no longer needed:FutureWarning")
def test_unreachable_kubo_is_one_line(run: Invoke, hello: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CROWDCOMPUTE_KUBO_TIMEOUT", "2")
    result = run("--kubo-api", f"/ip4/127.0.0.1/tcp/{port}", "add", str(hello))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Kubo RPC API at /ip4/127.0.0.1/tcp/")
    assert result.stderr.count("\n") == 1
