"""Authentication and access rules: who is asking, and may they do this here?

Theory of operation. ``Guard.check`` runs in ``App.handle`` before dispatch, so the decision
depends only on the method (read or write, ``porch.http.auth.method_access``), the URL path and
the credentials, never on what the path holds: a refused request learns nothing about the
files. Outcomes: the request goes ahead; 401 with a Basic challenge when the client sent no
credentials or wrong ones; 403 when a known user lacks the level needed.

Passwords are stored only as Argon2id hashes (or any hash ``argon2-cffi`` verifies) and checked
with ``argon2``'s verify, which compares in constant time. The user name is compared with
``hmac.compare_digest`` against every account, and an unknown name is still verified against a
dummy hash, so the time taken does not tell whether a name exists. Argon2 is deliberately slow
(tens of milliseconds and 64 MiB per check at the default parameters): checks run in a worker
thread pool of ``MAX_CONCURRENT_CHECKS`` threads of its own, behind a bounded queue that drops
checks for clients that have gone, with back-off after failures (porch.app.logins), so a
flood of guesses neither exhausts memory, nor blocks the event loop, nor delays real users.
A successful check is remembered under a keyed hash of (user, password) with a key made at
start, so a browser that resends credentials on every request costs one Argon2 verification,
not one per request; failures are never remembered, so every guess pays full price.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

import argon2

from porch.app.logins import LoginGuard
from porch.config import (
    DEFAULT_LOGIN_FREE_FAILURES,
    DEFAULT_LOGIN_MAX_BACKOFF,
    DEFAULT_MAX_PENDING_LOGINS,
)
from porch.http import HTTPError, Request
from porch.http.auth import (
    WWW_AUTHENTICATE,
    Access,
    Account,
    Grant,
    access_on,
    method_access,
    parse_basic,
    tree_access_on,
)

MAX_CONCURRENT_CHECKS: Final = 2
"""Argon2 verifications running at once (each takes the hash's memory cost, 64 MiB by default)."""
CACHE_SIZE: Final = 1024
"""Successful (user, password) checks remembered."""

_HASHER = argon2.PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` in PHC format, salted, with argon2-cffi's defaults."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False on mismatch or a broken hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except argon2.exceptions.VerificationError:
        return False
    except argon2.exceptions.InvalidHashError:
        return False


def check_hash(password_hash: str) -> None:
    """Raise ``ValueError`` unless ``password_hash`` is a hash argon2-cffi can verify."""
    try:
        argon2.extract_parameters(password_hash)
    except argon2.exceptions.InvalidHashError:
        raise ValueError("not an Argon2 hash (make one with `porch hash-password`)") from None


def unauthorized(detail: str) -> HTTPError:
    """A 401 carrying the Basic challenge."""
    return HTTPError(401, detail, {"WWW-Authenticate": WWW_AUTHENTICATE})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking, as the guard found them: a user (``name``) or anonymous (None), their
    grants, and whether logging in could change the answer (there are accounts).

    Write operations ask it what they need where the file lands (``require``), since the
    guard, deciding from the method alone, knows only the least a method could need.
    """

    name: str | None
    grants: tuple[Grant, ...]
    can_log_in: bool = False

    def level(self, path: str) -> Access:
        """The level for reading ``path`` and for uploads into ``--upload-dir``."""
        return access_on(self.grants, path)

    def tree_level(self, path: str) -> Access:
        """The level for writing at ``path`` in the served tree (``tree_access_on``)."""
        return tree_access_on(self.grants, path)

    def writes_tree(self) -> bool:
        """True when some grant lets the principal create or change files in the served tree
        (somewhere: each write then checks its own URL)."""
        return any(g.access >= Access.ADD and not g.uploads_only for g in self.grants)

    def require(self, path: str, needed: Access, *, tree: bool = True) -> None:
        """Raise 401 (anonymous, and logging in could help) or 403 unless the principal has
        ``needed`` at ``path`` (tree level unless ``tree`` is False)."""
        have = self.tree_level(path) if tree else self.level(path)
        if have >= needed:
            return
        if self.name is None and self.can_log_in:
            raise unauthorized("log in to change this")
        who = self.name or "anonymous clients"
        what = {Access.ADD: "create files", Access.WRITE: "change or delete files"}.get(
            needed, needed.name.lower()
        )
        raise HTTPError(403, f"{who} may not {what} here")


class Guard:
    """The access rules of one server: accounts and what anonymous clients may do."""

    def __init__(
        self,
        accounts: tuple[Account, ...],
        anonymous: tuple[Grant, ...],
        logins: LoginGuard | None = None,
    ) -> None:
        self.accounts = accounts
        self.logins = logins or LoginGuard(
            max_pending=DEFAULT_MAX_PENDING_LOGINS,
            concurrent=MAX_CONCURRENT_CHECKS,
            free_failures=DEFAULT_LOGIN_FREE_FAILURES,
            max_backoff=DEFAULT_LOGIN_MAX_BACKOFF,
        )
        self.anonymous = anonymous
        # Same cost parameters as the first account's hash, so an unknown name costs as much.
        self._dummy_hash = accounts[0].password_hash if accounts else ""
        self._key = secrets.token_bytes(32)
        self._remembered: OrderedDict[bytes, str] = OrderedDict()
        self._checker = concurrent.futures.ThreadPoolExecutor(
            MAX_CONCURRENT_CHECKS, thread_name_prefix="porch-argon2"
        )

    @property
    def open(self) -> bool:
        """True when there are no accounts and anonymous clients may write everywhere: the
        guard lets everything through, and no credentials are ever asked for."""
        return not self.accounts and access_on(self.anonymous, "/") == Access.WRITE

    @property
    def nobody(self) -> Principal:
        """The anonymous principal (what an open guard lets everyone be)."""
        return Principal(None, self.anonymous, can_log_in=bool(self.accounts))

    async def principal(self, request: Request) -> Principal:
        """Who sent ``request``: a checked user, or anonymous without credentials (or when
        there are no accounts). Raises 401 for malformed or wrong credentials, which are never
        silently treated as anonymous."""
        try:
            credentials = parse_basic(request.headers.get("authorization"))
        except ValueError:
            raise unauthorized("the credentials are malformed") from None
        if credentials is None or not self.accounts:
            return self.nobody
        user = credentials[0]
        self.logins.refuse_if_closed(request, user)
        account = await self.authenticate(*credentials, request=request)
        if account is None:
            self.logins.failed(request, user)
            raise unauthorized("wrong user name or password")
        self.logins.succeeded(request, user)
        return Principal(account.name, account.grants, can_log_in=True)

    async def check(
        self,
        request: Request,
        needed: Access | None = None,
        *,
        path: str | None = None,
        also: tuple[str, ...] = (),
    ) -> Principal:
        """Let ``request`` through (returns who sent it) or raise ``HTTPError`` 401/403.

        Judged on the least the method could need on its URL (``method_access``), or on
        ``needed`` when given (a POST that only reads, like an archive of a selection, needs
        READ), at ``path`` when given (a resumable upload's ``/-/uploads/ID`` acts on its
        target), and at every path in ``also`` too (where an upload lands); the operation checks
        the rest through ``Principal.require``.
        """
        if needed is None:
            needed = method_access(request.method)
        if path is None:
            path = request.path
        who = await self.principal(request)
        if all(who.level(where) >= needed for where in (path, *also)):
            return who
        if who.name is None:
            if not self.accounts:
                raise HTTPError(403, "this is not allowed here")
            verb = "see" if needed == Access.READ else "change"
            raise unauthorized(f"log in to {verb} this")
        raise HTTPError(403, f"{who.name} may not {needed.name.lower()} here")

    async def grants_for(self, request: Request) -> tuple[Grant, ...]:
        """The grants of whoever sent ``request``: the account's when its credentials are
        right, else anonymous's. For checks on paths other than the request's own (the
        members of an archive, search results), after ``check`` let the request through; a
        successful check is remembered, so this costs no second Argon2 verification."""
        if self.open:
            return (Grant(Access.WRITE),)
        try:
            credentials = parse_basic(request.headers.get("authorization"))
        except ValueError:
            return self.anonymous
        if credentials is None or not self.accounts:
            return self.anonymous
        account = await self.authenticate(*credentials)
        return account.grants if account is not None else self.anonymous

    async def authenticate(
        self, user: str, password: str, request: Request | None = None
    ) -> Account | None:
        """The account whose name and password match, or None (in about the same time).

        With ``request``, the Argon2 check waits its turn in the login queue (503 when it is
        full; dropped when the client has gone: porch.app.logins)."""
        found: Account | None = None
        for account in self.accounts:
            if hmac.compare_digest(account.name.encode(), user.encode()):
                found = account
        digest = hmac.new(
            self._key, user.encode() + b"\x00" + password.encode(), hashlib.sha256
        ).digest()
        if found is not None and self._remembered.get(digest) == found.password_hash:
            self._remembered.move_to_end(digest)
            return found
        target = found.password_hash if found is not None else self._dummy_hash
        loop = asyncio.get_running_loop()

        async def check() -> bool:
            return await loop.run_in_executor(self._checker, verify_password, target, password)

        matched = await (check() if request is None else self.logins.queue.run(request, check))
        if found is None or not matched:
            return None
        self._remembered[digest] = found.password_hash
        if len(self._remembered) > CACHE_SIZE:
            self._remembered.popitem(last=False)
        return found
