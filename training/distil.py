"""Distillation: the student's start/end distributions pulled toward a frozen teacher's."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def distillation_loss(
    student_start: torch.Tensor, student_end: torch.Tensor, teacher_start: torch.Tensor, teacher_end: torch.Tensor,
    attention_mask: torch.Tensor, rows: torch.Tensor, temperature: float,
) -> torch.Tensor:
    """KL(teacher ‖ student) of the start and end distributions at `temperature`, over the `rows` kept.

    Padding is no position of either distribution. Scaled by T² so its gradient keeps the size
    of the hard-label loss's whatever the temperature (Hinton et al. 2015). 0 when no row is kept.
    """
    if not bool(rows.any()):
        return student_start.new_zeros(())
    pad = ~attention_mask[rows].bool()

    def kl(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        s = (student[rows] / temperature).masked_fill(pad, float("-inf"))
        t = (teacher[rows] / temperature).masked_fill(pad, float("-inf"))
        log_s, log_t = F.log_softmax(s, dim=-1), F.log_softmax(t, dim=-1)
        # Padded positions: 0 * (-inf - -inf) would be nan; they carry no mass, so they add 0.
        per_token = torch.where(pad, torch.zeros_like(log_t), log_t.exp() * (log_t - log_s))
        return per_token.sum(-1).mean()

    return temperature**2 * (kl(student_start, teacher_start) + kl(student_end, teacher_end)) / 2
