"""Helpers for the security tests: cheap Argon2id hashes and throwaway TLS certificates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import argon2
import trustme

# Real Argon2id with tiny costs: the same verify path as production, milliseconds per check.
_QUICK = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def quick_hash(password: str) -> str:
    return _QUICK.hash(password)


@dataclass
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path) -> Certificates:
    """A throwaway CA and a certificate for 127.0.0.1/localhost, written as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    paths = Certificates(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    authority.cert_pem.write_to_path(str(paths.ca))
    issued.cert_chain_pems[0].write_to_path(str(paths.cert))
    for extra in issued.cert_chain_pems[1:]:
        extra.write_to_path(str(paths.cert), append=True)
    issued.private_key_pem.write_to_path(str(paths.key))
    return paths
