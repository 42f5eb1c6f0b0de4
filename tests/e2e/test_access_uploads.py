"""Access rules with uploads on, over real sockets: a writer's uploads land, a reader's and an
anonymous client's are refused with nothing written (requests with ``auth=``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import requests

from tests.helpers import PorchProcess
from tests.security_helpers import quick_hash

Start = Callable[..., PorchProcess]


def tree(base: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for directory, _, filenames in os.walk(base):
        for name in filenames:
            path = os.path.join(directory, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, base)] = hashlib.sha256(file.read()).hexdigest()
    return found


def test_writer_uploads_land_reader_and_anonymous_write_nothing(porch: Start, site: Path) -> None:
    incoming = site / "incoming"
    incoming.mkdir()
    server = porch(
        site,
        "--upload-dir",
        str(incoming),
        "--auth",
        f"writer:{quick_hash('w-pw')}:read,write@/incoming",
        "--auth",
        f"reader:{quick_hash('r-pw')}",
        "--anonymous",
        "read@/incoming",
    )
    url = server.url
    writer, reader = ("writer", "w-pw"), ("reader", "r-pw")
    data = os.urandom(300_000)

    with requests.Session() as session:
        session.auth = writer
        put = session.put(f"{url}/incoming/w.bin", data=data, timeout=10)
        assert put.status_code == 201
        assert put.headers["Location"] == "/incoming/w.bin"
        assert (incoming / "w.bin").read_bytes() == data
        form = session.post(f"{url}/incoming/", files={"f": ("form.bin", data)}, timeout=10)
        assert form.status_code == 201
        assert form.json()[0]["sha256"] == hashlib.sha256(data).hexdigest()
        assert (incoming / "form.bin").read_bytes() == data
        posted = session.post(f"{url}/incoming/raw.bin", data=data[:10], timeout=10)
        assert posted.status_code == 201
        # The writer's grant is /incoming only.
        assert session.put(f"{url}/elsewhere.bin", data=b"x", timeout=5).status_code == 403

    before = tree(site)
    for auth, status in ((reader, 403), (None, 401)):
        for method, target, kwargs in (
            ("PUT", "/incoming/r.bin", {"data": data}),
            ("POST", "/incoming/r.bin", {"data": data}),
            ("PUT", "/incoming/w.bin", {"data": b"overwrite"}),
            ("POST", "/incoming/", {"files": {"f": ("r.bin", data)}}),
            ("POST", "/docs/", {"files": {"f": ("r.bin", data)}}),
        ):
            response = requests.request(method, url + target, auth=auth, timeout=10, **kwargs)
            assert response.status_code == status, (auth, method, target)
    assert tree(site) == before
    # Anonymous clients may read what the writer put there.
    fetched = requests.get(f"{url}/incoming/w.bin", timeout=10)
    assert (fetched.status_code, fetched.content) == (200, data)
