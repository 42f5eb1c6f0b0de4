"""WebDAV's pure parts: XML bodies (and their safety), the If header, lock rules, timeouts."""

from __future__ import annotations

import pytest

from porch.app.dav import xml as davxml
from porch.app.dav.locks import (
    Condition,
    IfList,
    Lock,
    blocking,
    conflicts,
    list_holds,
    normalise,
    parse_if,
    parse_timeout,
    submitted_tokens,
)
from porch.http import HTTPError

DAV = "DAV:"


def lock(root: str, depth: str = "infinity", scope: str = "exclusive", token: str = "t") -> Lock:
    return Lock(token, root, depth, scope, "", 60, 1e12)


# -- XML ---------------------------------------------------------------------------------------


def test_empty_propfind_is_allprop() -> None:
    assert davxml.parse_propfind(b"") == davxml.PropfindRequest("allprop")


def test_propfind_prop_names_with_namespaces() -> None:
    body = (
        b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:x="urn:x">'
        b"<D:prop><D:getetag/><x:colour/><plain xmlns=''/></D:prop></D:propfind>"
    )
    asked = davxml.parse_propfind(body)
    assert asked.kind == "prop"
    assert asked.names == ((DAV, "getetag"), ("urn:x", "colour"), ("", "plain"))


def test_propfind_propname_and_allprop_include() -> None:
    propname = b'<propfind xmlns="DAV:"><propname/></propfind>'
    assert davxml.parse_propfind(propname).kind == "propname"
    include = b'<propfind xmlns="DAV:"><allprop/><include><quota-used-bytes/></include></propfind>'
    assert davxml.parse_propfind(include) == davxml.PropfindRequest(
        "allprop", ((DAV, "quota-used-bytes"),)
    )


BOMBS = [
    # billion laughs (entity expansion)
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b'<propfind xmlns="DAV:"><prop><x>&b;</x></prop></propfind>',
    # external entity (XXE)
    b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<propfind xmlns="DAV:"><prop><x>&e;</x></prop></propfind>',
    # a bare DTD
    b'<!DOCTYPE propfind SYSTEM "http://example.org/x.dtd"><propfind xmlns="DAV:"/>',
    b"<propfind xmlns='DAV:'><prop>",  # not well-formed
    b"\xff\xfe<garbage",
]


@pytest.mark.parametrize("body", BOMBS)
def test_unsafe_or_broken_xml_is_400(body: bytes) -> None:
    with pytest.raises(HTTPError) as caught:
        davxml.parse_propfind(body)
    assert caught.value.status == 400


def test_proppatch_keeps_order_and_values() -> None:
    body = (
        b'<D:propertyupdate xmlns:D="DAV:" xmlns:z="urn:z"><D:set><D:prop>'
        b'<z:a xml:lang="fr">un <z:b>deux</z:b></z:a></D:prop></D:set>'
        b"<D:remove><D:prop><z:a/></D:prop></D:remove></D:propertyupdate>"
    )
    changes = davxml.parse_proppatch(body)
    assert [c.name for c in changes] == [("urn:z", "a"), ("urn:z", "a")]
    assert changes[1].value is None
    value = changes[0].value
    assert value is not None
    element = davxml.dead_value(value)
    assert element.text == "un "
    assert element.attrib == {"{http://www.w3.org/XML/1998/namespace}lang": "fr"}
    assert element[0].text == "deux"


def test_lockinfo() -> None:
    body = (
        b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope>'
        b"<D:locktype><D:write/></D:locktype><D:owner>ann</D:owner></D:lockinfo>"
    )
    asked = davxml.parse_lockinfo(body)
    assert asked is not None
    assert asked.scope == "shared"
    assert "ann" in asked.owner
    assert davxml.parse_lockinfo(b"") is None  # a refresh
    with pytest.raises(HTTPError):
        davxml.parse_lockinfo(
            b'<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope></lockinfo>'
        )


# -- the If header -----------------------------------------------------------------------------


def test_parse_if_untagged_and_tagged() -> None:
    lists = parse_if('(<opaquelocktoken:a> ["x"]) (Not <DAV:no-lock>)')
    assert lists == (
        IfList(None, (Condition(False, token="opaquelocktoken:a"), Condition(False, etag='"x"'))),
        IfList(None, (Condition(True, token="DAV:no-lock"),)),
    )
    tagged = parse_if("<http://h/a> (<t1>) <http://h/b> (<t2>)")
    assert [entry.resource for entry in tagged] == ["http://h/a", "http://h/b"]
    assert submitted_tokens(tagged) == {"t1", "t2"}
    assert submitted_tokens(parse_if("(Not <t3>)")) == frozenset()


@pytest.mark.parametrize("value", ["", "(", "()", "(<a>", "<a>", "(Not)", "(junk)", "x (<a>)"])
def test_parse_if_malformed(value: str) -> None:
    with pytest.raises(HTTPError) as caught:
        parse_if(value)
    assert caught.value.status == 400


def test_list_holds() -> None:
    entry = parse_if('(<t> ["e"])')[0]
    assert list_holds(entry, frozenset({"t"}), '"e"')
    assert not list_holds(entry, frozenset({"t"}), '"other"')
    assert not list_holds(entry, frozenset(), '"e"')
    assert not list_holds(entry, frozenset({"t"}), None)  # no resource, no etag
    negated = parse_if("(Not <DAV:no-lock>)")[0]
    assert list_holds(negated, frozenset(), None)


# -- lock rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "root", "depth", "scope", "conflict"),
    [
        (lock("/a"), "/a", "0", "exclusive", True),
        (lock("/a", scope="shared"), "/a", "0", "shared", False),
        (lock("/a", scope="shared"), "/a", "0", "exclusive", True),
        (lock("/a"), "/a/b", "0", "shared", True),  # depth infinity covers below
        (lock("/a", depth="0"), "/a/b", "0", "exclusive", False),
        (lock("/a/b", depth="0"), "/a", "infinity", "exclusive", True),  # new covers existing
        (lock("/a/b", depth="0"), "/a", "0", "exclusive", False),
        (lock("/a"), "/ab", "infinity", "exclusive", False),  # segment by segment
    ],
)
def test_conflicts(existing: Lock, root: str, depth: str, scope: str, conflict: bool) -> None:
    assert conflicts(existing, root, depth, scope) is conflict


def test_blocking_needs_tokens_of_covering_locks_and_parent_membership() -> None:
    folder = lock("/d", depth="0", token="folder")
    deep = lock("/e", token="deep")
    assert blocking([folder], "/d/new", frozenset(), membership=False) is None
    assert blocking([folder], "/d/new", frozenset(), membership=True) is folder
    assert blocking([folder], "/d/new", frozenset({"folder"}), membership=True) is None
    assert blocking([deep], "/e/x/y", frozenset(), membership=False) is deep
    assert blocking([deep], "/e/x/y", frozenset({"deep"}), membership=False) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, 600),
        ("Second-30", 30),
        ("Second-3600", 3600),
        ("Second-3601", 3600),  # capped at the maximum (N and N+1)
        ("Infinite", 3600),
        ("Infinite, Second-10", 3600),
        ("Second-x, Second-20", 20),
        ("bogus", 600),
        ("Second-0", 1),
    ],
)
def test_parse_timeout(value: str | None, seconds: int) -> None:
    assert parse_timeout(value, 3600) == seconds


def test_normalise() -> None:
    assert normalise("/") == "/"
    assert normalise("/a//b/") == "/a/b"
