"""The HTTP side of the load benchmark of the archive's web service
(``bench/orthanc_auth_load.py``): an imitation of the archive, gunicorn, ``wrk`` at full
throughput and an open-loop generator at a fixed rate. Nothing here imports Django.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = ROOT / "bench" / "orthanc_auth_load.lua"
# The route of the framework's floor (bench/auth_floor_urls.py), for gunicorn's readiness.
READY_PATH = "/bench-floor/tokens/validate"


# --- The imitation of the archive ---------------------------------------------------------


class FakeArchive:
    """What the portal asks an Orthanc about a series or an instance: its parent study
    (``GET /series/{id}/study``) and the resource a DICOM identifier names (``POST
    /tools/lookup``). It counts the questions: each resource should be asked about once."""

    def __init__(self) -> None:
        self.parents: dict[str, str] = {}
        self.lookups: dict[str, tuple[str, str]] = {}
        self.asked = 0
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                archive.asked += 1
                parts = self.path.strip("/").split("/")
                if len(parts) == 3 and parts[0] in ("series", "instances") and parts[2] == "study":
                    study = archive.parents.get(parts[1])
                    if study:
                        self._answer(200, {"ID": study, "Type": "Study"})
                        return
                self._answer(404, {"Message": "Unknown resource"})

            def do_POST(self) -> None:
                archive.asked += 1
                length = int(self.headers.get("Content-Length") or 0)
                uid = self.rfile.read(length).decode().strip()
                found = archive.lookups.get(uid)
                if self.path == "/tools/lookup":
                    self._answer(200, [{"Type": found[0], "ID": found[1]}] if found else [])
                    return
                self._answer(404, {"Message": "Unknown resource"})

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeArchive:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- gunicorn -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Gunicorn:
    """The portal's WSGI application under gunicorn, as it would be deployed for load:
    DEBUG off, persistent database connections, no access log, warnings only."""

    def __init__(self, args: argparse.Namespace, *, database_url: str, log_dir: Path) -> None:
        self.port = args.port or free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.auth_load_settings",
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "600",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
        self.command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "portal.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={args.workers}",
            # gthread, not sync: the archive's plugin (libcurl) and wrk keep their connections
            # alive, which the sync worker does not support (it closes after every answer: the
            # floor served 15-25 % less here, each request paying a TCP handshake). Two
            # threads: while one waits on PostgreSQL (the trail's commit) the other runs
            # Python; more only add GIL contention and database connections.
            f"--worker-class={args.worker_class}",
            f"--threads={args.threads}",
            "--keep-alive=30",
            "--backlog=2048",
            "--log-level=warning",
            "--graceful-timeout=5",
        ]
        self.log_path = log_dir / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        self.log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            self.command, cwd=ROOT, env=self.env, stdout=self.log_file, stderr=self.log_file
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn s'est arrêté : voir {self.log_path}")
            try:
                status, _body = post_once(self.port, READY_PATH, "{}", "")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn ne répond pas sur le port {self.port} : voir {self.log_path}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def post_once(port: int, path: str, body: str, authorization: str) -> tuple[int, bytes]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        client.request("POST", path, body, headers=_headers(authorization))
        answer = client.getresponse()
        return answer.status, answer.read()
    finally:
        client.close()


def _headers(authorization: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    return headers


# --- The load -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One run of one endpoint: throughput, latency (ms), errors, answers."""

    requests: int
    seconds: float
    p50: float
    p99: float
    p999: float
    non2xx: int
    socket_errors: int
    answered_2xx: int
    granted: int
    # Open loop: the requests never sent, the server having fallen too far behind.
    abandoned: int = 0
    # Every request sent, the open loop's warm-up included (what the CPU was spent on).
    sent: int = 0
    # CPU milliseconds per request of each kind of process during the run (``CpuClock``).
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class CpuClock:
    """The CPU time the machine's processes spend during a run, by kind: the server
    (gunicorn), PostgreSQL, the load generator (wrk, or this process for the open loop), and
    everything else (another job on a shared machine). Read from /proc, whole processes."""

    TICK_S = 1 / os.sysconf("SC_CLK_TCK")

    def __init__(self, *, server_pid: int) -> None:
        self.server_pid = server_pid

    def _kind(self, pid: int, name: str, parent: int) -> str:
        if pid == os.getpid():
            return "banc"
        if pid == self.server_pid or parent == self.server_pid:
            return "gunicorn"
        if name == "postgres":
            return "postgres"
        if name == "wrk":
            return "wrk"
        return "autres"

    def snapshot(self) -> Counter[str]:
        spent: Counter[str] = Counter()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields_ = stat[stat.rindex(")") + 2 :].split()
            kind = self._kind(int(entry), name, int(fields_[1]))
            spent[kind] += int(fields_[11]) + int(fields_[12])  # utime + stime
            if kind == "banc":
                # This process's children waited for: each wrk, once it is done.
                spent["wrk"] += int(fields_[13]) + int(fields_[14])
        return spent

    def per_request(
        self, before: Counter[str], after: Counter[str], requests: int
    ) -> dict[str, float]:
        if not requests:
            return {}
        return {
            kind: max(0, after[kind] - before[kind]) * self.TICK_S * 1000 / requests
            for kind in ("gunicorn", "postgres", "wrk", "banc", "autres")
        }


def cpu_measured(clock: CpuClock | None, run: Any) -> Figures:
    """``run()``'s figures, with the CPU each kind of process spent per request."""
    if clock is None:
        return run()
    before = clock.snapshot()
    figures: Figures = run()
    spent_on = figures.sent or figures.requests
    return replace(figures, cpu_ms=clock.per_request(before, clock.snapshot(), spent_on))


def warm_up(port: int, path: str, lines: Sequence[str], authorization: str) -> Counter[str]:
    """Every distinct body once, from a few connections: the archive's answers reach the
    cache and each worker its database connection. Returns the answers (granted, refused,
    HTTP status)."""
    distinct = list(dict.fromkeys(lines))
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def share(part: Sequence[str]) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for line in part:
                client.request("POST", path, line, headers=_headers(authorization))
                answer = client.getresponse()
                payload = answer.read()
                if answer.status != 200:
                    outcome = f"HTTP {answer.status}"
                else:
                    outcome = "granted" if json.loads(payload)["granted"] else "refused"
                with lock:
                    answers[outcome] += 1
        finally:
            client.close()

    clients = 4
    threads = [
        threading.Thread(target=share, args=(distinct[number::clients],))
        for number in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def run_wrk(
    args: argparse.Namespace, port: int, path: str, bodies_file: Path, authorization: str
) -> Figures:
    """``wrk`` at full throughput: ``--wrk-threads`` threads, ``--connections`` connections."""
    command = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout=5s",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        path,
        authorization,
        str(bodies_file),
    ]
    done = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, timeout=args.duration + 60, check=False
    )
    found = re.search(r"^WRK_JSON (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"wrk a échoué ({done.returncode}) : {done.stderr.strip()[:300]}")
    wrk = json.loads(found.group(1))
    return Figures(
        requests=wrk["requests"],
        seconds=wrk["duration_us"] / 1e6,
        p50=wrk["p50_us"] / 1000,
        p99=wrk["p99_us"] / 1000,
        p999=wrk["p999_us"] / 1000,
        non2xx=wrk["non2xx"],
        socket_errors=wrk["connect"] + wrk["read"] + wrk["write"] + wrk["timeout"],
        answered_2xx=wrk["answered"] - wrk["non2xx"],
        granted=wrk["granted"],
    )


def percentile(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        return math.nan
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


async def _open_loop(
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    duration: float,
    connections: int,
    warm_up_s: float,
) -> Figures:
    """Request ``i`` is due at ``start + i / rate`` whatever the answers before it (an open
    loop: a slow server does not slow the arrivals), on a free keep-alive connection, a new
    one when none is free (up to ``connections``). Its latency runs from when it was due, not
    from when it was sent, so that waiting for a connection counts (no coordinated omission).
    Every latency of the ``duration`` seconds after the first ``warm_up_s`` is kept: the
    percentiles are exact. The warm-up's requests are sent at the same rate and their answers
    counted (their traces are checked), not their latencies: they open the connections and
    find the processes' caches as a steady flow of viewers would, not all empty at once."""
    loop = asyncio.get_running_loop()
    # A second of arrivals waiting, fifty times the p99 target: the server does not keep up
    # with this rate (a mere stall of the shared machine drains), and any later latency would
    # only measure the queue.
    backlog = max(connections, int(rate))
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    free = asyncio.Condition()
    opened = 0
    pending = 0  # requests due and not answered yet
    latencies: list[float] = []
    outcome: Counter[str] = Counter()

    async def connection_get() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        nonlocal opened
        async with free:
            while not idle and opened >= connections:
                await free.wait()
            if idle:
                return idle.pop()
            opened += 1
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            opened -= 1
            raise

    async def connection_put(
        pair: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
    ) -> None:
        nonlocal opened
        async with free:
            if pair is None:
                opened -= 1
            else:
                idle.append(pair)
            free.notify()

    async def one(number: int, due: float) -> None:
        nonlocal pending
        pair = None
        try:
            pair = await connection_get()
            reader, writer = pair
            writer.write(requests[number % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(length.group(1)) if length else 0)
            if number >= warm:
                latencies.append((loop.time() - due) * 1000)
            if 200 <= status < 300:
                outcome["2xx"] += 1
                if b'"granted": true' in body:
                    outcome["granted"] += 1
            else:
                outcome["non2xx"] += 1
            if re.search(rb"(?im)^connection:\s*close", head):
                writer.close()
                pair = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            outcome["socket"] += 1
            if pair is not None:
                pair[1].close()
            pair = None
        await connection_put(pair)
        pending -= 1

    warm = int(rate * warm_up_s)
    total = warm + int(rate * duration)
    tasks: list[asyncio.Task[None]] = []
    start = loop.time() + 0.05
    sent = 0
    for number in range(total):
        due = start + number / rate
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if pending >= backlog:
            break
        pending += 1
        tasks.append(asyncio.create_task(one(number, due)))
        sent += 1
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    for _reader, writer in idle:
        writer.close()
    ordered = sorted(latencies)
    return Figures(
        requests=max(0, sent - warm),
        seconds=elapsed - warm / rate,
        p50=percentile(ordered, 0.5),
        p99=percentile(ordered, 0.99),
        p999=percentile(ordered, 0.999),
        non2xx=outcome["non2xx"],
        socket_errors=outcome["socket"],
        answered_2xx=outcome["2xx"],
        granted=outcome["granted"],
        abandoned=total - sent,
        sent=sent,
    )


def run_open_loop(
    args: argparse.Namespace, port: int, path: str, lines: Sequence[str], authorization: str
) -> Figures:
    prepared = []
    for line in lines:
        body = line.encode()
        prepared.append(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: {authorization}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    return asyncio.run(
        _open_loop(
            port,
            prepared,
            rate=args.rate,
            duration=args.rate_duration,
            connections=args.rate_connections,
            warm_up_s=args.rate_warm_up,
        )
    )
