"""WebDAV write locks (RFC 4918 §6-7, §10.4): the rules, as pure functions over lock values.

Theory of operation. A ``Lock`` covers its ``root`` URL path, and with depth infinity every
path below it. A write at a path must *submit* (name in its ``If`` header) the token of every
lock that covers the path, and of a depth-0 lock on the parent collection when the write
adds or removes a member there (the parent's membership changes); otherwise 423 Locked.
Two locks conflict when their ranges overlap and either is exclusive; shared locks coexist.

The ``If`` header is also a precondition (412 when false): it is a set of lists, each a
conjunction of conditions (a state token, an entity tag in brackets, either negated by
``Not``); the header is true when any list is true. A list may be tagged with the resource it
applies to (``<http://host/a> (<token>)``); untagged lists apply to the request URL. Tokens
are ``opaquelocktoken:`` URNs made from a random UUID, so they are unguessable.

Expired locks are ignored everywhere (and swept by the store); ``store.py`` keeps locks in
SQLite so every worker process sees the same ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from porch.http import HTTPError

DEFAULT_LOCK_TIMEOUT: Final = 600
"""Seconds a lock lasts when the client names no timeout porch understands."""

TOKEN_PREFIX: Final = "opaquelocktoken:"  # noqa: S105 - a URI scheme, not a secret


@dataclass(frozen=True, slots=True)
class Lock:
    """One active lock. ``root`` is a decoded URL path without trailing slash (``/`` for
    ROOT); ``depth`` is "0" or "infinity"; ``expires`` a POSIX time."""

    token: str
    root: str
    depth: str
    scope: str
    owner: str
    timeout: int
    expires: float
    principal: str = ""

    def covers(self, path: str) -> bool:
        """True when a write at ``path`` falls under this lock."""
        if path == self.root:
            return True
        return self.depth == "infinity" and is_below(path, self.root)


def is_below(path: str, ancestor: str) -> bool:
    """True when ``path`` lies strictly below ``ancestor`` (both normalised URL paths)."""
    if ancestor == "/":
        return path != "/"
    return path.startswith(ancestor + "/")


def parent_of(path: str) -> str:
    """The parent collection's normalised URL path (``/`` for a top-level name)."""
    head, _, _ = path.rpartition("/")
    return head or "/"


def normalise(path: str) -> str:
    """A decoded URL path in the form locks and properties are stored under: no trailing
    slash, no empty segments, ``/`` for the root."""
    return "/" + "/".join(segment for segment in path.split("/") if segment)


def new_token() -> str:
    """A fresh, unguessable lock token."""
    return TOKEN_PREFIX + str(uuid.uuid4())


def conflicts(existing: Lock, root: str, depth: str, scope: str) -> bool:
    """True when a new lock (``root``, ``depth``, ``scope``) cannot be granted beside
    ``existing``: their ranges overlap and either is exclusive."""
    if existing.scope == "shared" and scope == "shared":
        return False
    overlaps = (
        existing.covers(root)
        or root == existing.root
        or (depth == "infinity" and is_below(existing.root, root))
    )
    return overlaps


def blocking(
    locks: list[Lock], path: str, submitted: frozenset[str], *, membership: bool
) -> Lock | None:
    """The first lock whose token a write at ``path`` needs but did not submit, or None.

    ``membership`` is True when the write creates or removes ``path`` (the parent's member
    list changes): then a depth-0 lock on the parent counts too.
    """
    parent = parent_of(path)
    for lock in locks:
        needs = lock.covers(path) or (membership and path != "/" and lock.root == parent)
        if needs and lock.token not in submitted:
            return lock
    return None


def parse_timeout(value: str | None, maximum: int) -> int:
    """Seconds for a lock from a ``Timeout`` header (``Second-3600, Infinite``): the first
    value understood, capped at ``maximum``; ``DEFAULT_LOCK_TIMEOUT`` (capped) otherwise."""
    default = min(DEFAULT_LOCK_TIMEOUT, maximum)
    if not value:
        return default
    for part in value.split(","):
        word = part.strip()
        if word.lower() == "infinite":
            return maximum
        if word[:7].lower() == "second-" and word[7:].isdigit():
            return max(1, min(int(word[7:]), maximum))
    return default


# -- the If header ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of an ``If`` list: a state token or an entity tag, maybe negated."""

    negated: bool
    token: str | None = None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class IfList:
    """A parenthesised list of conditions (all must hold), tagged with a resource URL or not."""

    resource: str | None
    conditions: tuple[Condition, ...]


def parse_if(value: str) -> tuple[IfList, ...]:
    """The lists of an ``If`` header (RFC 4918 §10.4); 400 when it does not parse."""
    lists: list[IfList] = []
    resource: str | None = None
    position = 0
    text = value.strip()
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        if text[position] == "<":
            end = text.find(">", position)
            if end < 0:
                raise HTTPError(400, "malformed If header")
            resource = text[position + 1 : end]
            position = end + 1
            continue
        if text[position] != "(":
            raise HTTPError(400, "malformed If header")
        conditions, position = _parse_list(text, position + 1)
        lists.append(IfList(resource, conditions))
    if not lists:
        raise HTTPError(400, "malformed If header")
    return tuple(lists)


def _parse_list(text: str, position: int) -> tuple[tuple[Condition, ...], int]:
    conditions: list[Condition] = []
    negated = False
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            raise HTTPError(400, "malformed If header: a list is not closed")
        char = text[position]
        if char == ")":
            if not conditions or negated:
                raise HTTPError(400, "malformed If header: an empty condition")
            return tuple(conditions), position + 1
        if text[position : position + 3].lower() == "not":
            negated = True
            position += 3
            continue
        if char == "<":
            end = text.find(">", position)
            if end < 0:
                raise HTTPError(400, "malformed If header")
            conditions.append(Condition(negated, token=text[position + 1 : end]))
        elif char == "[":
            end = text.find("]", position)
            if end < 0:
                raise HTTPError(400, "malformed If header")
            conditions.append(Condition(negated, etag=text[position + 1 : end]))
        else:
            raise HTTPError(400, "malformed If header")
        negated = False
        position = end + 1


def submitted_tokens(lists: tuple[IfList, ...]) -> frozenset[str]:
    """The lock tokens a request submits: every state token its ``If`` header names
    (not negated)."""
    return frozenset(
        c.token for entry in lists for c in entry.conditions if c.token and not c.negated
    )


def list_holds(entry: IfList, tokens: frozenset[str], etag: str | None) -> bool:
    """True when every condition of ``entry`` holds for a resource whose current lock tokens
    are ``tokens`` and whose entity tag is ``etag`` (None when it does not exist)."""
    for condition in entry.conditions:
        if condition.token is not None:
            holds = condition.token in tokens
        else:
            holds = etag is not None and _etag_equal(condition.etag or "", etag)
        if holds == condition.negated:
            return False
    return True


def _etag_equal(a: str, b: str) -> bool:
    return a.removeprefix("W/") == b.removeprefix("W/")
