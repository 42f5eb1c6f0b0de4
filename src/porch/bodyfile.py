"""The one place a ``FileBody`` becomes an open descriptor, for every front end.

``porch.http`` stays free of files, so the server, ``porch.asgi`` and ``porch.testing`` open a
file body here: the app's descriptor when it handed one over (what is sent is then exactly the
file it checked, even if the name was replaced since), else ``path`` opened read-only.
"""

from __future__ import annotations

import os

from porch.http import FileBody


def open_file_body(body: FileBody) -> int:
    """The descriptor to read ``body`` from; the caller owns it and must close it."""
    return body.fd if body.fd is not None else os.open(body.path, os.O_RDONLY)
