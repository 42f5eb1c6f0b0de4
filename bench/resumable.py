"""The resumable-upload row: a large upload with tus in 8 MiB chunks, beside porch's plain PUT.

``bench/run.py`` calls ``measure_resumable`` for each porch upload server after its PUT; the
row appears in "Memory and uploads" as ``<server> tus 8 MiB chunks``, its note giving the ratio
to the same server's PUT (the target is >= 0.8x, issue 14). The client, pinned to CPU 1 like the
PUT client, creates the upload with one POST and sends every chunk as a PATCH on one keep-alive
connection, zeros as the PUT sends; the time runs from the POST to the last PATCH's answer, so
it includes landing the file (rename into the upload directory, fsyncs).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
import time

from bench.harness import MIB, MemoryFigures, Run
from bench.servers import HOST, Corpus, RssSampler, ServerSpec, StartFailed, memory, pinned, running

CHUNK = 8 * MIB

TUS_CLIENT = textwrap.dedent(
    """\
    import base64, json, socket, sys, time
    host, port, endpoint, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    size, chunk = int(sys.argv[5]), int(sys.argv[6])
    zeros = memoryview(bytes(1024 * 1024))
    sock = socket.create_connection((host, port), timeout=120)

    def answer():
        data = b""
        while b"\\r\\n\\r\\n" not in data:
            more = sock.recv(65536)
            if not more:
                raise SystemExit("connection closed")
            data += more
        head, _, rest = data.partition(b"\\r\\n\\r\\n")
        fields = {}
        for line in head.split(b"\\r\\n")[1:]:
            key, _, value = line.decode("latin-1").partition(":")
            fields[key.strip().lower()] = value.strip()
        length = int(fields.get("content-length", "0"))
        while len(rest) < length:
            rest += sock.recv(65536)
        return int(head.split(b" ", 2)[1]), fields

    start = time.monotonic()
    metadata = "filename " + base64.b64encode(name.encode()).decode()
    sock.sendall((f"POST {endpoint} HTTP/1.1\\r\\nHost: {host}\\r\\nTus-Resumable: 1.0.0\\r\\n"
                  f"Upload-Length: {size}\\r\\nUpload-Metadata: {metadata}\\r\\n"
                  "Content-Length: 0\\r\\n\\r\\n").encode())
    status, fields = answer()
    if status != 201:
        print(json.dumps({"status": status, "seconds": 0, "chunks": 0}))
        raise SystemExit(0)
    url = fields["location"]
    offset, chunks = 0, 0
    while offset < size:
        n = min(chunk, size - offset)
        sock.sendall((f"PATCH {url} HTTP/1.1\\r\\nHost: {host}\\r\\nTus-Resumable: 1.0.0\\r\\n"
                      f"Upload-Offset: {offset}\\r\\nContent-Type: application/offset+octet-stream"
                      f"\\r\\nContent-Length: {n}\\r\\n\\r\\n").encode())
        left = n
        while left:
            piece = min(left, len(zeros))
            sock.sendall(zeros[:piece])
            left -= piece
        status, fields = answer()
        if status != 204:
            break
        offset = int(fields["upload-offset"])
        chunks += 1
    seconds = time.monotonic() - start
    print(json.dumps({"status": status, "seconds": seconds, "chunks": chunks}))
    """
)


def tus_upload(port: int, endpoint: str, name: str, size: int, chunk: int) -> tuple[int, float]:
    """Upload ``size`` zero bytes with tus in ``chunk``-byte PATCHes: (last status, seconds)."""
    args = [HOST, str(port), endpoint, name, str(size), str(chunk)]
    command = pinned(1, [sys.executable, "-c", TUS_CLIENT, *args])
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"tus client failed: {done.stderr.strip()[-300:]}")
    data = json.loads(done.stdout)
    return int(data["status"]), float(data["seconds"])


def measure_resumable(
    spec: ServerSpec, corpus: Corpus, size: int, run: Run, chunk: int = CHUNK
) -> str:
    """Add the row ``<spec.name> tus <chunk> chunks`` to ``run.memory``; returns its name."""
    name = f"{spec.name} tus {chunk // MIB} MiB chunks"
    mem = run.memory.setdefault(name, MemoryFigures())
    try:
        with running(spec, corpus) as server:
            time.sleep(0.3)
            mem.upload_idle = memory(server.pid, "VmRSS")
            with RssSampler(server.pid) as sampler:
                status, seconds = tus_upload(server.port, "/", "bench-tus.bin", size, chunk)
            mem.upload = sampler.peak
            stored = corpus.upload_dir / "bench-tus.bin"
            stored_size = stored.stat().st_size if stored.exists() else -1
            if status != 204:
                mem.upload_note = f"ERROR: status {status}"
            elif stored_size != size:
                mem.upload_note = f"ERROR: stored {stored_size} bytes of {size}"
            else:
                mem.upload_mb_per_s = size / seconds / 1e6
                plain = run.memory.get(spec.name, MemoryFigures()).upload_mb_per_s
                if plain:
                    mem.upload_note = f"{mem.upload_mb_per_s / plain:.2f}x this server's PUT"
            with contextlib.suppress(FileNotFoundError):
                stored.unlink()
    except StartFailed as error:
        mem.upload_note = f"ERROR: did not start: {error}"
    except (OSError, RuntimeError) as error:
        mem.upload_note = f"ERROR: {error}"
    return name
