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

    async def check(self, request: Request, also: tuple[str, ...] = ()) -> str | None:
        """Let ``request`` through (returns the user name, or None for anonymous) or raise
        ``HTTPError`` 401/403. The grant must cover the request's path and every path in
        ``also`` (where an upload lands)."""
        needed = method_access(request.method)
        paths = (request.path, *also)
        try:
            credentials = parse_basic(request.headers.get("authorization"))
        except ValueError:
            raise unauthorized("the credentials are malformed") from None
        if credentials is None or not self.accounts:
            if all(access_on(self.anonymous, path) >= needed for path in paths):
                return None
            if not self.accounts:
                raise HTTPError(403, "this is not allowed here")
            verb = "change" if needed == Access.WRITE else "see"
            raise unauthorized(f"log in to {verb} this")
        user = credentials[0]
        self.logins.refuse_if_closed(request, user)
        account = await self.authenticate(*credentials, request=request)
        if account is None:
            self.logins.failed(request, user)
            raise unauthorized("wrong user name or password")
        self.logins.succeeded(request, user)
        if all(access_on(account.grants, path) >= needed for path in paths):
            return account.name
        raise HTTPError(403, f"{account.name} may not {needed.name.lower()} here")

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
