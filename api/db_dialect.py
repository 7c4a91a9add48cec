"""One SQL text for both index backends: the services write SQLite's dialect; this rewrites it for PostgreSQL.

What changes: `?` and `:name` placeholders become psycopg's `%s` / `%(name)s` (a literal `%` is doubled);
`INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` becomes an upsert on the table's
primary key that also resets the columns it does not name (as SQLite's delete-then-insert does);
`PRAGMA table_info(t)` reads information_schema. In migrations, `INTEGER` is 64-bit (`BIGINT`), `REAL` is
a double, and `WITHOUT ROWID` goes. Token amounts stay decimal TEXT on both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "meta": ("key",),
    "jobs": ("job_id",),
    "events": ("block_number", "log_index"),
    "accounts": ("address",),
    "providers": ("address",),
    "validators": ("address",),
    "totals": ("key",),
    "used_nonces": ("address", "nonce"),
    "bundles": ("cid",),
    "skip_reports": ("job_id", "provider"),
    "energy_reports": ("job_id", "provider"),
    "seat_votes": ("job_id", "round", "seat"),
}
"""The tables a statement upserts into by `INSERT OR REPLACE` need their conflict target spelled out."""

_INSERT_OR = re.compile(
    r"^\s*INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE | re.DOTALL
)
_TABLE_INFO = re.compile(r"^\s*PRAGMA\s+table_info\((\w+)\)\s*$", re.IGNORECASE)
_NAMED = re.compile(r":([A-Za-z_]\w*)")


def placeholders(sql: str) -> str:
    """`?` -> `%s`, `:name` -> `%(name)s`, `%` -> `%%`, leaving quoted literals alone."""
    out: list[str] = []
    parts = sql.split("'")
    for number, part in enumerate(parts):
        if number % 2:  # inside a string literal
            out.append(part.replace("%", "%%"))
            continue
        part = part.replace("%", "%%").replace("?", "%s")
        out.append(_NAMED.sub(r"%(\1)s", part))
    return "'".join(out)


def _upsert(sql: str, match: re.Match[str], columns_of: Mapping[str, Sequence[str]]) -> str:
    verb, table, names = match.group(1).upper(), match.group(2), match.group(3)
    body = "INSERT INTO " + sql[match.start(2) :].rstrip().rstrip(";")
    if verb == "IGNORE":
        return body + " ON CONFLICT DO NOTHING"
    key = PRIMARY_KEYS.get(table)
    if key is None:
        raise ValueError(
            f"INSERT OR REPLACE INTO {table}: add its primary key to api.db_dialect.PRIMARY_KEYS"
        )
    named = [n.strip() for n in names.split(",") if n.strip()]
    sets = [f"{n} = EXCLUDED.{n}" for n in named if n not in key]
    sets += [f"{n} = DEFAULT" for n in columns_of.get(table, ()) if n not in key and n not in named]
    return f"{body} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"


def to_postgres(sql: str, columns_of: Mapping[str, Sequence[str]]) -> str:
    """The PostgreSQL form of one statement; `columns_of` lists each table's columns (for REPLACE)."""
    info = _TABLE_INFO.match(sql)
    if info is not None:
        return (
            "SELECT ordinal_position - 1 AS cid, column_name AS name, data_type AS type"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
            f" AND table_name = '{info.group(1)}' ORDER BY ordinal_position"
        )
    match = _INSERT_OR.match(sql)
    if match is not None:
        sql = _upsert(sql, match, columns_of)
    return placeholders(sql)


def ddl_to_postgres(script: str) -> str:
    """A migration's DDL for PostgreSQL (64-bit integers, doubles, no WITHOUT ROWID)."""
    script = re.sub(r"\)\s*WITHOUT ROWID", ")", script, flags=re.IGNORECASE)
    script = re.sub(r"\bINTEGER\b", "BIGINT", script)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", script)
