"""Other forms of the embedder's graph against the shipped int8 one: texts/s on news chunks, cosine to fp32.

`python -m eval.embedder_graphs [--texts 500]`: what was tried to embed faster and why
the shipped graph is plain dynamic int8, per-channel signed weights, of the eager-attention
export.
Each graph runs the way ingest runs it: one text per run, one single-threaded session per core.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.common import CORES, EVAL_DATA, RESULTS, read_jsonl
from index.chunk import Chunker, indexed_text
from index.documents import Document
from index.embed import Embedder, _mean_pooled, model_path
from index.onnx_graph import export_onnx


def _variants(folder: Path) -> dict[str, Path]:
    """fp32 and int8 forms of the graph, derived into `folder`."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    graphs: dict[str, Path] = {}
    for attention in ("eager", "sdpa"):  # eager, the shipped export, first: the reference
        (folder / attention).mkdir()
        graphs[f"fp32 ({attention} export)"] = export_onnx(_mean_pooled(model_path(), attention), folder / attention, ("embedding",), quantize=False)
    fp32 = graphs["fp32 (eager export)"]

    def quantized(name: str, source: Path, **options) -> None:
        graphs[name] = folder / f"{len(graphs)}.onnx"
        quantize_dynamic(str(source), str(graphs[name]), **options)

    quantized("int8, per-channel signed weights, eager export (shipped)", fp32, weight_type=QuantType.QInt8, per_channel=True)
    quantized("int8, per-channel signed weights, sdpa export (shipped before)", graphs["fp32 (sdpa export)"], weight_type=QuantType.QInt8, per_channel=True)
    quantized("int8, unsigned weights", fp32, weight_type=QuantType.QUInt8, per_channel=True)
    quantized("int8, one scale per tensor", fp32, weight_type=QuantType.QInt8, per_channel=False)
    # ONNX Runtime's transformer optimizer fuses attention, layer norms and GELU; it needs the
    # eager export (nothing fuses in the sdpa one).
    fused = folder / "fused.onnx"
    optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384).save_model_to_file(str(fused))
    graphs["fp32, fused"] = fused
    quantized("int8, fused", fused, weight_type=QuantType.QInt8, per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    nbits = MatMulNBitsQuantizer(onnx.load(str(fp32)), block_size=32, is_symmetric=True, accuracy_level=4)
    nbits.process()
    graphs["4-bit weights, int8 compute"] = folder / "nbits.onnx"
    nbits.model.save_model_to_file(str(graphs["4-bit weights, int8 compute"]))
    return graphs


def _texts(embedder: Embedder, n: int) -> list[str]:
    """Chunks of news articles as ingest embeds them (title-headed)."""
    chunker = Chunker(embedder.count_tokens)
    docs = read_jsonl(EVAL_DATA / "realtimeqa-2023-dev" / "documents.jsonl")
    random.Random(0).shuffle(docs)
    texts: list[str] = []
    for d in docs:
        doc = Document(d["id"], d.get("title", ""), d["text"], d["id"])
        texts += [indexed_text(doc.title, c.text) for c in chunker(doc)]
        if len(texts) >= n:
            return texts[:n]
    return texts


def _embed(graph: Path, texts: list[str]) -> tuple[np.ndarray, float]:
    """The product's embedder on `graph`: one text per run, one single-threaded session per core."""
    embedder = Embedder(threads=CORES, graph=graph)
    embedder(texts[: 2 * CORES])  # the first calls open the sessions and allocate; not part of the rate
    started = time.perf_counter()
    vectors = embedder(texts)
    return vectors, len(texts) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.embedder_graphs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--out", type=Path, default=RESULTS / "embedder_graphs.md")
    args = parser.parse_args(argv)
    texts = _texts(Embedder(), args.texts)
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-graphs-") as folder:
        graphs = _variants(Path(folder))
        reference = None
        for name, graph in graphs.items():  # the fp32 export comes first: the reference, embedded once
            vectors, rate = _embed(graph, texts)
            reference = vectors if reference is None else reference
            cos = (vectors * reference).sum(1)
            rows.append(f"| {name} | {rate:.1f} | {cos.min():.4f} | {cos.mean():.4f} |")
            print(rows[-1], flush=True)
    report = [
        "# The embedder's graph in other forms", "",
        (f"Made by `python -m eval.embedder_graphs --texts {args.texts}` on {time.strftime('%Y-%m-%d %H:%M')} UTC, {CORES} cores: "
         f"{len(texts)} title-headed chunks of news articles, embedded by the product's embedder on each graph (one text per run, "
         "one single-threaded session per core, as ingest runs it); cosine of each text's vector to the fp32 graph's."), "",
        "| graph | texts/s | cosine to fp32, min | mean |", "|---|---|---|---|", *rows, "",
    ]
    args.out.write_text("\n".join(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
