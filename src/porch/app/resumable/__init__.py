"""Resumable uploads: tus 1.0.0 and the IETF draft "Resumable Uploads for HTTP".

Theory of operation. Both protocols share one store of partial uploads (porch.app.resumable.
store) and one set of rules, those of every porch upload (porch.app.uploads): the same name
checks, the same grants, ``--max-upload-size`` (413, refused at creation when the length is
declared), 507 when the disk cannot hold the declared length, and the POST/PUT overwrite
policy applied when the upload completes, through the same staged, fsynced, renamed landing.

URLs. An upload is *created* at the URL a plain upload goes to: a directory URL (where the
page's form posts; the name then comes from tus ``Upload-Metadata`` ``filename``/``name`` or
an IETF ``Content-Disposition``), or, for the IETF draft, also ``/NAME`` (POST: no overwrite;
PUT: replace). The upload resource itself lives under porch's reserved prefix,
``/-/uploads/ID``: HEAD (offset), PATCH (append), DELETE (cancel), OPTIONS.

Which protocol: a request with ``Tus-Resumable`` speaks tus; a POST/PUT with a valid
``Upload-Complete`` creates an IETF upload; any other request to ``/-/uploads/ID`` is answered
in the draft's terms. An upload created by one may be continued by the other.

Access. ``App.guarded`` asks ``guard_target`` which URL path a request acts on: the request's
own path for a creation, and for ``/-/uploads/ID`` the path its creation needed (so a user
with ``write@/incoming`` can finish what they began there, and nobody else can). The creating
user is recorded too: another account gets 404, as for an unknown ID.
"""

from __future__ import annotations

import asyncio
import os
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from typing import Final

from porch.app.resumable import fields
from porch.app.resumable.fields import TUS_VERSION
from porch.app.resumable.store import COMMIT_INTERVAL, Record, Store, Writer, free_bytes
from porch.app.state import StateDir, default_state_dir
from porch.app.uploads import WRITE_BATCH, StagedFile, Uploads, same_origin
from porch.config import Config
from porch.http import Headers, HTTPError, Request, Response
from porch.http.auth import Access
from porch.http.dates import format_http_date

UPLOADS_PREFIX: Final = "/-/uploads/"
"""Where upload resources live (porch's reserved namespace)."""
RESOURCE_METHODS: Final = ("HEAD", "PATCH", "DELETE", "OPTIONS")


class Resumable:
    """The resumable-upload front: which requests are its, and the common operations."""

    def __init__(self, config: Config, uploads: Uploads) -> None:
        state = StateDir(config.state_dir or default_state_dir(config.root), config.root)
        self.store = Store(state.sub("uploads"), config.resumable_expiry)
        self.store.sweep()
        self.uploads = uploads
        # Called once per completed upload (the App counts it for /-/metrics, issue 16).
        self.on_complete: Callable[[], None] | None = None
        self.max_size = config.max_upload_size
        self.max_partials = config.max_partial_uploads
        self.expiry = config.resumable_expiry

    # -- what is ours, and who may ---------------------------------------------------------

    def claims(self, request: Request) -> bool:
        """True for requests this module answers (the module docstring lists them)."""
        if request.path.startswith(UPLOADS_PREFIX):
            return True
        method = request.method
        headers = request.headers
        if method == "POST" and "tus-resumable" in headers:
            return True
        ietf = fields.sf_boolean(headers.get("upload-complete")) is not None
        if method in ("POST", "PUT") and ietf:
            return form_boundary_absent(request)
        return method == "OPTIONS" and self.is_endpoint(request.path)

    def is_endpoint(self, path: str) -> bool:
        """True for a URL that creates uploads: the upload directory's own URL (any directory
        URL when the upload directory is not served)."""
        base = self.uploads.base_path
        return path == base if base is not None else path.endswith("/")

    def guard_target(self, request: Request) -> tuple[str, Access]:
        """The URL path and level the access rules must grant for ``request``."""
        needed = Access.READ if request.method == "OPTIONS" else Access.WRITE
        if not request.path.startswith(UPLOADS_PREFIX):
            return request.path, needed
        record = self.store.load(request.path[len(UPLOADS_PREFIX) :])
        if record is not None:
            return record.guard_path, needed
        return self.uploads.base_path or "/", needed

    async def handle(self, request: Request, user: str | None) -> Response:
        """Answer a request ``claims`` accepted, for ``user`` (None: anonymous)."""
        from porch.app.resumable import ietf, tus  # the protocols use this module's helpers

        if self.store.sweep_due():
            await asyncio.get_running_loop().run_in_executor(None, self.store.sweep)
        if request.method == "OPTIONS":
            return self.options(request)
        if request.method not in ("HEAD", "GET") and not same_origin(request):
            raise HTTPError(403, "uploads from another site are refused")
        speaks_tus = "tus-resumable" in request.headers
        if not request.path.startswith(UPLOADS_PREFIX):
            if speaks_tus:
                return await tus.create(self, request, user)
            return await ietf.create(self, request, user)
        record = self.store.load(request.path[len(UPLOADS_PREFIX) :])
        if record is None or record.user != user:
            if request.method not in RESOURCE_METHODS:
                raise HTTPError(405, "upload resources take HEAD, PATCH and DELETE", self.allow())
            headers = {"Tus-Resumable": TUS_VERSION} if speaks_tus else {}
            raise HTTPError(404, "no such upload (finished, cancelled or expired)", headers)
        if request.method not in RESOURCE_METHODS:
            raise HTTPError(405, "upload resources take HEAD, PATCH and DELETE", self.allow())
        if speaks_tus:
            return await tus.resource(self, request, record)
        return await ietf.resource(self, request, record)

    def allow(self) -> dict[str, str]:
        return {"Allow": ", ".join(RESOURCE_METHODS)}

    def options(self, request: Request) -> Response:
        """OPTIONS on an endpoint or upload resource: both protocols' discovery headers."""
        headers = Headers()
        if request.path.startswith(UPLOADS_PREFIX):
            headers.set("Allow", ", ".join(RESOURCE_METHODS))
        else:
            headers.set("Allow", "GET, HEAD, POST, PUT, OPTIONS")
        headers.set("Tus-Resumable", TUS_VERSION)
        headers.set("Tus-Version", TUS_VERSION)
        headers.set("Tus-Extension", ",".join(fields.TUS_EXTENSIONS))
        headers.set("Tus-Checksum-Algorithm", ",".join(fields.CHECKSUM_ALGORITHMS))
        if self.max_size is not None:
            headers.set("Tus-Max-Size", str(self.max_size))
        headers.set("Accept-Patch", f"{fields.IETF_CONTENT_TYPE}, {fields.TUS_CONTENT_TYPE}")
        headers.set("Upload-Limit", fields.limit_field(self.limits(None)))
        return Response(204, headers)

    # -- shared operations -----------------------------------------------------------------

    def url(self, request: Request, record: Record) -> str:
        return request.root_path + UPLOADS_PREFIX + record.id

    def limits(self, record: Record | None) -> dict[str, int]:
        """The IETF ``Upload-Limit`` members: max-size, and the time left (max-age)."""
        limits: dict[str, int] = {}
        if self.max_size is not None:
            limits["max-size"] = self.max_size
        if record is None:
            limits["max-age"] = int(self.expiry)
        else:
            limits["max-age"] = max(0, int(record.expires - time.time()))
        return limits

    def expires_field(self, record: Record) -> str:
        return format_http_date(record.expires)

    def check_length(self, length: int | None, headers: dict[str, str] | None = None) -> None:
        """Refuse a declared length over ``--max-upload-size`` (413) or the free disk (507)."""
        if length is None:
            return
        if self.max_size is not None and length > self.max_size:
            raise HTTPError(413, f"uploads are limited to {self.max_size} bytes", headers)
        free = free_bytes(str(self.store.directory))
        same_disk = _same_device(str(self.store.directory), self.uploads.directory)
        if not same_disk:
            free = min(free, free_bytes(self.uploads.directory))
        if length > free:
            raise HTTPError(507, "there is not enough space left for an upload this large")

    def check_target(self, name: str, overwrite: bool) -> str:
        """The checked file name; 409 now when it is taken and will not be overwritten (the
        same check runs again at completion, where it counts)."""
        name = self.uploads._check_name(name)  # the one set of name rules for every upload
        path = os.path.join(self.uploads.directory, name)
        if not overwrite and os.path.lexists(path):
            raise HTTPError(409, "a file with that name exists already")
        if os.path.isdir(path):
            raise HTTPError(409, "a directory has that name")
        return name

    async def new_record(
        self,
        request: Request,
        user: str | None,
        *,
        name: str | None,
        length: int | None,
        overwrite: bool,
        protocol: str,
        partial: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> Record:
        """Create a partial upload (503 when there are ``--max-partial-uploads`` already)."""
        if self.store.count() >= self.max_partials:
            raise HTTPError(
                503,
                f"there are {self.max_partials} unfinished uploads already; try again later",
                {"Retry-After": "60"},
            )
        now = time.time()
        record = Record(
            id=self.store.new_id(),
            name=name,
            length=length,
            guard_path=request.path,
            user=user,
            overwrite=overwrite,
            protocol=protocol,
            created=now,
            expires=now + self.expiry,
            partial=partial,
            metadata=metadata or {},
        )
        # create fsyncs the record and the directory: in a worker thread, off the event loop
        await asyncio.get_running_loop().run_in_executor(None, self.store.create, record)
        return record

    async def receive(
        self,
        request: Request,
        writer: Writer,
        *,
        limit: int | None,
        checksum: tuple[str, bytes] | None = None,
        progress: bool = False,
    ) -> None:
        """Append the request body to the upload, committing as it goes.

        ``limit`` is the most bytes the upload may reach (declared length or the size limit;
        past it: 400 for a declared length, 413 for the size limit). With a ``checksum`` the
        chunk is all or nothing: a mismatch (460) or an interruption leaves the offset where
        it was. Without one, an interrupted body keeps every byte that arrived: the client
        resumes from there. With ``progress`` (the IETF draft) each commit within the request
        is announced by a ``104`` interim response carrying the durable ``Upload-Offset``.
        """
        record = writer.record
        hasher = fields.new_hash(checksum[0]) if checksum is not None else None
        pending: list[bytes] = []
        pending_size = 0
        try:
            async for chunk in _body(request):
                if limit is not None and writer.offset + pending_size + len(chunk) > limit:
                    if record.length is not None and limit == record.length:
                        raise HTTPError(400, "the upload is longer than its declared length")
                    raise HTTPError(413, f"uploads are limited to {self.max_size} bytes")
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= WRITE_BATCH:
                    await writer.append(b"".join(pending), hasher)
                    pending, pending_size = [], 0
                    if hasher is None and writer.uncommitted >= COMMIT_INTERVAL:
                        await writer.commit()
                        if progress:
                            offset = [("Upload-Offset", str(record.offset))]
                            await request.send_informational(104, offset)
            if pending:
                await writer.append(b"".join(pending), hasher)
                pending = []
        except (HTTPError, asyncio.CancelledError, ConnectionError):
            if hasher is not None:
                await writer.rewind()
            else:
                if pending:  # what arrived before the failure is kept
                    await writer.append(b"".join(pending))
                await writer.commit()
            raise
        if checksum is not None and hasher is not None and hasher.digest() != checksum[1]:
            await writer.rewind()
            raise HTTPError(460, "the chunk does not match its Upload-Checksum; it was not stored")
        self.store.renew(record)
        if not await writer.commit():  # nothing new, but the expiry moved
            await asyncio.get_running_loop().run_in_executor(None, self.store.save, record)

    async def complete(self, record: Record) -> tuple[StagedFile, bool]:
        """Land a finished upload as its file (the upload's own rules); True when created.

        The upload resource stays (complete, without data) until it expires, so a client
        that missed the last response can still learn by HEAD that it is done.
        """
        assert record.name is not None
        uploads = self.uploads
        staged = StagedFile(uploads.directory, record.name, uploads.mode, digest=True)
        try:
            digest = self.store.digest(record.id, record.offset)
            await staged.fill_from(self.store.data_path(record.id), digest)
            created = await uploads.land(staged, overwrite=record.overwrite)
        except HTTPError:
            self.store.remove(record.id)
            raise
        finally:
            staged.discard()
        record.complete = True
        record.location = uploads.location(record.name)
        if self.on_complete is not None:
            self.on_complete()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.store.save, record)
        self.store.drop_data(record.id)
        return staged, created

    def find(self, request: Request, url: str, user: str | None) -> Record:
        """The upload a URL names (for tus concatenation); 400 when there is none."""
        path = fields.url_path(url)
        prefix = request.root_path + UPLOADS_PREFIX
        record = self.store.load(path[len(prefix) :]) if path.startswith(prefix) else None
        if record is None or record.user != user:
            raise HTTPError(400, f"no such upload to concatenate: {urllib.parse.quote(path)}")
        return record


def form_boundary_absent(request: Request) -> bool:
    """A multipart form is never a resumable upload (the form path handles it)."""
    return "multipart/form-data" not in (request.headers.get("content-type") or "").lower()


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The body, or nothing when the request declares none (an empty creation request)."""
    if request.content_length is None and not request.chunked:
        return
    async for chunk in request.body:
        yield chunk


def _same_device(first: str, second: str) -> bool:
    return os.stat(first).st_dev == os.stat(second).st_dev
