"""Shared fixtures of the content-store tests: deterministic inputs and the recorded Kubo vectors."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

VECTORS_FILE = Path(__file__).parent / "vectors" / "kubo_cids.json"
_BLOCK = 1 << 20


def deterministic_chunks(seed: str, size: int) -> Iterator[bytes]:
    """scripts/kubo_vectors.py's generator: block i = SHAKE-256(seed || uint64_be(i)), 1 MiB each."""
    seed_bytes = seed.encode()
    index = 0
    remaining = size
    while remaining > 0:
        block = hashlib.shake_256(seed_bytes + index.to_bytes(8, "big")).digest(_BLOCK)
        yield block[:remaining] if remaining < _BLOCK else block
        remaining -= _BLOCK
        index += 1


class DeterministicStream(io.RawIOBase):
    """A read-only stream of `deterministic_chunks`, never holding more than one 1 MiB block."""

    def __init__(self, seed: str, size: int) -> None:
        self._chunks = deterministic_chunks(seed, size)
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            block = next(self._chunks, None)
            if block is None:
                return 0
            self._current = memoryview(block)
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count


@pytest.fixture(scope="session")
def kubo_vectors() -> dict[str, dict[str, Any]]:
    """The recorded vectors by name (see scripts/kubo_vectors.py for how Kubo produced them)."""
    document = json.loads(VECTORS_FILE.read_text())
    return {vector["name"]: vector for vector in document["vectors"]}


@pytest.fixture
def deterministic_stream() -> Callable[[str, int], DeterministicStream]:
    return DeterministicStream


@pytest.fixture
def make_bytes() -> Callable[[str, int], bytes]:
    def make(seed: str, size: int) -> bytes:
        return b"".join(deterministic_chunks(seed, size))

    return make
