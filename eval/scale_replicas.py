"""Server mode on a grown archive: a `chroma run` server and one or two API replicas, as `docker compose up` lays them out.

`python -m eval.scale_replicas --data DIR`, where DIR is a data directory `python -m eval.scale
--data DIR` grew (its store is served by `chroma run`). Each replica is a `qa serve` process with
its own local folder, as on its own machine, and compose's settings (`QA_THREADS=1`). For each
new replica: the time from its start to its first answer (it builds its keyword index from the
store meanwhile), what `/health` and `/ask` answer during that time, and the size of its local
index. The first replica builds its indexes from the store; the second starts from a copy of the
first's (SQLite's backup, taken while it serves) and catches up from the store's change feed, as
a replica added to a running deployment can. Then `/ask` throughput and p50/p95 with 4 and 8 clients against one replica and against
two (clients take turns between them), and the resident memory of the Chroma server and of each
replica after the load. Writes `replicas.md` and `replicas.json` beside the cost curve.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from eval.common import CORES, RESULTS, cpu_name, pct
from eval.scale import scale_questions
from eval.speed import _free_port, _rss_mb
from qa.settings import Settings

BIN = Path(sys.executable).parent


def _wait(url: str, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f} s")


class Chroma:
    """`chroma run` over the grown store's folder."""

    def __init__(self, path: Path, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        started = time.perf_counter()
        self.proc = subprocess.Popen([str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self.url + "/api/v2/heartbeat", 1800)
        self.start_s = time.perf_counter() - started

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(120)
        self.log.close()


class Replica:
    """One `qa serve` in server mode with a folder of its own; started and followed until its first answer."""

    def __init__(self, name: str, chroma_url: str, home: Path, question: str, seed: Path | None = None):
        self.name, self.folder = name, home / name
        cache = self.folder / "cache"
        self.cache = cache
        cache.mkdir(parents=True)
        if seed is not None:
            (cache / "keyword").mkdir()
            for db in seed.glob("*.sqlite3"):
                with sqlite3.connect(db) as src, sqlite3.connect(cache / "keyword" / db.name) as dst:
                    src.backup(dst)
        # The models' ONNX graphs come ready, as in a built image; the keyword index does not.
        for graph in Settings().cache_dir.glob("*.onnx"):
            shutil.copy2(graph, cache / graph.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {
            "QA_CHROMA_URL": chroma_url, "QA_DATA_DIR": str(self.folder / "data"), "QA_CACHE_DIR": str(cache),
            "QA_THREADS": "1", "QA_SAMPLE_CORPUS": "false", "QA_LOG_LEVEL": "INFO",
        }
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(home / f"{name}.log", "w")
        started = time.perf_counter()
        self.proc = subprocess.Popen([str(BIN / "qa"), "serve", "--port", str(self.port)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.listening_s = _wait(self.url + "/health", 600)
        # Until it is ready: what a client gets from it, asked every few seconds.
        self.meanwhile: Counter[str] = Counter()
        with httpx.Client(timeout=600) as client:
            while True:
                health = client.get(self.url + "/health").json().get("status")
                if health == "ok":
                    break
                got = client.post(self.url + "/ask", json={"question": question})
                self.meanwhile[f"/health {health}, /ask {got.status_code}"] += 1
                time.sleep(3)
            self.ready_s = time.perf_counter() - started
            client.post(self.url + "/ask", json={"question": question}).raise_for_status()
            self.first_answer_s = time.perf_counter() - started
        self.local_mb = sum(p.stat().st_size for p in cache.rglob("*.sqlite3*")) / 2**20 + sum(
            p.stat().st_size for p in (self.folder / "data").rglob("*") if p.is_file()) / 2**20

    def rss_mb(self) -> float:
        return _rss_mb(self.proc.pid)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(120)
        self.log.close()


def load(urls: list[str], questions: list[str], clients: int, requests: int) -> dict[str, float]:
    """`requests` questions from `clients` threads at once, sent to the replicas in turn."""
    lat: list[float] = []
    stages: dict[str, list[float]] = {"retrieve": [], "read": []}
    with httpx.Client(timeout=600, limits=httpx.Limits(max_connections=clients)) as client:
        def one(i: int) -> None:
            t = time.perf_counter()
            got = client.post(urls[i % len(urls)] + "/ask", json={"question": questions[i % len(questions)]})
            got.raise_for_status()
            lat.append(1000 * (time.perf_counter() - t))
            for stage, ms in stages.items():
                ms.append(got.json()["timings_ms"].get(stage, float("nan")))

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, range(requests)))
        seconds = time.perf_counter() - started
    return {"per_s": requests / seconds, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)} | {f"{k}_p50_ms": pct(v, 50) for k, v in stages.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.scale_replicas", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a data directory grown by `python -m eval.scale --data DIR`")
    parser.add_argument("--requests", type=int, default=120, help="requests per row")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (args.data / "chroma").is_dir():
        parser.error(f"{args.data} holds no store (grow one with `python -m eval.scale --data {args.data}`)")
    questions = scale_questions()
    home = Path(tempfile.mkdtemp(prefix="qa-replicas-"))
    print(f"chroma run over {args.data / 'chroma'} (logs in {home})", flush=True)
    chroma = Chroma(args.data / "chroma", home / "chroma.log")
    out: dict = {"chroma_start_s": chroma.start_s}
    replicas: list[Replica] = []
    try:
        for name in ("replica-1", "replica-2"):
            print(f"starting {name}", flush=True)
            r = Replica(name, chroma.url, home, questions[0], seed=replicas[0].cache / "keyword" if replicas else None)
            replicas.append(r)
            out[name] = {"listening_s": r.listening_s, "ready_s": r.ready_s, "first_answer_s": r.first_answer_s,
                         "local_index_mb": r.local_mb, "meanwhile": dict(r.meanwhile)}
            print(json.dumps({name: out[name]}), flush=True)
            if name == "replica-1":
                for clients in (1, 4, 8):
                    out[f"one_{clients}"] = load([r.url], questions, clients, args.requests)
                    print(json.dumps({f"one replica, {clients} clients": out[f"one_{clients}"]}), flush=True)
        for clients in (4, 8):
            out[f"two_{clients}"] = load([r.url for r in replicas], questions, clients, args.requests)
            print(json.dumps({f"two replicas, {clients} clients": out[f"two_{clients}"]}), flush=True)
        out["chroma_rss_mb"] = _rss_mb(chroma.proc.pid)
        out["replica_rss_mb"] = [r.rss_mb() for r in replicas]
        out["chunks"] = httpx.get(replicas[0].url + "/health").json().get("chunks")
    finally:
        for r in replicas:
            r.stop()
        chroma.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replicas.json").write_text(json.dumps(out, indent=1))
    first, second = out["replica-1"], out["replica-2"]
    lines = [
        "# Server mode: a Chroma server and API replicas", "",
        f"Made by `python -m eval.scale_replicas --data DIR --requests {args.requests}` on {time.strftime('%Y-%m-%d %H:%M')} UTC, "
        f"{CORES} cores ({cpu_name()}), over the archive `python -m eval.scale` grew ({out['chunks']:,} chunks). One `chroma run` and `qa serve` "
        "replicas with `QA_THREADS=1` (compose's setting), each with its own local folder, all on this one machine.", "",
        "| | replica 1 (builds its indexes) | replica 2 (from a copy of replica 1's) |", "|---|---|---|",
        f"| start to listening, s | {first['listening_s']:.1f} | {second['listening_s']:.1f} |",
        f"| start to ready (its keyword and copy indexes current with the store), s | {first['ready_s']:.0f} | {second['ready_s']:.0f} |",
        f"| start to first answer, s | {first['first_answer_s']:.0f} | {second['first_answer_s']:.0f} |",
        f"| answered meanwhile | {', '.join(f'{k} ×{v}' for k, v in first['meanwhile'].items())} | "
        f"{', '.join(f'{k} ×{v}' for k, v in second['meanwhile'].items())} |",
        f"| local index on disk, MB | {first['local_index_mb']:.0f} | {second['local_index_mb']:.0f} |",
        f"| RSS after the load, MB | {out['replica_rss_mb'][0]:.0f} | {out['replica_rss_mb'][1]:.0f} |", "",
        f"Chroma server: started in {out['chroma_start_s']:.1f} s; RSS after the load {out['chroma_rss_mb']:.0f} MB.", "",
        "| replicas | clients | answers/s | p50 ms | p95 ms | p50 ms of it: retrieve / read |", "|---|---|---|---|---|---|",
        *(f"| {n} | {c} | {out[f'{key}_{c}']['per_s']:.1f} | {out[f'{key}_{c}']['p50_ms']:.0f} | {out[f'{key}_{c}']['p95_ms']:.0f} | "
          f"{out[f'{key}_{c}']['retrieve_p50_ms']:.0f} / {out[f'{key}_{c}']['read_p50_ms']:.0f} |"
          for n, key, cs in ((1, "one", (1, 4, 8)), (2, "two", (4, 8))) for c in cs),
        "",
    ]
    (args.out / "replicas.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
