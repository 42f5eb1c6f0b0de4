"""tus 1.0.0: creation (with upload, deferred length), HEAD, PATCH, termination, checksum,
expiration and concatenation, on porch's store and upload rules (porch.app.resumable).

Every response, errors included, carries ``Tus-Resumable: 1.0.0``; a client speaking another
version gets 412 with ``Tus-Version``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Iterator

from porch.app.resumable import Resumable
from porch.app.resumable import fields as f
from porch.app.resumable.store import Record
from porch.app.uploads import StagedFile
from porch.http import Headers, HTTPError, Request, Response


def _headers(resumable: Resumable, record: Record | None = None) -> Headers:
    headers = Headers([("Tus-Resumable", f.TUS_VERSION)])
    if record is not None:
        headers.set("Upload-Expires", resumable.expires_field(record))
    headers.set("Cache-Control", "no-store")
    return headers


def _check_version(request: Request) -> None:
    if (request.headers.get("tus-resumable") or "").strip() != f.TUS_VERSION:
        raise HTTPError(412, "only tus 1.0.0 is spoken here", {"Tus-Version": f.TUS_VERSION})


@contextlib.contextmanager
def _tus_errors() -> Iterator[None]:
    try:
        yield
    except HTTPError as error:
        error.headers.setdefault("Tus-Resumable", f.TUS_VERSION)
        raise


async def create(resumable: Resumable, request: Request, user: str | None) -> Response:
    """POST to an upload endpoint: a new upload (or, with ``Upload-Concat: final``, a file
    joined from finished partial uploads)."""
    with _tus_errors():
        _check_version(request)
        resumable.uploads._form_target(request)  # a directory URL, or 400/404
        headers = request.headers
        metadata = f.parse_metadata(headers.get("upload-metadata"))
        concat = f.parse_concat(headers.get("upload-concat"))
        if concat is not None and concat[0] == "final":
            return await _concatenate(resumable, request, user, concat[1], metadata)
        partial = concat is not None
        length = f.tus_integer(headers.get("upload-length"), "Upload-Length")
        deferred = (headers.get("upload-defer-length") or "").strip()
        if deferred and deferred != "1":
            raise HTTPError(400, "Upload-Defer-Length must be 1")
        if (length is None) == (not deferred):
            raise HTTPError(400, "give Upload-Length, or Upload-Defer-Length: 1")
        name: str | None = None
        if not partial:
            given = f.metadata_name(metadata)
            if given is None:
                raise HTTPError(400, "name the file in Upload-Metadata (filename or name)")
            name = resumable.check_target(given, overwrite=False)
        resumable.check_length(length)
        record = await resumable.new_record(
            request,
            user,
            name=name,
            length=length,
            overwrite=False,
            protocol="tus",
            partial=partial,
            metadata=metadata,
        )
        out = _headers(resumable, record)
        out.set("Location", resumable.url(request, record))
        if request.has_body:  # creation-with-upload
            _check_content_type(request)
            try:
                await _append(resumable, request, record, checksum=None)
            except HTTPError as error:
                error.headers.setdefault("Location", resumable.url(request, record))
                raise
            out.set("Upload-Offset", str(record.offset))
            out.set("Upload-Expires", resumable.expires_field(record))
        elif length == 0 and not partial:
            await resumable.complete(record)
            out.set("Upload-Offset", "0")
        return Response(201, out)


def _check_content_type(request: Request) -> None:
    kind = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if kind != f.TUS_CONTENT_TYPE:
        raise HTTPError(415, f"tus data must be sent as {f.TUS_CONTENT_TYPE}")


async def resource(resumable: Resumable, request: Request, record: Record) -> Response:
    """HEAD, PATCH and DELETE on ``/-/uploads/ID`` in tus terms."""
    with _tus_errors():
        _check_version(request)
        if request.method == "HEAD":
            return _head(resumable, await resumable.store.reload(record))
        if request.method == "DELETE":
            await resumable.store.terminate(record.id)
            return Response(204, _headers(resumable))
        return await _patch(resumable, request, record)


def _head(resumable: Resumable, record: Record) -> Response:
    headers = _headers(resumable, record)
    offset = record.length if record.complete and record.length is not None else record.offset
    headers.set("Upload-Offset", str(offset))
    if record.length is None:
        headers.set("Upload-Defer-Length", "1")
    else:
        headers.set("Upload-Length", str(record.length))
    if record.metadata:
        headers.set("Upload-Metadata", _metadata_field(record.metadata))
    if record.partial:
        headers.set("Upload-Concat", "partial")
    elif record.parts:
        headers.set("Upload-Concat", "final;" + " ".join(record.parts))
    return Response(200, headers)


def _metadata_field(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in metadata.items()
    )


async def _patch(resumable: Resumable, request: Request, record: Record) -> Response:
    _check_content_type(request)
    offset = f.tus_integer(request.headers.get("upload-offset"), "Upload-Offset")
    if offset is None:
        raise HTTPError(400, "a PATCH needs Upload-Offset")
    checksum = f.parse_checksum(request.headers.get("upload-checksum"))
    await _append(resumable, request, record, checksum=checksum, offset=offset)
    headers = _headers(resumable, record)
    headers.set("Upload-Offset", str(record.length if record.complete else record.offset))
    return Response(204, headers)


async def _append(
    resumable: Resumable,
    request: Request,
    record: Record,
    *,
    checksum: tuple[str, bytes] | None,
    offset: int = 0,
) -> None:
    """Append the body at ``offset`` (409 when it is not the upload's), then land the file
    when that completed it."""
    async with resumable.store.writer(record) as writer:
        if record.complete:
            raise HTTPError(403, "this upload is finished")
        if offset != record.offset:
            raise HTTPError(
                409,
                f"the upload is at offset {record.offset}, not {offset}",
                {"Upload-Offset": str(record.offset)},
            )
        late_length = f.tus_integer(request.headers.get("upload-length"), "Upload-Length")
        if late_length is not None:
            if record.length is not None and late_length != record.length:
                raise HTTPError(400, "Upload-Length cannot change")
            if late_length < record.offset:
                raise HTTPError(400, "Upload-Length is below what was uploaded already")
            resumable.check_length(late_length)
            record.length = late_length
        limit = record.length
        if limit is None:
            limit = resumable.max_size
        elif request.content_length is not None and offset + request.content_length > limit:
            raise HTTPError(400, "the chunk goes past Upload-Length")
        await resumable.receive(request, writer, limit=limit, checksum=checksum)
        if record.length is not None and record.offset == record.length:
            if record.partial:
                record.complete = True
                await asyncio.get_running_loop().run_in_executor(None, resumable.store.save, record)
            else:
                await resumable.complete(record)


async def _concatenate(
    resumable: Resumable,
    request: Request,
    user: str | None,
    urls: list[str],
    metadata: dict[str, str],
) -> Response:
    """``Upload-Concat: final;URL ...``: join finished partial uploads into one file, now."""
    parts = [resumable.find(request, url, user) for url in urls]
    for part in parts:
        if not part.partial or not part.complete or part.length is None:
            raise HTTPError(400, "every part must be a finished partial upload")
    if len({part.id for part in parts}) != len(parts):
        raise HTTPError(400, "a part is named twice")
    given = f.metadata_name(metadata)
    if given is None:
        raise HTTPError(400, "name the file in Upload-Metadata (filename or name)")
    name = resumable.check_target(given, overwrite=False)
    length = sum(part.length or 0 for part in parts)
    resumable.check_length(length)
    uploads = resumable.uploads
    staged = StagedFile(uploads.directory, name, uploads.mode)
    try:
        for part in parts:
            await staged.copy_from(resumable.store.data_path(part.id))
        await staged.finish()
        await uploads.land(staged, overwrite=False)
    finally:
        staged.discard()
    for part in parts:
        resumable.store.remove(part.id)
    record = await resumable.new_record(
        request,
        user,
        name=name,
        length=length,
        overwrite=False,
        protocol="tus",
        metadata=metadata,
    )
    record.offset = length
    record.complete = True
    record.parts = list(urls)
    record.location = uploads.location(name)
    resumable.store.drop_data(record.id)
    await asyncio.get_running_loop().run_in_executor(None, resumable.store.save, record)
    headers = _headers(resumable, record)
    headers.set("Location", resumable.url(request, record))
    headers.set("Upload-Offset", str(length))
    return Response(201, headers)
