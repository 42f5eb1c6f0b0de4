"""Who is looking at a page, and signing in (issue 19, docs/webapp.md "Signing in").

Theory of operation. porch's accounts use HTTP Basic authentication, which a browser only
sends after a 401 challenge and then, by RFC 7617 §2.2, keeps sending on its own for every
URL at or below the *directory* of the URL that was challenged. So a listing that anonymous
visitors may read never makes a browser offer credentials, and a sign-in URL under ``/-/``
would teach the browser to send them under ``/-/`` only. The sign-in action is therefore on
the root directory itself: ``/?login&next=PATH`` answers 401 with the Basic challenge until
the browser sends credentials that pass, then 303 back to ``next``; from then on the browser
sends them for the whole site and every page knows who is asking (``Request.user``, set by
the access rules in ``App.guarded``). Basic authentication has no "sign out": the browser
forgets the credentials when it is closed.

``Visitor`` is what a listing page shows about that: the signed-in name, or the sign-in
link when there are accounts and anonymous visitors may not do everything.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Final

from porch.app.auth import Guard, unauthorized
from porch.http import Headers, HTTPError, Request, Response
from porch.http.auth import Access, access_on, parse_basic

SIGN_IN_QUERY: Final = "login"
"""``/?login``: the sign-in action (on the root directory: see the theory above)."""
LOGIN_PATH: Final = "/-/login"
"""porch's own name for signing in, in the reserved namespace: a redirect to ``/?login``
(where the challenge must happen for the browser to send credentials everywhere)."""


@dataclass(frozen=True, slots=True)
class Visitor:
    """What a page shows about its visitor: ``user`` (signed in as) or ``sign_in``, the URL
    of the sign-in action when it is offered (None when it would change nothing)."""

    user: str | None = None
    sign_in: str | None = None


def is_sign_in(request: Request, guard: Guard) -> bool:
    """True for a request of the sign-in action (only when there are accounts)."""
    return (
        bool(guard.accounts)
        and request.path == "/"
        and SIGN_IN_QUERY in request.query
        and request.method in ("GET", "HEAD")
    )


def safe_next(request: Request) -> str:
    """Where to go after signing in: the ``next`` query value when it is a path on this
    site (one leading ``/``, no backslash or control characters: never an open redirect),
    else the root page."""
    values = request.query.get("next")
    target = values[-1] if values else ""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
    ):
        return request.root_path + "/"
    return urllib.parse.quote(target, safe="/%:@!$&'()*+,;=-._~?")


async def sign_in(request: Request, guard: Guard) -> Response:
    """401 with the Basic challenge until the request carries credentials that pass, then
    303 to ``next``. Wrong credentials cost an Argon2 check each, like any other request."""
    try:
        credentials = parse_basic(request.headers.get("authorization"))
    except ValueError:
        credentials = None
    account = await guard.authenticate(*credentials) if credentials is not None else None
    if account is None:
        raise unauthorized("sign in with your porch user name and password")
    request.user = account.name
    headers = Headers([("Location", safe_next(request)), ("Cache-Control", "no-store")])
    return Response(303, headers, b"")


def login_redirect(request: Request) -> Response:
    """``/-/login?next=PATH``: 303 to the sign-in action, keeping a safe ``next``."""
    target = urllib.parse.quote(safe_next(request), safe="/%")
    location = f"{request.root_path}/?{SIGN_IN_QUERY}&next={target}"
    return Response(303, Headers([("Location", location), ("Cache-Control", "no-store")]), b"")


def visitor_of(request: Request, guard: Guard) -> Visitor:
    """The ``Visitor`` for a page answering ``request`` (after the access rules ran)."""
    if request.user is not None:
        return Visitor(user=request.user)
    if not guard.accounts or access_on(guard.anonymous, "/") == Access.WRITE:
        return Visitor()
    here = request.root_path + urllib.parse.quote(request.path, safe="/")
    url = f"{request.root_path}/?{SIGN_IN_QUERY}&next={urllib.parse.quote(here, safe='/')}"
    return Visitor(sign_in=url)


def access_of(request: Request, guard: Guard, path: str) -> Access:
    """The level the client of ``request`` has on ``path``: its account's grants, or the
    anonymous ones (everything when there are no access rules)."""
    if guard.open:
        return Access.WRITE
    if request.user is not None:
        for account in guard.accounts:
            if account.name == request.user:
                return access_on(account.grants, path)
        raise HTTPError(500, "the signed-in account vanished")  # pragma: no cover
    return access_on(guard.anonymous, path)
