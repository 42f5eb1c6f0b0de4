"""porch's file server mounted inside a FastAPI application.

Run:  PORCH_ROOT=~/Public uvicorn examples.fastapi_app:app
Then: /api/hello is FastAPI's, everything under /files/ is porch's (listings, ranges,
conditional requests, error pages). porch answers only loopback names and IP literals
unless told more (DNS rebinding, docs/security.md): PORCH_ALLOWED_HOSTS=files.example.org,...
"""

from __future__ import annotations

import os

from fastapi import FastAPI

import porch.asgi

app = FastAPI(title="porch inside FastAPI")


@app.get("/api/hello")
def hello() -> dict[str, str]:
    return {"hello": "from FastAPI"}


allowed = tuple(name for name in os.environ.get("PORCH_ALLOWED_HOSTS", "").split(",") if name)
files = porch.asgi.app(os.environ.get("PORCH_ROOT", "."), allowed_hosts=allowed)
app.mount("/files", files, name="files")
