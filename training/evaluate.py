"""The learning-curve check: EM/F1 of the model on a fixed sample of an eval set, gold paragraph given."""

from __future__ import annotations

import numpy as np
import torch

from qa.normalize import best_over_golds
from qa.spans import decode_window
from training.config import TrainConfig
from training.features import encode_windows


@torch.inference_mode()
def quick_eval(model, tokenizer, items: list[dict], cfg: TrainConfig) -> tuple[float, float]:
    """EM/F1 with the gold paragraph (best span across windows by margin)."""
    model.eval()
    device = next(model.parameters()).device
    em_sum = f1_sum = 0.0
    for b in range(0, len(items), 32):
        chunk = items[b : b + 32]
        enc = encode_windows(tokenizer, [q["question"] for q in chunk], [q["context"] for q in chunk], cfg, padding=True, return_tensors="pt")
        mapping = enc.pop("overflow_to_sample_mapping").tolist()
        offsets = enc.pop("offset_mapping").tolist()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            out = model(**{k: v.to(device) for k, v in enc.items()})
        starts = out.start_logits.float().cpu().numpy()
        ends = out.end_logits.float().cpu().numpy()
        best: dict[int, tuple[float, str]] = {}
        for w, ex_idx in enumerate(mapping):
            seq = enc.sequence_ids(w)
            ctx_mask = np.array([s == 1 for s in seq])
            spans, _ = decode_window(starts[w], ends[w], ctx_mask, top_spans=1)
            if spans:
                sp = spans[0]
                text = chunk[ex_idx]["context"][offsets[w][sp.start_token][0] : offsets[w][sp.end_token][1]]
                if ex_idx not in best or sp.margin > best[ex_idx][0]:
                    best[ex_idx] = (sp.margin, text)
        for k, q in enumerate(chunk):
            em, f = best_over_golds(best.get(k, (0.0, ""))[1], q["answers"])
            em_sum += em
            f1_sum += f
    model.train()
    return 100 * em_sum / len(items), 100 * f1_sum / len(items)
