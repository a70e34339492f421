"""The reader's ONNX Runtime graph: exported from its weights and quantised to int8 (derived data)."""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

import torch


def export_onnx(model, out: Path, quantize: bool = True) -> Path:
    """ONNX graph with dynamic batch and length, then dynamic int8 weights (onnxruntime)."""
    ids = torch.ones((2, 32), dtype=torch.long)
    fp32 = out / "model.fp32.onnx"
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["start_logits", "end_logits"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids", "start_logits", "end_logits")},
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


def derive_int8_onnx(model_dir: Path, target: Path) -> Path:
    """Build the int8 ONNX graph from a model folder's weights, atomically into `target`."""
    from transformers import BertForQuestionAnswering

    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = BertForQuestionAnswering.from_pretrained(model_dir, local_files_only=True).float().eval()
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
            built = export_onnx(model, Path(tmp), quantize=True)
        finally:
            root.setLevel(level)
            root.handlers[:] = handlers
        os.replace(built, target)
    return target
