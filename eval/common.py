"""Shared helpers for the benchmarks: data loading, timing, percentiles."""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The full benchmark sets (tens of MB, not shipped): only the full run reads them.
EVAL_DATA = Path(os.environ.get("QA_EVAL_DATA", ROOT.parent / "shared" / "eval-data"))
# The seeded subsets the quick run reads, shipped in the project (built by eval/make_quick_data.py).
QUICK_DATA = ROOT / "eval" / "data" / "quick"
SEED_DEV = ROOT / "eval" / "data" / "seed_dev.jsonl"
# Questions on the sample articles' topics that they don't answer: each should get "not found".
ON_TOPIC = ROOT / "eval" / "data" / "on_topic_unanswerable.jsonl"
# Written after the rules and before the reader of 2026-12-07 was measured; never tuned on.
FRESH_ON_TOPIC = ROOT / "eval" / "data" / "fresh_on_topic.jsonl"
RESULTS = ROOT / "eval" / "results"
CORES = os.cpu_count() or 1


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def data_root(quick: bool) -> Path:
    """The shipped subsets for the quick run, whatever QA_EVAL_DATA says; the full sets otherwise."""
    return QUICK_DATA if quick else EVAL_DATA


def missing_data(names: list[str], quick: bool) -> Path | None:
    """The first file the named datasets need that is not there, or None."""
    for name in names:
        for file in ("documents.jsonl", "questions.jsonl", *(["qrels/test.tsv"] if name == "beir-scifact" else [])):
            if not (data_root(quick) / name / file).is_file():
                return data_root(quick) / name / file
    return None


def dataset(name: str, quick: bool = False) -> tuple[dict[str, dict], list[dict]]:
    folder = data_root(quick) / name
    docs = {d["id"]: d for d in read_jsonl(folder / "documents.jsonl")}
    return docs, read_jsonl(folder / "questions.jsonl")


def sample(items: list, n: int | None, seed: int = 0) -> list:
    if n is None or n >= len(items):
        return list(items)
    return random.Random(seed).sample(items, n)


def cpu_name() -> str:
    """The processor's model name, and whether it has AVX-512 VNNI (the int8 models' fast path)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "processor unknown"
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "processor unknown")
    return f"{model}, {'with' if 'avx512_vnni' in info else 'without'} AVX-512 VNNI"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Section:
    """One part of the report: a title, markdown lines and the figures it checks."""

    title: str
    lines: list[str]
    figures: dict[str, float]


BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.01)


def reliability_rows(pairs: list[tuple[float, float]]) -> list[str]:
    """Score bins against how often the answer was right: a calibrated score matches its rate."""
    out = []
    for lo, hi in itertools.pairwise(BINS):
        inside = [(s, ok) for s, ok in pairs if lo <= s < hi]
        if inside:
            out.append(f"| {lo:.1f}-{min(hi, 1.0):.1f} | {len(inside)} | {statistics.fmean(s for s, _ in inside):.2f} | {statistics.fmean(ok for _, ok in inside):.2f} |")
    return out


RELIABILITY_HEAD = ["| score | answers | mean score | right |", "|---|---|---|---|"]
