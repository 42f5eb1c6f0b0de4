"""Throughput of two streaming multipart parsers on one large file part.

Run: python3 bench/multipart_parsers.py [MiB]   (default 200)
Needs ``pip install streaming-form-data`` for the second parser (not a porch dependency).

Both parsers get the same body, fed in 64 KiB chunks (what the server hands the app), and
write nothing: the sink counts bytes, so this measures parsing alone. The body is built
once in memory (MiB + a few hundred bytes); the part data is random so boundary scanning
cannot take shortcuts on runs of one byte.
"""

from __future__ import annotations

import os
import sys
import time

import python_multipart

CHUNK = 64 * 1024
BOUNDARY = b"----porchbench7MA4YWxkTrZu0gW"


def build_body(size: int) -> bytes:
    data = os.urandom(size)
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--" + BOUNDARY + b"--\r\n"
    )


def feed(body: bytes, push) -> float:
    view = memoryview(body)
    start = time.perf_counter()
    for offset in range(0, len(body), CHUNK):
        push(bytes(view[offset : offset + CHUNK]))
    return time.perf_counter() - start


def bench_python_multipart(body: bytes) -> tuple[float, int]:
    received = 0

    def on_part_data(data: bytes, start: int, end: int) -> None:
        nonlocal received
        received += end - start

    parser = python_multipart.MultipartParser(BOUNDARY, {"on_part_data": on_part_data})
    seconds = feed(body, parser.write)
    parser.finalize()
    return seconds, received


def bench_streaming_form_data(body: bytes) -> tuple[float, int]:
    from streaming_form_data import StreamingFormDataParser
    from streaming_form_data.targets import BaseTarget

    class _Counter(BaseTarget):
        def __init__(self) -> None:
            super().__init__()
            self.received = 0

        def on_data_received(self, chunk: bytes) -> None:
            self.received += len(chunk)

    target = _Counter()
    parser = StreamingFormDataParser(
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}
    )
    parser.register("file", target)
    seconds = feed(body, parser.data_received)
    return seconds, target.received


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    body = build_body(mib * 1024 * 1024)
    for name, bench in (
        ("python-multipart", bench_python_multipart),
        ("streaming-form-data", bench_streaming_form_data),
    ):
        try:
            seconds, received = bench(body)
        except ImportError as error:
            print(f"{name:20} not installed ({error.name})")
            continue
        assert received == mib * 1024 * 1024, (name, received)
        print(f"{name:20} {mib} MiB in {seconds:6.3f} s = {mib / seconds:8.1f} MiB/s")


if __name__ == "__main__":
    main()
