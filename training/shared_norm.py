"""Shared normalisation: one softmax over the span margins of a question's windows and "no answer"."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def group_targets(feats: list[dict], idx) -> list[tuple[list[int], tuple[int, int, int] | None]]:
    """For each group in the batch `idx` of `feats`: its rows, and (row, start, end) of its
    answer window, or None when none of its windows answers."""
    rows: dict[int, list[int]] = {}
    gold: dict[int, tuple[int, int, int]] = {}
    for r, i in enumerate(idx):
        f = feats[i]
        g = f.get("group", -1)
        if g < 0:
            continue
        rows.setdefault(g, []).append(r)
        if f["start"] != 0:
            gold[g] = (r, f["start"], f["end"])
    return [(rs, gold.get(g)) for g, rs in rows.items()]


def shared_norm_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    token_type_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    groups: list[tuple[list[int], tuple[int, int, int] | None]],
) -> torch.Tensor:
    """Mean over groups of the start and end cross-entropies over the margins of the group's
    passage tokens (logit minus its window's [CLS] logit) and one "no answer" scored 0.

    Margins, not raw logits: the service compares passages by margin, so this is the scale
    the loss puts them on. The target is the answer's token, or "no answer" for a group
    whose windows don't answer.
    """
    passage = (token_type_ids == 1) & (attention_mask == 1)
    losses = []
    for rows, gold in groups:
        for logits, which in ((start_logits, 1), (end_logits, 2)):
            parts, target, offset = [], None, 0
            for r in rows:
                mask = passage[r]
                parts.append(logits[r][mask].float() - logits[r, 0].float())
                if gold is not None and gold[0] == r:
                    target = offset + int(mask[: gold[which]].sum())
                offset += parts[-1].numel()
            scores = torch.cat([*parts, logits.new_zeros(1, dtype=torch.float32)])
            target = offset if target is None else target
            losses.append(F.cross_entropy(scores[None], torch.tensor([target], device=scores.device)))
    return torch.stack(losses).mean() if losses else start_logits.new_zeros((), dtype=torch.float32)
