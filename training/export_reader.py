"""Export a trained reader into the package: fp16 safetensors and/or int8 ONNX, plus tokenizer."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from index.embed import model_path as base_model_path
from index.onnx_graph import export_onnx
from qa.read import PACKAGED_READER
from training.config import existing


def load_trained(source: Path):
    """A BertForQuestionAnswering from a `final/` folder or a training `checkpoint.pt`."""
    from transformers import BertForQuestionAnswering

    if source.is_dir():
        return BertForQuestionAnswering.from_pretrained(source).float().eval()
    ck = torch.load(source, weights_only=False, map_location="cpu")
    model = BertForQuestionAnswering.from_pretrained(ck["config"].get("base_model") or base_model_path())
    model.load_state_dict(ck["model"])
    return model.float().eval()


def export(source: Path, out: Path, *, fmt: str = "fp16") -> Path:
    """Write a self-contained reader folder: weights in one file, config, tokenizer."""
    from transformers import AutoTokenizer

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
        export_onnx(model, out, ("start_logits", "end_logits"), quantize=fmt == "onnx-int8")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="qa export-reader", description=__doc__)
    parser.add_argument("source", type=existing, help="runs/reader/final or runs/reader/checkpoint.pt")
    parser.add_argument("--out", type=Path, default=PACKAGED_READER)
    parser.add_argument("--format", choices=["fp16", "fp32", "onnx-int8", "onnx-fp32"], default="fp16")
    args = parser.parse_args(argv)
    print(export(args.source, args.out, fmt=args.format))


if __name__ == "__main__":
    main()
