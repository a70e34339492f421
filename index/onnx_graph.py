"""ONNX Runtime graphs derived from shipped weights: exported once, int8-quantised, cached, run."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The attention implementation every model here is exported with, and part of each cached
# graph's name, so that a cache derived by an earlier export is not reused. "eager" traces to
# MatMul, Add and Softmax; transformers' "sdpa" traces to the same plus a Where/IsNaN guard
# for fully masked rows, which took 11% of the int8 embedder's time on one unpadded text per
# run (eval.embedder_graphs: 16-19% more texts/s on 2 cores, the same cosine to fp32).
ATTENTION = "eager"
UNFUSED = ("SkipLayerNormFusion",)  # graph optimisations every session leaves out (see `session`)


def export_onnx(model, out: Path, outputs: tuple[str, ...], quantize: bool = True) -> Path:
    """`model(input_ids, attention_mask, token_type_ids)` as a graph with dynamic batch and length."""
    import torch

    ids = torch.ones((2, 32), dtype=torch.long)
    fp32 = out / "model.fp32.onnx"
    dynamic = {n: {0: "batch", 1: "seq"} for n in INPUTS}
    dynamic.update({n: {0: "batch"} | ({1: "seq"} if n.endswith("logits") else {}) for n in outputs})
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(fp32),
        input_names=list(INPUTS),
        output_names=list(outputs),
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
    )
    target = out / "model.onnx"
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
        fp32.unlink()
    else:
        fp32.rename(target)
    return target


def cached_graph(weights: Path, cache_dir: Path, kind: str, build: Callable[[], object], outputs: tuple[str, ...], quantize: bool = True) -> Path:
    """The graph for `weights`, derived once into `cache_dir` (named by the weights' digest).

    `build` loads the torch module only when the graph is missing, so a warm start never
    imports torch. Written atomically: a killed derivation leaves no half graph behind.
    """
    with weights.open("rb") as f:  # streamed: the embedder's weights are 90 MB
        digest = hashlib.file_digest(f, "sha256").hexdigest()[:16]
    target = cache_dir / f"{kind}-{digest}-{ATTENTION}-{'int8' if quantize else 'fp32'}.onnx"
    if target.exists():
        return target
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = build()
    target.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    # The exporter and the quantiser warn about tracing details and reconfigure the root
    # logger; neither is the user's business on a first `qa ask`.
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        warnings.simplefilter("ignore")
        root.handlers[:] = [logging.NullHandler()]
        root.setLevel(logging.ERROR)
        try:
            built = export_onnx(model, Path(tmp), outputs, quantize=quantize)
        finally:
            root.setLevel(level)
            root.handlers[:] = handlers
        os.replace(built, target)
    return target


def session(path: Path, threads: int):
    """An ONNX Runtime CPU session with the thread settings every model here uses."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    # Threads set deliberately, and no spinning between calls: on two shared cores idle
    # worker threads that spin steal the time the other model (or request) needs.
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # No memory patterns: ORT caches one per input shape, and questions and passages come in
    # every length and batch, so the cache grows with uptime. On the 100k-chunk archive under
    # eval.scale's load: RSS 732 -> 709-712 MB, latency unchanged within noise.
    opts.enable_mem_pattern = False
    # ONNX Runtime's fused SkipLayerNormalization kernel was slower here than the Add and
    # LayerNormalization it replaces: 15% of the int8 embedder's time one text per run, and
    # without the fusion the embedder ran 172-178 against 153 texts/s on 2 cores (cosine to
    # fp32 min 0.987 / mean 0.994 either way).
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"], disabled_optimizers=list(UNFUSED))
