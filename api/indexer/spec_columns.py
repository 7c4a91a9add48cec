"""A posted `JobSpec` as columns of the `jobs` table, derived from the generated job layout.

Each spec field is the column of its snake_case name, except the few the index stores differently:
the bundle's digest and codec together as one CID (`bundle_cid`), and `runTimeout` with its unit
(`run_timeout_s`). Amounts are decimal TEXT (uint96 does not fit SQLite's integers), enums their labels,
bools 0/1. A field added to `JobSpec` gets a column here by itself; `check_spec_columns` then names the
migration it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.db import Connection
from api.errors import SchemaMismatchError
from chain import JOB_SPEC_LAYOUT, FieldLayout, enum_label
from chain import types as chain_types
from jobs.cid import Cid, InvalidCid

_BUNDLE_FIELDS = ("bundleDigest", "bundleCodec")
_RENAMED = {"runTimeout": "run_timeout_s"}
_AMOUNT_BITS = frozenset({96, 128})


def cid_of(digest: bytes, codec: int) -> str | None:
    """The CID a chain digest and codec name, or None for a pair that names none."""
    try:
        return str(Cid.from_chain(bytes(digest), int(codec)))
    except InvalidCid:
        return None


def _value(field: FieldLayout, value: Any) -> Any:
    if field.sol_type == "bool":
        return int(bool(value))
    if field.sol_type == "address":
        return str(value).lower()
    if field.abi_type != field.sol_type:  # an enum: stored by its label
        enum_type = getattr(chain_types, field.sol_type)
        return enum_label(enum_type(int(value)))
    if field.sol_type.startswith("bytes"):  # resultKey: 0x-hex, like the other digests the index keeps
        return "0x" + bytes(value).hex()
    if field.sol_type.startswith("uint") and field.bits in _AMOUNT_BITS:
        return str(int(value))
    return int(value)


def spec_columns(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The `jobs` columns of a decoded `JobSpec` (as the `JobPosted` event carries it)."""
    columns: dict[str, Any] = {"bundle_cid": cid_of(spec["bundleDigest"], spec["bundleCodec"])}
    for field in JOB_SPEC_LAYOUT:
        if field.abi_name not in _BUNDLE_FIELDS:
            columns[_RENAMED.get(field.abi_name, field.name)] = _value(field, spec[field.abi_name])
    return columns


def spec_column_names() -> list[str]:
    return list(spec_columns(_ZERO_SPEC))


def check_spec_columns(conn: Connection) -> None:
    """Raise naming the migration to write when a `JobSpec` field has no column in `jobs`."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    missing = [name for name in spec_column_names() if name not in present]
    if missing:
        raise SchemaMismatchError(
            f"the jobs table has no column for JobSpec field(s) {', '.join(missing)}: add a migration "
            "to api/migrations.py that adds them (ALTER TABLE jobs ADD COLUMN ...)"
        )


_ZERO_SPEC = chain_types.JobSpec().to_abi()
