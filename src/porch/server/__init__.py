"""``porch.server``: the asyncio transport. Knows sockets; never imports ``porch.app``."""

from __future__ import annotations

from porch.server.serve import StartupError, run, serve

__all__ = ["StartupError", "run", "serve"]
