"""Bounded load test: clients mixing /ask and GET /documents while articles are ingested.

`python -m eval.load --url http://127.0.0.1:8000 --clients 8 --seconds 60 --ingest 200`
Only loopback addresses are accepted; the run stops by itself after `--seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from eval.common import CORES, pct
from eval.synthetic import article

QUESTIONS = [
    "When was the first joint exercise?",
    "Who is Pakistan's National Security Advisor?",
    "Which Russian news agency reported the naval co-operation?",
    "What is the name of the joint military exercise?",
]


@dataclass
class LoadResult:
    clients: int
    seconds: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    ask_p50_ms: float
    ingested: int
    ingest_errors: int
    rss_before_mb: float | None
    rss_after_mb: float | None
    cores: int = CORES


def _check_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise SystemExit(f"refusing to load-test {host}: loopback addresses only")


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    import psutil

    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
    except psutil.Error:
        return None


async def _client(client: httpx.AsyncClient, n: int, deadline: float, lat: list, ask_lat: list, errors: list) -> None:
    i = n
    while time.monotonic() < deadline:
        i += 1
        t = time.perf_counter()
        try:
            if i % 3 == 0:
                r = await client.get("/documents")
            else:
                r = await client.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
            ms = 1000 * (time.perf_counter() - t)
            if r.status_code != 200:
                errors.append(f"{r.status_code}: {r.text[:200]}")
            else:
                lat.append(ms)
                if i % 3:
                    ask_lat.append(ms)
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")


async def _ingest_http(client: httpx.AsyncClient, count: int, deadline: float, done: list, errors: list) -> None:
    for n in range(count):
        if time.monotonic() > deadline:
            break
        a = article(n)
        try:
            r = await client.post("/documents", json={"title": a.title, "text": a.text, "doc_id": a.doc_id})
            (done if r.status_code == 200 else errors).append(a.doc_id)
        except httpx.HTTPError:
            errors.append(a.doc_id)


async def run_load(url: str, clients: int, seconds: float, ingest: int, ingest_cmd: list[str] | None = None, server_pid: int | None = None, ingest_env: dict[str, str] | None = None) -> LoadResult:
    """`ingest_cmd` runs as a process (server mode, `qa ingest` on a folder); else over HTTP."""
    _check_loopback(url)
    lat: list[float] = []
    ask_lat: list[float] = []
    errors: list[str] = []
    done: list[str] = []
    ingest_errors: list[str] = []
    before = rss_mb(server_pid)
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        tasks = [asyncio.create_task(_client(client, n, deadline, lat, ask_lat, errors)) for n in range(clients)]
        proc = None
        if ingest_cmd:
            proc = await asyncio.create_subprocess_exec(*ingest_cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=ingest_env)
        elif ingest:
            tasks.append(asyncio.create_task(_ingest_http(client, ingest, deadline, done, ingest_errors)))
        t0 = time.perf_counter()
        await asyncio.gather(*tasks)
        if proc is not None:
            out, err = await proc.communicate()
            if proc.returncode != 0:
                ingest_errors.append(err.decode()[-500:])
            else:
                done.extend(["?"] * ingest)
        wall = time.perf_counter() - t0
    if errors:
        print("first errors:", *errors[:5], sep="\n  ", file=sys.stderr)
    return LoadResult(
        clients=clients, seconds=round(wall, 1), requests=len(lat) + len(errors), errors=len(errors),
        rps=round(len(lat) / wall, 2), p50_ms=round(pct(lat, 50), 1), p95_ms=round(pct(lat, 95), 1), p99_ms=round(pct(lat, 99), 1),
        ask_p50_ms=round(pct(ask_lat, 50), 1), ingested=len(done), ingest_errors=len(ingest_errors),
        rss_before_mb=before, rss_after_mb=rss_mb(server_pid),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ingest", type=int, default=200, help="synthetic articles posted during the run")
    parser.add_argument("--pid", type=int, default=None, help="server process id, for memory figures")
    parser.add_argument("--ingest-folder", type=Path, default=None, help="server mode: write the articles here and run `qa ingest` on them")
    args = parser.parse_args(argv)
    cmd = None
    if args.ingest_folder:
        args.ingest_folder.mkdir(parents=True, exist_ok=True)
        for n in range(args.ingest):
            a = article(n)
            (args.ingest_folder / f"{a.doc_id}.txt").write_text(a.text, encoding="utf-8")
        cmd = [str(Path(sys.executable).parent / "qa"), "ingest", str(args.ingest_folder)]
    result = asyncio.run(run_load(args.url, args.clients, args.seconds, args.ingest, cmd, args.pid))
    print(json.dumps(asdict(result), indent=1))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
