"""Stand-ins for the embedder and reader, so a real Pipeline (store, BM25, assembly) runs in the fast tests."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embed import Embedder
from qa.read import Calibration, Span


class FakeEmbedder:
    """Hashed bag of words: similar texts share dimensions; no model to load."""

    name = Embedder.name  # the store checks the embedder's name and dimension
    dimension = Embedder.dimension

    def warm_up(self) -> None:
        pass

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) + 2 for t in texts]  # words, and the two special tokens

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
            out[row] /= max(float(np.linalg.norm(out[row])), 1e-6)
        return out


@dataclass(frozen=True)
class FakeReading:
    spans: list[Span]
    passages: list[str]
    margins: dict[str, float]

    def margin_at(self, passage: int, start: int, end: int) -> float | None:
        return self.margins.get(self.passages[passage][start:end])


class FakeReader:
    """Finds each known answer wherever it is written, with that answer's fixed margin."""

    name = "fake-reader"

    def __init__(self, margins: dict[str, float]):
        self.margins = margins
        self.calibration = Calibration(slope=1.0, intercept=0.0, threshold=0.5)

    def warm_up(self) -> None:
        pass

    def read(self, question: str, passages: list[str], top_spans: int = 3) -> FakeReading:
        spans = [
            Span(i, m.start(), m.end(), answer, margin, self.calibration(margin))
            for i, text in enumerate(passages)
            for answer, margin in self.margins.items()
            for m in re.finditer(re.escape(answer), text)
        ]
        return FakeReading(sorted(spans, key=lambda s: s.margin, reverse=True), passages, self.margins)


def fake_pipeline(data_dir: Path, margins: dict[str, float]):
    """A Pipeline over an empty embedded store in `data_dir`, with the fake models."""
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    pipe = Pipeline(Settings(data_dir=data_dir, cache_dir=data_dir.parent / "cache", sample_corpus=False))
    pipe.embedder = FakeEmbedder()
    pipe.reader = FakeReader(margins)
    return pipe
