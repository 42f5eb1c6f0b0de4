"""The listing tells the page what the visitor may do in the folder (issue 13, the page's file
operations): ``<body data-access>`` from the tree level of whoever asked, ``data-trash`` with
--trash. Per user and per folder, and never served from another visitor's cached page."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from porch.app import App
from porch.config import Config
from porch.http.auth import Account, parse_grants
from porch.testing import Client
from tests.security_helpers import quick_hash

HTML = {"Accept": "text/html"}


def body_tag(client: Client, path: str, headers: dict[str, str] | None = None) -> str:
    response = client.get(path, headers={**HTML, **(headers or {})})
    assert response.status == 200
    match = re.search(r"<body[^>]*>", response.text)
    assert match is not None
    return match.group(0)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "inbox").mkdir(parents=True)
    (root / "team").mkdir()
    return root


@pytest.mark.parametrize(
    ("grants", "path", "access"),
    [
        (None, "/", "read"),  # plain `porch ROOT`: read-only in the tree, even with uploads
        ("read", "/", "read"),
        ("add", "/", "add"),
        ("write", "/", "write"),
        ("read,add@/inbox", "/", "read"),
        ("read,add@/inbox", "/inbox/", "add"),
        ("read,write@/team", "/team/", "write"),
    ],
)
def test_access_per_grant_and_folder(
    tree: Path, grants: str | None, path: str, access: str
) -> None:
    config = (
        Config(root=tree) if grants is None else Config(root=tree, anonymous=parse_grants(grants))
    )
    tag = body_tag(Client(App(config)), path)
    assert f'data-access="{access}"' in tag
    assert "data-trash" not in tag


def test_trash_is_announced(tree: Path, tmp_path: Path) -> None:
    trash = tmp_path / "trash"
    trash.mkdir()
    config = Config(root=tree, anonymous=parse_grants("write"), trash=trash)
    assert "data-trash" in body_tag(Client(App(config)), "/")


def test_each_visitor_gets_their_own_page(tree: Path) -> None:
    """The listing cache keys on the rights: a writer's page is never a reader's."""
    accounts = (Account("bob", quick_hash("pw"), parse_grants("read,write@/team")),)
    config = Config(root=tree, accounts=accounts, anonymous=parse_grants("read"))
    client = Client(App(config))
    assert 'data-access="read"' in body_tag(client, "/team/")
    assert 'data-access="write"' in body_tag(client, "/team/", basic("bob", "pw"))
    assert 'data-access="read"' in body_tag(client, "/team/")
    assert 'data-access="read"' in body_tag(client, "/", basic("bob", "pw"))
