"""``?thumb`` and ``?hash=`` through porch.testing, on real pictures made with Pillow."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from porch.app import App
from porch.config import Config
from porch.testing import Client


def picture(path: Path, size: tuple[int, int], kind: str, **save: object) -> None:
    image = Image.new("RGBA" if kind == "PNG" else "RGB", size, (200, 30, 30))
    # A marker in the top-left corner, to see which way the thumbnail is turned.
    for x in range(size[0] // 4):
        for y in range(size[1] // 4):
            image.putpixel((x, y), (0, 0, 250) if kind != "PNG" else (0, 0, 250, 255))
    image.save(path, kind, **save)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    picture(root / "wide.jpg", (800, 400), "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned 90° clockwise
    picture(root / "turned.jpg", (800, 400), "JPEG", exif=exif.tobytes())
    picture(root / "alpha.png", (300, 300), "PNG")
    picture(root / "anim.gif", (120, 80), "GIF")
    picture(root / "photo.webp", (640, 480), "WEBP")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "fake.png").write_bytes(b"GIF89a" + b"\0" * 100)
    (root / "notes.txt").write_text("not a picture\n")
    (root / ".hidden.jpg").write_bytes((root / "wide.jpg").read_bytes())
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((root / "wide.jpg").read_bytes())
    (root / "escape.jpg").symlink_to(outside)
    return root


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def client_for(site: Path, state: Path, **settings: object) -> Client:
    return Client(App(Config(root=site, state_dir=state, **settings)))  # type: ignore[arg-type]


def decoded(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


@pytest.mark.parametrize("name", ["wide.jpg", "alpha.png", "anim.gif", "photo.webp"])
def test_thumbnail_of_each_type(site: Path, state: Path, name: str) -> None:
    response = client_for(site, state).get(f"/{name}?thumb")
    assert response.status == 200
    assert response.headers.get("content-type") == "image/webp"
    image = decoded(response.body)
    assert max(image.size) <= 320
    original = Image.open(site / name)
    assert abs(image.size[0] / image.size[1] - original.size[0] / original.size[1]) < 0.05


def test_exif_orientation_is_applied(site: Path, state: Path) -> None:
    image = decoded(client_for(site, state).get("/turned.jpg?thumb").body)
    assert image.size[1] > image.size[0]  # 800x400 turned: portrait
    # The marker was top-left before turning 90° clockwise: now it is top-right.
    red, _, blue = image.convert("RGB").getpixel((image.size[0] - 5, 5))  # type: ignore[misc]
    assert blue > 150
    assert red < 100


@pytest.mark.parametrize(
    ("name", "status"),
    [("broken.jpg", 422), ("fake.png", 422), ("notes.txt", 415)],
)
def test_refusals_are_icons(site: Path, state: Path, name: str, status: int) -> None:
    response = client_for(site, state).get(f"/{name}?thumb")
    assert response.status == status
    assert response.headers.get("content-type") == "image/svg+xml"
    assert response.body.startswith(b"<svg")


@pytest.mark.parametrize("name", [".hidden.jpg", "escape.jpg", "missing.jpg"])
def test_thumbnails_follow_the_read_rules(site: Path, state: Path, name: str) -> None:
    assert client_for(site, state).get(f"/{name}?thumb").status == 404


@pytest.mark.parametrize(("limit", "status"), [(320_000, 200), (319_999, 413)])
def test_pixel_limit_at_n_and_n_plus_one(site: Path, state: Path, limit: int, status: int) -> None:
    # wide.jpg is 800 x 400 = 320,000 pixels.
    response = client_for(site, state, max_thumbnail_pixels=limit).get("/wide.jpg?thumb")
    assert response.status == status


def test_cache_is_keyed_by_identity_and_never_stale(site: Path, state: Path) -> None:
    client = client_for(site, state)
    first = client.get("/wide.jpg?thumb")
    cached = list((state / "thumbs").glob("*.webp"))
    assert len(cached) == 1
    assert client.get("/wide.jpg?thumb").body == first.body
    etag = first.headers.get("etag") or ""
    assert client.get("/wide.jpg?thumb", headers={"If-None-Match": etag}).status == 304
    # The same name, a new picture: a new thumbnail at once.
    picture(site / "wide.jpg", (400, 800), "JPEG")
    later = time.time() + 5
    os.utime(site / "wide.jpg", (later, later))
    second = client.get("/wide.jpg?thumb")
    assert second.headers.get("etag") != etag
    assert decoded(second.body).size[1] > decoded(second.body).size[0]
    assert len(list((state / "thumbs").glob("*.webp"))) == 2
    # A new App (a restart) reads the cache file instead of decoding again.
    for path in (state / "thumbs").glob("*.webp"):
        path.write_bytes(second.body)
    assert client_for(site, state).get("/wide.jpg?thumb").body == second.body


def test_no_thumbnails(site: Path, state: Path) -> None:
    assert client_for(site, state, thumbnails=False).get("/wide.jpg?thumb").status == 404


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
def test_checksums(site: Path, state: Path, algorithm: str) -> None:
    client = client_for(site, state)
    data = (site / "wide.jpg").read_bytes()
    expected = hashlib.new(algorithm, data).hexdigest()
    text = client.get(f"/wide.jpg?hash={algorithm}")
    assert text.status == 200
    assert text.text == f"{expected}  wide.jpg\n"
    as_json = client.get(f"/wide.jpg?hash={algorithm}", headers={"Accept": "application/json"})
    assert as_json.json() == {
        "name": "wide.jpg",
        "algorithm": algorithm,
        "digest": expected,
        "size": len(data),
    }


def test_checksum_cache_follows_the_file(site: Path, state: Path) -> None:
    app = App(Config(root=site, state_dir=state))
    client = Client(app)
    path = site / "notes.txt"
    first = client.get("/notes.txt?hash").text
    assert first.split()[0] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(app.folders.checksums) == 1
    path.write_text("changed, same name\n")
    later = time.time() + 5
    os.utime(path, (later, later))
    second = client.get("/notes.txt?hash").text
    assert second.split()[0] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert second != first


def test_checksum_refusals(site: Path, state: Path) -> None:
    client = client_for(site, state)
    assert client.get("/notes.txt?hash=crc32").status == 400
    assert client.get("/.hidden.jpg?hash=sha256").status == 404
    assert client.get("/escape.jpg?hash=sha256").status == 404


@pytest.mark.parametrize(("waiting", "statuses"), [(2, [200, 200]), (1, [200, 503])])
def test_jobs_waiting_at_n_and_n_plus_one(
    site: Path, state: Path, monkeypatch: pytest.MonkeyPatch, waiting: int, statuses: list[int]
) -> None:
    """Two pictures asked for at once: with room for two jobs both are made; with room for
    one the second gets 503 (an icon, Retry-After) instead of queueing without bound."""
    import asyncio

    import porch.app.thumbs

    monkeypatch.setattr(porch.app.thumbs, "MAX_WAITING", waiting)
    client = client_for(site, state)

    async def both() -> list[int]:
        answers = await asyncio.gather(
            client.arequest("GET", "/wide.jpg?thumb"), client.arequest("GET", "/alpha.png?thumb")
        )
        return [answer.status for answer in answers]

    assert asyncio.run(both()) == statuses


def test_cache_keeps_the_most_recently_used(
    site: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import porch.app.thumbs

    monkeypatch.setattr(porch.app.thumbs, "MAX_CACHED", 3)
    monkeypatch.setattr(porch.app.thumbs, "PRUNE_EVERY", 1)
    client = client_for(site, state)
    cache = state / "thumbs"
    assert client.get("/wide.jpg?thumb").status == 200
    first = next(cache.glob("*.webp"))
    os.utime(first, (time.time() - 100, time.time() - 100))
    for name in ("alpha.png", "anim.gif"):
        assert client.get(f"/{name}?thumb").status == 200
    assert len(list(cache.glob("*.webp"))) == 3
    # Written after the first, but long before the hit below: file times come from a coarse
    # clock, and a tie with the hit would leave the order to the names.
    for later in cache.glob("*.webp"):
        if later != first:
            os.utime(later, (time.time() - 50, time.time() - 50))
    assert client.get("/wide.jpg?thumb").status == 200  # a hit: its file is recent again
    assert client.get("/photo.webp?thumb").status == 200  # a fourth: pruned to 2 (9/10 of 3)
    remaining = list(cache.glob("*.webp"))
    assert len(remaining) == 2
    assert first in remaining  # the least recently used went, not the oldest written
