"""Shared fixtures: real models, a real embedded store, real servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED_DEV = ROOT / "eval" / "data" / "seed_dev.jsonl"
ARTIFACTS = ROOT / "artifacts"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_questions() -> list[dict]:
    return [json.loads(line) for line in SEED_DEV.read_text().splitlines() if line.strip()]


def qa_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"QA_DATA_DIR": str(data_dir), "QA_LOG_LEVEL": "WARNING"})
    if os.environ.get("QA_READER_PATH"):
        env["QA_READER_PATH"] = os.environ["QA_READER_PATH"]
    env.update(extra)
    return env


def run_qa(*args: str, env: dict[str, str], timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "qa"), *args], env=env, capture_output=True, text=True, timeout=timeout, input=input)


class Server:
    """`qa serve` as a real process on 127.0.0.1."""

    def __init__(self, env: dict[str, str], workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(env["QA_DATA_DIR"]).parent / f"serve-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [str(BIN / "qa"), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {Path(self.log.name).read_text()[-2000:]}")
            try:
                h = httpx.get(self.url + "/health", timeout=5).json()
                if h.get("status") == "ok":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise TimeoutError("server did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


class ChromaServer:
    """A real `chroma run` on 127.0.0.1."""

    def __init__(self, path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(path.parent / f"chroma-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise TimeoutError("chroma did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        self.log.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Iterator[Server]:
    """One API server over the bundled sample articles, shared by the HTTP and browser tests."""
    data = tmp_path_factory.mktemp("served") / "data"
    server = Server(qa_env(data))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory):
    """An in-process pipeline over the sample articles (embedded store)."""
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    data = tmp_path_factory.mktemp("pipeline") / "data"
    pipe = Pipeline(Settings(data_dir=data, reader_path=os.environ.get("QA_READER_PATH") or None))
    pipe.warm_up()
    pipe.ensure_sample_corpus()
    return pipe


def stored(folder: Path, articles) -> Path:
    """A data directory under `folder` holding `articles` (embedded store, no sample articles), written by a pipeline of its own."""
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    data = folder / "data"
    Pipeline(Settings(data_dir=data, sample_corpus=False)).add_documents(articles)
    return data


def started(data_dir: Path):
    """A ready pipeline over a data directory (another process, as far as the store can tell)."""
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    p = Pipeline(Settings(data_dir=data_dir, sample_corpus=False))
    p.start()
    assert p.status == "ok", p.startup_error
    return p


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(ROOT / "qa" / "sample_corpus", folder)
    return folder


def pdf_pages(contents: list[bytes], compress: bool = True) -> bytes:
    """A PDF with one page per content stream (Flate-compressed unless not `compress`), Helvetica for its text."""
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(contents)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {len(contents)} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, content in enumerate(contents):
        packed = zlib.compress(content, 9) if compress else content
        flate = b" /Filter /FlateDecode" if compress else b""
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R /Resources << /Font << /F1 3 0 R >> >> >>".encode())
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(packed), flate) + packed + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
