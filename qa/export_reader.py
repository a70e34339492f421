"""Export a trained reader into the package: fp16 safetensors and/or int8 ONNX, plus tokenizer."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from qa.read import PACKAGED_READER


def load_trained(source: Path):
    """A BertForQuestionAnswering from a `final/` folder or a training `checkpoint.pt`."""
    from transformers import BertForQuestionAnswering

    from qa.train_reader import base_model_path

    if source.is_dir():
        return BertForQuestionAnswering.from_pretrained(source).float().eval()
    ck = torch.load(source, weights_only=False, map_location="cpu")
    model = BertForQuestionAnswering.from_pretrained(ck["config"].get("base_model") or base_model_path())
    model.load_state_dict(ck["model"])
    return model.float().eval()


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
    import logging
    import os
    import tempfile
    import warnings

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


def export(source: Path, out: Path, *, fmt: str = "fp16") -> Path:
    """Write a self-contained reader folder: weights in one file, config, tokenizer."""
    from transformers import AutoTokenizer

    from qa.train_reader import base_model_path

    model = load_trained(source)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("model.onnx", "model.safetensors"):
        (out / stale).unlink(missing_ok=True)
    model.config.save_pretrained(out)
    tok_src = source if source.is_dir() else base_model_path()
    AutoTokenizer.from_pretrained(tok_src).save_pretrained(out)
    if fmt in ("fp16", "fp32"):
        if fmt == "fp16":
            model = model.half()
        model.save_pretrained(out)
        # Stored in fp16 to halve the file; loaded and run in fp32 (CPUs lack fast fp16 kernels).
        import json

        cfg = json.loads((out / "config.json").read_text())
        for key in ("dtype", "torch_dtype"):
            if key in cfg:
                cfg[key] = "float32"
        (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    else:
        export_onnx(model, out, quantize=fmt == "onnx-int8")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path, help="runs/reader/final or runs/reader/checkpoint.pt")
    parser.add_argument("--out", type=Path, default=PACKAGED_READER)
    parser.add_argument("--format", choices=["fp16", "fp32", "onnx-int8", "onnx-fp32"], default="fp16")
    args = parser.parse_args(argv)
    print(export(args.source, args.out, fmt=args.format))


if __name__ == "__main__":
    main()
