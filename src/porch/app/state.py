"""The state directory: what porch keeps between requests and restarts, outside ROOT.

Theory of operation. WebDAV locks and dead properties (SQLite), resumable-upload partials and
offsets, and the thumbnail and checksum caches all live under one directory per served ROOT,
never inside ROOT (so it is never served, listed or archived). All ``--workers`` of one ROOT
share it, and it survives restarts. Each feature asks for its own subdirectory by name
(``StateDir.sub("dav")``); the directory and its subdirectories are made on first use with
mode 0700, since they may hold partial uploads of private files.

The default is ``$XDG_STATE_HOME/porch/<name>-<hash>`` (``~/.local/state`` when the variable is
unset), where ``<name>`` is ROOT's last component and ``<hash>`` the first 12 hex digits of the
SHA-256 of ROOT's resolved path: one directory per ROOT, recognisable by a person.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from porch.app.paths import contains


def default_state_dir(root: Path, environ: dict[str, str] | None = None) -> Path:
    """The state directory for ``root`` when ``--state-dir`` is not given (module docstring)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    digest = hashlib.sha256(os.fsencode(str(root))).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", root.name) or "root"
    return Path(base) / "porch" / f"{name}-{digest}"


class StateDirError(ValueError):
    """The state directory cannot be used (inside ROOT, or not creatable): a startup error."""


class StateDir:
    """One ROOT's state directory; subdirectories are made on first use (mode 0700)."""

    def __init__(self, path: Path, root: Path) -> None:
        """Raise ``StateDirError`` when ``path`` lies inside ``root`` (it would be served)."""
        resolved = Path(os.path.realpath(path))
        if contains(str(root), str(resolved)):
            raise StateDirError(f"the state directory is inside the served directory: {path}")
        self.path = resolved

    def sub(self, name: str) -> Path:
        """The subdirectory ``name`` (a single safe component), created if missing."""
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
            raise ValueError(f"not a state subdirectory name: {name!r}")
        directory = self.path / name
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return directory
