"""``Config.validate()``: the configuration checked once, into what the server runs with.

Theory of operation. ``Config`` holds settings as given; ``validate`` checks every one that can
be wrong on this machine and returns a ``Runtime``: the config with its paths resolved, the
trusted-proxy networks parsed, the TLS context built (the certificate and key loaded and
matched), the upload directory found writable, the state directory placed outside ROOT, and the
refusal of a TLS key, certificate or credentials file inside ROOT (it could be downloaded).
The command line, ``porch.asgi`` and the ``--workers`` supervisor all start from a ``Runtime``,
so a fault is found once, before anything forks, and reported the same way: a ``ConfigError``
whose message the CLI prints before exiting with status 2 (``porch.asgi`` raises it: it is a
``ValueError``).
"""

from __future__ import annotations

import dataclasses
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from porch.config import Config
from porch.http.forwarded import Network, parse_networks
from porch.tls import TLSError, server_context


class ConfigError(ValueError):
    """A setting cannot be used; the message says which and why (no secrets in it)."""


@dataclass(frozen=True, slots=True)
class Runtime:
    """A validated configuration and what was built from it."""

    config: Config
    trusted_proxies: tuple[Network, ...] = ()
    ssl_context: ssl.SSLContext | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"


def _inside(root: Path, name: Path) -> bool:
    real = os.path.realpath(name)
    return real == str(root) or os.path.commonpath([str(root), real]) == str(root)


def _root(config: Config) -> Path:
    root = Path(config.root).expanduser()
    if not root.exists():
        raise ConfigError(f"root is not a directory: {config.root} does not exist")
    if not root.is_dir():
        raise ConfigError(f"root is not a directory: {config.root}")
    return root.resolve(strict=True)


def _upload_dir(config: Config) -> Path | None:
    if config.upload_dir is None:
        return None
    path = Path(config.upload_dir).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"upload_dir is not a directory (the upload directory must exist): {config.upload_dir}"
        )
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"upload directory is not writable: {config.upload_dir}")
    return path.resolve(strict=True)


def _state_dir(config: Config, root: Path) -> Path:
    from porch.app.state import StateDir, StateDirError, default_state_dir

    path = Path(config.state_dir).expanduser() if config.state_dir else default_state_dir(root)
    try:
        return StateDir(path, root).path
    except StateDirError as error:
        raise ConfigError(f"--state-dir: {error}") from None


def _tls(config: Config, root: Path) -> tuple[Path | None, Path | None, ssl.SSLContext | None]:
    cert, key = config.tls_cert, config.tls_key
    if (cert is None) != (key is None):
        raise ConfigError("--tls-cert and --tls-key go together")
    if cert is None or key is None:
        return None, None, None
    for flag, name in (("--tls-cert", cert), ("--tls-key", key)):
        if not os.path.isfile(name):
            raise ConfigError(f"{flag}: no such file: {name}")
        if _inside(root, name):
            raise ConfigError(f"{flag}: the file is inside the served directory; move it out")
    try:
        context = server_context(Path(cert), Path(key))
    except TLSError as error:
        raise ConfigError(f"TLS: {error}") from None
    return Path(cert).resolve(), Path(key).resolve(), context


def validate(config: Config) -> Runtime:
    """Check ``config`` once and build what the server runs with; ``ConfigError`` on a fault.

    Idempotent: validating the config of a ``Runtime`` again gives the same config.
    """
    root = _root(config)
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"port out of range: {config.port}")
    try:
        networks = parse_networks(list(config.trusted_proxies))
    except ValueError as error:
        raise ConfigError(f"--trusted-proxy: {error}") from None
    # Issue 18: a credentials file inside ROOT could be downloaded.
    if config.auth_file is not None and _inside(root, config.auth_file):
        raise ConfigError("--auth-file: the file is inside the served directory; move it out")
    upload_dir = _upload_dir(config)
    tls_cert, tls_key, context = _tls(config, root)
    resolved = dataclasses.replace(
        config,
        root=root,
        upload_dir=upload_dir,
        tls_cert=tls_cert,
        tls_key=tls_key,
        state_dir=_state_dir(config, root),
    )
    return Runtime(resolved, networks, context)
