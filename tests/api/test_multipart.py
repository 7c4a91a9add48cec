"""POST /bundles' multipart body: every byte counts to the cap, small fields stay small, one file part,
and a malformed form (a boundary past what the parser takes) is a 400, not a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.services.multipart import FIELD_MAX_BYTES, MAX_PARTS
from api.settings import Settings
from gateway_protocol import API_KEY_HEADER
from tests.api.bundle_archives import JOB_FILES, tar_gz
from tests.api.gateway_keys import TEST_API_KEY

AUTH = {API_KEY_HEADER: TEST_API_KEY}
BOUNDARY = "cc-boundary"
BUNDLE = tar_gz(JOB_FILES)


def part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


def post_chunked(client: TestClient, *pieces: bytes, boundary: str = BOUNDARY):  # type: ignore[no-untyped-def]
    """Stream the pieces without a Content-Length, as a chunked upload does."""

    def chunks() -> Iterator[bytes]:
        for piece in pieces:
            for at in range(0, len(piece), 16 * 1024):
                yield piece[at : at + 16 * 1024]

    return client.post(
        "/bundles",
        content=chunks(),
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


END = f"--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def uploads_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def small_client(make_settings: Callable[..., Settings], uploads_dir: Path) -> Iterator[TestClient]:
    settings = make_settings(upload_max_bytes=len(BUNDLE) + 1024, upload_tmp_dir=uploads_dir)
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_valid_streamed_form_is_accepted(small_client: TestClient) -> None:
    """The baseline the refusals below differ from by one thing."""
    response = post_chunked(small_client, part("note", b"hello"), part("file", BUNDLE, "job.tar.gz"), END)
    assert response.status_code == 201, response.text


def test_a_boundary_longer_than_the_parser_takes_is_a_400(client: TestClient) -> None:
    boundary = "b" * 300
    response = client.post(
        "/bundles",
        content=f"--{boundary}\r\n".encode(),
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request" and "boundary" in response.json()["detail"].lower()


def test_a_large_field_besides_the_file_is_refused_while_streaming(
    small_client: TestClient, uploads_dir: Path
) -> None:
    big_note = part("note", b"n" * (FIELD_MAX_BYTES + 1))
    response = post_chunked(small_client, big_note, part("file", BUNDLE, "job.tar.gz"), END)
    assert response.status_code == 413 and response.json()["code"] == "upload_too_large"
    assert "'note'" in response.json()["detail"]
    assert list(uploads_dir.iterdir()) == []


@pytest.mark.parametrize("where", ["preamble", "epilogue"])
def test_bytes_outside_any_part_count_to_the_cap(
    small_client: TestClient, uploads_dir: Path, where: str
) -> None:
    """The parser skips what lies before the first boundary and after the last: still, not endlessly."""
    padding = b"p" * (512 * 1024)
    form = [part("file", BUNDLE, "job.tar.gz"), END]
    pieces = [padding + b"\r\n", *form] if where == "preamble" else [*form, padding]
    response = post_chunked(small_client, *pieces)
    assert response.status_code == 413 and response.json()["code"] == "upload_too_large"
    assert list(uploads_dir.iterdir()) == []


def test_a_second_file_part_is_a_400(small_client: TestClient) -> None:
    response = post_chunked(
        small_client, part("file", BUNDLE, "a.tar.gz"), part("file", BUNDLE, "b.tar.gz"), END
    )
    assert response.status_code == 400 and "more than one part named 'file'" in response.json()["detail"]


def test_too_many_parts_are_a_400(small_client: TestClient) -> None:
    fields = [part(f"f{i}", b"x") for i in range(MAX_PARTS)]
    response = post_chunked(small_client, *fields, part("file", BUNDLE, "job.tar.gz"), END)
    assert response.status_code == 400 and f"more than {MAX_PARTS} parts" in response.json()["detail"]


@pytest.mark.parametrize(
    ("length", "status"), [("9" * 5000, 413), ("0" * 5000 + "1", 400), ("12a", 400), ("-1", 400)]
)
def test_an_absurd_content_length_is_refused_before_reading(
    small_client: TestClient, length: str, status: int
) -> None:
    response = small_client.post(
        "/bundles",
        content=b"",
        headers={
            **AUTH,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": length,
        },
    )
    assert response.status_code == status
    # A count over every route's limit is refused at the edge, before the route's own parser.
    assert response.json()["code"] == ("body_too_large" if status == 413 else "invalid_request")
