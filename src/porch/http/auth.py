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

Two places a write can land (issue 13). Writes into ``--upload-dir`` follow the level above.
Writes anywhere in the served tree (WebDAV, a PUT to any URL) need an explicit grant: the
implicit one of a server without access control (``NO_ACCESS_CONTROL``: no users, no
``--anonymous``) is marked ``uploads_only`` and counts as ``read`` there, so plain ``porch ROOT``
stays read-only while ``porch ROOT --anonymous write`` is a writable share. The guard only
knows the least a method could need (``method_access``); each operation then checks what it
needs against the URL where the file lands (``tree_access_on``): ``add`` to create, ``write``
to overwrite, rename, move or delete.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that never change anything on the server (and that CORS may allow cross-origin)."""
SOURCE_READ_METHODS = frozenset({"PROPFIND", "COPY"})
"""Methods that only read the request's own URL: PROPFIND, and COPY (which writes at its
Destination, checked there). Every method in neither set counts as a write."""
ADD_METHODS = frozenset({"POST", "PUT", "MKCOL", "LOCK", "UNLOCK"})
"""Methods that may need no more than ``add`` on their URL (creating something new); whether
they need ``write`` (PUT over an existing file) is decided by the operation."""

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
    uploads_only: bool = False
    """True only for ``NO_ACCESS_CONTROL``: its add/write reaches ``--upload-dir``, not the
    served tree (where it counts as ``read``)."""

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


NO_ACCESS_CONTROL: tuple[Grant, ...] = (Grant(Access.WRITE, uploads_only=True),)
"""Anonymous access without users or ``--anonymous``: read everything, upload into
``--upload-dir`` when it is on (as before grants existed), write nothing else."""


def method_access(method: str) -> Access:
    """The least level a method can need on its own URL: READ for GET, HEAD, OPTIONS,
    PROPFIND and COPY (whose write lands at its Destination); ADD for the methods that may
    only create (POST, PUT, MKCOL, LOCK, UNLOCK); WRITE for anything else.

    Unknown methods count as writes, so a method added later fails closed. The operation
    checks the rest (overwriting needs WRITE; COPY and MOVE check their Destination).
    """
    if method in READ_METHODS or method in SOURCE_READ_METHODS:
        return Access.READ
    return Access.ADD if method in ADD_METHODS else Access.WRITE


def access_on(grants: tuple[Grant, ...], path: str) -> Access:
    """The highest level ``grants`` give on the decoded URL ``path`` (NONE when none covers it);
    the level for reads and for uploads into ``--upload-dir``."""
    return max((g.access for g in grants if g.covers(path)), default=Access.NONE)


def tree_access_on(grants: tuple[Grant, ...], path: str) -> Access:
    """The level ``grants`` give for writing at ``path`` in the served tree: as ``access_on``,
    except that an ``uploads_only`` grant counts as READ at most (module docstring)."""
    return max(
        (
            min(g.access, Access.READ) if g.uploads_only else g.access
            for g in grants
            if g.covers(path)
        ),
        default=Access.NONE,
    )


def parse_grants(text: str) -> tuple[Grant, ...]:
    """Grants from ``LEVEL[@PREFIX][,LEVEL[@PREFIX]...]``, e.g. ``read,write@/incoming``.

    LEVEL is none, read (ro), add or write (rw); PREFIX is a URL path starting with ``/`` (default
    ``/``). Raises ``ValueError`` with a message for the command line on anything else.
    """
    grants: list[Grant] = []
    for part in text.split(","):
        word, at, prefix = part.strip().partition("@")
        access = _ACCESS_WORDS.get(word.strip().lower())
        if access is None:
            raise ValueError(f"unknown access level {word.strip()!r} (none, read, add or write)")
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
