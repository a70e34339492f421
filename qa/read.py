"""The extractive reader: one question against many passages in one batched call."""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.spans import decode_window

PACKAGED_READER = Path(__file__).parent / "models" / "reader"


@dataclass(frozen=True)
class Calibration:
    """Maps a span's logit margin over the null answer to a probability-like score.

    Fitted on held-out questions read against retrieved passages (see `training.calibrate`),
    so a threshold on the score means the same for every question and passage.
    """

    slope: float = 1.0
    intercept: float = 0.0
    threshold: float = 0.5  # abstain below this score

    def __call__(self, margin: float) -> float:
        z = self.slope * margin + self.intercept
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    @classmethod
    def load(cls, folder: Path) -> Calibration:
        path = folder / "calibration.json"
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(float(data["slope"]), float(data["intercept"]), float(data["threshold"]))


@dataclass(frozen=True)
class Span:
    """An answer candidate: `passage[start:end] == text`."""

    passage: int  # index into the passages given to the reader
    start: int
    end: int
    text: str
    margin: float  # span logits minus the window's [CLS] logits
    score: float  # calibrated, in [0, 1]


@dataclass(frozen=True)
class _Window:
    passage: int
    offsets: list
    context_tokens: list[int]  # token indices of the passage (not question, not padding)
    start_logits: np.ndarray
    end_logits: np.ndarray


@dataclass(frozen=True)
class Reading:
    """What the reader saw: ranked spans, and the logits to score any other span."""

    spans: list[Span]
    best_margin: list[float]
    windows: list[_Window]

    def margin_at(self, passage: int, start: int, end: int) -> float | None:
        """The reader's margin for an exact character span of a passage (None if unreadable)."""
        best = None
        for w in self.windows:
            if w.passage != passage:
                continue
            s = next((t for t in w.context_tokens if w.offsets[t][0] <= start < w.offsets[t][1]), None)
            e = next((t for t in reversed(w.context_tokens) if w.offsets[t][0] < end <= w.offsets[t][1]), None)
            if s is None or e is None or e < s:
                continue
            m = float(w.start_logits[s] + w.end_logits[e] - w.start_logits[0] - w.end_logits[0])
            best = m if best is None else max(best, m)
        return best


class Reader:
    """Extractive QA model (MiniLM-L6 span head), loaded once, then a plain callable.

    - `max_len`/`stride`: passages longer than one window are read in overlapping windows.
    - `max_question_tokens`: a longer question is cut to its first word pieces for reading
      (retrieval still sees all of it).
    - `backend`: "onnx" runs an int8 ONNX Runtime graph (fastest on CPU); "torch" runs the
      shipped weights as they are. The package ships one fp16 weights file; the int8 graph
      is derived from it once and cached in `cache_dir` (like the BM25 index, it can always
      be rebuilt).
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        threads: int = 2,
        max_len: int = 256,
        stride: int = 64,
        max_answer_tokens: int = 30,
        max_question_tokens: int = 64,
        backend: str | None = "onnx",
        cache_dir: Path | None = None,
    ):
        self.model_dir = Path(model_dir) if model_dir else PACKAGED_READER
        self.threads = threads
        self.max_len = max_len
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        # A window must keep room for the passage beyond its stride, or the tokenizer refuses.
        self.max_question_tokens = min(max_question_tokens, max_len - stride - 8)
        self.backend = backend
        self.cache_dir = cache_dir
        self.calibration = Calibration()
        self._tokenizer = None
        self._session = None
        self._model = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"qa-reader-minilm-l6 ({self.backend or 'unloaded'})"

    def warm_up(self) -> None:
        with self._lock:
            if self._tokenizer is not None:
                return
            if not (self.model_dir / "config.json").exists():
                raise FileNotFoundError(f"no reader model in {self.model_dir}")
            from transformers import AutoTokenizer

            backend = self.backend or "onnx"
            onnx_path = self._onnx_path() if backend == "onnx" else None
            if onnx_path is None:
                backend = "torch"
            if backend == "onnx":
                import onnxruntime as ort

                opts = ort.SessionOptions()
                # Threads set deliberately: two shared cores thrash with more.
                opts.intra_op_num_threads = self.threads
                opts.inter_op_num_threads = 1
                self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
            else:
                import torch
                from transformers import BertForQuestionAnswering

                torch.set_num_threads(self.threads)
                model = BertForQuestionAnswering.from_pretrained(self.model_dir, local_files_only=True)
                self._model = model.float().eval()
            self.backend = backend
            self.calibration = Calibration.load(self.model_dir)
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)

    def _onnx_path(self) -> Path | None:
        """The int8 graph: shipped in the model folder, or derived once into the cache."""
        shipped = self.model_dir / "model.onnx"
        if shipped.exists():
            return shipped
        weights = self.model_dir / "model.safetensors"
        if not weights.exists():
            return None
        import hashlib

        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
        cache = (self.cache_dir or Path.home() / ".cache" / "qa") / f"reader-{digest}-int8.onnx"
        if cache.exists():
            return cache
        try:
            from qa.onnx_graph import derive_int8_onnx

            derive_int8_onnx(self.model_dir, cache)
        except Exception as exc:  # noqa: BLE001 - fall back to torch rather than fail to answer
            logging.getLogger(__name__).warning("could not build the int8 reader (%s); using torch", exc)
            return None
        return cache

    def _logits(self, enc: dict) -> tuple[np.ndarray, np.ndarray]:
        if self.backend == "onnx":
            feeds = {k: np.asarray(enc[k], dtype=np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            start, end = self._session.run(["start_logits", "end_logits"], feeds)
            return start, end
        import torch

        with torch.inference_mode():
            out = self._model(
                input_ids=torch.as_tensor(enc["input_ids"]),
                attention_mask=torch.as_tensor(enc["attention_mask"]),
                token_type_ids=torch.as_tensor(enc["token_type_ids"]),
            )
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()

    def _fit_question(self, question: str) -> str:
        pieces = self._tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if len(pieces) <= self.max_question_tokens:
            return question
        return question[: pieces[self.max_question_tokens - 1][1]]

    def __call__(self, question: str, passages: list[str], top_spans: int = 3) -> tuple[list[Span], list[float]]:
        reading = self.read(question, passages, top_spans)
        return reading.spans, reading.best_margin

    def read(self, question: str, passages: list[str], top_spans: int = 3) -> Reading:
        """Best spans over all passages (sorted by margin) and each passage's best margin.

        Margins are comparable across passages and windows (per-window softmax scores
        are not), so spans from different passages are ranked by margin.
        """
        self.warm_up()
        if not passages:
            return Reading([], [], [])
        question = self._fit_question(question)
        enc = self._tokenizer(
            [question] * len(passages),
            passages,
            truncation="only_second",
            max_length=self.max_len,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
        )
        starts, ends = self._logits(enc)
        spans: dict[tuple[int, int, int], Span] = {}
        best_margin = [-math.inf] * len(passages)
        windows: list[_Window] = []
        for w, p in enumerate(enc["overflow_to_sample_mapping"]):
            seq = enc.sequence_ids(w)
            ctx = np.array([s == 1 for s in seq] + [False] * (starts.shape[1] - len(seq)))
            offsets = enc["offset_mapping"][w]
            windows.append(_Window(p, offsets, np.flatnonzero(ctx[: len(offsets)]).tolist(), starts[w], ends[w]))
            found, _ = decode_window(starts[w], ends[w], ctx, max_answer_tokens=self.max_answer_tokens, top_spans=top_spans)
            for sp in found:
                a, b = offsets[sp.start_token][0], offsets[sp.end_token][1]
                text = passages[p][a:b]
                if not text.strip():
                    continue
                key = (p, a, b)
                if key not in spans or sp.margin > spans[key].margin:
                    spans[key] = Span(p, a, b, text, sp.margin, self.calibration(sp.margin))
                best_margin[p] = max(best_margin[p], sp.margin)
        ranked = sorted(spans.values(), key=lambda s: s.margin, reverse=True)
        return Reading(ranked, best_margin, windows)
