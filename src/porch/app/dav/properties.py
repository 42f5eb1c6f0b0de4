"""WebDAV properties (RFC 4918 §15, RFC 4331): the live ones porch computes from the file
system, and the DAV:response that describes one resource for PROPFIND.

Theory of operation. A resource is described from what the caller already gathered — its
stat, its dead properties and the locks that may cover it, read in one query each for a
whole folder (porch.app.dav.methods) — so building a Depth 1 answer costs no database call per
member. Everything here is pure apart from ``statvfs`` for the quota properties.
"""

from __future__ import annotations

import datetime
import os
import stat
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Final

from porch.app.dav import xml as davxml
from porch.app.dav.locks import Lock
from porch.app.dav.xml import DAV, Propstat, child, element
from porch.app.files import validators
from porch.app.mediatypes import content_type
from porch.http import format_http_date

LIVE: Final = (
    "resourcetype",
    "getcontentlength",
    "getlastmodified",
    "getetag",
    "getcontenttype",
    "creationdate",
    "displayname",
    "supportedlock",
    "lockdiscovery",
)
"""The live properties of allprop and propname (DAV: namespace)."""
QUOTA: Final = ("quota-available-bytes", "quota-used-bytes")
"""RFC 4331's, on collections only; named by propname, never sent for allprop."""
SAFE_SEGMENT: Final = "!$&'()*+,;=:@~"
"""Characters left unescaped in an href segment (RFC 3986 pchar)."""


def quote_href(url: str, root_path: str, *, collection: bool) -> str:
    """The href of a normalised URL path under the mount prefix ``root_path``: each name
    percent-encoded, a collection with a trailing slash."""
    names = [n for n in url.split("/") if n]
    href = root_path + "/" + "/".join(urllib.parse.quote(n, safe=SAFE_SEGMENT) for n in names)
    if collection and not href.endswith("/"):
        href += "/"
    return href


def iso_date(timestamp: float) -> str:
    """A DAV:creationdate value (RFC 3339, UTC)."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_collection(info: os.stat_result) -> bool:
    """True for a directory (a WebDAV collection)."""
    return stat.S_ISDIR(info.st_mode)


def _supported_lock() -> ET.Element:
    node = element("supportedlock")
    for scope in ("exclusive", "shared"):
        entry = child(node, "lockentry")
        child(child(entry, "lockscope"), scope)
        child(child(entry, "locktype"), "write")
    return node


SUPPORTED_LOCK: Final = _supported_lock()


def activelock(lock: Lock, root_path: str) -> ET.Element:
    """The DAV:activelock describing ``lock`` (lockdiscovery, a LOCK's answer)."""
    node = element("activelock")
    child(child(node, "locktype"), "write")
    child(child(node, "lockscope"), lock.scope)
    child(node, "depth", "infinity" if lock.depth == "infinity" else "0")
    if lock.owner:
        node.append(davxml.dead_value(lock.owner))
    child(node, "timeout", f"Second-{lock.timeout}")
    child(child(node, "locktoken"), "href", lock.token)
    child(child(node, "lockroot"), "href", quote_href(lock.root, root_path, collection=False))
    return node


def live_property(
    name: str,
    url: str,
    real: str,
    info: os.stat_result,
    locks: list[Lock],
    root_path: str,
) -> ET.Element | None:
    """The live property ``name`` (DAV:) of a resource at ``url`` (real path ``real``,
    stat ``info``), or None when it has none; ``locks`` includes every lock that could cover it."""
    node = element(name)
    collection = is_collection(info)
    if name == "resourcetype":
        if collection:
            child(node, "collection")
    elif name == "getcontentlength":
        if collection:
            return None
        node.text = str(info.st_size)
    elif name == "getlastmodified":
        node.text = format_http_date(info.st_mtime)
    elif name == "getetag":
        if collection:
            return None
        node.text = validators(info)[0]
    elif name == "getcontenttype":
        node.text = "httpd/unix-directory" if collection else content_type(real)
    elif name == "creationdate":
        node.text = iso_date(min(info.st_ctime, info.st_mtime))
    elif name == "displayname":
        node.text = url.rsplit("/", 1)[-1] or "/"
    elif name == "supportedlock":
        return SUPPORTED_LOCK  # the same for every resource: built once, shared
    elif name == "lockdiscovery":
        for lock in locks:
            if lock.covers(url):
                node.append(activelock(lock, root_path))
    elif name in QUOTA:
        if not collection:
            return None
        try:
            disk = os.statvfs(real)
        except OSError:
            return None
        if name == "quota-available-bytes":
            node.text = str(disk.f_bavail * disk.f_frsize)
        else:
            node.text = str((disk.f_blocks - disk.f_bfree) * disk.f_frsize)
    else:
        return None
    return node


def describe(
    parent: ET.Element,
    root_path: str,
    url: str,
    real: str,
    info: os.stat_result,
    asked: davxml.PropfindRequest,
    properties: dict[str, dict[davxml.PropName, str]],
    locks: list[Lock],
) -> None:
    """Append the DAV:response for one resource to the multistatus ``parent``: what
    ``asked`` wants, live (``live_property``) and dead (``properties``, by URL path), with
    404 for properties it names that the resource does not have."""
    dead = properties.get(url, {})
    found: list[ET.Element] = []
    missing: list[ET.Element] = []
    if asked.kind == "propname":
        for name in (*LIVE, *QUOTA):
            if live_property(name, url, real, info, locks, root_path) is not None:
                found.append(element(name))
        for namespace, local in dead:
            found.append(element(local, namespace=namespace))
    else:
        wanted: list[tuple[str, str]] = []
        if asked.kind == "allprop":
            wanted = [(DAV, name) for name in LIVE]
            wanted += [n for n in asked.names if n not in wanted]
            wanted += [n for n in dead if n not in wanted]
        else:
            wanted = list(asked.names)
        for namespace, local in wanted:
            value: ET.Element | None = None
            if (namespace, local) in dead:
                value = davxml.dead_value(dead[(namespace, local)])
            elif namespace == DAV:
                value = live_property(local, url, real, info, locks, root_path)
            if value is not None:
                found.append(value)
            elif asked.kind == "prop":
                missing.append(element(local, namespace=namespace))
    propstats = [Propstat(200, "OK", found)]
    if missing:
        propstats.append(Propstat(404, "Not Found", missing))
    href = quote_href(url, root_path, collection=is_collection(info))
    davxml.multistatus_response(parent, href, propstats=propstats)
