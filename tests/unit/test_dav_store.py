"""The SQLite store of locks and dead properties: shared by connections (workers), exact paths."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from porch.app.dav.store import DavStore, LockConflict
from porch.app.dav.xml import PropChange

Z = "urn:z"


def test_two_connections_share_locks_and_exclude_each_other(tmp_path: Path) -> None:
    first, second = DavStore(tmp_path), DavStore(tmp_path)  # as two --workers would
    held = first.lock("/a", "infinity", "exclusive", "", 60, "ann")
    with pytest.raises(LockConflict):
        second.lock("/a/b", "0", "shared", "", 60, "bob")
    assert [k.token for k in second.locks_affecting("/a/b")] == [held.token]
    assert second.unlock(held.token) is not None
    shared = [s.lock("/a", "0", "shared", "", 60, "") for s in (first, second)]
    assert {k.token for k in first.locks_affecting("/a")} == {k.token for k in shared}


def test_expired_locks_are_ignored_and_refresh_extends(tmp_path: Path) -> None:
    store = DavStore(tmp_path)
    lock = store.lock("/f", "0", "exclusive", "", 1, "")
    refreshed = store.refresh(lock.token, 30)
    assert refreshed is not None
    assert refreshed.expires > time.time() + 20
    short = store.lock("/g", "0", "exclusive", "", 1, "")
    time.sleep(1.1)
    assert store.locks_affecting("/g") == []
    assert store.refresh(short.token, 30) is None
    store.lock("/g", "0", "exclusive", "", 60, "")  # the expired one no longer conflicts


def test_paths_are_exact_even_with_glob_characters(tmp_path: Path) -> None:
    store = DavStore(tmp_path)
    for path in ("/a[1]", "/a[1]/x", "/a1/x", "/a*", "/ab/x"):
        store.change_properties(path, [PropChange((Z, "p"), f"<p xmlns='{Z}'>{path}</p>")])
    store.forget("/a[1]")
    store.forget("/a*")
    left = store.properties_within("/", members=True)
    assert sorted(left) == ["/a1/x", "/ab/x"]
    store.copy_properties("/ab", "/moved", True)
    assert sorted(store.properties_within("/", members=True)) == ["/a1/x", "/moved/x"]


def test_survives_reopening(tmp_path: Path) -> None:
    store = DavStore(tmp_path)
    store.change_properties("/f", [PropChange((Z, "p"), f"<p xmlns='{Z}'>v</p>")])
    token = store.lock("/f", "0", "exclusive", "<owner/>", 60, "ann").token
    store.close()
    again = DavStore(tmp_path)
    assert (Z, "p") in again.properties_within("/f", members=False)["/f"]
    assert [k.token for k in again.locks_affecting("/f")] == [token]
