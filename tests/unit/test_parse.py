"""The pure request-head rules: the chapter's parse_request, parse_target, check_head."""

from __future__ import annotations

import pytest

from porch.http import Headers, HTTPError, ProtocolError, check_head, parse_query, parse_target
from porch.http.parse import parse_request


def test_parse_request_returns_the_chapter_shape() -> None:
    lines = [
        "GET /docs/index.html?x=1 HTTP/1.1\r\n",
        "Host: example.org\r\n",
        "Accept: text/html\r\n",
        "accept: application/json\r\n",
        "User-Agent:  curl/8.0 \r\n",
        "\r\n",
    ]
    assert parse_request(lines) == {
        "method": "GET",
        "url": "/docs/index.html?x=1",
        "version": "HTTP/1.1",
        "headers": {
            "host": ["example.org"],
            "accept": ["text/html", "application/json"],
            "user-agent": ["curl/8.0"],
        },
    }


def test_parse_request_without_headers_or_final_blank_line() -> None:
    result = parse_request(["GET / HTTP/1.0"])
    assert result["method"] == "GET"
    assert result["headers"] == {}


def test_parse_request_keeps_colons_in_values() -> None:
    result = parse_request(["GET / HTTP/1.1", "Host: localhost:8000"])
    assert result["headers"] == {"host": ["localhost:8000"]}


@pytest.mark.parametrize(
    ("lines", "complaint"),
    [
        ([], "empty request"),
        (["", ""], "empty request"),
        (["GET /"], "METHOD URL VERSION"),
        (["GET  / HTTP/1.1"], "METHOD URL VERSION"),
        (["GET / HTTP/1.1 extra"], "METHOD URL VERSION"),
        (["G(T / HTTP/1.1"], "method is not a token"),
        (["GET / HTTP/11"], "version"),
        (["GET / http/1.1"], "version"),
        (["GET / HTTP/1.1", "Host example.org"], "without a colon"),
        (["GET / HTTP/1.1", "Host : example.org"], "header name is not a token"),
        (["GET / HTTP/1.1", ": empty-name"], "header name is not a token"),
        (["GET / HTTP/1.1", "X-A: 1", " folded"], "obsolete line folding"),
        (["GET / HTTP/1.1", "X-A: 1", "", "X-B: 2"], "empty line inside"),
    ],
)
def test_parse_request_names_what_is_wrong(lines: list[str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_request(lines)


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [
        ("/", "/", ""),
        ("/a/b.txt", "/a/b.txt", ""),
        ("/a%20b.txt?x=1&y", "/a b.txt", "x=1&y"),
        ("/caf%C3%A9", "/café", ""),
        ("/%2e%2e/x", "/../x", ""),  # decoded; paths.resolve refuses the dot-segment
        ("//double", "//double", ""),
        ("/q?a=%2f", "/q", "a=%2f"),  # the query is left raw
    ],
)
def test_parse_target_decodes(target: str, path: str, query: str) -> None:
    assert parse_target(target) == (path, query)


@pytest.mark.parametrize(
    "target",
    [
        "http://example.org/a",  # absolute-form
        "example.org:443",  # authority-form
        "*",  # asterisk-form
        "",
        "/a#frag",
        "/a%2fb",
        "/a%2Fb",
        "/a%5cb",
        "/a%5Cb",
        "/a%00b",
        "/%",
        "/a%2",
        "/a%zz",
        "/%ff",  # not UTF-8
        "/%c3",  # truncated UTF-8
        "/%c0%ae%c0%ae",  # overlong dots: invalid UTF-8
        "/a%0ab",  # control character
        "/a%7f",
        "/caf\u00e9",  # raw non-ASCII
    ],
)
def test_parse_target_refuses(target: str) -> None:
    with pytest.raises(HTTPError) as caught:
        parse_target(target)
    assert caught.value.status == 400


def test_parse_query_keeps_repeats_and_blanks() -> None:
    assert parse_query("a=1&a=2&b=&c") == {"a": ["1", "2"], "b": [""], "c": [""]}
    assert parse_query("") == {}


def test_parse_query_limits_the_number_of_fields() -> None:
    assert len(parse_query("&".join(f"k{i}=v" for i in range(5)), max_fields=5)) == 5
    with pytest.raises(HTTPError) as caught:
        parse_query("&".join(f"k{i}=v" for i in range(6)), max_fields=5)
    assert caught.value.status == 400


def _headers(*pairs: tuple[str, str]) -> Headers:
    return Headers(list(pairs))


@pytest.mark.parametrize(
    ("method", "version", "headers"),
    [
        ("GET", "1.1", _headers(("Host", "x"))),
        ("GET", "1.0", _headers()),
        ("POST", "1.1", _headers(("Host", "x"), ("Content-Length", "10"))),
        ("POST", "1.1", _headers(("Host", "x"), ("Transfer-Encoding", "chunked"))),
        ("PATCH", "1.1", _headers(("host", "x"))),
    ],
)
def test_check_head_accepts(method: str, version: str, headers: Headers) -> None:
    check_head(method, version, headers)


@pytest.mark.parametrize(
    ("method", "version", "headers", "status", "protocol"),
    [
        ("GET", "1.1", _headers(), 400, True),
        ("GET", "1.1", _headers(("Host", "a"), ("Host", "b")), 400, True),
        (
            "POST",
            "1.1",
            _headers(("Host", "x"), ("Content-Length", "3"), ("Transfer-Encoding", "chunked")),
            400,
            True,
        ),
        (
            "POST",
            "1.1",
            _headers(("Host", "x"), ("Content-Length", "3"), ("Content-Length", "4")),
            400,
            True,
        ),
        ("POST", "1.1", _headers(("Host", "x"), ("Content-Length", "-1")), 400, True),
        ("POST", "1.1", _headers(("Host", "x"), ("Content-Length", "3, 3")), 400, True),
        ("POST", "1.1", _headers(("Host", "x"), ("Transfer-Encoding", "gzip")), 501, True),
        (
            "POST",
            "1.1",
            _headers(("Host", "x"), ("Transfer-Encoding", "gzip, chunked")),
            501,
            True,
        ),
        ("BREW", "1.1", _headers(("Host", "x")), 501, False),
    ],
)
def test_check_head_refuses(
    method: str, version: str, headers: Headers, status: int, protocol: bool
) -> None:
    with pytest.raises(HTTPError) as caught:
        check_head(method, version, headers)
    assert caught.value.status == status
    assert isinstance(caught.value, ProtocolError) is protocol
