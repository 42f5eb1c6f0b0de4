"""The TLS context for ``--tls-cert``/``--tls-key``: stdlib ``ssl``, TLS 1.2 and newer.

Built once at start by ``Config.validate`` (porch.runtime), before ``--workers`` forks, so a bad
certificate is an exit-2 message, never a crash loop of children. The connection code needs
nothing special for TLS: asyncio (or uvloop) wraps the transport,
and ``Connection`` sees ``sslcontext`` in the transport's extra info and sends files by bounded
reads and writes instead of ``sendfile`` (the kernel cannot encrypt). The handshake has its
own deadline (``handshake_timeout``), because the header timer starts only once the handshake
is done and a client that never finishes one would otherwise hold its socket forever.
"""

from __future__ import annotations

import ssl
from pathlib import Path

TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
"""TLS 1.2 suites: forward secrecy and AEAD only (TLS 1.3 suites are fixed by OpenSSL, all good)."""


class TLSError(Exception):
    """The certificate or key cannot be used; the message says why (no key material in it)."""


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side context with the certificate chain ``cert`` and private key ``key``.

    TLS 1.2 minimum, ECDHE + AEAD suites for 1.2, no compression, no renegotiation, ALPN
    ``http/1.1``. Raises ``TLSError`` when the files cannot be read or do not match.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except FileNotFoundError as error:
        raise TLSError(f"cannot read {error.filename}") from None
    except PermissionError as error:
        raise TLSError(f"no permission to read {error.filename}") from None
    except ssl.SSLError as error:
        reason = error.reason or "unusable"
        raise TLSError(f"the certificate and key cannot be used together ({reason})") from None
    return context
