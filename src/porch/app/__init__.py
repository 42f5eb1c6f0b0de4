"""``porch.app``: what porch answers. ``App.handle(request) -> Response``; no sockets."""

from __future__ import annotations

from porch.app.app import App

__all__ = ["App"]
