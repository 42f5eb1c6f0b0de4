"""WebDAV request and response bodies (RFC 4918 §14): parsing and building XML, nothing else.

Theory of operation. Request bodies are parsed with ``defusedxml``, which refuses DTDs, entity
declarations and external references outright (the billion-laughs and XXE attacks), and only
after the caller has read at most ``max_dav_body`` bytes. Parsed bodies become small frozen
values (``PropfindRequest``, ``PropUpdate``, ``LockRequest``) so the methods never walk XML.
Properties are named by ``(namespace, local name)``; a dead property's value is kept as the
serialised XML of its element, which preserves its children, attributes and ``xml:lang``.
Responses are built with ``xml.etree`` and serialised with a declaration in UTF-8; the DAV:
namespace gets the prefix ``D``. Everything here is pure and unit-tested.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from porch.http import HTTPError

DAV = "DAV:"
ET.register_namespace("D", DAV)

PropName = tuple[str, str]
"""A property's (namespace URI, local name); the namespace is ``""`` when it has none."""


def tag(name: str, namespace: str = DAV) -> str:
    """The ElementTree tag for ``name`` in ``namespace`` (``{DAV:}prop``)."""
    return f"{{{namespace}}}{name}" if namespace else name


def split_tag(text: str) -> PropName:
    """(namespace, local name) of an ElementTree tag."""
    if text.startswith("{"):
        namespace, _, local = text[1:].partition("}")
        return namespace, local
    return "", text


def parse(body: bytes) -> ET.Element | None:
    """The root element of ``body``, or None for an empty body; 400 for anything unsafe or
    malformed (a DTD, an entity, broken XML)."""
    if not body.strip():
        return None
    try:
        root: ET.Element = SafeET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as error:
        raise HTTPError(400, f"the XML body is not acceptable: {error}") from None
    return root


@dataclass(frozen=True, slots=True)
class PropfindRequest:
    """What a PROPFIND asks for: ``kind`` is "allprop", "propname" or "prop"; ``names`` the
    properties asked for by name ("prop") or included on top of allprop (``include``)."""

    kind: str
    names: tuple[PropName, ...] = ()


def parse_propfind(body: bytes) -> PropfindRequest:
    """An empty body means allprop (RFC 4918 §9.1); otherwise DAV:propfind with one of
    allprop, propname or prop. 400 for anything else."""
    root = parse(body)
    if root is None:
        return PropfindRequest("allprop")
    if root.tag != tag("propfind"):
        raise HTTPError(400, "a PROPFIND body must be a DAV:propfind element")
    for child in root:
        if child.tag == tag("propname"):
            return PropfindRequest("propname")
        if child.tag == tag("allprop"):
            include = root.find(tag("include"))
            names = () if include is None else tuple(split_tag(e.tag) for e in include)
            return PropfindRequest("allprop", names)
        if child.tag == tag("prop"):
            return PropfindRequest("prop", tuple(split_tag(e.tag) for e in child))
    raise HTTPError(400, "a DAV:propfind needs allprop, propname or prop")


@dataclass(frozen=True, slots=True)
class PropChange:
    """One instruction of a PROPPATCH, in document order: set ``name`` to ``value`` (the
    element serialised), or remove it (``value`` None)."""

    name: PropName
    value: str | None


def parse_proppatch(body: bytes) -> tuple[PropChange, ...]:
    """The set/remove instructions of a DAV:propertyupdate, in order; 400 when malformed."""
    root = parse(body)
    if root is None or root.tag != tag("propertyupdate"):
        raise HTTPError(400, "a PROPPATCH body must be a DAV:propertyupdate element")
    changes: list[PropChange] = []
    for action in root:
        if action.tag not in (tag("set"), tag("remove")):
            continue
        for prop in action.findall(tag("prop")):
            for element in prop:
                if action.tag == tag("set"):
                    value = ET.tostring(element, encoding="unicode")
                    changes.append(PropChange(split_tag(element.tag), value))
                else:
                    changes.append(PropChange(split_tag(element.tag), None))
    if not changes:
        raise HTTPError(400, "the DAV:propertyupdate changes nothing")
    return tuple(changes)


@dataclass(frozen=True, slots=True)
class LockRequest:
    """A new lock's scope ("exclusive" or "shared") and owner (serialised XML, may be "")."""

    scope: str
    owner: str = ""


def parse_lockinfo(body: bytes) -> LockRequest | None:
    """The DAV:lockinfo of a LOCK, or None for an empty body (a refresh); 400 when malformed
    or when the lock type is not write (the only type RFC 4918 defines)."""
    root = parse(body)
    if root is None:
        return None
    if root.tag != tag("lockinfo"):
        raise HTTPError(400, "a LOCK body must be a DAV:lockinfo element")
    scope_element = root.find(tag("lockscope"))
    type_element = root.find(tag("locktype"))
    if scope_element is None or type_element is None or type_element.find(tag("write")) is None:
        raise HTTPError(400, "a DAV:lockinfo needs lockscope and a write locktype")
    if scope_element.find(tag("exclusive")) is not None:
        scope = "exclusive"
    elif scope_element.find(tag("shared")) is not None:
        scope = "shared"
    else:
        raise HTTPError(400, "the lock scope must be exclusive or shared")
    owner_element = root.find(tag("owner"))
    owner = "" if owner_element is None else ET.tostring(owner_element, encoding="unicode")
    return LockRequest(scope, owner)


# -- building responses --------------------------------------------------------------------


def element(name: str, text: str | None = None, namespace: str = DAV) -> ET.Element:
    """A new element, with text when given."""
    node = ET.Element(tag(name, namespace))
    if text is not None:
        node.text = text
    return node


def child(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    """A new DAV: child of ``parent``."""
    node = ET.SubElement(parent, tag(name))
    if text is not None:
        node.text = text
    return node


def serialise(root: ET.Element) -> bytes:
    """``root`` as a UTF-8 document with an XML declaration."""
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def dead_value(text: str) -> ET.Element:
    """A stored dead property value back as an element (it was serialised by us)."""
    node: ET.Element = SafeET.fromstring(text, forbid_dtd=True)
    return node


def status_text(status: int, reason: str) -> str:
    """A DAV:status value (``HTTP/1.1 404 Not Found``)."""
    return f"HTTP/1.1 {status} {reason}"


@dataclass
class Propstat:
    """The properties of one resource that share one status."""

    status: int
    reason: str
    props: list[ET.Element] = field(default_factory=list)


def multistatus_response(
    parent: ET.Element,
    href: str,
    *,
    propstats: list[Propstat] | None = None,
    status: tuple[int, str] | None = None,
    error: str | None = None,
) -> None:
    """Append one DAV:response for ``href`` to the DAV:multistatus ``parent``: either its
    propstats (PROPFIND, PROPPATCH) or one status (a failed member of COPY, MOVE, DELETE),
    with an optional DAV:error precondition name."""
    response = child(parent, "response")
    child(response, "href", href)
    if status is not None:
        child(response, "status", status_text(*status))
    for propstat in propstats or []:
        node = child(response, "propstat")
        prop = child(node, "prop")
        prop.extend(propstat.props)
        child(node, "status", status_text(propstat.status, propstat.reason))
    if error is not None:
        child(child(response, "error"), error)


def error_body(condition: str) -> bytes:
    """A DAV:error document naming one precondition (``propfind-finite-depth``)."""
    root = element("error")
    child(root, condition)
    return serialise(root)
