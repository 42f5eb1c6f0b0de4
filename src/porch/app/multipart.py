"""Streaming ``multipart/form-data`` parsing, as async events over a request body.

Theory of operation. python-multipart's ``MultipartParser`` is push-based and synchronous: each
``write(chunk)`` fires callbacks (part begins, header bytes, part data slices, part ends). Saving
a part needs ``await`` (writes go to a worker thread), which a callback cannot do, so the
callbacks only append events to a list, and ``form_parts`` drains that list after every chunk.
At most one body chunk's worth of events is held at a time, so memory stays bounded however
large the parts are: the body is never assembled.

python-multipart was chosen over streaming-form-data by measurement (bench/multipart_parsers.py:
both parse a 200 MiB file part at over 4 GiB/s on this machine, far above disk or network speed)
and by shape: it reports every part with its raw headers, while streaming-form-data drops parts
whose field name was not registered in advance, and porch accepts any field name (``curl -F
anything=@file``). It is also the parser Starlette and FastAPI ship with.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from porch.http import HTTPError

MAX_PART_HEADERS = 16
MAX_PART_HEADER_BYTES = 8 * 1024


@dataclass(slots=True)
class PartStart:
    """A part's head: its form field name and, for a file part, the file name as sent.

    ``filename`` is None for an ordinary form field and may be ``""`` for a file input that
    was left empty; it is the client's text, not yet checked as a name.
    """

    field: str
    filename: str | None
    content_type: str | None


@dataclass(slots=True)
class PartData:
    data: bytes


@dataclass(slots=True)
class PartEnd:
    pass


FormEvent = PartStart | PartData | PartEnd


def form_boundary(content_type: str | None) -> bytes | None:
    """The boundary of a ``multipart/form-data`` Content-Type; None for any other type.

    Raises ``HTTPError(400)`` for multipart/form-data without a usable boundary.
    """
    if content_type is None:
        return None
    media, params = parse_options_header(content_type)
    if media.lower() != b"multipart/form-data":
        return None
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 70:
        raise HTTPError(400, "multipart/form-data without a valid boundary")
    return boundary


_PARAMETER = re.compile(r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)\s*')
_QUOTED_PAIR = re.compile(r'\\([\\"])')


def parse_disposition(value: str) -> tuple[str, dict[str, str]]:
    """A Content-Disposition value as (lower-cased type, parameters by lower-cased name).

    Written here rather than taken from python-multipart because that one quietly cuts a
    Windows path (``C:\\dir\\x.txt``) down to its last part, while porch refuses a file name
    with a directory in it. Quoted values lose their quotes, and ``\\"`` and ``\\\\`` become
    ``"`` and ``\\``; any other backslash stays (browsers send backslashes unescaped, and
    percent-encode ``"``, CR and LF as ``%22``, ``%0D``, ``%0A``, which are kept as sent: a
    name is never decoded into a different one). ``filename*=UTF-8''...`` (RFC 5987) wins
    over ``filename``. The first occurrence of a parameter counts.
    """
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAMETER.finditer(";" + rest):
        name, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1])
        params.setdefault(name, raw)
    extended = params.pop("filename*", None)
    if extended is not None:
        charset, _, encoded = extended.partition("''")
        if charset.lower() == "utf-8":
            params["filename"] = urllib.parse.unquote(encoded, errors="strict")
    return kind.strip().lower(), params


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, f"the form's {what} is not valid UTF-8") from None


class _Collector:
    """The parser's callbacks; they only record events (see the module comment)."""

    def __init__(self) -> None:
        self.events: list[FormEvent] = []
        self.ended = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._field = bytearray()
        self._value = bytearray()

    def on_part_begin(self) -> None:
        self._headers = []

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers.append((bytes(self._field).lower(), bytes(self._value)))
        self._field.clear()
        self._value.clear()

    def on_headers_finished(self) -> None:
        disposition = next((v for k, v in self._headers if k == b"content-disposition"), None)
        if disposition is None:
            raise HTTPError(400, "a form part has no Content-Disposition")
        try:
            kind, params = parse_disposition(_text(disposition, "Content-Disposition"))
        except UnicodeDecodeError:
            raise HTTPError(400, "the form's file name is not valid UTF-8") from None
        if kind != "form-data":
            raise HTTPError(400, "a form part is not form-data")
        content_type = next((v for k, v in self._headers if k == b"content-type"), None)
        self.events.append(
            PartStart(
                field=params.get("name", ""),
                filename=params.get("filename"),
                content_type=None if content_type is None else content_type.decode("latin-1"),
            )
        )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self.events.append(PartData(data[start:end]))

    def on_part_end(self) -> None:
        self.events.append(PartEnd())

    def on_end(self) -> None:
        self.ended = True


async def form_parts(body: AsyncIterable[bytes], boundary: bytes) -> AsyncIterator[FormEvent]:
    """The parts of a ``multipart/form-data`` body as events, while the body streams in.

    Every part yields ``PartStart``, zero or more ``PartData`` and ``PartEnd``, in order.
    Raises ``HTTPError(400)`` when the body is not well-formed multipart or ends before the
    closing boundary, and passes on the body's own errors (400, 408, 413).
    """
    collector = _Collector()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": collector.on_part_begin,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_end": collector.on_end,
        },
        max_header_count=MAX_PART_HEADERS,
        max_header_size=MAX_PART_HEADER_BYTES,
    )
    async for chunk in body:
        try:
            parser.write(chunk)
        except MultipartParseError as error:
            raise HTTPError(400, "the form body is not valid multipart/form-data") from error
        events, collector.events = collector.events, []
        for event in events:
            yield event
    if not collector.ended:
        raise HTTPError(400, "the form body ended before its closing boundary")
