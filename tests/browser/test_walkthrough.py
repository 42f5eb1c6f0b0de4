"""Issue 19's "done when": what a new user does in the first ten minutes, scripted.

Start porch the way README.md and docs/security.md say (a shell command, the Argon2 hash in
single quotes), share a folder where bob may write in /incoming and everyone may read, sign
in on the page, upload, hit a duplicate and keep both, download what was uploaded — in headless
Chromium and with curl — then move the settings into a config file beside the folder, change
it, and start again. Screenshots of the page (desktop and phone, light and dark) are taken on
the way; with ``PORCH_UPDATE_SCREENSHOTS=1`` they also go to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser.test_newuser import PHONE
from tests.browser.test_webapp import DOCS, Watched, chromium, row, watched
from tests.helpers import SRC, porch_env, require_tool

pytestmark = pytest.mark.browser
__all__ = ["chromium", "watched"]  # fixtures, used by name

PASSWORD = "correct horse"


@contextmanager
def shell_porch(command: str, cwd: Path) -> Iterator[str]:
    """Run ``command`` (a shell line starting with ``porch``) in bash; yield the served URL."""
    porch = f"{shlex.quote(sys.executable)} -m porch"
    log = cwd / f"porch-{time.monotonic_ns()}.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            ["bash", "-c", "exec " + command.replace("porch", porch, 1)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=porch_env(),
            start_new_session=True,
        )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        match = re.search(r"(https?://127\.0\.0\.1:\d+)/", banner)
        assert match, f"porch did not start: {banner!r} {log.read_text()}"
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", *args], capture_output=True, text=True, timeout=30, check=True
    )


def shoot(page: object, name: str, tmp_path: Path) -> None:
    targets = [tmp_path]
    if os.environ.get("PORCH_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        targets.append(DOCS)
    for target in targets:
        page.screenshot(path=str(target / name))  # type: ignore[attr-defined]


def test_the_first_ten_minutes(watched: Callable[..., Watched], tmp_path: Path) -> None:
    require_tool(shutil.which("curl") is not None, "curl is not installed")
    assert SRC.is_dir()
    project = tmp_path / "project"
    share = project / "share"
    (share / "incoming").mkdir(parents=True)
    (share / "photos").mkdir()
    (share / "notes.txt").write_text("what to bring\n")

    # 1. A password hash, as README.md says: porch hash-password (here from stdin).
    made = subprocess.run(
        [sys.executable, "-m", "porch", "hash-password"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=porch_env(),
        check=True,
    )
    password_hash = made.stdout.strip()
    assert password_hash.startswith("$argon2id$")

    # The README's warning, checked: in double quotes the shell eats the hash, and porch says so.
    eaten = subprocess.run(
        ["bash", "-c", f'{shlex.quote(sys.executable)} -m porch share -p 0 '
         f'--auth "bob:{password_hash}:write"'],
        cwd=project, capture_output=True, text=True, env=porch_env(), timeout=30, check=False,
    )  # fmt: skip
    assert eaten.returncode == 2
    assert "single quotes" in eaten.stderr

    # 2. Share the folder with a per-folder grant, the hash in single quotes (README.md).
    command = (
        "porch share -b 127.0.0.1 -p 0 --upload-dir share/incoming --anonymous read "
        f"--auth 'bob:{password_hash}:read,write@/incoming'"
    )
    with shell_porch(command, project) as url:
        # 3. In the browser: anonymous first, then sign in on the page.
        tab = watched(http_credentials={"username": "bob", "password": PASSWORD})
        page = tab.page
        page.goto(url + "/incoming/")
        assert page.locator("#dropzone").count() == 0
        page.locator("#sign-in").click()
        page.wait_for_url(url + "/incoming/")
        assert page.locator("#visitor").inner_text() == "Signed in as bob"

        # 4. Upload, then the same name again: 409, "Keep both".
        picked = {"name": "plan.txt", "mimeType": "text/plain", "buffer": b"day one\n"}
        page.set_input_files("#upload-files", files=[picked])
        page.wait_for_function(
            "() => document.querySelector('#queue li')?.dataset.state === 'done'"
        )
        again = {"name": "plan.txt", "mimeType": "text/plain", "buffer": b"day two\n"}
        page.set_input_files("#upload-files", files=[again])
        second = page.locator("#queue li").nth(1)
        second.locator("button[data-policy=rename]").wait_for()
        shoot(page, "conflict-desktop-light.png", tmp_path)
        second.locator("button[data-policy=rename]").click()
        page.wait_for_function(
            "() => document.querySelectorAll('#queue li')[1]?.dataset.state === 'done'"
        )
        row(page, "plan (1).txt").wait_for()
        assert (share / "incoming" / "plan.txt").read_bytes() == b"day one\n"
        assert (share / "incoming" / "plan (1).txt").read_bytes() == b"day two\n"

        # 5. Download it from the page: the bytes that were uploaded.
        with page.expect_download() as download:
            row(page, "plan (1).txt").locator("a.download").click()
        assert download.value.suggested_filename == "plan (1).txt"
        assert Path(download.value.path()).read_bytes() == b"day two\n"
        tab.assert_clean("409 (Conflict)")

        # The same with curl: a duplicate is 409, ?on-conflict=rename keeps both.
        source = tmp_path / "plan.txt"
        source.write_bytes(b"day three\n")
        status = ["-o", "/dev/null", "-w", "%{http_code}"]
        target = url + "/incoming/plan.txt"
        assert curl(*status, "-T", str(source), target).stdout == "401"  # anonymous
        assert curl(*status, "-u", f"bob:{PASSWORD}", "-T", str(source), target).stdout == "409"
        renamed = curl("-u", f"bob:{PASSWORD}", "-T", str(source), target + "?on-conflict=rename")
        assert renamed.stdout.startswith("created /incoming/plan%20%282%29.txt")
        fetched = curl(url + "/incoming/plan%20%282%29.txt")  # anonymous may read
        assert fetched.stdout == "day three\n"

        # Screenshots of the page as bob sees it: desktop and phone, light and dark.
        for scheme in ("light", "dark"):
            for form, options in (
                ("desktop", {"viewport": {"width": 1100, "height": 760}}),
                ("phone", PHONE),
            ):
                view = watched(
                    color_scheme=scheme,
                    http_credentials={"username": "bob", "password": PASSWORD},
                    **options,
                )
                view.page.goto(url + "/?login&next=/incoming/")
                view.page.wait_for_url(url + "/incoming/")
                shoot(view.page, f"signed-in-{form}-{scheme}.png", tmp_path)
                view.assert_clean()
                view.close()

    # 6. The same settings in a config file beside the folder (docs/configuration.md), changed
    #    to keep both copies without asking, and porch started from elsewhere.
    users = project / "users"
    users.write_text(f"bob:{password_hash}:read,write@/incoming\n")
    config = project / "porch.toml"
    config.write_text(
        'root = "share"\nupload-dir = "share/incoming"\nauth-file = "users"\n'
        'anonymous = "read"\non-conflict = "rename"\n'
    )
    with shell_porch(f"porch --config {shlex.quote(str(config))} -p 0", tmp_path) as url:
        source.write_bytes(b"day four\n")
        target = url + "/incoming/plan.txt"
        done = curl("-u", f"bob:{PASSWORD}", "-T", str(source), target)
        assert done.stdout.startswith("created /incoming/plan%20%283%29.txt")
        assert curl(url + "/incoming/plan%20%283%29.txt").stdout == "day four\n"
        assert curl("-o", "/dev/null", "-w", "%{http_code}", url + "/porch.toml").stdout == "404"

    # And the config file is never served: inside the folder, porch refuses to start.
    inside = share / "porch.toml"
    inside.write_text('root = "."\n')
    refused = subprocess.run(
        [sys.executable, "-m", "porch", "--config", str(inside), "-p", "0"],
        capture_output=True, text=True, env=porch_env(), timeout=30, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "inside the served directory" in refused.stderr
