"""The lines after the start-up banner's first: where else porch is reachable, and ``--qr``.

The first line (``porch serving ROOT at http://HOST:PORT/``) is printed by ``serve`` and
parsed by tests and scripts; everything here comes after it, so it can change freely.
"""

from __future__ import annotations

import sys
from typing import TextIO

from porch.config import Config
from porch.share import qr_terminal, reachable_urls, url_host


def banner_extra(config: Config, port: int, scheme: str, out: TextIO) -> None:
    """Print every other URL porch answers at (for a wildcard bind), then, with
    ``config.qr``, a terminal QR code of the LAN URL (the first network address; the bound
    address when porch is bound to one, with a warning when that is a loopback one)."""
    urls = reachable_urls(config.host, port, scheme)
    width = max((len(label) for label, _ in urls), default=0)
    for label, url in urls:
        out.write(f"  {label + ':':<{width + 1}} {url}\n")
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
                "porch: --qr: bound to a loopback address, so other devices cannot reach it;"
                " use --host 0.0.0.0 to share on your network\n"
            )
    encoding = (getattr(out, "encoding", None) or sys.getdefaultencoding()).lower()
    out.write(qr_terminal(target, unicode=encoding.replace("-", "") == "utf8"))
    out.write(f"  {target}\n")
