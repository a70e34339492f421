"""Shared helpers for the benchmarks: data loading, timing, percentiles."""

from __future__ import annotations

import json
import os
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL_DATA = Path(os.environ.get("QA_EVAL_DATA", ROOT.parent / "shared" / "eval-data"))
SEED_DEV = ROOT / "eval" / "data" / "seed_dev.jsonl"
RESULTS = ROOT / "eval" / "results"
CORES = os.cpu_count() or 1


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def dataset(name: str) -> tuple[dict[str, dict], list[dict]]:
    folder = EVAL_DATA / name
    docs = {d["id"]: d for d in read_jsonl(folder / "documents.jsonl")}
    return docs, read_jsonl(folder / "questions.jsonl")


def sample(items: list, n: int | None, seed: int = 0) -> list:
    if n is None or n >= len(items):
        return list(items)
    return random.Random(seed).sample(items, n)


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
