"""What porch tells caches and operators (issue 16): Cache-Control, /-/metrics, draining."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.http.lifecycle import Lifecycle
from porch.testing import Client
from tests.security_helpers import quick_hash

CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(b"u:pw").decode()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "dir").mkdir(parents=True)
    (site / "a.txt").write_text("alpha\n")
    return site


def values(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


# -- Cache-Control --------------------------------------------------------------------------


def test_files_and_listings_are_no_cache_by_default(root: Path) -> None:
    client = Client(App(Config(root=root)))
    first = client.get("/a.txt")
    assert first.headers.get("cache-control") == "no-cache"
    etag = first.headers.get("etag") or ""
    revalidated = client.get("/a.txt", headers={"If-None-Match": etag})
    assert revalidated.status == 304
    assert revalidated.headers.get("cache-control") == "no-cache"  # RFC 9111 §4.3.4
    assert (
        client.get("/a.txt", headers={"Range": "bytes=0-1"}).headers.get("cache-control")
        == "no-cache"
    )
    assert client.get("/dir/").headers.get("cache-control") == "no-cache"
    # porch's own assets keep their own lifetime.
    assert client.get("/-/static/listing.css").headers.get("cache-control") == (
        "public, max-age=3600"
    )


def test_max_age_lets_caches_answer_for_that_long(root: Path) -> None:
    client = Client(App(Config(root=root, max_age=30)))
    assert client.get("/a.txt").headers.get("cache-control") == "max-age=30"
    assert client.get("/").headers.get("cache-control") == "max-age=30"


def test_answers_to_requests_with_credentials_are_private(root: Path) -> None:
    accounts = (Account("u", quick_hash("pw")),)
    app = App(Config(root=root, accounts=accounts, anonymous=parse_grants("read"), max_age=5))
    client = Client(app)
    assert client.get("/a.txt").headers.get("cache-control") == "max-age=5"
    assert client.get("/a.txt", headers=CREDENTIALS).headers.get("cache-control") == (
        "private, max-age=5"
    )


# -- /-/metrics ------------------------------------------------------------------------------


def test_metrics_are_off_by_default(root: Path) -> None:
    assert Client(App(Config(root=root))).get("/-/metrics").status == 404


def test_metrics_count_requests_uploads_and_cache_lookups(tmp_path: Path, root: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    client = Client(App(Config(root=root, metrics=True, upload_dir=uploads)))
    for _ in range(3):
        assert client.get("/a.txt").status == 200
    assert client.get("/missing").status == 404
    assert client.post("/new.txt", body=b"x").status == 201
    assert client.post("/new.txt", body=b"y").status == 409
    response = client.get("/-/metrics")
    assert response.status == 200
    assert response.headers.get("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    found = values(response.text)
    assert found['porch_requests_total{method="GET",code="2xx"}'] == 3
    assert found['porch_requests_total{method="GET",code="4xx"}'] == 1
    assert found['porch_requests_total{method="POST",code="2xx"}'] == 1
    assert found['porch_requests_total{method="POST",code="4xx"}'] == 1
    assert found["porch_request_duration_seconds_count"] == 6
    assert found['porch_uploads_total{kind="whole"}'] == 1
    # The first GET resolved the path, the next two were served by the open-file cache.
    assert found['porch_cache_lookups_total{cache="open_file",result="miss"}'] == 1
    assert found['porch_cache_lookups_total{cache="open_file",result="hit"}'] == 2


def test_metrics_count_a_resumable_upload_once_when_it_completes(
    tmp_path: Path, root: Path
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    config = Config(root=root, metrics=True, upload_dir=uploads, state_dir=tmp_path / "state")
    client = Client(App(config))
    tus = {"Tus-Resumable": "1.0.0"}
    created = client.post(
        "/", headers={**tus, "Upload-Length": "4", "Upload-Metadata": "filename Yi50eHQ="}
    )
    assert created.status == 201
    url = created.headers.get("location") or ""
    chunk = {**tus, "Content-Type": "application/offset+octet-stream"}
    assert (
        client.request("PATCH", url, headers={**chunk, "Upload-Offset": "0"}, body=b"ab").status
        == 204
    )
    found = values(client.get("/-/metrics").text)
    assert found['porch_uploads_total{kind="resumable"}'] == 0
    assert found['porch_uploads_total{kind="whole"}'] == 0  # the creation is no upload yet
    assert (
        client.request("PATCH", url, headers={**chunk, "Upload-Offset": "2"}, body=b"cd").status
        == 204
    )
    assert (uploads / "b.txt").read_bytes() == b"abcd"
    found = values(client.get("/-/metrics").text)
    assert found['porch_uploads_total{kind="resumable"}'] == 1
    assert found['porch_uploads_total{kind="whole"}'] == 0


def test_metrics_have_their_own_rule_not_the_accounts(root: Path) -> None:
    accounts = (Account("u", quick_hash("pw")),)
    app = App(Config(root=root, accounts=accounts, anonymous=parse_grants("none"), metrics=True))
    assert Client(app).get("/a.txt").status == 401
    assert Client(app).get("/-/metrics").status == 200  # loopback, no account needed
    elsewhere = Client(app, client_address=("203.0.113.7", 4000))
    refused = elsewhere.get("/-/metrics", headers=CREDENTIALS)
    assert refused.status == 403
    assert b"porch_requests_total" not in refused.body
    assert Client(app).post("/-/metrics", body=b"").status == 405


def test_metrics_allow_opens_them_to_a_network(root: Path) -> None:
    app = App(Config(root=root, metrics=True, metrics_allow=("10.0.0.0/8",)))
    assert Client(app, client_address=("10.1.2.3", 4000)).get("/-/metrics").status == 200
    assert Client(app, client_address=("11.1.2.3", 4000)).get("/-/metrics").status == 403
    assert Client(app).get("/-/metrics").status == 403  # loopback is no longer in the list
    mapped = Client(app, client_address=("::ffff:10.0.0.1", 4000))
    assert mapped.get("/-/metrics").status == 200


# -- draining --------------------------------------------------------------------------------


def test_health_says_503_while_draining(root: Path) -> None:
    lifecycle = Lifecycle()
    client = Client(App(Config(root=root), lifecycle=lifecycle))
    assert not lifecycle.health_polled
    assert client.get("/-/health").status == 200
    assert lifecycle.health_polled
    lifecycle.draining = True
    response = client.get("/-/health")
    assert (response.status, response.json()) == (503, {"status": "draining"})
    assert response.headers.get("retry-after") == "5"
    assert client.get("/a.txt").status == 200  # everything else is still answered
