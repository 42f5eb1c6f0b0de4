"""Pick the zip library by measurement (issue 15; docs/folders.md quotes a run).

Streams the same small tree through zipstream-ng (stored, sized) and stream-zip (stored,
which buffers each member to learn its CRC first; and deflate, which streams) and reports
time, peak Python memory and whether the archive's size is known before the first byte.
Small on purpose (a second or two): it decides a design question, it is not a benchmark.

    .venv/bin/python bench/zip_libraries.py [--files 50] [--size-mib 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime


def make_tree(directory: str, files: int, size: int) -> list[str]:
    paths = []
    block = os.urandom(64 * 1024)
    for number in range(files):
        path = os.path.join(directory, f"file-{number:04d}.bin")
        with open(path, "wb") as handle:
            for _ in range(size // len(block)):
                handle.write(block)
        paths.append(path)
    return paths


def chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while data := handle.read(64 * 1024):
            yield data


def with_zipstream_ng(paths: list[str]) -> tuple[int | None, Iterable[bytes]]:
    from zipstream import ZIP_STORED, ZipStream

    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    for path in paths:
        stream.add_path(path, os.path.basename(path), recurse=False)
    return len(stream), stream


def with_stream_zip(method_name: str) -> Callable[[list[str]], tuple[int | None, Iterable[bytes]]]:
    def build(paths: list[str]) -> tuple[int | None, Iterable[bytes]]:
        import stream_zip

        method = getattr(stream_zip, method_name)
        when = datetime.now(UTC)
        members = ((os.path.basename(p), when, 0o644, method, chunks(p)) for p in paths)
        return None, stream_zip.stream_zip(members)

    return build


def measure(
    name: str, build: Callable[[list[str]], tuple[int | None, Iterable[bytes]]], paths: list[str]
) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    length, stream = build(paths)
    total = sum(len(piece) for piece in stream)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    known = "yes" if length == total else "no"
    print(
        f"{name:32} {elapsed * 1000:8.0f} ms  peak {peak / 2**20:7.1f} MiB  "
        f"{total / 2**20:8.1f} MiB out  size known up front: {known}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--size-mib", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        paths = make_tree(directory, args.files, args.size_mib * 2**20)
        measure("zipstream-ng stored (sized)", with_zipstream_ng, paths)
        measure("stream-zip NO_COMPRESSION_64", with_stream_zip("NO_COMPRESSION_64"), paths)
        measure("stream-zip ZIP_64 (deflate)", with_stream_zip("ZIP_64"), paths)


if __name__ == "__main__":
    main()
