"""What a parser failure means: httptools' exceptions as porch's peer errors.

``data_received`` is the one place client bytes enter porch; when llhttp refuses them, this
says what to answer (400, or 501 for a well-formed method porch does not know) or that the
parse was stopped on purpose (``StopParsing``: no more requests are read on the connection).
"""

from __future__ import annotations

import re
from typing import Final

import httptools

from porch.http import HTTPError, ProtocolError, is_token

_METHOD_START: Final = re.compile(rb"([^ \r\n]*) ")


class StopParsing(Exception):
    """Raised in a parser callback once no more requests will be read: the bytes after the
    message that closed the connection are not parsed."""


def refusal(error: httptools.HttpParserError, data: bytes) -> HTTPError | None:
    """The error to answer for a parser failure on ``data``; None when parsing was stopped
    on purpose. A callback's own ``HTTPError`` (a head limit) is passed through; any other
    exception from a callback is a bug and re-raised."""
    if isinstance(error, httptools.HttpParserCallbackError):
        cause = error.__context__
        if isinstance(cause, HTTPError):
            return cause
        if isinstance(cause, StopParsing):
            return None
        raise error
    if isinstance(error, httptools.HttpParserInvalidMethodError):
        match = _METHOD_START.match(data)
        if match and is_token(match.group(1).decode("latin-1")):
            return ProtocolError(501, "this method is not implemented")
        return ProtocolError(400, "malformed request line")
    return ProtocolError(400, f"malformed request: {error}")
