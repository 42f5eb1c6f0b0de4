"""Errors that carry the HTTP status to answer with: one model for every layer.

Theory of operation. An error is raised where a fault is found and turned into a response in
exactly one place per front end (``App.handle`` for what the app finds; the server's request
cycle for what the wire finds), always through the same negotiated error page. Two kinds:

* a **peer error** (``HTTPError`` with a 4xx status): the client asked for something porch
  refuses. ``close`` says whether the connection can be trusted after it: a ``ProtocolError``
  (malformed bytes, a head over the limits, conflicting lengths) closes it, a 404 does not.
* a **server fault** (``ServerFault``, 5xx and 507): porch could not do what was fine to ask
  (a full disk, a file that changed while it was sent, an unexpected exception). The
  traceback goes to the log, never to the client.

``detail`` is shown to the client, so it must never contain a server file-system path or
anything secret: write it in terms of the URL the client sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus


class HTTPError(Exception):
    """Answer with ``status``: a peer error below 500, a server fault from 500.

    ``headers`` are added to the error response (``Allow`` on 405, ``Content-Range`` on 416,
    ``Retry-After`` on 503 ...). ``close``: the connection closes after the answer.
    """

    close = False

    def __init__(
        self, status: int, detail: str = "", headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.reason = reason_phrase(status)
        self.detail = detail or self.reason
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{status} {self.reason}: {self.detail}")

    @property
    def is_server_fault(self) -> bool:
        """True for 5xx: porch's fault, not the client's (logged as such)."""
        return self.status >= 500


class ProtocolError(HTTPError):
    """A peer error in the request bytes themselves; the connection closes after the answer."""

    close = True


class ServerFault(HTTPError):
    """A fault on porch's side (500, 503, 507 ...): the request was fine, porch failed it."""

    def __init__(
        self, status: int = 500, detail: str = "", headers: Mapping[str, str] | None = None
    ) -> None:
        if status < 500:
            raise ValueError(f"a server fault has a 5xx status, not {status}")
        super().__init__(status, detail, headers)


_RFC9110_PHRASES = {
    104: "Upload Resumption Supported",
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def reason_phrase(status: int) -> str:
    """The RFC 9110 reason phrase for ``status`` ("Unknown" for unregistered codes).

    Python 3.11's ``HTTPStatus`` still has the RFC 7231 names for a few codes; the newer ones
    win here (and 104 from the resumable-uploads draft).
    """
    if status in _RFC9110_PHRASES:
        return _RFC9110_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
