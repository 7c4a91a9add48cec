"""Sealed streams (docs/confidential.md, "Sealed stream"): round trips at every size that matters around a
chunk boundary, and each way a stream can be wrong refused with its reason, leaving nothing behind."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from jobs.errors import JobsError
from jobs.sealing import SealedDataError, open_file, open_stream, seal_file, seal_stream
from jobs.sealing.stream import HEADER_BYTES, TAG_BYTES, OpeningReader, SealingWriter, sealed_size

LOG2 = 10
CHUNK = 1 << LOG2
SEALED_CHUNK = CHUNK + TAG_BYTES
KEY = bytes(range(32))
CONTEXT = "result|chain=31337|job=7|attempt=1|path=model.pt"


def sealed(plain: bytes, key: bytes = KEY, context: str = CONTEXT) -> bytes:
    out = io.BytesIO()
    seal_stream(io.BytesIO(plain), out, key, context, chunk_log2=LOG2)
    return out.getvalue()


def opened(data: bytes, key: bytes = KEY, context: str = CONTEXT) -> bytes:
    out = io.BytesIO()
    open_stream(io.BytesIO(data), out, key, context, what="job 7: result file model.pt")
    return out.getvalue()


def reason_of(data: bytes, key: bytes = KEY, context: str = CONTEXT) -> str:
    with pytest.raises(SealedDataError) as caught:
        opened(data, key, context)
    assert "job 7: result file model.pt" in str(caught.value)
    return caught.value.reason


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 17])
def test_round_trip_at_each_size_around_a_chunk(size: int) -> None:
    plain = os.urandom(size)
    data = sealed(plain)
    assert len(data) == sealed_size(size, LOG2)  # a final chunk always follows, empty after a full one
    assert opened(data) == plain


def test_the_writer_gives_a_stream_that_opens_whatever_the_write_sizes() -> None:
    plain = os.urandom(4 * CHUNK + 100)
    out = io.BytesIO()
    writer = SealingWriter(out, KEY, CONTEXT, chunk_log2=LOG2)
    for start in range(0, len(plain), 333):
        writer.write(plain[start : start + 333])
    assert writer.finish() == len(out.getvalue()) == sealed_size(len(plain), LOG2)
    assert opened(out.getvalue()) == plain


def test_the_reader_returns_the_plaintext_in_any_read_size() -> None:
    plain = os.urandom(2 * CHUNK + 5)
    reader = OpeningReader(io.BytesIO(sealed(plain)), KEY, CONTEXT, what="x")
    parts = []
    while part := reader.read(700):
        parts.append(part)
    assert b"".join(parts) == plain


def test_two_seals_of_the_same_file_differ() -> None:
    assert sealed(b"same") != sealed(b"same")  # a fresh salt each time


def test_a_wrong_key_is_refused() -> None:
    assert reason_of(sealed(b"data"), key=bytes(32)).startswith("authentication failed")


def test_a_stream_moved_to_another_job_or_file_is_refused() -> None:
    data = sealed(b"weights")
    assert reason_of(data, context=CONTEXT.replace("job=7", "job=8")).startswith("authentication failed")
    assert reason_of(data, context=CONTEXT.replace("model.pt", "other.pt")).startswith(
        "authentication failed"
    )


@pytest.mark.parametrize(
    "offset",
    [
        len(b"CCSEAL1\n") + 1,  # chunk_log2: the header is authenticated as every chunk's aad
        HEADER_BYTES - 1,  # salt
        HEADER_BYTES + 3,  # first chunk's ciphertext
        HEADER_BYTES + SEALED_CHUNK - 1,  # first chunk's tag
        HEADER_BYTES + SEALED_CHUNK + 10,  # a middle chunk
        -1,  # the final chunk's tag
    ],
)
def test_one_flipped_byte_anywhere_is_refused(offset: int) -> None:
    data = bytearray(sealed(os.urandom(2 * CHUNK + 100)))
    data[offset] ^= 0x01
    assert reason_of(bytes(data)) == "authentication failed: wrong key or tampered data"


def test_a_flipped_magic_or_version_says_so() -> None:
    data = bytearray(sealed(b"x"))
    assert reason_of(b"PK\x03\x04" + bytes(data[4:])) == "not a sealed stream"
    data[8] = 2
    assert reason_of(bytes(data)).startswith("unsupported version 2")


def test_truncation_at_a_chunk_boundary_is_refused() -> None:
    plain = os.urandom(3 * CHUNK)  # four chunks: three full, one empty final
    data = sealed(plain)
    for chunks in (1, 2, 3):
        assert reason_of(data[: HEADER_BYTES + chunks * SEALED_CHUNK]) == "truncated"
    assert reason_of(data[:HEADER_BYTES]) == "truncated"
    assert reason_of(data[: HEADER_BYTES - 1]) == "truncated"


REFUSED_AT_THE_END = {"trailing data", "authentication failed: wrong key or tampered data"}


def test_appended_bytes_or_chunks_are_refused() -> None:
    # The final chunk is known by its length, so bytes appended to it make it another, unauthenticated
    # chunk: the reason is "authentication failed" unless the reader had already authenticated the end.
    for plain in (os.urandom(2 * CHUNK), os.urandom(CHUNK + 10), b""):
        data = sealed(plain)
        assert reason_of(data + b"\x00") in REFUSED_AT_THE_END
        assert reason_of(data + data[HEADER_BYTES : HEADER_BYTES + SEALED_CHUNK]) in REFUSED_AT_THE_END
        assert reason_of(data + data[-TAG_BYTES:]) in REFUSED_AT_THE_END


def test_swapped_chunks_are_refused() -> None:
    data = sealed(os.urandom(3 * CHUNK + 5))
    first = data[HEADER_BYTES : HEADER_BYTES + SEALED_CHUNK]
    second = data[HEADER_BYTES + SEALED_CHUNK : HEADER_BYTES + 2 * SEALED_CHUNK]
    swapped = data[:HEADER_BYTES] + second + first + data[HEADER_BYTES + 2 * SEALED_CHUNK :]
    assert reason_of(swapped).startswith("authentication failed")


def test_a_file_round_trip_in_place_and_beside(tmp_path: Path) -> None:
    plain = os.urandom(5 * CHUNK + 3)
    source = tmp_path / "model.pt"
    source.write_bytes(plain)
    seal_file(source, tmp_path / "model.sealed", KEY, CONTEXT, chunk_log2=LOG2)
    seal_file(source, source, KEY, CONTEXT, chunk_log2=LOG2)  # in place
    assert source.read_bytes() != plain
    open_file(source, source, KEY, CONTEXT, what="in place")
    assert source.read_bytes() == plain
    open_file(tmp_path / "model.sealed", tmp_path / "copy.pt", KEY, CONTEXT, what="beside")
    assert (tmp_path / "copy.pt").read_bytes() == plain


def test_a_failed_open_leaves_no_file_not_even_a_partial_one(tmp_path: Path) -> None:
    sealed_path = tmp_path / "sealed.payload"
    data = bytearray(sealed(os.urandom(4 * CHUNK)))
    data[-5] ^= 0xFF  # only the last chunk is bad: three good chunks would be written first
    sealed_path.write_bytes(bytes(data))
    with pytest.raises(SealedDataError) as caught:
        open_file(sealed_path, tmp_path / "out.tar", KEY, CONTEXT, what="job 7: bundle sealed.payload")
    assert str(caught.value) == (
        "job 7: bundle sealed.payload: authentication failed: wrong key or tampered data"
    )
    assert isinstance(caught.value, JobsError)
    assert sorted(os.listdir(tmp_path)) == ["sealed.payload"]


def test_a_failed_open_in_place_keeps_the_sealed_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(sealed(b"weights"))
    before = path.read_bytes()
    with pytest.raises(SealedDataError):
        open_file(path, path, bytes(32), CONTEXT, what="model.pt")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.pt"]
