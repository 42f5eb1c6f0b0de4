"""The trash (``--trash DIR``): what overwrites and deletions take away, kept for undo.

Theory of operation. Each trashed item gets its own directory ``DIR/ID/`` holding the item
itself (``item``: a file, folder or link, exactly as it was) and ``meta.json`` (its URL path,
when, and whether it was deleted or overwritten). IDs are a nanosecond timestamp and random
hex, so they sort by age and cannot be guessed. Taking an item is one ``rename`` when DIR is
on the same file system as ROOT, else a staged, verified copy and then removal
(``porch.app.dav.fsops.move``); an overwritten file is hard-linked (or copied) into the trash
before the new file replaces it, so readers never see the name missing. ``meta.json`` is
written last, so an entry without it (a kill mid-take) is ignored by the listing, and nothing
left in ROOT was lost.

Endpoints, for the page: ``GET /-/trash/`` lists (JSON) the items the caller may write at their
original path, newest first; ``POST /-/trash/restore`` with form body ``id=ID`` puts one back
(201; 409 when something now has that name). All the file work runs in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import re
import secrets
import shutil
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from porch.app.auth import Principal
from porch.app.dav import fsops
from porch.app.pages import json_response
from porch.app.paths import confine, url_segments
from porch.app.uploads import same_origin, sync_directory
from porch.http import Headers, HTTPError, Request, Response
from porch.http.auth import Access

TRASH_PATH: Final = "/-/trash/"
RESTORE_PATH: Final = "/-/trash/restore"
TRASH_HEADER: Final = "Porch-Trash-Id"
"""Response header naming the trash entries a request made (comma-separated)."""
_ID = re.compile(r"[0-9a-f]{16}-[0-9a-f]{8}")


@dataclass(frozen=True, slots=True)
class TrashItem:
    """One entry: ``path`` is the URL path (decoded) the item had."""

    id: str
    path: str
    deleted_at: str
    kind: str
    size: int
    is_dir: bool

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def as_json(self) -> dict[str, object]:
        quoted = "/".join(urllib.parse.quote(part) for part in self.path.split("/"))
        return {
            "id": self.id,
            "path": quoted + ("/" if self.is_dir and not quoted.endswith("/") else ""),
            "name": self.name,
            "deleted_at": self.deleted_at,
            "kind": self.kind,
            "size": self.size,
            "is_dir": self.is_dir,
        }


class Trash:
    """The trash directory of one server (absolute and resolved; outside ROOT or hidden)."""

    def __init__(self, directory: Path, root: Path, *, hidden: bool) -> None:
        self.directory = str(directory)
        self.root = root
        self.hidden = hidden
        os.makedirs(self.directory, mode=0o700, exist_ok=True)

    # -- taking (synchronous: called from worker threads) ---------------------------------

    def _new_entry(self) -> tuple[str, str]:
        entry_id = f"{time.time_ns():016x}-{secrets.token_hex(4)}"
        entry = os.path.join(self.directory, entry_id)
        os.mkdir(entry, 0o700)
        return entry_id, entry

    def _finish(self, entry: str, entry_id: str, url_path: str, kind: str) -> str:
        item = os.path.join(entry, "item")
        info = os.lstat(item)
        meta = {
            "path": url_path,
            "deleted_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "kind": kind,
            "size": fsops.tree_size(item),
            "is_dir": os.path.isdir(item) and not os.path.islink(item),
            "mode": info.st_mode,
        }
        temp = os.path.join(entry, "meta.json.tmp")
        with open(temp, "w", encoding="utf-8") as file:
            json.dump(meta, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, os.path.join(entry, "meta.json"))
        sync_directory(entry)
        return entry_id

    def take(self, real: str, url_path: str, kind: str = "deleted") -> str:
        """Move ``real`` (not followed if a link) into the trash; returns the entry's id."""
        entry_id, entry = self._new_entry()
        try:
            fsops.move(real, os.path.join(entry, "item"))
        except BaseException:
            with contextlib.suppress(OSError):
                shutil.rmtree(entry)
            raise
        return self._finish(entry, entry_id, url_path, kind)

    def keep(self, real: str, url_path: str) -> str:
        """Keep a copy of the file ``real`` that is about to be replaced (it stays in place):
        a hard link when the trash is on the same file system, else a verified copy."""
        entry_id, entry = self._new_entry()
        item = os.path.join(entry, "item")
        try:
            try:
                os.link(real, item, follow_symlinks=False)
            except OSError:
                fsops.copy(real, item, recursive=True)
        except BaseException:
            with contextlib.suppress(OSError):
                shutil.rmtree(entry)
            raise
        return self._finish(entry, entry_id, url_path, "overwritten")

    # -- reading and restoring ------------------------------------------------------------

    def items(self) -> list[TrashItem]:
        """Every complete entry, newest first."""
        found: list[TrashItem] = []
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        for name in names:
            if not _ID.fullmatch(name):
                continue
            try:
                with open(os.path.join(self.directory, name, "meta.json"), encoding="utf-8") as f:
                    meta = json.load(f)
                found.append(
                    TrashItem(
                        name,
                        str(meta["path"]),
                        str(meta["deleted_at"]),
                        str(meta["kind"]),
                        int(meta["size"]),
                        bool(meta["is_dir"]),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
        found.sort(key=lambda item: item.id, reverse=True)
        return found

    def item(self, entry_id: str) -> TrashItem:
        """The entry ``entry_id``; 404 when there is none."""
        if not _ID.fullmatch(entry_id):
            raise HTTPError(404, "no such item in the trash")
        for item in self.items():
            if item.id == entry_id:
                return item
        raise HTTPError(404, "no such item in the trash")

    def restore(self, item: TrashItem) -> None:
        """Put ``item`` back at its URL path: 409 when that name is taken or its folder is
        gone; the path is confined like any other (a folder replaced by a link out of ROOT
        gives 404)."""
        names = url_segments(item.path, hidden=self.hidden)
        if not names:
            raise HTTPError(409, "the served directory itself cannot be restored")
        parent = confine(self.root, os.path.join(self.root, *names[:-1]), hidden=self.hidden)
        if not os.path.isdir(parent):
            raise HTTPError(409, "the folder it was in no longer exists")
        target = os.path.join(parent, names[-1])
        source = os.path.join(self.directory, item.id, "item")
        try:
            fsops.move(source, target)
        except FileExistsError:
            raise HTTPError(409, "something with that name exists now") from None
        except OSError as error:
            raise fsops.disk_error(error, "restore it") from error
        shutil.rmtree(os.path.join(self.directory, item.id), ignore_errors=True)

    # -- the endpoints ----------------------------------------------------------------------

    async def respond(self, request: Request, who: Principal) -> Response:
        """Answer ``GET /-/trash/`` or ``POST /-/trash/restore`` for ``who``."""
        if request.path == TRASH_PATH and request.method in ("GET", "HEAD"):
            items = await asyncio.to_thread(self.items)
            visible = [i.as_json() for i in items if who.tree_level(i.path) >= Access.WRITE]
            response = json_response(200, {"items": visible})
            response.headers.set("Cache-Control", "no-store")
            return response
        if request.path == RESTORE_PATH and request.method == "POST":
            if not same_origin(request):
                raise HTTPError(403, "requests from another site are refused")
            body = await request.read_body(4096)
            fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            entry_id = (fields.get("id") or [""])[0]
            item = await asyncio.to_thread(self.item, entry_id)
            who.require(item.path, Access.WRITE)
            await asyncio.to_thread(self.restore, item)
            location = item.as_json()["path"]
            return json_response(201, item.as_json(), Headers([("Location", str(location))]))
        allow = "GET, HEAD" if request.path == TRASH_PATH else "POST"
        if request.path not in (TRASH_PATH, RESTORE_PATH):
            raise HTTPError(404, "not found")
        raise HTTPError(405, f"{request.method} is not allowed here", {"Allow": allow})
