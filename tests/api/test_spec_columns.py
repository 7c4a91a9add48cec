"""The index's view of a job follows the generated layout: every JobSpec field has a column, a public field,
and a value of the right form; the public state names cover every outcome."""

from __future__ import annotations

import sqlite3
import typing

import pytest

from api.db import migrate
from api.errors import SchemaMismatchError
from api.indexer.spec_columns import check_spec_columns, spec_column_names, spec_columns
from api.models.jobs import JobPublic, JobStateName
from chain import JOB_SPEC_LAYOUT, JobSpec, JobStatus, Outcome, VerificationMode, enum_label, tokens


def test_every_spec_field_has_a_column_and_a_public_field() -> None:
    names = spec_column_names()
    # the bundle's digest and codec become one CID; the rest keep their snake_case names
    assert len(names) == len(JOB_SPEC_LAYOUT) - 1
    assert set(names) <= set(JobPublic.model_fields)


def test_spec_columns_store_amounts_as_text_enums_as_labels_and_bools_as_ints() -> None:
    spec = JobSpec(
        budget=tokens(10),
        bundle_digest=bytes(32),
        bundle_codec=0x70,
        mode=VerificationMode.REPLICATE,
        run_timeout=60,
        reopen_on_failure=True,
    )
    columns = spec_columns(spec.to_abi())
    assert columns["budget"] == str(tokens(10)) and columns["mode"] == "Replicate"
    assert columns["reopen_on_failure"] == 1 and columns["run_timeout_s"] == 60
    assert columns["bundle_cid"] is not None and "bundle_digest" not in columns
    assert columns["result_key"] == "0x" + "00" * 32


def test_a_confidential_jobs_result_key_is_stored_as_hex() -> None:
    spec = JobSpec(budget=tokens(1), bundle_digest=bytes(32), result_key=b"\xab" * 32)
    assert spec_columns(spec.to_abi())["result_key"] == "0x" + "ab" * 32


def test_check_passes_on_the_migrated_schema_and_names_the_migration_when_a_column_is_missing() -> None:
    conn = sqlite3.connect(":memory:")
    migrate(conn)
    check_spec_columns(conn)
    conn.execute("ALTER TABLE jobs DROP COLUMN gpu_class")
    with pytest.raises(SchemaMismatchError, match=r"gpu_class.*api/migrations.py"):
        check_spec_columns(conn)


def test_public_state_names_cover_live_statuses_outcomes_and_closings() -> None:
    live = {enum_label(s) for s in JobStatus} - {"None", "Closed"}
    outcomes = {enum_label(o) for o in Outcome}
    assert set(typing.get_args(JobStateName)) == live | outcomes | {"Cancelled", "Expired", "Released"}
