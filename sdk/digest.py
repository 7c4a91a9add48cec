"""The canonical byte encoding of a training state and its sha256 digest.

The digest of a checkpoint must not depend on how it was stored (a `.pt` file's bytes change with its
name and zip layout), only on what it holds. The encoding walks the state tree:

* dict: ``b"d"``, entry count, then entries sorted by key (all str keys, by code point, or all int
  keys, by value), each key then its value;
* list / tuple: ``b"l"`` / ``b"t"``, item count, items in order;
* tensor: ``b"T"``, dtype name, rank, each dimension, byte count, then the raw bytes of the contiguous
  tensor, little-endian; numpy arrays the same under ``b"A"`` with numpy's dtype name;
* str ``b"s"`` (UTF-8), bytes ``b"y"``, int ``b"i"`` (two's complement, little-endian), float ``b"f"``
  (IEEE-754 binary64), bool ``b"b"``, None ``b"n"``, torch.dtype ``b"D"``;

every count and length an unsigned 64-bit little-endian integer. A value of any other type is an error,
never silently stringified. The digest is sha256 over a domain prefix and that encoding.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from sdk.errors import DigestError

__all__ = ["DIGEST_DOMAIN", "canonical_bytes", "state_digest"]

DIGEST_DOMAIN = b"crowdcompute/state/v1\x00"

_Sink = Callable[[bytes | memoryview], Any]


def _u64(value: int) -> bytes:
    return struct.pack("<Q", value)


def _text(tag: bytes, value: str, sink: _Sink) -> None:
    data = value.encode("utf-8")
    sink(tag + _u64(len(data)) + data)


def _int(value: int, sink: _Sink) -> None:
    data = value.to_bytes(value.bit_length() // 8 + 1, "little", signed=True)
    sink(b"i" + _u64(len(data)) + data)


def _shape(shape: tuple[int, ...], sink: _Sink) -> None:
    sink(_u64(len(shape)) + b"".join(_u64(dim) for dim in shape))


def _tensor(value: torch.Tensor, sink: _Sink, where: str) -> None:
    if value.layout != torch.strided or value.is_quantized:
        raise DigestError(f"{where}: tensors of layout {value.layout} have no canonical encoding")
    flat = value.detach().to("cpu").resolve_conj().resolve_neg().contiguous().reshape(-1)
    raw = flat.view(torch.uint8).numpy()
    _text(b"T", str(value.dtype), sink)
    _shape(tuple(value.shape), sink)
    sink(_u64(raw.nbytes))
    sink(raw.data)


def _array(value: np.ndarray[Any, Any], sink: _Sink, where: str) -> None:
    if value.dtype.hasobject:
        raise DigestError(f"{where}: numpy arrays of objects have no canonical encoding")
    little = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
    _text(b"A", little.dtype.name, sink)
    _shape(tuple(little.shape), sink)
    sink(_u64(little.nbytes))
    sink(little.reshape(-1).view(np.uint8).data)


def _sorted_items(value: Mapping[Any, Any], where: str) -> list[tuple[Any, Any]]:
    keys = list(value)
    if all(isinstance(key, str) for key in keys) or all(
        isinstance(key, int) and not isinstance(key, bool) for key in keys
    ):
        return [(key, value[key]) for key in sorted(keys)]
    raise DigestError(
        f"{where}: dict keys must be all str or all int, got {sorted({type(k).__name__ for k in keys})}"
    )


def _encode(value: Any, sink: _Sink, where: str) -> None:
    if value is None:
        sink(b"n")
    elif isinstance(value, bool):
        sink(b"b\x01" if value else b"b\x00")
    elif isinstance(value, int):
        _int(value, sink)
    elif isinstance(value, float):
        sink(b"f" + struct.pack("<d", value))
    elif isinstance(value, str):
        _text(b"s", value, sink)
    elif isinstance(value, bytes | bytearray):
        sink(b"y" + _u64(len(value)) + bytes(value))
    elif isinstance(value, torch.Tensor):
        _tensor(value, sink, where)
    elif isinstance(value, np.ndarray):
        _array(value, sink, where)
    elif isinstance(value, np.generic):
        _array(np.asarray(value), sink, where)
    elif isinstance(value, torch.dtype):
        _text(b"D", str(value), sink)
    elif isinstance(value, Mapping):
        items = _sorted_items(value, where)
        sink(b"d" + _u64(len(items)))
        for key, item in items:
            _encode(key, sink, where)
            _encode(item, sink, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        sink((b"l" if isinstance(value, list) else b"t") + _u64(len(value)))
        for index, item in enumerate(value):
            _encode(item, sink, f"{where}[{index}]")
    else:
        raise DigestError(f"{where}: a {type(value).__name__} has no canonical encoding")


def _check_host() -> None:
    if sys.byteorder != "little":
        raise DigestError("the canonical encoding reads raw tensor bytes; big-endian hosts are not supported")


def state_digest(state: Any) -> str:
    """The hex sha256 of `state`'s canonical encoding (see the module docstring)."""
    _check_host()
    hasher = hashlib.sha256(DIGEST_DOMAIN)
    _encode(state, hasher.update, "state")
    return hasher.hexdigest()


def canonical_bytes(state: Any) -> bytes:
    """The canonical encoding itself (without the domain prefix); for inspection and tests."""
    _check_host()
    parts: list[bytes] = []
    _encode(state, lambda chunk: parts.append(bytes(chunk)), "state")
    return b"".join(parts)
