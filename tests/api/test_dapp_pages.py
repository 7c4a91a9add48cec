"""The dApp's pages on real URLs: a browser navigating to any page's path gets the dApp (deep links and
reloads work, `/jobs/12` included), every other client of a path the API shares gets the API's JSON, and
the build's chunks are served as files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings

INDEX = '<!doctype html><div id="root"></div><script type="module" src="/assets/index-3f2a9c.js"></script>'
CHUNK = "export const page = 1;"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ADDRESS = "0x" + "ab" * 20


def _varies(vary: str) -> set[str]:
    return {name.strip() for name in vary.split(",")}


@pytest.fixture
def dist(settings: Settings) -> Path:
    root = settings.frontend_dist
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-3f2a9c.js").write_text(CHUNK)
    return root


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/jobs",
        "/jobs?state=Open&mine=1&page=2",
        "/jobs/123",
        "/jobs/123/",
        "/post",
        "/providers",
        f"/providers/{ADDRESS}",
        "/nowhere",
    ],
)
def test_every_page_url_answers_the_dapp(client: TestClient, dist: Path, path: str) -> None:
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == INDEX
    # Revalidated on every visit, so a new build's chunk names are picked up at once.
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
@pytest.mark.parametrize("path", ["/jobs", "/jobs/123", "/providers", f"/providers/{ADDRESS}"])
def test_shared_paths_answer_json_to_every_client_but_a_browser_navigation(
    client: TestClient, dist: Path, path: str, accept: str | None
) -> None:
    response = client.get(path, headers={"Accept": accept} if accept else {})
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    assert response.text != INDEX
    # Never stored, and varying by Accept: no cache (the back button included) hands it out for the page.
    assert "Accept" in _varies(response.headers["vary"])
    assert response.headers["cache-control"] == "no-store"
    page = client.get(path, headers=BROWSER)
    assert page.text == INDEX and "Accept" in _varies(page.headers["vary"])


@pytest.mark.parametrize("path", ["/stats", "/jobs/123/logs", "/healthz", "/config"])
def test_api_only_paths_answer_json_even_to_a_browser(client: TestClient, dist: Path, path: str) -> None:
    response = client.get(path, headers=BROWSER)
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    assert response.text != INDEX


def test_a_post_to_a_shared_path_reaches_the_api(client: TestClient, dist: Path) -> None:
    response = client.post("/jobs", headers=BROWSER)
    assert response.status_code == 405 and response.text != INDEX


def test_a_built_chunk_is_a_file_cached_for_good_and_a_missing_one_is_a_404(
    client: TestClient, dist: Path
) -> None:
    chunk = client.get("/assets/index-3f2a9c.js")
    assert chunk.status_code == 200 and chunk.text == CHUNK
    assert chunk.headers["cache-control"] == "public, max-age=31536000, immutable"
    # A page open since before an upgrade asks for a chunk of the old build: a 404, never HTML for a script.
    missing = client.get("/assets/JobPage-0ld0ld.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")
