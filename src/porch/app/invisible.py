"""Invisible characters in file names: bidi and zero-width controls (issue 17).

A name like ``rlo\\u202etxt.exe`` shows as ``rloexe.txt``: the right-to-left override turns
the rest around, and zero-width characters make two different names look the same. Uploads
refuse such names (porch.app.uploads); listings show them visibly as ``\\u202e`` in every
format (the link, and the JSON value, still carry the real name, so the file can be fetched).

Which characters: Unicode's format controls (category Cf: the bidi embeddings, overrides and
isolates, LRM/RLM/ALM, zero-width space, word joiner, BOM, soft hyphen ...) except the
zero-width joiner and non-joiner, which spell words in Persian and Indic scripts and join
emoji sequences; refusing them would refuse ordinary names.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Final

ALLOWED_FORMAT: Final = frozenset({"\u200c", "\u200d"})
"""ZWNJ and ZWJ: part of ordinary text."""


def is_invisible(char: str) -> bool:
    """True for a bidi or zero-width control (see the module docstring)."""
    return char not in ALLOWED_FORMAT and unicodedata.category(char) == "Cf"


def has_invisible(name: str) -> bool:
    return not name.isprintable() and any(is_invisible(char) for char in name)


def _escape(char: str) -> str:
    # json's ASCII escape gives \\uXXXX, with a surrogate pair above U+FFFF.
    return json.dumps(char)[1:-1]


def show_invisible(name: str) -> str:
    """``name`` with every invisible control written as ``\\uXXXX``, for display."""
    if not has_invisible(name):
        return name
    return "".join(_escape(char) if is_invisible(char) else char for char in name)
