"""The ONNX embedder and reader agree with the libraries they replace on the answering path."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embed import Embedder, model_path
from index.onnx_graph import ATTENTION
from tests.conftest import ROOT, qa_env

TEXTS = [
    "Last year in the month of September, a first-ever joint military exercise was held between Pakistan and Russia.",
    "The storm came ashore southeast of Tallahassee as a Category 3 hurricane with maximum sustained winds of 125 mph.",
    "Отчёт 2024: 日本 and naïve café — emoji 😀 and a zero\u200bwidth space.",
    "short",
    " ".join(["word"] * 600),  # past the 256 word-piece limit: truncated like sentence-transformers does
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return Embedder(backend="torch")(TEXTS)


@pytest.mark.slow
def test_onnx_fp32_matches_sentence_transformers(torch_vectors: np.ndarray, tmp_path: Path) -> None:
    vectors = Embedder(backend="onnx", cache_dir=tmp_path)(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert (vectors * torch_vectors).sum(1).min() > 0.9999


@pytest.mark.slow
def test_onnx_int8_close_and_graph_derived_once(torch_vectors: np.ndarray, tmp_path: Path) -> None:
    # A graph of an earlier export under the name it had then (no attention recipe in it) is
    # not taken for today's: it is left alone and a new one derived beside it.
    with (Path(model_path()) / "model.safetensors").open("rb") as weights:
        earlier = tmp_path / f"embedder-{hashlib.file_digest(weights, 'sha256').hexdigest()[:16]}-int8.onnx"
    earlier.write_bytes(b"not a graph")
    vectors = Embedder(backend="onnx-int8", cache_dir=tmp_path)(TEXTS)
    cos = (vectors * torch_vectors).sum(1)
    assert cos.min() > 0.95 and cos.mean() > 0.98
    graphs = list(tmp_path.glob(f"embedder-*-{ATTENTION}-int8.onnx"))
    assert len(graphs) == 1 and earlier.read_bytes() == b"not a graph"
    stamp = graphs[0].stat().st_mtime_ns
    again = Embedder(backend="onnx-int8", cache_dir=tmp_path)
    again.warm_up()
    assert graphs[0].stat().st_mtime_ns == stamp and sorted(tmp_path.iterdir()) == sorted([earlier, *graphs])
    # A text's vector is a function of the text alone, whatever it was embedded beside.
    alone = again([TEXTS[0]])
    assert float(alone[0] @ vectors[0]) > 0.99999


def test_embedder_backend_is_checked() -> None:
    with pytest.raises(ValueError, match="onnx-int8"):
        Embedder(backend="tensorflow")


@pytest.mark.slow
def test_reader_windows_match_transformers_tokenizer() -> None:
    from transformers import AutoTokenizer

    from qa.read import Reader

    reader = Reader()
    reader.warm_up()
    reference = AutoTokenizer.from_pretrained(reader.model_dir)
    passages = [TEXTS[0], TEXTS[2] * 40, " ".join(["ferry"] * 700), "pier 17"]
    for question in ("When?", "Who " + "very " * 90 + "long question?", TEXTS[2]):
        owners, encodings, feeds = reader.windows(question, passages)
        ref = reference(
            [reader._fit_question(question)] * len(passages), passages, truncation="only_second", max_length=reader.max_len,
            stride=reader.stride, return_overflowing_tokens=True, return_offsets_mapping=True, padding="longest",
        )
        assert owners == list(ref["overflow_to_sample_mapping"])
        assert feeds["input_ids"].tolist() == ref["input_ids"] and feeds["token_type_ids"].tolist() == ref["token_type_ids"]
        for w, enc in enumerate(encodings):
            n = len(enc.ids)
            assert [tuple(o) for o in enc.offsets] == [tuple(o) for o in ref["offset_mapping"][w][:n]]
            assert enc.sequence_ids == ref.sequence_ids(w)[:n]


@pytest.mark.slow
def test_warm_question_imports_neither_torch_nor_transformers(tmp_path: Path) -> None:
    """A question on a warm cache loads only what answering needs (cold start)."""
    env = qa_env(tmp_path / "data", HOME=str(tmp_path / "home"))
    script = (
        "import sys, json\n"
        "from qa.settings import get_settings\nfrom qa.pipeline import Pipeline\nfrom qa.schema import AskRequest\n"
        "p = Pipeline(get_settings()); p.start()\n"
        "r = p.ask(AskRequest(question='When was the first joint exercise?'))\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "print(json.dumps({'answer': r.answer, 'heavy': heavy}))\n"
    )
    first = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout.splitlines()[-1])["answer"] == "September"  # graphs derived here, torch allowed
    second = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads(second.stdout.splitlines()[-1]) == {"answer": "September", "heavy": []}


def test_a_question_longer_than_a_window_is_read() -> None:
    """1,000 one-letter words (the longest question the schema takes) are more word pieces than a
    window: the question is cut to fit, never refused by the tokenizer (it was, with a 500)."""
    from qa.read import Reader

    reader = Reader()
    reader.warm_up()
    question = ("a " * 500)[:999] + "?"
    assert reader.count_tokens([question])[0] > reader.max_len
    reading = reader.read(question, ["The ferry to Lunde leaves at seven.", "pier " * 400])
    assert len(reading.best_margin) == 2


def test_a_given_graph_is_used_as_it_is(tmp_path: Path) -> None:
    """`graph=` runs that ONNX file (eval.embedder_graphs measures other forms of it) and derives nothing."""
    shipped = Embedder()
    shipped.warm_up()
    given = Embedder(graph=shipped._graph, cache_dir=tmp_path)
    assert np.allclose(given(TEXTS[:2]), shipped(TEXTS[:2]), atol=1e-6)
    assert list(tmp_path.iterdir()) == []
