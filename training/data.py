"""Reading the training and evaluation sets, and the `Example` a question becomes."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

# The core SQuAD-style sets are used whole; supplements are sampled (see the model card).
CORE_SETS = ("squadshifts-new-wiki", "squadshifts-reddit", "squadshifts-amazon")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_set(root: Path, name: str) -> tuple[dict[str, dict], list[dict]]:
    """One set of `root`: its documents by id (documents.jsonl) and its questions (questions.jsonl)."""
    docs = {d["id"]: d for d in read_jsonl(root / name / "documents.jsonl")}
    return docs, read_jsonl(root / name / "questions.jsonl")


def is_holdout(doc_id: str, fraction: float) -> bool:
    h = int(hashlib.sha1(doc_id.encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < fraction


def eval_items(eval_data: str, n: int) -> list[dict]:
    """A fixed sample of `n` questions of the eval set, each with its context; [] when absent."""
    root = Path(eval_data)
    if not (root / "questions.jsonl").exists() or n <= 0:
        return []
    docs = {d["id"]: d for d in read_jsonl(root / "documents.jsonl")}
    qs = read_jsonl(root / "questions.jsonl")
    sample = random.Random(0).sample(qs, min(n, len(qs)))
    return [{**q, "context": docs[q["doc_id"]]["text"]} for q in sample]


@dataclass
class Example:
    question: str
    context: str
    answer_start: int  # -1: no answer in this context
    answer_text: str
    source: str
    first_window_only: bool = False
    focus: int = -1  # >= 0 (answerless examples): keep only the first window holding this character
    one_window: bool = False  # answerless: keep one window, picked by a hash of question and context
    group: int = -1  # >= 0: the windows of one question read together (shared normalisation)
