"""Shared pieces of the benchmarks: a fresh database, a served app, and a latency meter."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

BENCH_DIR = Path(os.environ.get("RAPPORT_BENCH_DIR", "/tmp/rapport-bench"))
PG_BASE = os.environ.get(
    "RAPPORT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def database_url(kind: str, name: str, *, fresh: bool) -> str:
    """A database for a benchmark: ``sqlite`` (a file), ``postgresql`` (its own database)."""
    if kind == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / f"{name}.db"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if kind == "postgresql":
        if fresh:
            admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
        return PG_BASE.rsplit("/", 1)[0] + "/" + name
    return kind


def analyze(url: str) -> None:
    """Fresh statistics after a bulk load (the machine's PostgreSQL runs without autovacuum)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        if url.startswith("sqlite"):
            conn.execute(text("PRAGMA optimize"))
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A server the benchmark started: where it listens and its process (workers included)."""

    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server and its worker processes have used so far."""
        return sum(_cpu_seconds(pid) for pid in _process_tree(self.pid))


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc (uvicorn's workers are its children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree.extend(frontier)
    return tree


def _settle(server: Server, *, quiet_cpu: float = 0.05, timeout: float = 120) -> None:
    """Wait until the server's processes are idle: ``/readyz`` answers as soon as one worker
    is up, and another still importing would bill its start-up to the first measurement's
    CPU per request."""
    deadline = time.monotonic() + timeout
    before = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server.cpu_seconds()
        if now - before < quiet_cpu:
            return
        before = now


@contextmanager
def serving(command: list[str], env: dict[str, str], log_name: str) -> Iterator[Server]:
    """Run a server command (it takes ``--port``) until ``/readyz`` answers; yield it."""
    port = free_port()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    log = open(BENCH_DIR / f"{log_name}-{port}.log", "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a busy machine starts workers slowly
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{command} did not become ready; see {log.name}")
        server = Server(base, process.pid)
        _settle(server)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@contextmanager
def served_process(url: str, *, workers: int = 1) -> Iterator[Server]:
    """Run ``rapport serve`` on ``url`` in a subprocess; yield it.

    The app tier alone is measured: the embedded job runtime is off (in production the outbox
    backlog of a bulk load is worked off by ``rapport worker`` elsewhere), unless the caller's
    environment sets ``RAPPORT_JOBS_EMBEDDED`` itself."""
    env = {"RAPPORT_JOBS_EMBEDDED": "false", **os.environ}
    env |= {"RAPPORT_DATABASE_URL": url, "RAPPORT_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "rapport.cli", "serve", "--workers", str(workers)]
    with serving(command, env, "serve") as server:
        yield server


@contextmanager
def served(url: str, *, workers: int = 1) -> Iterator[str]:
    """Run ``rapport serve`` on ``url`` in a subprocess; yield its base address."""
    with served_process(url, workers=workers) as server:
        yield server.base


@contextmanager
def served_bare(*, workers: int = 1) -> Iterator[Server]:
    """The bare FastAPI app of ``bench/bare.py``, with the same uvicorn settings."""
    command = [sys.executable, "-m", "bench.bare", "--workers", str(workers)]
    with serving(command, dict(os.environ), "bare") as server:
        yield server


@dataclass
class Figures:
    name: str
    count: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    clients: int = 0
    cpu_ms: float | None = None  # server CPU time per request (all its processes)


def measure(
    name: str,
    call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    *,
    base: str,
    headers: dict[str, str],
    requests: int,
    concurrency: int,
    warmup: int = 50,
    cpu: Callable[[], float] | None = None,
) -> Figures:
    """Latency percentiles and throughput of ``call`` over real HTTP, ``concurrency`` at once;
    with ``cpu`` (the server's CPU seconds so far), also the server's CPU time per request,
    which a machine busy with other work disturbs far less than latency."""

    async def run() -> Figures:
        latencies: list[float] = []
        errors = 0
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            for i in range(warmup):
                await call(client, i)
            counter = iter(range(requests))

            async def worker() -> None:
                nonlocal errors
                for i in counter:
                    started = time.perf_counter()
                    response = await call(client, i)
                    latencies.append((time.perf_counter() - started) * 1000)
                    if response.status_code >= 300:  # a redirect (to /login) is a failure too
                        errors += 1

            cpu_before = cpu() if cpu else 0.0
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            cpu_ms = (cpu() - cpu_before) * 1000 / len(latencies) if cpu else None
        q = statistics.quantiles(latencies, n=100)
        return Figures(
            name,
            len(latencies),
            errors,
            q[49],
            q[94],
            q[98],
            len(latencies) / elapsed,
            concurrency,
            cpu_ms,
        )

    return asyncio.run(run())


def print_figures(title: str, figures: list[Figures]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    with_cpu = any(f.cpu_ms is not None for f in figures)
    columns = ["operation", "clients", "requests", "errors", "p50 ms", "p95 ms", "p99 ms"]
    columns += ["req/s", "CPU ms/req"] if with_cpu else ["req/s"]
    for column in columns:
        table.add_column(column, justify="right" if column != "operation" else "left")
    for f in figures:
        row = [
            f.name,
            str(f.clients or ""),
            str(f.count),
            str(f.errors),
            f"{f.p50_ms:.1f}",
            f"{f.p95_ms:.1f}",
            f"{f.p99_ms:.1f}",
            f"{f.rps:.0f}",
        ]
        if with_cpu:
            row.append("" if f.cpu_ms is None else f"{f.cpu_ms:.2f}")
        table.add_row(*row)
    Console().print(table)
