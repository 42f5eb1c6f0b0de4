"""Pure access-control rules: Basic credentials, access levels, grants per path prefix.

Theory of operation. Whether a request may go ahead is decided from three things known before
any file is touched: the method (a read or a write), the decoded URL path, and who is asking
(anonymous or a user whose password was checked by ``porch.app.auth``). Each principal holds
``Grant``s: an access level (``none`` < ``read`` < ``add`` < ``write``; each includes the ones
before it: ``add`` may create new files and folders but change nothing that exists, a drop box;
``write`` may also overwrite, rename, move and delete) and a
URL-path prefix it applies to. The level a principal has on a path is the highest level among
its grants whose prefix contains the path, segment by segment (``/pub`` covers ``/pub`` and
``/pub/a``, never ``/public``: the updog #72 mistake, with URL paths instead of file paths).
Grants only add: there is no "deny" rule to order. Nothing here does I/O or cryptography.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that never change anything on the server; every other method counts as a write."""

WWW_AUTHENTICATE = 'Basic realm="porch", charset="UTF-8"'
"""The challenge sent with every 401 (RFC 7617; charset says credentials are UTF-8)."""


class Access(enum.IntEnum):
    """What a principal may do on a path; a higher level includes the lower ones."""

    NONE = 0
    READ = 1
    ADD = 2
    WRITE = 3


_ACCESS_WORDS = {
    "none": Access.NONE,
    "read": Access.READ,
    "ro": Access.READ,
    "add": Access.ADD,
    "write": Access.WRITE,
    "rw": Access.WRITE,
}


@dataclass(frozen=True, slots=True)
class Grant:
    """``access`` on ``prefix`` and everything below it (``prefix`` has no trailing slash,
    except ``/`` itself)."""

    access: Access
    prefix: str = "/"

    def covers(self, path: str) -> bool:
        """True when the decoded URL ``path`` is ``prefix`` or lies below it."""
        if self.prefix == "/":
            return True
        return path == self.prefix or path.startswith(self.prefix + "/")


@dataclass(frozen=True, slots=True)
class Account:
    """A user: name, password hash (never the password), and grants."""

    name: str
    password_hash: str
    grants: tuple[Grant, ...] = (Grant(Access.READ),)


def method_access(method: str) -> Access:
    """The level a method needs: READ for GET, HEAD, OPTIONS; WRITE for anything else.

    Unknown methods count as writes, so a method added later fails closed.
    """
    return Access.READ if method in READ_METHODS else Access.WRITE


def access_on(grants: tuple[Grant, ...], path: str) -> Access:
    """The highest level ``grants`` give on the decoded URL ``path`` (NONE when none covers it)."""
    return max((g.access for g in grants if g.covers(path)), default=Access.NONE)


def parse_grants(text: str) -> tuple[Grant, ...]:
    """Grants from ``LEVEL[@PREFIX][,LEVEL[@PREFIX]...]``, e.g. ``read,write@/incoming``.

    LEVEL is none, read (ro) or write (rw); PREFIX is a URL path starting with ``/`` (default
    ``/``). Raises ``ValueError`` with a message for the command line on anything else.
    """
    grants: list[Grant] = []
    for part in text.split(","):
        word, at, prefix = part.strip().partition("@")
        access = _ACCESS_WORDS.get(word.strip().lower())
        if access is None:
            raise ValueError(f"unknown access level {word.strip()!r} (none, read or write)")
        prefix = prefix.strip() if at else "/"
        if not prefix.startswith("/"):
            raise ValueError(f"a path prefix must start with /: {prefix!r}")
        if any(segment in (".", "..") for segment in prefix.split("/")):
            raise ValueError(f"a path prefix may not contain . or .. segments: {prefix!r}")
        grants.append(Grant(access, prefix.rstrip("/") or "/"))
    return tuple(grants)


def parse_account(text: str) -> Account:
    """An account from ``USER:HASH`` or ``USER:HASH:GRANTS`` (see ``parse_grants``).

    A user name cannot contain ``:`` (RFC 7617) and a PHC-format hash (Argon2, bcrypt) has
    none either, so the colons split unambiguously. Without GRANTS the user may read
    everything. Raises ``ValueError`` on a malformed line.
    """
    name, sep, rest = text.partition(":")
    password_hash, _, grants = rest.partition(":")
    if not sep or not name or not password_hash:
        raise ValueError("expected USER:HASH or USER:HASH:ACCESS")
    if not password_hash.startswith("$"):
        raise ValueError(
            f"the password of {name!r} is not a hash: make one with `porch hash-password`"
        )
    if any(ord(c) < 0x20 or c == "\x7f" for c in name):
        raise ValueError("control characters in a user name")
    return Account(name, password_hash, parse_grants(grants) if grants else (Grant(Access.READ),))


def parse_basic(value: str | None) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic ...`` value, or None.

    None when the header is absent or uses another scheme. Raises ``ValueError`` when it says
    Basic but the credentials are not base64 of UTF-8 ``user:password`` (the caller answers
    401, as for a wrong password).
    """
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise ValueError("malformed Basic credentials")
    return user, password
