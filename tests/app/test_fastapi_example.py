"""The FastAPI example in examples/ works: FastAPI's routes and porch's files side by side."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from starlette.testclient import TestClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app.py"


def test_fastapi_example_mounts_porch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "report.txt").write_text("quarterly numbers\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text("<p>docs</p>")
    monkeypatch.setenv("PORCH_ROOT", str(tmp_path))
    monkeypatch.setenv("PORCH_ALLOWED_HOSTS", "testserver")  # Starlette's client's Host
    spec = importlib.util.spec_from_file_location("fastapi_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    with TestClient(module.app) as client:
        assert client.get("/api/hello").json() == {"hello": "from FastAPI"}
        response = client.get("/files/report.txt")
        assert response.status_code == 200
        assert response.text == "quarterly numbers\n"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        redirect = client.get("/files/docs", follow_redirects=False)
        assert redirect.status_code == 301
        assert redirect.headers["location"] == "/files/docs/"
        assert client.get("/files/docs/").text == "<p>docs</p>"
        assert client.get("/files/missing.txt").status_code == 404
        assert client.get("/files/%2e%2e/secret").status_code == 400
        assert (
            client.get("/files/report.txt", headers={"Host": "elsewhere.example"}).status_code
            == 421
        )
