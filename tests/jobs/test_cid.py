"""CID parsing and formatting, checked against CIDs printed by Kubo.

Sources of the expected strings:
- "hello world\\n" and the empty file: TOOLCHAIN.md's known Kubo CIDs (v0 and v1 raw leaves).
- "hello\\n": Kubo's own test fixtures (test/sharness/t0114-gateway-subdomains/README.md, made with
  ipfs 0.18.1): v0 QmZULkCE..., its v1 form by `ipfs cid base32` bafybeiffnds..., v1 raw bafkreicysg23....
"""

from __future__ import annotations

import hashlib

import pytest

from jobs.cid import Cid, Codec, InvalidCid, b58decode, b58encode, block_cid, parse_cid
from jobs.errors import JobsError

HELLO_WORLD_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
HELLO_WORLD_V1_RAW = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
EMPTY_V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
EMPTY_V1_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
HELLO_V0 = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
HELLO_V0_AS_V1 = "bafybeiffndsajwhk3lwjewwdxqntmjm4b5wxaaanokonsggenkbw6slwk4"
HELLO_V1_RAW = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"


@pytest.mark.parametrize(
    "text",
    [HELLO_WORLD_V0, HELLO_WORLD_V1_RAW, EMPTY_V0, EMPTY_V1_RAW, HELLO_V0, HELLO_V0_AS_V1, HELLO_V1_RAW],
)
def test_parse_then_format_roundtrips(text: str) -> None:
    cid = Cid.parse(text)
    assert str(cid) == text
    assert Cid.from_bytes(cid.to_bytes()) == cid
    assert str(Cid.from_bytes(cid.to_bytes())) == text


def test_parse_reads_version_and_codec() -> None:
    v0 = Cid.parse(HELLO_WORLD_V0)
    raw = Cid.parse(HELLO_WORLD_V1_RAW)
    assert (v0.version, v0.codec) == (0, Codec.DAG_PB)
    assert (raw.version, raw.codec) == (1, Codec.RAW)
    assert len(v0.digest) == len(raw.digest) == 32


def test_raw_cid_digest_is_sha256_of_content() -> None:
    assert Cid.parse(HELLO_WORLD_V1_RAW).digest == hashlib.sha256(b"hello world\n").digest()
    assert Cid.parse(EMPTY_V1_RAW).digest == hashlib.sha256(b"").digest()
    assert str(block_cid(b"hello world\n", Codec.RAW)) == HELLO_WORLD_V1_RAW
    assert str(block_cid(b"hello\n", Codec.RAW)) == HELLO_V1_RAW


def test_v0_to_v1_matches_kubo_cid_base32() -> None:
    assert str(Cid.parse(HELLO_V0).to_v1()) == HELLO_V0_AS_V1
    assert str(Cid.parse(HELLO_V0_AS_V1).to_v0()) == HELLO_V0


def test_versions_of_one_block_are_equal_and_hash_alike() -> None:
    v0, v1 = Cid.parse(HELLO_V0), Cid.parse(HELLO_V0_AS_V1)
    assert v0 == v1
    assert hash(v0) == hash(v1)
    assert len({v0, v1}) == 1
    assert Cid.parse(HELLO_WORLD_V1_RAW) != Cid.parse(HELLO_WORLD_V1_RAW.replace("4", "5", 1))


def test_chain_form_is_digest_and_codec_byte() -> None:
    cid = Cid.parse(HELLO_WORLD_V1_RAW)
    digest, codec = cid.to_chain()
    assert digest == hashlib.sha256(b"hello world\n").digest()
    assert codec == 0x55
    assert Cid.from_chain(digest, codec) == cid
    assert str(Cid.from_chain(digest, codec)) == HELLO_WORLD_V1_RAW
    pb_digest, pb_codec = Cid.parse(HELLO_V0).to_chain()
    assert pb_codec == 0x70
    assert str(Cid.from_chain(pb_digest, pb_codec)) == HELLO_V0_AS_V1


def test_uppercase_base32_and_base58_v1_are_accepted() -> None:
    assert str(Cid.parse(HELLO_WORLD_V1_RAW.upper())) == HELLO_WORLD_V1_RAW
    raw = Cid.parse(HELLO_WORLD_V1_RAW)
    assert Cid.parse("z" + b58encode(raw.to_bytes())) == raw


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "Qm" + "1" * 44,  # base58 of the wrong multihash
        HELLO_WORLD_V1_RAW[:-1] + "5",  # trailing bits not zero: not a canonical CID text
        HELLO_WORLD_V1_RAW[:-4],  # truncated
        "f01551220" + "00" * 32,  # base16 multibase: not supported
        "bafyreihdb57fdysx5h35urvxz64ros7zvywshber7id6t6c6fek37jgyfe",  # dag-cbor codec
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50",  # '0' is not base58
    ],
)
def test_invalid_text_raises_invalid_cid(text: str) -> None:
    with pytest.raises(InvalidCid):
        Cid.parse(text)


def test_invalid_cid_is_a_jobs_error_and_a_value_error() -> None:
    with pytest.raises(JobsError):
        parse_cid("nope")
    with pytest.raises(ValueError):
        parse_cid("nope")


def test_constructor_validates() -> None:
    with pytest.raises(InvalidCid):
        Cid(b"\x00" * 31, Codec.RAW)
    with pytest.raises(InvalidCid):
        Cid(b"\x00" * 32, Codec.RAW, 0)  # v0 is always dag-pb
    with pytest.raises(InvalidCid):
        Cid.from_chain(b"\x00" * 32, 0x71)
    with pytest.raises(InvalidCid):
        Cid(b"\x00" * 32, Codec.RAW).to_v0()  # a raw block has no v0 form


def test_base58_roundtrip_keeps_leading_zeros() -> None:
    for data in (b"", b"\x00", b"\x00\x00\x01", bytes(range(40))):
        assert b58decode(b58encode(data)) == data


def test_parse_cid_passes_cid_through() -> None:
    cid = Cid.parse(HELLO_V0)
    assert parse_cid(cid) is cid
