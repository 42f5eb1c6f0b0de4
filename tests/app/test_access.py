"""Access rules through the app: (anonymous, reader, writer) x methods x (allowed, other path).

"Allowed" means the request gets past the rules and is answered exactly as by the same app
without any rules (for writes without --upload-dir that is dispatch's 405); "refused" means
401 with a Basic challenge (no or wrong credentials) or 403 (a known user without the right).
"""

from __future__ import annotations

import base64
import itertools
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.testing import Client, TestResponse
from tests.security_helpers import quick_hash

PASSWORDS = {"reader": "read-pw", "writer": "write-pw"}
ALLOWED, OTHER = "/team", "/admin"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("access")
    for top in ("team", "admin"):
        (root / top / "sub").mkdir(parents=True)
        (root / top / "a.txt").write_text(f"{top} file\n")
        (root / top / "sub" / "b.txt").write_text("b\n")
    return root


@pytest.fixture(scope="module")
def guarded(tree: Path) -> Client:
    accounts = (
        Account("reader", quick_hash(PASSWORDS["reader"]), parse_grants(f"read@{ALLOWED}")),
        Account("writer", quick_hash(PASSWORDS["writer"]), parse_grants(f"write@{ALLOWED}")),
    )
    config = Config(root=tree, accounts=accounts, anonymous=parse_grants(f"read@{ALLOWED}"))
    return Client(App(config))


@pytest.fixture(scope="module")
def unguarded(tree: Path) -> Client:
    return Client(App(Config(root=tree)))


def credentials(who: str) -> dict[str, str]:
    if who == "anonymous":
        return {}
    token = base64.b64encode(f"{who}:{PASSWORDS[who]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def send(client: Client, who: str, action: str, top: str) -> TestResponse:
    headers = credentials(who)
    if action == "listing":
        return client.get(f"{top}/sub/", headers=headers)
    if action in WRITES:  # a new name each time: the module's tree stays as it is
        name = f"{top}/new-{who}-{action}-{next(_COUNT)}.txt"
        return client.request(action, name, headers=headers, body=b"new bytes")
    return client.request(action, f"{top}/a.txt", headers=headers)


_COUNT = itertools.count()
ACTIONS = ("GET", "HEAD", "POST", "PUT", "listing")
WRITES = ("POST", "PUT")

# (who, action, path) -> True when it gets past the rules.
TABLE = [
    (who, action, top, allowed)
    for who in ("anonymous", "reader", "writer")
    for action in ACTIONS
    for top in (ALLOWED, OTHER)
    for allowed in [
        top == ALLOWED and (action not in WRITES or who == "writer"),
    ]
]


@pytest.mark.parametrize(("who", "action", "top", "allowed"), TABLE)
def test_access_table(
    guarded: Client, unguarded: Client, who: str, action: str, top: str, allowed: bool
) -> None:
    response = send(guarded, who, action, top)
    baseline = send(unguarded, "anonymous", action, top)
    if allowed and action in WRITES:
        # An explicit write grant writes in the served tree (issue 13), where the unguarded
        # server (no grant at all) is read-only and answers 405.
        assert (response.status, baseline.status) == (201, 405)
        return
    if allowed:
        assert (response.status, response.body) == (baseline.status, baseline.body)
        return
    assert (response.status, response.body) != (baseline.status, baseline.body)
    if who == "anonymous":
        assert response.status == 401
        assert response.headers.get("WWW-Authenticate") == 'Basic realm="porch", charset="UTF-8"'
    else:
        assert response.status == 403
        assert "WWW-Authenticate" not in response.headers


def test_baseline_answers_differ_from_refusals(unguarded: Client) -> None:
    # Guards the table: a GET baseline is a real file, a write baseline is dispatch's 405.
    assert send(unguarded, "anonymous", "GET", ALLOWED).body == b"team file\n"
    assert send(unguarded, "anonymous", "POST", ALLOWED).status == 405


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"writer:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:write-pw").decode(),
        "Basic " + base64.b64encode(b"WRITER:write-pw").decode(),  # names are exact
        "Basic %%%",
        "Basic " + base64.b64encode(b"no colon").decode(),
    ],
)
def test_bad_credentials_get_401_even_where_anonymous_may_read(
    guarded: Client, authorization: str
) -> None:
    # Wrong credentials are never silently downgraded to anonymous.
    response = guarded.get(f"{ALLOWED}/a.txt", headers={"Authorization": authorization})
    assert response.status == 401
    assert response.headers.get("WWW-Authenticate", "").startswith("Basic ")


def test_other_schemes_count_as_anonymous(guarded: Client) -> None:
    response = guarded.get(f"{ALLOWED}/a.txt", headers={"Authorization": "Bearer xyz"})
    assert response.status == 200
    assert guarded.get(f"{OTHER}/a.txt", headers={"Authorization": "Bearer x"}).status == 401


def test_prefix_is_matched_by_segment(tree: Path, guarded: Client) -> None:
    (tree / "teamwork").mkdir(exist_ok=True)
    (tree / "teamwork" / "c.txt").write_text("c\n")
    assert guarded.get("/teamwork/c.txt").status == 401


def test_encoded_path_cannot_dodge_a_prefix(guarded: Client) -> None:
    # The rules see the decoded path: %61dmin is /admin.
    assert guarded.get("/%61dmin/a.txt").status == 401
    assert guarded.get("/team/../admin/a.txt").status in (400, 401)


def test_defaults_with_users_anonymous_gets_nothing(tree: Path) -> None:
    accounts = (Account("reader", quick_hash("pw")),)
    client = Client(App(Config(root=tree, accounts=accounts, anonymous=parse_grants("none"))))
    assert client.get("/team/a.txt").status == 401
    token = base64.b64encode(b"reader:pw").decode()
    ok = client.get("/admin/a.txt", headers={"Authorization": f"Basic {token}"})
    assert (ok.status, ok.body) == (200, b"admin file\n")  # default user grant: read everywhere
    refused = client.put("/admin/x", headers={"Authorization": f"Basic {token}"}, body=b"x")
    assert refused.status == 403


def test_no_users_anonymous_read_only_refuses_writes_with_403(tree: Path) -> None:
    client = Client(App(Config(root=tree, anonymous=parse_grants("read"))))
    assert client.get("/team/a.txt").status == 200
    response = client.post("/team/new", body=b"x")
    assert response.status == 403  # no credentials could help, so no challenge
    assert "WWW-Authenticate" not in response.headers


def test_a_successful_check_is_remembered_but_a_wrong_password_is_not(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from porch.app import auth

    calls: list[str] = []
    real = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    client = Client(App(Config(root=tree, accounts=(Account("u", quick_hash("right")),))))
    good = {"Authorization": "Basic " + base64.b64encode(b"u:right").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"u:wrong").decode()}
    assert [client.get("/team/a.txt", headers=good).status for _ in range(3)] == [200] * 3
    assert calls == ["right"]
    assert [client.get("/team/a.txt", headers=bad).status for _ in range(2)] == [401, 401]
    assert calls == ["right", "wrong", "wrong"]


def test_unknown_user_costs_a_verification_too(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from porch.app import auth

    calls: list[str] = []
    monkeypatch.setattr(auth, "verify_password", lambda h, p: calls.append(h) is not None)
    hashed = quick_hash("pw")
    client = Client(App(Config(root=tree, accounts=(Account("u", hashed),))))
    nobody = {"Authorization": "Basic " + base64.b64encode(b"nobody:pw").decode()}
    assert client.get("/team/a.txt", headers=nobody).status == 401
    assert calls == [hashed]  # timing does not tell whether the name exists
