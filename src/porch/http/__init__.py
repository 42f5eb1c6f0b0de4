"""``porch.http``: the protocol, sans-IO.

Requests, responses, headers, errors and small pure functions. Nothing here touches sockets,
files or asyncio; ``porch.app`` and ``porch.server`` build on it.
"""

from __future__ import annotations

from porch.http.dates import format_http_date, parse_http_date
from porch.http.errors import HTTPError, ProtocolError, ServerFault, reason_phrase
from porch.http.headers import Headers
from porch.http.negotiation import negotiate, parse_accept
from porch.http.parse import (
    KNOWN_METHODS,
    build_request,
    check_head,
    check_version,
    is_token,
    parse_query,
    parse_request,
    parse_target,
)
from porch.http.request import InformationalSender, Request
from porch.http.response import (
    Body,
    ErrorPage,
    FileBody,
    Handler,
    Response,
    SizedChunks,
    SizedStream,
    Source,
    plain_error,
    text_response,
)
from porch.http.wire.framing import body_allowed, body_length, status_line

__all__ = [
    "KNOWN_METHODS",
    "Body",
    "ErrorPage",
    "FileBody",
    "HTTPError",
    "Handler",
    "Headers",
    "InformationalSender",
    "ProtocolError",
    "Request",
    "Response",
    "ServerFault",
    "SizedChunks",
    "SizedStream",
    "Source",
    "body_allowed",
    "body_length",
    "build_request",
    "check_head",
    "check_version",
    "format_http_date",
    "is_token",
    "negotiate",
    "parse_accept",
    "parse_http_date",
    "parse_query",
    "parse_request",
    "parse_target",
    "plain_error",
    "reason_phrase",
    "status_line",
    "text_response",
]
