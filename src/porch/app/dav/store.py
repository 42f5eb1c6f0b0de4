"""Locks and dead properties in SQLite, in the state directory, shared by every worker.

Theory of operation. One database file (``dav-v1.sqlite3`` under ``StateDir.sub("dav")``) in WAL
mode, so readers never wait for a writer and each ``--workers`` process opens its own
connection; ``busy_timeout`` makes a writer wait for another process's short transaction
instead of failing. Every method here is synchronous and quick (indexed lookups, small
transactions) and is called through ``asyncio.to_thread`` by the WebDAV methods, so the event
loop never waits on the disk. A connection is used by one thread at a time (a lock guards
it). Lock creation checks for conflicts inside one ``BEGIN IMMEDIATE`` transaction, so two
workers racing for an exclusive lock cannot both get it. Paths are normalised decoded URL
paths (``porch.app.dav.locks.normalise``). Expired locks are ignored by every read and deleted
when a lock is taken.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from porch.app.dav.locks import Lock, conflicts, new_token
from porch.app.dav.xml import PropChange, PropName

_SCHEMA = """
CREATE TABLE IF NOT EXISTS props (
    path TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (path, namespace, name)
);
CREATE TABLE IF NOT EXISTS locks (
    token TEXT PRIMARY KEY, root TEXT NOT NULL, depth TEXT NOT NULL, scope TEXT NOT NULL,
    owner TEXT NOT NULL, timeout INTEGER NOT NULL, expires REAL NOT NULL,
    principal TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS locks_root ON locks (root);
"""


def _below_pattern(path: str) -> str:
    """A GLOB pattern for the paths strictly below ``path`` (GLOB is case-sensitive)."""
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in path.rstrip("/"))
    return escaped + "/*"


def _lock(row: tuple[object, ...]) -> Lock:
    token, root, depth, scope, owner, timeout, expires, principal = row
    return Lock(
        str(token),
        str(root),
        str(depth),
        str(scope),
        str(owner),
        int(timeout),  # type: ignore[call-overload]
        float(expires),  # type: ignore[arg-type]
        str(principal),
    )


class LockConflict(Exception):
    """A new lock overlaps an existing one that excludes it."""

    def __init__(self, lock: Lock) -> None:
        super().__init__(lock.root)
        self.lock = lock


class DavStore:
    """The locks and dead properties of one ROOT (module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "dav-v1.sqlite3"  # the schema version is in the name
        self._guard = threading.Lock()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=10.0
        )
        with self._guard:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._guard:
            self._db.close()

    # -- dead properties ------------------------------------------------------------------

    def properties_within(self, path: str, *, members: bool) -> dict[str, dict[PropName, str]]:
        """The dead properties of ``path`` and, with ``members``, of the paths directly in
        it: path -> (namespace, name) -> value, in one query (PROPFIND Depth 1)."""
        with self._guard:
            if members:
                rows = self._db.execute(
                    "SELECT path, namespace, name, value FROM props WHERE path = ? OR path GLOB ?",
                    (path, _below_pattern(path)),
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT path, namespace, name, value FROM props WHERE path = ?", (path,)
                ).fetchall()
        found: dict[str, dict[PropName, str]] = {}
        for where, namespace, name, value in rows:
            found.setdefault(where, {})[(namespace, name)] = value
        return found

    def change_properties(self, path: str, changes: Iterable[PropChange]) -> None:
        """Apply PROPPATCH instructions in order, all in one transaction."""
        with self._guard:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for change in changes:
                    namespace, name = change.name
                    if change.value is None:
                        self._db.execute(
                            "DELETE FROM props WHERE path = ? AND namespace = ? AND name = ?",
                            (path, namespace, name),
                        )
                    else:
                        self._db.execute(
                            "INSERT OR REPLACE INTO props VALUES (?, ?, ?, ?)",
                            (path, namespace, name, change.value),
                        )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def forget(self, path: str) -> None:
        """Drop the properties and locks of ``path`` and everything below (DELETE, the
        source of a MOVE, a destination that was overwritten)."""
        below = _below_pattern(path)
        with self._guard:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM props WHERE path = ? OR path GLOB ?", (path, below))
            self._db.execute("DELETE FROM locks WHERE root = ? OR root GLOB ?", (path, below))
            self._db.execute("COMMIT")

    def forget_properties(self, path: str) -> None:
        """Drop the dead properties of ``path`` and below (an overwritten destination)."""
        below = _below_pattern(path)
        with self._guard:
            self._db.execute("DELETE FROM props WHERE path = ? OR path GLOB ?", (path, below))

    def copy_properties(self, source: str, destination: str, move: bool) -> None:
        """Give ``destination`` (and its members) the dead properties of ``source`` (and its
        members); a MOVE also removes them from the source (locks never move: RFC 4918 §7.7)."""
        below = _below_pattern(source)
        with self._guard:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute(
                "SELECT path, namespace, name, value FROM props WHERE path = ? OR path GLOB ?",
                (source, below),
            ).fetchall()
            for path, namespace, name, value in rows:
                moved = destination + path[len(source) :] if source != "/" else destination + path
                self._db.execute(
                    "INSERT OR REPLACE INTO props VALUES (?, ?, ?, ?)",
                    (moved, namespace, name, value),
                )
            if move:
                self._db.execute("DELETE FROM props WHERE path = ? OR path GLOB ?", (source, below))
                self._db.execute("DELETE FROM locks WHERE root = ? OR root GLOB ?", (source, below))
            self._db.execute("COMMIT")

    # -- locks ------------------------------------------------------------------------------

    def locks_affecting(self, path: str) -> list[Lock]:
        """Unexpired locks whose range meets ``path``: on it, on an ancestor, or below it."""
        now = time.time()
        ancestors = [path]
        current = path
        while current != "/":
            current = current.rpartition("/")[0] or "/"
            ancestors.append(current)
        marks = ",".join("?" * len(ancestors))
        with self._guard:
            rows = self._db.execute(
                f"SELECT * FROM locks WHERE (root IN ({marks}) OR root GLOB ?) AND expires > ?",  # noqa: S608
                (*ancestors, _below_pattern(path), now),
            ).fetchall()
        return [_lock(row) for row in rows]

    def lock(
        self,
        root: str,
        depth: str,
        scope: str,
        owner: str,
        timeout: int,
        principal: str,
    ) -> Lock:
        """Grant a new lock, or raise ``LockConflict`` with the lock that prevents it."""
        now = time.time()
        with self._guard:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM locks WHERE expires <= ?", (now,))
                rows = self._db.execute("SELECT * FROM locks").fetchall()
                for row in rows:
                    existing = _lock(row)
                    if conflicts(existing, root, depth, scope):
                        raise LockConflict(existing)
                lock = Lock(
                    new_token(),
                    root,
                    depth,
                    scope,
                    owner,
                    timeout,
                    now + timeout,
                    principal,
                )
                self._db.execute(
                    "INSERT INTO locks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        lock.token,
                        lock.root,
                        lock.depth,
                        lock.scope,
                        lock.owner,
                        lock.timeout,
                        lock.expires,
                        lock.principal,
                    ),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return lock

    def refresh(self, token: str, timeout: int) -> Lock | None:
        """Extend the lock ``token`` by ``timeout`` seconds from now; None when it is gone."""
        now = time.time()
        with self._guard:
            self._db.execute(
                "UPDATE locks SET timeout = ?, expires = ? WHERE token = ? AND expires > ?",
                (timeout, now + timeout, token, now),
            )
            row = self._db.execute(
                "SELECT * FROM locks WHERE token = ? AND expires > ?", (token, now)
            ).fetchone()
        return None if row is None else _lock(row)

    def unlock(self, token: str) -> Lock | None:
        """Remove the lock ``token``; returns it, or None when there was no such lock."""
        with self._guard:
            row = self._db.execute("SELECT * FROM locks WHERE token = ?", (token,)).fetchone()
            self._db.execute("DELETE FROM locks WHERE token = ?", (token,))
        return None if row is None else _lock(row)
