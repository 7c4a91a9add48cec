"""The edge (issue 15): limits before parsing, the Host allow-list, client IPs behind proxies, security
headers, the local API explorer, 404s for unknown API paths, and uvicorn's request-head timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from api.cli import gateway_app
from api.edge.proxies import resolve_client_ip
from api.main import create_app
from api.routes.reports import REPORT_BODY_MAX_BYTES
from api.routes.votes import VOTE_BODY_MAX_BYTES
from api.settings import Settings
from gateway_protocol import API_KEY_HEADER
from tests.api.gateway_keys import TEST_API_KEY
from tests.api.live_gateway import serve

AUTH = {API_KEY_HEADER: TEST_API_KEY}
MakeSettings = Callable[..., Settings]


def edge_client(settings: Settings, client: tuple[str, int] = ("testclient", 50000)) -> TestClient:
    return TestClient(create_app(settings), client=client)


def built_dapp(settings: Settings) -> None:
    (settings.frontend_dist / "assets").mkdir(parents=True)
    (settings.frontend_dist / "index.html").write_text("<html>dapp</html>")


# --- 404 JSON for unknown API paths ---------------------------------------------------------------


def test_unknown_api_paths_answer_404_json_while_pages_stay_deep_links(
    client: TestClient, settings: Settings
) -> None:
    built_dapp(settings)
    for path in ("/bundles", "/jobs/1/nope", "/ipfs", "/stats/x", "/docs/nope.js", "/healthz/x"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found" and "/docs" in response.json()["detail"]
    assert client.get("/post").text == "<html>dapp</html>"
    assert client.get("/some/page").text == "<html>dapp</html>"
    assert client.get("/jobs/12", headers={"Accept": "text/html"}).text == "<html>dapp</html>"
    assert client.get("/providers", headers={"Accept": "text/html"}).text == "<html>dapp</html>"
    assert client.delete("/bundles").status_code == 405


# --- security headers and the API explorer --------------------------------------------------------


def test_every_response_carries_the_security_headers(make_settings: MakeSettings) -> None:
    settings = make_settings(public_rpc_url="https://rpc.example.org/v2/secret-key")
    built_dapp(settings)
    with edge_client(settings) as client:
        for path in ("/", "/post", "/healthz", "/bundles"):
            headers = client.get(path).headers
            csp = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
            assert csp["default-src"] == "'self'", path
            # Scripts from the gateway only: none inline, no eval (the manifest validator is precompiled).
            assert csp["script-src"] == "'self'"
            assert csp["frame-ancestors"] == "'none'" and csp["img-src"] == "'self' data:"
            assert csp["connect-src"] == "'self' https://rpc.example.org"  # origin only, no key
            assert headers["X-Frame-Options"] == "DENY"
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "no-referrer"


def test_the_api_explorer_is_served_locally_from_the_pinned_bundle(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "https://" not in page.text and "cdn" not in page.text
    assert '<script src="/docs/assets/swagger-ui-bundle.js">' in page.text
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    csp = dict(d.strip().split(" ", 1) for d in page.headers["Content-Security-Policy"].split(";"))
    # The one inline script (the explorer's setup) by its hash, never 'unsafe-inline'; no RPC node.
    assert csp["script-src"].startswith("'self' 'sha256-") and "unsafe" not in csp["script-src"]
    assert csp["connect-src"] == "'self'"
    assert client.get("/redoc").status_code == 404
    # Swagger UI 4 reads a copy labelled 3.0.3 (it refuses 3.1); the real schema is unchanged.
    assert "url: '/docs/openapi.json'" in page.text
    explorer_schema = client.get("/docs/openapi.json").json()
    assert explorer_schema["openapi"] == "3.0.3"
    assert explorer_schema["paths"] == client.get("/openapi.json").json()["paths"]


# --- Host allow-list ------------------------------------------------------------------------------


def test_hosts_outside_the_allow_list_get_400_naming_the_setting(make_settings: MakeSettings) -> None:
    settings = make_settings(allowed_hosts=["127.0.0.1", "localhost", "[::1]", "::1"])
    with edge_client(settings) as client:
        refused = client.get("/healthz", headers={"Host": "attacker.example:8000"})
        assert refused.status_code == 400
        assert refused.json()["code"] == "host_not_allowed"
        assert "CROWDCOMPUTE_GATEWAY_ALLOWED_HOSTS" in refused.json()["detail"]
        for host in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200, host


# --- rates, failed authentication, requests in progress -------------------------------------------


def test_anonymous_requests_are_rate_limited_per_ip(make_settings: MakeSettings) -> None:
    settings = make_settings(edge_rate_limit_burst=3, edge_rate_limit_per_minute=1.0)
    with edge_client(settings) as client:
        assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/healthz")
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1


def test_an_ip_over_its_failed_authentications_is_refused_before_parsing(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(auth_failure_burst=2, auth_failure_limit_per_minute=1.0)
    with edge_client(settings) as client:
        for _ in range(2):
            assert client.post("/bundles", files={"file": ("j.tar", b"x")}).status_code == 401
        refused = client.post("/bundles", files={"file": ("j.tar", b"x")}, headers=AUTH)
        assert refused.status_code == 429
        assert "failed authentications" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert client.get("/healthz").status_code == 429
    with edge_client(settings, client=("192.0.2.9", 4000)) as other:
        assert other.get("/healthz").status_code == 200  # another IP is not affected


def test_client_ip_is_the_right_most_untrusted_hop() -> None:
    proxies = [ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")]
    cases = {
        # peer, X-Forwarded-For -> client
        ("203.0.113.5", "1.1.1.1"): "203.0.113.5",  # an untrusted peer's header is ignored
        ("10.0.0.2", "6.6.6.6, 198.51.100.7"): "198.51.100.7",  # the left-most is client-chosen
        ("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.1.2.3"): "198.51.100.7",  # through two proxies
        ("10.0.0.2", "10.0.0.9, 10.0.0.8"): "10.0.0.9",  # all ours: the left-most
        ("10.0.0.2", "6.6.6.6, not-an-ip"): "10.0.0.2",  # garbage from a proxy: the proxy
        ("10.0.0.2", None): "10.0.0.2",
        ("2001:db8::1", "[2001:db8::2]:443, 2001:db9::5"): "2001:db9::5",
    }
    for (peer, forwarded), expected in cases.items():
        assert resolve_client_ip(peer, forwarded, proxies) == expected, (peer, forwarded)
    assert resolve_client_ip("10.0.0.2", "6.6.6.6", []) == "10.0.0.2"  # no proxies configured


def test_rate_limits_key_on_the_hop_behind_trusted_proxies(make_settings: MakeSettings) -> None:
    settings = make_settings(
        trusted_proxies=["10.0.0.0/8"], edge_rate_limit_burst=1, edge_rate_limit_per_minute=1.0
    )
    with edge_client(settings, client=("10.0.0.5", 4000)) as client:
        first = client.get("/healthz", headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.7"})
        # A new left-most address does not make a new client.
        again = client.get("/healthz", headers={"X-Forwarded-For": "2.2.2.2, 203.0.113.7"})
        other = client.get("/healthz", headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.8"})
        assert (first.status_code, again.status_code, other.status_code) == (200, 429, 200)
        assert "203.0.113.7" in again.json()["detail"]


def test_the_old_trust_forwarded_for_setting_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CROWDCOMPUTE_GATEWAY_TRUST_FORWARDED_FOR", "true")
    with pytest.raises(ValidationError, match="CROWDCOMPUTE_GATEWAY_TRUSTED_PROXIES"):
        Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]


def test_serve_help_names_the_environment() -> None:
    result = CliRunner().invoke(gateway_app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "production" in result.output and "CROWDCOMPUTE_GATEWAY_ENVIRONMENT" in result.output


# --- bodies ---------------------------------------------------------------------------------------


def test_an_announced_body_over_the_route_limit_is_refused_before_auth(make_settings: MakeSettings) -> None:
    settings = make_settings(upload_max_bytes=1000, upload_overhead_bytes=0, body_max_bytes=100)
    with edge_client(settings) as client:
        upload = client.post("/bundles", content=b"x" * 1001, headers={"Content-Type": "multipart/form-data"})
        assert upload.status_code == 413 and upload.json()["code"] == "body_too_large"
        # Not an upload route: the small default.
        small = client.post("/jobs/1/results", content=b"x" * 101)
        assert small.status_code == 413
        # Under their own limits, an upload and a log batch pass the edge (and meet auth: 401).
        assert client.post("/bundles", content=b"x" * 1000).status_code == 401
        log_batch = client.post(
            "/jobs/1/logs", content=b"x" * 2048, headers={"Content-Type": "application/json"}
        )
        assert log_batch.status_code != 413
        bad = client.post("/bundles", content=b"", headers={"Content-Length": "1e9"})
        assert bad.status_code == 400


def test_votes_and_reports_over_their_small_limits_get_a_json_413(make_settings: MakeSettings) -> None:
    """Their routes take a few KiB: the edge answers past that, in the API's JSON shape (the framework's
    own refusal is plain text), and a body under the limit reaches the route."""
    with edge_client(make_settings()) as client:
        for path, limit in (
            ("/jobs/1/votes", VOTE_BODY_MAX_BYTES),
            ("/jobs/1/reports", REPORT_BODY_MAX_BYTES),
        ):
            over = client.post(path, content=b"x" * (limit + 1), headers={"Content-Type": "application/json"})
            assert over.status_code == 413 and over.json()["code"] == "body_too_large", path
            under = client.post(path, content=b"x" * limit, headers={"Content-Type": "application/json"})
            assert under.status_code != 413, path


def test_a_chunked_body_is_counted_and_cut_off(make_settings: MakeSettings) -> None:
    """A multipart upload whose non-file part never ends (no Content-Length): 413 once over the cap."""
    settings = make_settings(upload_max_bytes=64 * 1024, upload_overhead_bytes=0)
    boundary = "edgeboundary"

    def body() -> Iterator[bytes]:
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'.encode()
        for _ in range(64):
            yield b"n" * 4096
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    with edge_client(settings) as client:
        response = client.post("/bundles", content=body(), headers=headers)
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"


def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_that_stops_arriving_ends_with_408(make_settings: MakeSettings) -> None:
    settings = make_settings(body_idle_timeout_s=0.3)
    with serve(create_app(settings)) as url, _raw(url) as sock:
        sock.sendall(
            b"POST /jobs/1/votes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"lines": ['
        )
        answer = _read_all(sock)  # the server closes a connection whose body it did not read
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in answer


def _held_request(url: str) -> socket.socket:
    """A request in progress: its head sent, its body waited for (a vote: its route reads the body before
    anything else; a log push would be refused from its headers)."""
    sock = _raw(url)
    sock.sendall(
        b"POST /jobs/1/votes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    return sock


def _wait_for_status(url: str, status: int) -> requests.Response:
    """Poll `GET /healthz` until it answers `status` (the server takes the held requests in its own time)."""
    deadline = time.monotonic() + 10
    while True:
        response = requests.get(f"{url}/healthz", timeout=10)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


def test_requests_in_progress_are_capped_per_client_and_log_streams_are_not_counted(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(max_requests_per_client=2)
    with serve(create_app(settings)) as url:
        held = [_held_request(url), _held_request(url)]
        refused = _wait_for_status(url, 429)
        assert refused.status_code == 429 and "MAX_REQUESTS_PER_CLIENT" in refused.json()["detail"]
        assert "Retry-After" in refused.headers
        # A log stream is not a request in progress: it reaches its route (no job 1 here: 404).
        stream = requests.get(f"{url}/jobs/1/logs", params={"follow": "true"}, timeout=10)
        assert stream.status_code == 404
        for sock in held:
            sock.close()
        assert _wait_for_status(url, 200).status_code == 200


def test_requests_in_progress_are_capped_for_all_clients(make_settings: MakeSettings) -> None:
    settings = make_settings(max_requests=2)
    with serve(create_app(settings)) as url:
        held = [_held_request(url), _held_request(url)]
        refused = _wait_for_status(url, 503)
        assert refused.status_code == 503 and refused.json()["code"] == "overloaded"
        assert "Retry-After" in refused.headers
        for sock in held:
            sock.close()


# --- uvicorn: request heads -----------------------------------------------------------------------


def test_a_request_head_that_never_completes_is_closed_with_408(make_settings: MakeSettings) -> None:
    settings = make_settings(header_timeout_s=0.3)
    with serve(create_app(settings), edge=settings) as url, _raw(url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer = _read_all(sock)  # returns once the server closes the connection
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in answer


def test_request_headers_over_the_size_limit_get_431(make_settings: MakeSettings) -> None:
    settings = make_settings(max_header_bytes=4096)
    with edge_client(settings) as client:
        big = client.get("/healthz", headers={"X-Big": "b" * 8192})
        assert big.status_code == 431 and "MAX_HEADER_BYTES" in big.json()["detail"]
        assert client.get("/healthz", headers={"X-Small": "s" * 1024}).status_code == 200


def test_serve_logs_the_environment_it_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    import uvicorn

    served: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, sockets=None: served.append(server.config))
    monkeypatch.setattr("api.jsonlog.configure_logging", lambda level: None)  # keep pytest's handlers
    env = {
        "CROWDCOMPUTE_GATEWAY_ENVIRONMENT": "test",
        "CROWDCOMPUTE_GATEWAY_DATA_DIR": str(tmp_path),
        "CROWDCOMPUTE_GATEWAY_HEADER_TIMEOUT_S": "7",
    }
    with caplog.at_level("INFO", logger="api.cli"):
        result = CliRunner().invoke(gateway_app, ["serve", "--no-indexer"], env=env)
    assert result.exit_code == 0, result.output
    (record,) = [r for r in caplog.records if r.name == "api.cli"]
    assert record.getMessage() == "gateway starting in environment test"
    assert record.environment == "test"  # type: ignore[attr-defined]
    # uvicorn runs with the edge's protocol and limits.
    (config,) = served
    assert getattr(config.http, "head_timeout_s", None) == 7.0
    assert config.h11_max_incomplete_event_size == 16 * 1024
