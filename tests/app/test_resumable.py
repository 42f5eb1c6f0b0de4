"""Resumable uploads through the in-memory client: tus 1.0.0 and the IETF draft, on the rules
of every porch upload (names, sizes, disk, overwrite policy, grants) and the store's promises
(partials invisible, checksums all-or-nothing, expiry, limits at N and N+1).

Real clients (tuspy, tus-js-client), restarts, 104 on the wire, proxies and the page are in
tests/e2e/test_resumable*.py and tests/browser/test_resumable_page.py.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.testing import Client, TestResponse
from tests.security_helpers import quick_hash

TUS = {"Tus-Resumable": "1.0.0"}
DATA = {"Content-Type": "application/offset+octet-stream"}


def meta(name: str) -> str:
    return "filename " + base64.b64encode(name.encode()).decode()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    directory = tmp_path / "root"
    directory.mkdir()
    return directory


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def make(root: Path, state: Path, **settings: object) -> Client:
    config = Config(root=root, upload_dir=root, state_dir=state, **settings)  # type: ignore[arg-type]
    return Client(App(config))


def create(client: Client, name: str | None, length: int | None, **headers: str) -> TestResponse:
    sent = dict(TUS)
    if name is not None:
        sent["Upload-Metadata"] = meta(name)
    if length is None:
        sent["Upload-Defer-Length"] = "1"
    else:
        sent["Upload-Length"] = str(length)
    sent.update(headers)
    return client.post("/", headers=sent)


def patch(client: Client, url: str, offset: int, body: bytes, **headers: str) -> TestResponse:
    sent = {**TUS, **DATA, "Upload-Offset": str(offset), **headers}
    return client.request("PATCH", url, headers=sent, body=body)


def partials(state: Path) -> list[str]:
    return sorted(p.name for p in (state / "uploads").iterdir() if p.name.endswith(".data"))


# -- tus core --------------------------------------------------------------------------------


def test_options_announce_version_extensions_and_max_size(root: Path, state: Path) -> None:
    response = make(root, state, max_upload_size=1000).options("/")
    assert response.status == 204
    assert response.headers.get("tus-version") == "1.0.0"
    extensions = (response.headers.get("tus-extension") or "").split(",")
    for name in ("creation", "creation-with-upload", "creation-defer-length", "termination"):
        assert name in extensions
    for name in ("checksum", "expiration", "concatenation"):
        assert name in extensions
    assert response.headers.get("tus-max-size") == "1000"
    assert "application/partial-upload" in (response.headers.get("accept-patch") or "")
    assert "max-size=1000" in (response.headers.get("upload-limit") or "")


def test_create_patch_in_chunks_lands_the_file(root: Path, state: Path) -> None:
    client = make(root, state)
    created = create(client, "video.bin", 10)
    assert created.status == 201
    assert created.headers.get("tus-resumable") == "1.0.0"
    assert created.headers.get("upload-expires")
    url = created.headers.get("location") or ""
    assert url.startswith("/-/uploads/")
    head = client.head(url, headers=TUS)
    assert (head.status, head.headers.get("upload-offset")) == (200, "0")
    assert head.headers.get("upload-length") == "10"
    first = patch(client, url, 0, b"hello")
    assert (first.status, first.headers.get("upload-offset")) == (204, "5")
    # a partial upload is in no listing and no GET
    assert "video.bin" not in client.get("/").text
    assert client.get("/video.bin").status == 404
    assert client.head(url, headers=TUS).headers.get("upload-offset") == "5"
    last = patch(client, url, 5, b"world")
    assert (last.status, last.headers.get("upload-offset")) == (204, "10")
    assert (root / "video.bin").read_bytes() == b"helloworld"
    assert client.get("/video.bin").body == b"helloworld"
    assert partials(state) == []
    # done: HEAD still tells the whole length (a client that missed the answer learns it)
    assert client.head(url, headers=TUS).headers.get("upload-offset") == "10"


def test_wrong_offset_is_409_with_the_right_one(root: Path, state: Path) -> None:
    client = make(root, state)
    url = create(client, "a.bin", 10).headers.get("location") or ""
    assert patch(client, url, 0, b"abc").status == 204
    refused = patch(client, url, 0, b"abc")
    assert refused.status == 409
    assert refused.headers.get("upload-offset") == "3"
    assert refused.headers.get("tus-resumable") == "1.0.0"
    assert client.head(url, headers=TUS).headers.get("upload-offset") == "3"


def test_wrong_version_and_content_type_are_refused(root: Path, state: Path) -> None:
    client = make(root, state)
    refused = client.post("/", headers={"Tus-Resumable": "0.2.2", "Upload-Length": "1"})
    assert refused.status == 412
    assert refused.headers.get("tus-version") == "1.0.0"
    url = create(client, "a.bin", 3).headers.get("location") or ""
    assert patch(client, url, 0, b"abc", **{"Content-Type": "text/plain"}).status == 415


def test_creation_with_upload_and_deferred_length(root: Path, state: Path) -> None:
    client = make(root, state)
    sent = {**TUS, **DATA, "Upload-Length": "6", "Upload-Metadata": meta("c.txt")}
    created = client.post("/", headers=sent, body=b"abc")
    assert (created.status, created.headers.get("upload-offset")) == (201, "3")
    url = created.headers.get("location") or ""
    assert patch(client, url, 3, b"def").status == 204
    assert (root / "c.txt").read_bytes() == b"abcdef"

    deferred = create(client, "d.txt", None)
    url = deferred.headers.get("location") or ""
    assert client.head(url, headers=TUS).headers.get("upload-defer-length") == "1"
    assert patch(client, url, 0, b"12").status == 204
    assert not (root / "d.txt").exists()
    assert patch(client, url, 2, b"34", **{"Upload-Length": "4"}).status == 204
    assert (root / "d.txt").read_bytes() == b"1234"


def test_termination_removes_the_partial(root: Path, state: Path) -> None:
    client = make(root, state)
    url = create(client, "gone.bin", 10).headers.get("location") or ""
    patch(client, url, 0, b"12345")
    assert len(partials(state)) == 1
    assert client.delete(url, headers=TUS).status == 204
    assert partials(state) == []
    assert client.head(url, headers=TUS).status == 404
    assert patch(client, url, 5, b"x").status == 404
    assert not (root / "gone.bin").exists()


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_checksum_mismatch_is_460_and_the_chunk_is_not_stored(
    root: Path, state: Path, algorithm: str
) -> None:
    client = make(root, state)
    url = create(client, "sum.bin", 6).headers.get("location") or ""

    def checksum(data: bytes) -> str:
        digest = hashlib.new(algorithm, data).digest()
        return f"{algorithm} {base64.b64encode(digest).decode()}"

    good = patch(client, url, 0, b"abc", **{"Upload-Checksum": checksum(b"abc")})
    assert good.status == 204
    bad = patch(client, url, 3, b"XYZ", **{"Upload-Checksum": checksum(b"def")})
    assert bad.status == 460
    assert client.head(url, headers=TUS).headers.get("upload-offset") == "3"
    data_file = next((state / "uploads").glob("*.data"))
    assert data_file.read_bytes() == b"abc"
    assert patch(client, url, 3, b"def", **{"Upload-Checksum": checksum(b"def")}).status == 204
    assert (root / "sum.bin").read_bytes() == b"abcdef"
    unknown = patch(client, url, 0, b"", **{"Upload-Checksum": "md5 AAAA"})
    assert unknown.status in (400, 404)


def test_concatenation_joins_finished_partials_in_order(root: Path, state: Path) -> None:
    client = make(root, state)
    urls = []
    for index, piece in enumerate([b"one-", b"two-", b"three-", b"four"]):
        created = create(client, None, len(piece), **{"Upload-Concat": "partial"})
        assert created.status == 201, created.text
        url = created.headers.get("location") or ""
        assert patch(client, url, 0, piece).status == 204
        urls.append(url)
        assert client.head(url, headers=TUS).headers.get("upload-concat") == "partial"
        assert index == len(urls) - 1
    assert list(root.iterdir()) == []
    final = create(
        client, "joined.txt", None, **{"Upload-Concat": "final;" + " ".join(reversed(urls))}
    )
    # Upload-Defer-Length is not needed for a final upload: its length is the parts' sum
    assert final.status == 201, final.text
    assert (root / "joined.txt").read_bytes() == b"fourthree-two-one-"
    head = client.head(final.headers.get("location") or "", headers=TUS)
    assert head.headers.get("upload-offset") == head.headers.get("upload-length") == "18"
    assert head.headers.get("upload-concat") == "final;" + " ".join(reversed(urls))
    assert partials(state) == []


def test_concatenation_refuses_unfinished_or_unknown_parts(root: Path, state: Path) -> None:
    client = make(root, state)
    url = create(client, None, 5, **{"Upload-Concat": "partial"}).headers.get("location") or ""
    patch(client, url, 0, b"ab")
    unfinished = create(client, "x.txt", None, **{"Upload-Concat": f"final;{url}"})
    assert unfinished.status == 400
    unknown = create(client, "x.txt", None, **{"Upload-Concat": "final;/-/uploads/nope"})
    assert unknown.status == 400
    assert not (root / "x.txt").exists()


# -- the rules of every upload -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", ".hidden", "a/b", "ctrl\x01", "page.html.j2"])
def test_the_name_rules_of_plain_uploads_apply(root: Path, state: Path, name: str) -> None:
    assert create(make(root, state), name, 3).status == 400


def test_a_missing_name_is_400(root: Path, state: Path) -> None:
    assert create(make(root, state), None, 3).status == 400


def test_an_existing_name_is_409_at_creation_and_at_completion(root: Path, state: Path) -> None:
    client = make(root, state)
    (root / "taken.txt").write_text("old")
    assert create(client, "taken.txt", 3).status == 409
    url = create(client, "late.txt", 3).headers.get("location") or ""
    (root / "late.txt").write_text("someone else")
    assert patch(client, url, 0, b"new").status == 409
    assert (root / "late.txt").read_text() == "someone else"
    assert partials(state) == []


def test_max_upload_size_at_n_and_n_plus_1(root: Path, state: Path) -> None:
    client = make(root, state, max_upload_size=100)
    assert create(client, "n.bin", 100).status == 201
    refused = create(client, "n1.bin", 101)
    assert refused.status == 413
    # a deferred length is held to the limit as the bytes arrive
    url = create(client, "d.bin", None).headers.get("location") or ""
    assert patch(client, url, 0, b"x" * 100).status == 204
    assert patch(client, url, 100, b"x").status == 413
    assert client.head(url, headers=TUS).headers.get("upload-offset") == "100"


def test_a_declared_length_the_disk_cannot_hold_is_507(
    root: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make(root, state)
    monkeypatch.setattr("porch.app.resumable.free_bytes", lambda path: 1000)
    assert create(client, "fits.bin", 1000).status == 201
    assert create(client, "big.bin", 1001).status == 507
    assert len(partials(state)) == 1


def test_max_partial_uploads_at_n_and_n_plus_1(root: Path, state: Path) -> None:
    client = make(root, state, max_partial_uploads=2)
    assert create(client, "a.bin", 1).status == 201
    assert create(client, "b.bin", 1).status == 201
    refused = create(client, "c.bin", 1)
    assert refused.status == 503
    assert refused.headers.get("retry-after")


def test_expiry_removes_a_stale_partial_and_keeps_a_fresh_one(root: Path, state: Path) -> None:
    client = make(root, state, resumable_expiry=60.0)
    stale = create(client, "stale.bin", 10).headers.get("location") or ""
    fresh = create(client, "fresh.bin", 10).headers.get("location") or ""
    patch(client, stale, 0, b"12345")
    app = client.app
    assert isinstance(app, App)
    assert app.resumable is not None
    store = app.resumable.store
    now = time.time()
    # sweeping at N seconds after the last byte keeps it; past N removes it
    stale_id, fresh_id = stale.rsplit("/", 1)[1], fresh.rsplit("/", 1)[1]
    stale_record = store.load(stale_id)
    assert stale_record is not None
    assert store.sweep(now=stale_record.expires - 1) == 0
    assert len(partials(state)) == 2
    fresh_record = store.load(fresh_id)
    assert fresh_record is not None
    fresh_record.expires = now + 3600
    store.save(fresh_record)
    assert store.sweep(now=stale_record.expires + 1) == 1
    assert client.head(stale, headers=TUS).status == 404
    assert client.head(fresh, headers=TUS).status == 200
    assert len(partials(state)) == 1


def test_the_store_keeps_only_the_durable_offset_after_a_crash(root: Path, state: Path) -> None:
    """Bytes written past the recorded offset (a crash before the commit) are cut off."""
    client = make(root, state)
    url = create(client, "crash.bin", 6).headers.get("location") or ""
    patch(client, url, 0, b"abc")
    data_file = next((state / "uploads").glob("*.data"))
    with data_file.open("ab") as data:
        data.write(b"GARBAGE")  # written, never committed
    again = make(root, state)  # a restarted server
    assert again.head(url, headers=TUS).headers.get("upload-offset") == "3"
    assert patch(again, url, 3, b"def").status == 204
    assert (root / "crash.bin").read_bytes() == b"abcdef"


def test_grants_follow_the_upload_to_its_resource(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "incoming").mkdir(parents=True)
    accounts = (
        Account("ann", quick_hash("ann-pw"), parse_grants("write@/incoming")),
        Account("bob", quick_hash("bob-pw"), parse_grants("write@/incoming")),
        Account("eve", quick_hash("eve-pw"), parse_grants("read@/")),
    )
    config = Config(
        root=root,
        upload_dir=root / "incoming",
        state_dir=tmp_path / "state",
        accounts=accounts,
        anonymous=parse_grants("read@/"),
    )
    client = Client(App(config))

    def auth(who: str) -> dict[str, str]:
        token = base64.b64encode(f"{who}:{who}-pw".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    sent = {**TUS, "Upload-Length": "3", "Upload-Metadata": meta("a.txt")}
    assert client.post("/incoming/", headers=sent).status == 401
    assert client.post("/incoming/", headers={**sent, **auth("eve")}).status == 403
    created = client.post("/incoming/", headers={**sent, **auth("ann")})
    assert created.status == 201
    url = created.headers.get("location") or ""
    assert patch(client, url, 0, b"abc").status == 401
    assert patch(client, url, 0, b"abc", **auth("eve")).status == 403
    assert patch(client, url, 0, b"abc", **auth("bob")).status == 404  # not bob's upload
    assert patch(client, url, 0, b"abc", **auth("ann")).status == 204
    assert (root / "incoming" / "a.txt").read_bytes() == b"abc"


def test_a_foreign_origin_cannot_create_or_append(root: Path, state: Path) -> None:
    client = make(root, state)
    refused = create(client, "x.bin", 3, Origin="http://evil.example")
    assert refused.status == 403
    url = create(client, "x.bin", 3).headers.get("location") or ""
    assert patch(client, url, 0, b"abc", Origin="http://evil.example").status == 403


def test_resumable_uploads_can_be_turned_off(root: Path, state: Path) -> None:
    client = make(root, state, resumable=False)
    assert create(client, "x.bin", 3).status == 400  # a plain POST to a directory: not a form
    assert client.head("/-/uploads/abc").status == 404


# -- the IETF draft --------------------------------------------------------------------------


def test_ietf_create_head_append_complete(root: Path, state: Path) -> None:
    client = make(root, state, max_upload_size=1 << 20)
    created = client.post(
        "/report.pdf",
        headers={"Upload-Complete": "?0", "Upload-Length": "6"},
        body=b"abc",
    )
    assert created.status == 201
    assert created.headers.get("upload-complete") == "?0"
    # the 104 announced the same upload resource before the body was read
    assert [status for status, _ in created.informational] == [104]
    assert created.informational[0][1].get("location") == created.headers.get("location")
    assert "max-size=1048576" in (created.headers.get("upload-limit") or "")
    url = created.headers.get("location") or ""
    head = client.head(url)
    assert head.status == 204
    assert head.headers.get("upload-offset") == "3"
    assert head.headers.get("upload-complete") == "?0"
    assert head.headers.get("upload-length") == "6"
    assert head.headers.get("cache-control") == "no-store"
    assert not (root / "report.pdf").exists()
    wrong = client.request(
        "PATCH",
        url,
        headers={
            "Upload-Offset": "1",
            "Upload-Complete": "?1",
            "Content-Type": "application/partial-upload",
        },
        body=b"def",
    )
    assert (wrong.status, wrong.headers.get("upload-offset")) == (409, "3")
    done = client.request(
        "PATCH",
        url,
        headers={
            "Upload-Offset": "3",
            "Upload-Complete": "?1",
            "Content-Type": "application/partial-upload",
        },
        body=b"def",
    )
    assert done.status == 201
    assert done.headers.get("upload-complete") == "?1"
    assert (root / "report.pdf").read_bytes() == b"abcdef"
    assert hashlib.sha256(b"abcdef").hexdigest() in done.text  # the plain upload's summary
    assert client.head(url).headers.get("upload-complete") == "?1"


def test_ietf_inconsistent_length_and_cancel(root: Path, state: Path) -> None:
    client = make(root, state)
    inconsistent = client.post(
        "/x.bin", headers={"Upload-Complete": "?1", "Upload-Length": "9"}, body=b"abc"
    )
    assert inconsistent.status == 400
    created = client.post(
        "/",
        headers={
            "Upload-Complete": "?0",
            "Content-Disposition": "inline; filename*=UTF-8''caf%C3%A9.txt",
        },
    )
    assert created.status == 201
    url = created.headers.get("location") or ""
    assert client.delete(url).status == 204
    assert client.head(url).status == 404
    assert partials(state) == []


def test_ietf_put_replaces_post_does_not(root: Path, state: Path) -> None:
    client = make(root, state)
    (root / "same.txt").write_text("old")
    assert client.post("/same.txt", headers={"Upload-Complete": "?1"}, body=b"new").status == 409
    replaced = client.put("/same.txt", headers={"Upload-Complete": "?1"}, body=b"new")
    assert replaced.status == 204
    assert replaced.headers.get("upload-complete") == "?1"
    assert (root / "same.txt").read_text() == "new"


def test_ietf_summary_hash_is_right_after_a_restart(root: Path, state: Path) -> None:
    """The running hash is lost with the process; the file is then hashed at completion."""
    created = make(root, state).post("/r.bin", headers={"Upload-Complete": "?0"}, body=b"12345")
    url = created.headers.get("location") or ""
    again = make(root, state)
    done = again.request(
        "PATCH",
        url,
        headers={"Upload-Offset": "5", "Upload-Complete": "?1"},
        body=b"67890",
    )
    assert done.status == 201
    assert hashlib.sha256(b"1234567890").hexdigest() in done.text


def test_cli_flags_build_the_resumable_config(root: Path, state: Path) -> None:
    from porch.cli import build_parser, config_from_args

    parser = build_parser()
    given = [str(root), "--upload-dir", str(root), "--state-dir", str(state)]
    args = parser.parse_args([*given, "--resumable-expiry", "90", "--max-partial-uploads", "3"])
    settings = config_from_args(args, parser)
    assert (settings.resumable_expiry, settings.max_partial_uploads) == (90.0, 3)
    assert settings.resumable
    off = config_from_args(parser.parse_args([*given, "--no-resumable"]), parser)
    assert not off.resumable
    for bad in (["--resumable-expiry", "0"], ["--max-partial-uploads", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*given, *bad])


def test_ietf_a_long_append_reports_its_durable_progress_in_104s(root: Path, state: Path) -> None:
    client = make(root, state)
    created = client.post("/long.bin", headers={"Upload-Complete": "?0"}, body=b"")
    url = created.headers.get("location") or ""
    piece = b"x" * (1 << 20)
    done = client.request(
        "PATCH",
        url,
        headers={"Upload-Offset": "0", "Upload-Complete": "?1", "Content-Length": str(40 << 20)},
        body=[piece] * 40,
    )
    assert done.status == 201
    offsets = [int(headers.get("upload-offset") or -1) for _, headers in done.informational]
    assert offsets == [16 << 20, 32 << 20]
    assert all(headers.get("location") is None for _, headers in done.informational)
