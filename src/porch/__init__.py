"""porch: a fast, safe HTTP file server.

The package is three layers with imports pointing one way (see docs/design.md):
``porch.http`` (the protocol, pure), ``porch.app`` (what porch answers, knows files) and
``porch.server`` (the asyncio transport, knows sockets). ``porch.cli`` wires them together.
"""

from __future__ import annotations

__version__ = "0.1.0"
