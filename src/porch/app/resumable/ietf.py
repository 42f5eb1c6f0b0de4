"""The IETF draft "Resumable Uploads for HTTP" (draft-ietf-httpbis-resumable-upload; porch
follows draft 15, November 2026): creation by any POST/PUT carrying ``Upload-Complete``, the
``104 (Upload Resumption Supported)`` interim response with the upload's URL, offset
retrieval by HEAD, appending by PATCH (``application/partial-upload``), cancellation by
DELETE, and ``Upload-Limit``.

A request that completes the upload gets what the same plain upload would have got (201 with
the file's summary, or 204 for a PUT that replaced a file) plus ``Upload-Complete: ?1``.
"""

from __future__ import annotations

from porch.app.resumable import Resumable
from porch.app.resumable import fields as f
from porch.app.resumable.store import Record
from porch.http import Headers, HTTPError, Request, Response


def _limit_headers(resumable: Resumable, record: Record | None) -> dict[str, str]:
    return {"Upload-Limit": f.limit_field(resumable.limits(record))}


def _lengths(request: Request, offset: int, complete: bool) -> int | None:
    """The length the request declares (``Upload-Length``, or offset + Content-Length with
    ``Upload-Complete: ?1``); 400 when the two disagree."""
    declared = f.sf_integer(request.headers.get("upload-length"))
    implied = None
    if complete and request.content_length is not None:
        implied = offset + request.content_length
    if declared is not None and implied is not None and declared != implied:
        raise HTTPError(400, "Upload-Length and Content-Length disagree (inconsistent length)")
    return declared if declared is not None else implied


async def create(resumable: Resumable, request: Request, user: str | None) -> Response:
    """POST/PUT with ``Upload-Complete``: to a directory URL (name from Content-Disposition
    or Upload-Metadata; never overwrites) or to ``/NAME`` (POST: 409 when it exists; PUT:
    replaces)."""
    headers = request.headers
    complete = bool(f.sf_boolean(headers.get("upload-complete")))
    uploads = resumable.uploads
    if request.path.endswith("/"):
        if request.method != "POST":
            raise HTTPError(405, "PUT a file to /NAME, or POST to a directory URL")
        uploads._form_target(request)  # a directory URL, or 400/404
        given = f.disposition_name(headers.get("content-disposition"))
        if given is None:
            given = f.metadata_name(f.parse_metadata(headers.get("upload-metadata")))
        if given is None:
            raise HTTPError(400, "name the file in Content-Disposition (filename=...)")
        overwrite = False
    else:
        given = uploads.raw_name(request.path)
        overwrite = request.method == "PUT"
    name = resumable.check_target(given, overwrite)
    length = _lengths(request, 0, complete)
    resumable.check_length(length, _limit_headers(resumable, None))
    record = await resumable.new_record(
        request, user, name=name, length=length, overwrite=overwrite, protocol="ietf"
    )
    location = resumable.url(request, record)
    interim = [("Location", location), *_limit_headers(resumable, record).items()]
    version = headers.get("upload-draft-interop-version")
    if version is not None:
        interim.append(("Upload-Draft-Interop-Version", version))
    await request.send_informational(104, interim)  # the upload's URL, before the body
    response = await _append(resumable, request, record, complete)
    if not complete:
        response.status = 201
        response.headers.set("Location", location)
    return response


async def resource(resumable: Resumable, request: Request, record: Record) -> Response:
    """HEAD, PATCH and DELETE on ``/-/uploads/ID`` in the draft's terms."""
    if request.method == "HEAD":
        return _head(resumable, await resumable.store.reload(record))
    if request.method == "DELETE":
        await resumable.store.terminate(record.id)
        return Response(204, Headers())
    kind = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if kind not in ("", f.IETF_CONTENT_TYPE):
        raise HTTPError(415, f"append with Content-Type: {f.IETF_CONTENT_TYPE}")
    offset = f.sf_integer(request.headers.get("upload-offset"))
    complete = f.sf_boolean(request.headers.get("upload-complete"))
    if offset is None or complete is None:
        raise HTTPError(400, "an append needs Upload-Offset and Upload-Complete")
    if record.complete:
        raise HTTPError(400, "the upload is already complete (completed upload)")
    return await _append(resumable, request, record, complete, offset)


def _head(resumable: Resumable, record: Record) -> Response:
    headers = Headers([("Cache-Control", "no-store")])
    offset = record.length if record.complete and record.length is not None else record.offset
    headers.set("Upload-Offset", str(offset))
    headers.set("Upload-Complete", f.sf_bool_text(record.complete))
    if record.length is not None:
        headers.set("Upload-Length", str(record.length))
    headers.set("Upload-Limit", f.limit_field(resumable.limits(record)))
    return Response(204, headers)


async def _append(
    resumable: Resumable, request: Request, record: Record, complete: bool, offset: int = 0
) -> Response:
    async with resumable.store.writer(record) as writer:
        if record.complete:
            raise HTTPError(400, "the upload is already complete (completed upload)")
        if offset != record.offset:
            raise HTTPError(
                409,
                f"the upload is at offset {record.offset}, not {offset} (mismatching offset)",
                {"Upload-Offset": str(record.offset), "Upload-Complete": "?0"},
            )
        length = _lengths(request, offset, complete)
        if length is not None:
            if record.length is not None and length != record.length:
                raise HTTPError(400, "the upload's length cannot change (inconsistent length)")
            if length < record.offset:
                raise HTTPError(400, "the length is below what was uploaded already")
            resumable.check_length(length, _limit_headers(resumable, record))
            record.length = length
        limit = record.length if record.length is not None else resumable.max_size
        await resumable.receive(request, writer, limit=limit, progress=True)
        if not complete:
            headers = Headers([("Upload-Complete", "?0"), ("Upload-Offset", str(record.offset))])
            headers.set("Upload-Limit", f.limit_field(resumable.limits(record)))
            return Response(204, headers)
        if record.length is not None and record.offset != record.length:
            raise HTTPError(400, "the upload ended before its declared length")
        record.length = record.offset
        staged, created = await resumable.complete(record)
    response = resumable.uploads.created(request, staged) if created else Response(204)
    response.headers.set("Upload-Complete", "?1")
    response.headers.set("Upload-Offset", str(record.length))
    return response
