"""Every traversal vector sent on the wire exactly as written (no client normalises it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import PorchProcess, exchange, get, run_porch

SECRET = b"TOP-SECRET-OUTSIDE"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PorchProcess]:
    base = tmp_path_factory.mktemp("paths").resolve()
    (base / "secret.txt").write_bytes(SECRET)
    (base / "site-other").mkdir()
    (base / "site-other" / "secret.txt").write_bytes(SECRET)
    root = base / "site"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok.txt").write_text("ok")
    (root / "evil.example").mkdir()
    (root / ".env").write_bytes(SECRET)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_bytes(SECRET)
    (root / "out").symlink_to(base / "secret.txt")
    (root / "out-dir").symlink_to(base / "site-other")
    (root / "up").symlink_to("..")
    (root / "slash").symlink_to("/")
    (root / "to-hidden").symlink_to(root / ".env")
    with run_porch(root, "--quiet", tmp=base) as process:
        process.root = root  # type: ignore[attr-defined]
        yield process


VECTORS = [
    "/../secret.txt",
    "/sub/../../secret.txt",
    "/..",
    "/./sub/ok.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/sub%2f..%2f..%2fsecret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/sub\\..\\..\\secret.txt",
    "/%00",
    "/sub/ok.txt%00.png",
    "/C:/secret.txt",
    "/c:%5csecret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%252e%252e/secret.txt",
    "/..;/secret.txt",
    "/.env",
    "/.git/config",
    "/sub/../.env",
    "/out",
    "/out-dir/secret.txt",
    "/up/secret.txt",
    "/up/site-other/secret.txt",
    "/slash/etc/passwd",
    "/to-hidden",
    "http://localhost/../secret.txt",
    "//../secret.txt",
    "/%2F..%2Fsecret.txt",
]


@pytest.mark.parametrize("target", VECTORS)
def test_traversal_vector_is_refused(server: PorchProcess, target: str) -> None:
    response = exchange(server, get(target))
    assert 400 <= response.status < 500, response
    assert SECRET not in response.body
    root = str(server.root).encode()  # type: ignore[attr-defined]
    assert root not in response.body
    assert all(root.decode() not in value for _, value in response.headers)


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("//evil.example", "/evil.example/"),
        ("//evil.example?x=1", "/evil.example/?x=1"),
        ("///evil.example", "/evil.example/"),
        ("/sub", "/sub/"),
    ],
)
def test_slash_redirect_never_leaves_the_host(
    server: PorchProcess, target: str, location: str
) -> None:
    response = exchange(server, get(target))
    assert response.status == 301
    assert response.header("location") == location


def test_inside_paths_still_work(server: PorchProcess) -> None:
    assert exchange(server, get("/sub/ok.txt")).body == b"ok"
    assert exchange(server, get("//sub///ok.txt")).body == b"ok"
    assert exchange(server, get("/s%75b/ok.txt")).body == b"ok"
