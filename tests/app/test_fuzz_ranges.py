"""Property test: Range requests through the real ``App`` against real files.

Generated Range values (built from the grammar, mutated, or arbitrary header text) go to GET on
files of 1 byte to 70,000 bytes (past the 64 KiB read step of multipart bodies), with
``--max-ranges 5``. Every answer must be what ``tests.range_checks.check_range_answer`` says:
200 with the whole file for syntax porch ignores or too many ranges, 416 (with
``bytes */SIZE``) only when no requested byte exists, otherwise 206 whose single body or
multipart parts are exactly the file's slices, never overlapping, covering exactly the
requested bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from porch.app import App
from porch.config import Config
from porch.testing import Client
from tests.range_checks import check_range_answer
from tests.unit.test_fuzz_ranges import invalid_values, valid_values

SIZES = (1, 2, 100, 70_000)
MAX_RANGES = 5


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Client, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("ranges").resolve()
    contents = {}
    for size in SIZES:
        data = bytes((i * 31 + size) % 256 for i in range(size))
        (root / f"f{size}.bin").write_bytes(data)
        contents[f"/f{size}.bin"] = data
    return Client(App(Config(root=root, max_ranges=MAX_RANGES))), contents


header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
).map(lambda text: text.strip(" \t"))

values = (
    valid_values().map(lambda built: built[0]).map(lambda text: text.strip(" \t"))
    | invalid_values()
    | header_text
)


def ask(files: tuple[Client, dict[str, bytes]], target: str, value: str) -> None:
    client, contents = files
    response = client.get(target, headers={"Range": value})
    check_range_answer(
        value,
        contents[target],
        response.status,
        response.headers,
        response.body,
        max_ranges=MAX_RANGES,
        content_type="application/octet-stream",
    )


@settings(max_examples=250, deadline=None)
@given(target=st.sampled_from([f"/f{size}.bin" for size in SIZES]), value=values)
@example(target="/f70000.bin", value="bytes=0-65535,65536-65540,-3")  # parts across the step
@example(target="/f100.bin", value="bytes=0-,0-,0-")  # merged: the file once
@example(target="/f100.bin", value="bytes=100-,200-300")  # nothing exists: 416
@example(target="/f100.bin", value="bytes=-0")  # an empty suffix: 416
@example(target="/f2.bin", value="bytes=0-0,1-1,0-0,1-1,0-0,1-1")  # six > --max-ranges: 200
@example(target="/f100.bin", value="bytes=5-1")  # last before first: ignored
def test_range_answers_are_the_file_slices(
    files: tuple[Client, dict[str, bytes]], target: str, value: str
) -> None:
    ask(files, target, value)


def test_checker_rejects_a_wrong_slice(files: tuple[Client, dict[str, bytes]]) -> None:
    # Guards the property: a body off by one byte must fail the check.
    client, contents = files
    response = client.get("/f100.bin", headers={"Range": "bytes=10-19"})
    assert response.status == 206
    with pytest.raises(AssertionError):
        check_range_answer(
            "bytes=10-20",
            contents["/f100.bin"],
            response.status,
            response.headers,
            response.body,
            max_ranges=MAX_RANGES,
            content_type="application/octet-stream",
        )
