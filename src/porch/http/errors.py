"""Errors that carry the HTTP status to answer with.

An ``HTTPError`` is raised where a fault is found (a bad path, a missing file, a limit crossed)
and turned into a response in exactly one place: ``App.handle`` for application errors, the
connection for protocol errors. Its ``detail`` is shown to the client, so it must never contain a
server file-system path or anything secret: write it in terms of the URL the client sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus


class HTTPError(Exception):
    """The peer asked for something porch refuses; answer with ``status``.

    ``headers`` are added to the error response (``Allow`` on 405, ``Content-Range`` on 416,
    ``Retry-After`` on 503 ...).
    """

    def __init__(
        self, status: int, detail: str = "", headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.reason = reason_phrase(status)
        self.detail = detail or self.reason
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{status} {self.reason}: {self.detail}")


class ProtocolError(HTTPError):
    """The request bytes themselves are unacceptable; the connection closes after the answer."""


_RFC9110_PHRASES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def reason_phrase(status: int) -> str:
    """The RFC 9110 reason phrase for ``status`` ("Unknown" for unregistered codes).

    Python 3.11's ``HTTPStatus`` still has the RFC 7231 names for a few codes; the newer ones
    win here.
    """
    if status in _RFC9110_PHRASES:
        return _RFC9110_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
