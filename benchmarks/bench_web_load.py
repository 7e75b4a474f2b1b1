"""Benchmark: the web API under load — 50 concurrent clients on /api/search and /api/ask.

    .venv/bin/kvp build --index /tmp/webidx
    .venv/bin/python benchmarks/bench_web_load.py --index /tmp/webidx [--clients 50] [--seconds 60]
    .venv/bin/python benchmarks/bench_web_load.py --store postgresql://…   # a PostgreSQL store

Starts the app (uvicorn, in a child process, on 127.0.0.1 and a free port), waits until it
has loaded the index, then runs closed-loop clients (no think time) for a fixed time: each
client sends a request, waits for the answer, and sends the next. Questions come from the
retrieval evaluation set (benchmarks/retrieval/questions.jsonl), in a shuffled order per
client. Every loop is bounded by the deadline and every request by a timeout; the server is
stopped at the end. Prints, per endpoint: requests, requests/s, p50/p95/p99 latency and
errors (a non-2xx status or a failed request).

`--no-cache` turns off the app's in-memory cache of question and sentence vectors, so
every request pays for the encoder (the cost of never-seen questions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "benchmarks" / "retrieval" / "questions.jsonl"
REQUEST_TIMEOUT = 30.0  # seconds; a request slower than this counts as an error
# a refused or dropped connection, a timeout, a response that is not HTTP
FAILURES = (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, StopIteration)
START_TIMEOUT = 600.0  # a first start encodes ~4,700 corpus sentences (later: read from disk)


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: Counter[str] = field(default_factory=Counter)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(index: Path | str, port: int, *, cache: bool) -> subprocess.Popen[bytes]:
    location = f"{index!r}" if isinstance(index, str) else f"Path({str(index)!r})"
    code = (
        "import uvicorn; from pathlib import Path; from pipeline.web import create_app; "
        f"uvicorn.run(create_app({location}, warm=True, cache_vectors={cache}), "
        f"host='127.0.0.1', port={port}, log_level='warning')"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=os.environ)


def wait_until_up(base: str, process: subprocess.Popen[bytes], *, warm: bool) -> float:
    """Seconds until the server answers (and, with `warm`, has encoded the corpus sentences)."""
    started = time.monotonic()
    while time.monotonic() < started + START_TIMEOUT:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            response = httpx.get(f"{base}/api/health", timeout=5)
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code == 200:
            warm_up = response.json().get("warm_up") or {"finished": True}
            if not warm or warm_up["finished"]:
                return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready within {START_TIMEOUT:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def request_bytes(endpoint: str, question: str, port: int) -> bytes:
    """One HTTP/1.1 request (keep-alive) for an endpoint and a question."""
    if endpoint == "search":
        head = f"GET /api/search?{urlencode({'q': question, 'k': 10})} HTTP/1.1\r\n"
        body = b""
    else:
        head = "POST /api/ask HTTP/1.1\r\nContent-Type: application/json\r\n"
        body = json.dumps({"question": question}).encode()
    head += f"Host: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send a request on an open connection and read the whole response; its status."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(v) for k, _, v in (x.partition(":") for x in lines[1:]) if k.lower() == "content-length"
    )
    await reader.readexactly(length)
    return status


async def client(
    port: int,
    number: int,
    questions: list[str],
    endpoints: list[str],
    deadline: float,
    stats: dict[str, Stats],
) -> None:
    """A closed-loop client on one keep-alive connection (reopened after an error).

    A minimal HTTP/1.1 client rather than httpx: at 100+ requests/s httpx itself would take
    a good share of the 2 cores the server needs.
    """
    rng = random.Random(number)
    order = questions[:]
    rng.shuffle(order)
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    n = 0
    while (left := deadline - time.monotonic()) > 0:
        endpoint = endpoints[(number + n) % len(endpoints)]
        request = request_bytes(endpoint, order[n % len(order)], port)
        n += 1
        started = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.open_connection("127.0.0.1", port)
            status = await asyncio.wait_for(
                exchange(*connection, request), timeout=min(REQUEST_TIMEOUT, left + 5)
            )
        except FAILURES as err:
            stats[endpoint].errors[type(err).__name__] += 1
            if connection is not None:
                connection[1].close()
            connection = None
            continue
        elapsed = time.perf_counter() - started
        if status == 200:
            stats[endpoint].latencies.append(elapsed)
        else:
            stats[endpoint].errors[f"HTTP {status}"] += 1
    if connection is not None:
        connection[1].close()


async def run_load(
    port: int, clients: int, seconds: float, questions: list[str], endpoints: list[str]
) -> tuple[dict[str, Stats], float]:
    stats = {endpoint: Stats() for endpoint in endpoints}
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(client(port, n, questions, endpoints, deadline, stats) for n in range(clients))
    )
    return stats, time.monotonic() - started


def report(
    stats: dict[str, Stats], elapsed: float, clients: int, cache: bool, cpu: tuple[float, float]
) -> None:
    total = sum(len(s.latencies) for s in stats.values())
    print(
        f"{clients} clients, {elapsed:.1f} s, vector cache {'on' if cache else 'off'}, "
        f"{os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}"
    )
    print(
        f"CPU: server {cpu[0]:.1f} s ({1000 * cpu[0] / max(total, 1):.1f} ms per request), "
        f"load generator {cpu[1]:.1f} s"
    )
    print(
        f"{'endpoint':<12}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
    )
    for endpoint, s in stats.items():
        ms = [1000 * v for v in s.latencies]
        print(
            f"/api/{endpoint:<7}{len(ms):>9}{len(ms) / elapsed:>8.1f}{percentile(ms, 50):>9.0f}"
            f"{percentile(ms, 95):>9.0f}{percentile(ms, 99):>9.0f}{max(ms, default=0):>9.0f}"
            f"{sum(s.errors.values()):>8}"
        )
        if s.errors:
            print(f"    errors: {dict(s.errors)}")
        if ms:
            print(f"    mean {statistics.fmean(ms):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("/tmp/webidx"))
    parser.add_argument("--store", help="serve this PostgreSQL store instead of --index")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--endpoints", default="search,ask", help="comma-separated: search, ask (alternated)"
    )
    parser.add_argument("--no-cache", action="store_true", help="turn off the vector cache")
    parser.add_argument(
        "--cold", action="store_true", help="start before the sentence warm-up has finished"
    )
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 600:
        raise SystemExit("keep it bounded: 1-200 clients, 1-600 seconds")
    endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    if not endpoints or set(endpoints) - {"search", "ask"}:
        raise SystemExit("--endpoints takes search and/or ask")
    questions = [
        json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line
    ]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cache = not args.no_cache
    process = start_server(args.store or args.index, port, cache=cache)
    try:
        ready = wait_until_up(base, process, warm=not args.cold)
        print(f"server ready after {ready:.1f} s")
        server_before = cpu_seconds(process.pid)
        own_before = time.process_time()
        stats, elapsed = asyncio.run(
            run_load(port, args.clients, args.seconds, questions, endpoints)
        )
        cpu = (cpu_seconds(process.pid) - server_before, time.process_time() - own_before)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    report(stats, elapsed, args.clients, cache, cpu)


if __name__ == "__main__":
    main()
