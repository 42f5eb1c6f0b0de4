"""The lines after the start-up banner's first: where else porch is reachable, and ``--qr``.

The first line (``porch serving ROOT at http://HOST:PORT/``) is printed by ``serve`` and
parsed by tests and scripts; everything here comes after it, so it can change freely.
"""

from __future__ import annotations

import sys
from typing import TextIO

from porch.config import Config
from porch.http.auth import Access, Grant
from porch.share import qr_terminal, reachable_urls, url_host


def describe_grants(grants: tuple[Grant, ...]) -> str:
    """``read, write@/incoming``: grants as ``--auth`` and ``--anonymous`` spell them."""
    words = [g.access.name.lower() + ("" if g.prefix == "/" else f"@{g.prefix}") for g in grants]
    return ", ".join(words) or "none"


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:g} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size = size / 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")  # pragma: no cover


def mode_lines(config: Config) -> list[str]:
    """What the banner says about how porch runs (issue 19): where uploads go and what a
    taken name does, TLS, the accounts and what anonymous visitors may do."""
    lines = []
    if config.upload_dir is None:
        lines.append(("uploads", "off (--upload-dir DIR accepts them)"))
    else:
        text = f"into {config.upload_dir}; a name taken: {config.on_conflict}"
        if config.max_upload_size is not None:
            text += f", up to {_size(config.max_upload_size)} each"
        lines.append(("uploads", text))
    if config.tls_cert is not None:
        lines.append(("TLS", f"on, certificate {config.tls_cert}"))
    else:
        lines.append(("TLS", "off (plain HTTP)"))
    if config.accounts:
        users = "; ".join(f"{a.name}: {describe_grants(a.grants)}" for a in config.accounts)
        lines.append(("users", users))
        lines.append(("anonymous", describe_grants(config.anonymous)))
    elif all(g.access == Access.WRITE for g in config.anonymous):
        verbs = "read everything" + (" and upload" if config.upload_dir is not None else "")
        lines.append(("access", f"open: anyone who can connect may {verbs}"))
    else:
        lines.append(("anonymous", describe_grants(config.anonymous)))
    width = max(len(label) for label, _ in lines)
    return [f"  {label + ':':<{width + 1}} {text}" for label, text in lines]


def banner_extra(config: Config, port: int, scheme: str, out: TextIO) -> None:
    """Print every other URL porch answers at (for a wildcard bind), then, with
    ``config.qr``, a terminal QR code of the LAN URL (the first network address; the bound
    address when porch is bound to one, with a warning when that is a loopback one)."""
    urls = reachable_urls(config.host, port, scheme)
    width = max((len(label) for label, _ in urls), default=0)
    for label, url in urls:
        out.write(f"  {label + ':':<{width + 1}} {url}\n")
    for line in mode_lines(config):
        out.write(line + "\n")
    if not config.qr:
        return
    network = [url for label, url in urls if label == "network"]
    if network:
        target = network[0]
    elif urls:
        target = urls[0][1]
        out.write("porch: --qr: no network address found; the code shows the local URL\n")
    else:
        target = f"{scheme}://{url_host(config.host)}:{port}/"
        if config.host in ("127.0.0.1", "::1", "localhost"):
            out.write(
                f"porch: warning: --qr: {config.host} is this machine only, so a phone cannot"
                " open the code's URL; start porch with -b 0.0.0.0 to share on your network\n"
            )
    encoding = (getattr(out, "encoding", None) or sys.getdefaultencoding()).lower()
    out.write(qr_terminal(target, unicode=encoding.replace("-", "") == "utf8"))
    out.write(f"  {target}\n")
