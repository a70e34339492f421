"""The extractive reader: one question against many passages, each window read on its own."""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.confidence import Confidence
from qa.spans import SEGMENT_BREAK, TOP_SPANS, decode_window
from qa.windows import (
    MAX_LEN,
    MAX_QUESTION_TOKENS,
    STRIDE,
    TRUNCATION,
    fit_question,
    question_limit,
)

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
    """What the reader saw: ranked spans, the other mentions of their words it also scores as
    answers (`mentions`), each passage's best margin, and the logits behind them."""

    spans: list[Span]
    best_margin: list[float]
    windows: list[_Window]
    mentions: list[Span] = field(default_factory=list)

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
      (retrieval still sees all of it). The rule and its defaults are `qa.windows`, which
      training uses too.
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
        max_len: int = MAX_LEN,
        stride: int = STRIDE,
        max_answer_tokens: int = 30,
        max_question_tokens: int = MAX_QUESTION_TOKENS,
        backend: str | None = "onnx",
        cache_dir: Path | None = None,
    ):
        self.model_dir = Path(model_dir) if model_dir else PACKAGED_READER
        self.threads = threads
        self.max_len = max_len
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.max_question_tokens = question_limit(max_question_tokens, max_len, stride)
        self.backend = backend
        self.cache_dir = cache_dir
        self.calibration = Calibration()
        self.confidence: Confidence | None = None  # the answer's score (qa.confidence); None: the span score
        self._tokenizer = None
        self._counter = None
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
            from tokenizers import Tokenizer

            backend = self.backend or "onnx"
            onnx_path = self._onnx_path() if backend == "onnx" else None
            if onnx_path is None:
                backend = "torch"
            if backend == "onnx":
                from index.onnx_graph import session

                self._session = session(onnx_path, self.threads)
            else:
                import torch
                from transformers import BertForQuestionAnswering

                torch.set_num_threads(self.threads)
                model = BertForQuestionAnswering.from_pretrained(self.model_dir, local_files_only=True)
                self._model = model.float().eval()
            self.backend = backend
            self.calibration = Calibration.load(self.model_dir)
            self.confidence = Confidence.load(self.model_dir)
            # The `tokenizers` library directly (what transformers' fast tokenizer wraps): the
            # answering path then never imports transformers or torch.
            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tokenizer.no_padding()
            tokenizer.enable_truncation(self.max_len, stride=self.stride, strategy=TRUNCATION)
            # The windowing tokenizer truncates only a pair's passage: a text alone (a question
            # to fit, a passage to count) is measured whole by a copy that never truncates.
            counter = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            counter.no_padding()
            counter.no_truncation()
            self._counter = counter
            self._tokenizer = tokenizer

    def _onnx_path(self) -> Path | None:
        """The int8 graph: shipped in the model folder, or derived once into the cache."""
        shipped = self.model_dir / "model.onnx"
        if shipped.exists():
            return shipped
        weights = self.model_dir / "model.safetensors"
        if not weights.exists():
            return None
        from index.onnx_graph import ATTENTION, cached_graph

        def build():
            from transformers import BertForQuestionAnswering

            return BertForQuestionAnswering.from_pretrained(
                self.model_dir, local_files_only=True, attn_implementation=ATTENTION
            ).float().eval()

        try:
            return cached_graph(weights, self.cache_dir or Path.home() / ".cache" / "qa", "reader", build, ("start_logits", "end_logits"))
        except Exception as exc:  # noqa: BLE001 - fall back to torch rather than fail to answer
            logging.getLogger(__name__).warning("could not build the int8 reader (%s); using torch", exc)
            return None

    def _logits(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.backend == "onnx":
            # One window per run, unpadded: int8 dynamic quantisation scales activations per run,
            # so only then is a window's score a function of the window alone, not of the other
            # passages read beside it (an unrelated article could otherwise change an answer).
            lengths = feeds["attention_mask"].sum(axis=1)
            start = np.full(feeds["input_ids"].shape, np.finfo(np.float32).min, dtype=np.float32)
            end = start.copy()
            for row, n in enumerate(lengths):
                s, e = self._session.run(["start_logits", "end_logits"], {k: v[row : row + 1, :n] for k, v in feeds.items()})
                start[row, :n], end[row, :n] = s[0], e[0]
            return start, end
        import torch

        with torch.inference_mode():
            out = self._model(**{k: torch.as_tensor(v) for k, v in feeds.items()})
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text alone, special tokens included (for benchmarks that size passages)."""
        self.warm_up()
        return [len(e.ids) for e in self._counter.encode_batch(texts)]

    def _fit_question(self, question: str) -> str:
        return fit_question(question, self._counter.encode(question, add_special_tokens=False).offsets, self.max_question_tokens)

    def windows(self, question: str, passages: list[str]) -> tuple[list[int], list, dict[str, np.ndarray]]:
        """Every passage in overlapping windows after the question: (passage of each window,
        each window's encoding, the model's padded inputs)."""
        question = self._fit_question(question)
        owners, encodings = [], []
        for p, enc in enumerate(self._tokenizer.encode_batch([(question, passage) for passage in passages])):
            for window in [enc, *enc.overflowing]:
                owners.append(p)
                encodings.append(window)
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in ("input_ids", "attention_mask", "token_type_ids")}
        for row, e in enumerate(encodings):
            n = len(e.ids)
            feeds["input_ids"][row, :n] = e.ids
            feeds["attention_mask"][row, :n] = e.attention_mask
            feeds["token_type_ids"][row, :n] = e.type_ids
        return owners, encodings, feeds

    def __call__(self, question: str, passages: list[str], top_spans: int = TOP_SPANS) -> tuple[list[Span], list[float]]:
        reading = self.read(question, passages, top_spans)
        return reading.spans, reading.best_margin

    def read(self, question: str, passages: list[str], top_spans: int = TOP_SPANS) -> Reading:
        """Best spans over all passages (sorted by margin) and each passage's best margin.

        Margins are comparable across passages and windows (per-window softmax scores
        are not), so spans from different passages are ranked by margin.
        """
        self.warm_up()
        if not passages:
            return Reading([], [], [])
        owners, encodings, feeds = self.windows(question, passages)
        starts, ends = self._logits(feeds)
        spans: dict[tuple[int, int, int], Span] = {}
        best_margin = [-math.inf] * len(passages)
        windows: list[_Window] = []
        breaks = [[m.end() for m in SEGMENT_BREAK.finditer(text)] for text in passages]
        for w, (p, enc) in enumerate(zip(owners, encodings)):
            seq = enc.sequence_ids
            ctx = np.array([s == 1 for s in seq] + [False] * (starts.shape[1] - len(seq)))
            offsets = enc.offsets
            windows.append(_Window(p, offsets, np.flatnonzero(ctx[: len(offsets)]).tolist(), starts[w], ends[w]))
            segments = None
            if breaks[p]:  # each token's segment: how many breaks end before it starts
                segments = np.zeros(starts.shape[1], dtype=np.int64)
                segments[: len(offsets)] = np.searchsorted(breaks[p], [a for a, _ in offsets], side="right")
            found, _ = decode_window(starts[w], ends[w], ctx, max_answer_tokens=self.max_answer_tokens, top_spans=top_spans, segments=segments)
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
        reading = Reading(ranked, best_margin, windows)
        from qa.mentions import mentions  # qa.mentions builds on this module's Reading and Span

        return replace(reading, mentions=mentions(reading, passages, self.calibration))
