"""Examples into windows (featurize), length-grouped batches of them, and their padded tensors."""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter

import numpy as np
import torch
from tqdm import tqdm

from qa.windows import TRUNCATION, fit_question, question_limit
from training.config import TrainConfig
from training.data import Example

log = logging.getLogger(__name__)


def encode_windows(tokenizer, questions: list[str], contexts: list[str], cfg: TrainConfig, **options):
    """Each question, cut as the reader cuts it (`qa.windows`), against its context in
    overlapping windows: the fast tokenizer's encoding, with the windows' offsets and the
    example each window comes from (`overflow_to_sample_mapping`)."""
    limit = question_limit(cfg.max_question_tokens, cfg.max_len, cfg.stride)
    pieces = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return tokenizer(
        [fit_question(q, p, limit) for q, p in zip(questions, pieces)],
        contexts,
        truncation=TRUNCATION,
        max_length=cfg.max_len,
        stride=cfg.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        **options,
    )


def answer_tokens(enc, window: int, start: int, end: int) -> tuple[int, int]:
    """The first and last passage tokens of window `window` that cover the characters
    [start, end); (0, 0), the [CLS] target, if the window lacks part of them."""
    ctx = [o for o, s in zip(enc["offset_mapping"][window], enc.sequence_ids(window)) if s == 1]
    if not ctx or ctx[0][0] > start or ctx[-1][1] < end:
        return 0, 0
    # Characters no token covers (spaces at the answer's edges) are stepped over, inwards.
    covered = (enc.char_to_token(window, c, sequence_index=1) for c in range(start, end))
    first = next((t for t in covered if t is not None), None)
    covered = (enc.char_to_token(window, c, sequence_index=1) for c in reversed(range(start, end)))
    last = next((t for t in covered if t is not None), None)
    if first is None or last is None:
        return 0, 0
    return first, last


def featurize(tokenizer, examples: list[Example], cfg: TrainConfig, rng: random.Random) -> list[dict]:
    """Sliding windows with start/end token targets; [CLS] (0) where the answer is absent."""
    feats: list[dict] = []
    batch = 256
    for b in tqdm(range(0, len(examples), batch), desc="featurize", mininterval=5):
        chunk = examples[b : b + batch]
        enc = encode_windows(tokenizer, [e.question for e in chunk], [e.context for e in chunk], cfg)
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
            if ex_idx in focus_window and focus_window[ex_idx] != i:
                continue
            if ex.first_window_only:
                if ex_idx in seen_first:
                    continue
                seen_first.add(ex_idx)
            start_t = end_t = 0
            if ex.answer_start >= 0:
                start_t, end_t = answer_tokens(enc, i, ex.answer_start, ex.answer_start + len(ex.answer_text))
                if start_t == 0 and ex.group >= 0:
                    continue  # a group's answerable example gives its answer window only
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
                    "group": ex.group,
                }
            )
    return one_answer_a_group(feats)


def one_answer_a_group(feats: list[dict]) -> list[dict]:
    """Keeps one answer window a group: two windows holding the same answer would be two targets
    of one softmax. (A group whose answer window was lost, its answer cut by every window, is left
    as it is: its other paragraphs lack the answer, so "no answer" is what they teach.)"""
    answered: set[int] = set()
    out = []
    for f in feats:
        g = f.get("group", -1)
        if g >= 0 and f["start"] != 0:
            if g in answered:
                continue
            answered.add(g)
        out.append(f)
    return out


def batches_for_epoch(lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """Length-grouped batches: shuffle, sort within mega-batches, shuffle the batches.

    Not transformers' LengthGroupedSampler: a resumable run's batches must be a pure function
    of (seed, epoch) and stay the same across code versions while a run is under way (the
    reader-v2 run resumes across sessions); its sampler draws from a torch generator, with
    another mega-batch rule, so switching would change the order of a run in progress.
    """
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


def grouped_batches(feats: list[dict], lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """As `batches_for_epoch`, with each group's windows in one batch (its shared softmax needs
    them together): units (a group, or a window on its own) are shuffled, sorted by length
    within mega-batches and packed up to `batch_size` windows a batch."""
    groups: dict[int, list[int]] = {}
    singles: list[list[int]] = []
    for i, f in enumerate(feats):
        g = f.get("group", -1)
        if g >= 0:
            groups.setdefault(g, []).append(i)
        else:
            singles.append([i])
    all_units = list(groups.values()) + singles
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(all_units))
    unit_len = np.array([max(lengths[i] for i in u) for u in all_units])
    mega = batch_size * 64
    out: list[np.ndarray] = []
    for m in range(0, len(order), mega):
        part = order[m : m + mega]
        part = part[np.argsort(unit_len[part], kind="stable")]
        batch: list[int] = []
        for u in part:
            if batch and len(batch) + len(all_units[u]) > batch_size:
                out.append(np.array(batch))
                batch = []
            batch.extend(all_units[u])
        if batch:
            out.append(np.array(batch))
    rng.shuffle(out)
    return out


def collate(feats: list[dict], idx: np.ndarray, tokenizer) -> dict[str, torch.Tensor]:
    """The windows `idx` of `feats` as one batch, right-padded to the longest (transformers' padding collator)."""
    from transformers import DataCollatorWithPadding

    rows = [
        {"input_ids": f["input_ids"], "token_type_ids": f["token_type_ids"], "start_positions": f["start"], "end_positions": f["end"]}
        for f in (feats[i] for i in idx)
    ]
    return dict(DataCollatorWithPadding(tokenizer, return_tensors="pt")(rows))


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
