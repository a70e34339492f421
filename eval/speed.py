"""Service speed over real HTTP: cold start, /ask latency with 1 and 4 clients, memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from eval.common import CORES, SEED_DEV, Section, pct, read_jsonl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list:
    import psutil

    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def _rss_mb(pid: int) -> float:
    return sum(p.memory_info().rss for p in _tree(pid)) / 2**20


def _peak_rss_mb(pid: int) -> float:
    """High-water mark of resident memory (VmHWM, in kB in /proc) over the server and its children."""
    total = 0
    for p in _tree(pid):
        total += next(int(line.split()[1]) for line in Path(f"/proc/{p.pid}/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return total / 1024


def run(work: Path, reader_path: Path | None, quick: bool) -> Section:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"QA_DATA_DIR": str(work / "speed"), "QA_LOG_LEVEL": "WARNING"})
    if reader_path:
        env["QA_READER_PATH"] = str(reader_path)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    questions = [q["question"] for q in read_jsonl(SEED_DEV)]
    qa_bin = str(Path(sys.executable).parent / "qa")

    # Cold start: process start to the first answer, sample articles ingested on the way.
    t0 = time.perf_counter()
    proc = subprocess.Popen([qa_bin, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                r = httpx.post(url + "/ask", json={"question": questions[0]}, timeout=30)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t0 > 300:
                raise TimeoutError("server did not answer")
            time.sleep(0.2)
        first_ingest = time.perf_counter() - t0
        proc_rss_start = _rss_mb(proc.pid)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        # Warm restart on the now-populated store: the usual cold start.
        t0 = time.perf_counter()
        proc = subprocess.Popen([qa_bin, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        while True:
            try:
                if httpx.post(url + "/ask", json={"question": questions[0]}, timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        cold = time.perf_counter() - t0

        n = 32 if quick else 160
        results = {}
        with httpx.Client(timeout=60) as client:
            for concurrency in (1, 4):
                lat, splits = [], []

                def one(i: int) -> None:
                    t = time.perf_counter()
                    r = client.post(url + "/ask", json={"question": questions[i % len(questions)]})
                    r.raise_for_status()
                    lat.append(1000 * (time.perf_counter() - t))
                    splits.append(r.json()["timings_ms"])

                t = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(one, range(n)))
                wall = time.perf_counter() - t
                results[concurrency] = {
                    "p50": pct(lat, 50), "p95": pct(lat, 95), "rps": n / wall,
                    "retrieve": sum(s["retrieve"] for s in splits) / n, "read": sum(s["read"] for s in splits) / n,
                }
        rss = _rss_mb(proc.pid)
        peak = _peak_rss_mb(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    lines = [
        f"`qa serve` (1 worker) on the 5 sample articles, {CORES} cores, top_k 5, questions from seed_dev, {n} requests per row.",
        "",
        "| clients | p50 ms | p95 ms | requests/s | retrieve ms (mean) | read ms (mean) |",
        "|---|---|---|---|---|---|",
        *[f"| {c} | {r['p50']:.0f} | {r['p95']:.0f} | {r['rps']:.1f} | {r['retrieve']:.1f} | {r['read']:.1f} |" for c, r in results.items()],
        "",
        f"Cold start to first answer: {cold:.1f} s (store already populated); {first_ingest:.1f} s on an empty data directory (sample articles ingested). "
        f"Memory (RSS): {proc_rss_start:.0f} MB after the first answer, {rss:.0f} MB after the load, peak {peak:.0f} MB (VmHWM).",
    ]
    return Section("Speed and cost (real HTTP server)", lines, {
        "ask_p50_ms_1": results[1]["p50"], "ask_p95_ms_1": results[1]["p95"], "ask_p50_ms_4": results[4]["p50"],
        "cold_start_s": cold, "rss_mb": rss, "rss_peak_mb": peak})
