"""Upload throughput, server memory and event-loop stalls for one large streamed upload.

Run from the repository root:

    python3 bench/upload_memory.py [--mib 1024] [--loop auto|asyncio|uvloop] [--chunked]

It starts ``python -m porch`` (this checkout's ``src``) with ``--upload-dir`` in a temporary
directory, sends MIB MiB of generated data with PUT (Content-Length, or chunked), and reports:
MiB/s as the client saw it (from the first byte sent to the response), the server's RSS when
idle and its peak (VmHWM from /proc/PID/status, Linux only), and the slowest of the small GETs
a second client sends every 20 ms during the upload (a stalled event loop shows up there).
The uploaded file's SHA-256 is checked against what was sent.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MiB = 1024 * 1024
SRC = Path(__file__).resolve().parents[1] / "src"


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing")


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            break
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += sock.recv(65536)
    return head.split(b"\r\n")[0]


def probe(port: int, stop: threading.Event, latencies: list[float]) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        while not stop.is_set():
            started = time.perf_counter()
            sock.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            read_response(sock)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--chunked", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        (root / "small.txt").write_text("small\n")
        (root / "up").mkdir()
        env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONUNBUFFERED="1")
        server = subprocess.Popen(
            [sys.executable, "-m", "porch", str(root), "--port", "0", "--quiet",
             "--loop", args.loop, "--upload-dir", str(root / "up")],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline().rsplit(":", 1)[1].strip().strip("/"))
            with socket.create_connection(("127.0.0.1", port)) as sock:  # warm up
                sock.sendall(b"PUT /warm HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
                read_response(sock)
            idle = vm_kib(server.pid, "VmRSS")
            stop, latencies = threading.Event(), []
            prober = threading.Thread(target=probe, args=(port, stop, latencies))
            prober.start()
            block = bytearray(os.urandom(MiB))
            sent = hashlib.sha256()
            framing = (
                "Transfer-Encoding: chunked"
                if args.chunked
                else f"Content-Length: {args.mib * MiB}"
            )
            started = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(f"PUT /big.bin HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n".encode())
                for index in range(args.mib):
                    block[:8] = index.to_bytes(8, "big")
                    sent.update(block)
                    sock.sendall(b"100000\r\n" + block + b"\r\n" if args.chunked else block)
                if args.chunked:
                    sock.sendall(b"0\r\n\r\n")
                status = read_response(sock)
            seconds = time.perf_counter() - started
            stop.set()
            prober.join()
            peak = vm_kib(server.pid, "VmHWM")
            received = hashlib.sha256()
            with (root / "up" / "big.bin").open("rb") as file:
                while chunk := file.read(4 * MiB):
                    received.update(chunk)
            print(f"status:        {status.decode()}")
            print(
                f"throughput:    {args.mib} MiB in {seconds:.2f} s = {args.mib / seconds:.0f} MiB/s"
            )
            print(
                f"server RSS:    idle {idle / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
                f"(+{(peak - idle) / 1024:.1f} MiB)"
            )
            print(
                f"GET latency:   {len(latencies)} probes, max {max(latencies) * 1000:.1f} ms, "
                f"median {sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms"
            )
            print(f"sha256 match:  {received.hexdigest() == sent.hexdigest()}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
