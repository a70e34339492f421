"""The training loop: windows, model and optimiser, the LR schedule, checkpoints and resuming."""

from __future__ import annotations

import json
import logging
import math
import random
import signal
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from index.embed import model_path as base_model_path
from index.onnx_graph import INPUTS
from training.checkpoint import CHECKPOINT, FEATURES, load_checkpoint, load_features, restore, save_checkpoint, save_features
from training.config import TrainConfig
from training.data import eval_items as load_eval_items
from training.distil import distillation_loss
from training.evaluate import quick_eval
from training.features import batches_for_epoch, collate, featurize, grouped_batches, log_mix
from training.mix import build_examples
from training.shared_norm import group_targets, shared_norm_loss

log = logging.getLogger(__name__)


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warmup over the first `warmup` of the run, then linear decay to 0 at its end.

    Not transformers' `get_linear_schedule_with_warmup`: that is a function of the step count
    against a step total fixed up front, while here `progress` is max(step / total_steps,
    elapsed / time budget), so the run ends (and warms up) at whichever comes first, and the
    number of steps the budget allows is only known as the run goes (on a shared CPU, steps
    vary several-fold in time). A step-indexed LambdaLR would also need its own state in the
    checkpoint, which existing checkpoints lack.
    """
    if progress < warmup:
        return progress / warmup
    return max(0.0, (1.0 - progress) / (1.0 - warmup))


def windows(cfg: TrainConfig, tokenizer, out: Path) -> tuple[list[dict], list[dict]]:
    """The run's windows and held-out questions: from features.pt, else built and cached there."""
    if (out / FEATURES).exists():
        return load_features(out / FEATURES, cfg)
    examples, holdout = build_examples(cfg)
    feats = featurize(tokenizer, examples, cfg, random.Random(cfg.seed))
    save_features(out, feats, holdout, cfg)
    return feats, holdout


def optimizer(model, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on everything but biases and LayerNorm weights."""
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(x in n for x in no_decay)], "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(x in n for x in no_decay)], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def train(cfg: TrainConfig) -> Path:
    """Run (or resume) training; returns the folder of the final fp32 model."""
    from transformers import AutoTokenizer, BertForQuestionAnswering

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {cfg.device}: torch sees no CUDA device here")
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = cfg.base_model or base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)

    feats, holdout = windows(cfg, tokenizer, out)
    lengths = np.array([len(f["input_ids"]) for f in feats])
    n_cls = sum(1 for f in feats if f["start"] == 0)
    log.info("%d windows (%.1f%% [CLS] targets), %d held-out questions", len(feats), 100 * n_cls / len(feats), len(holdout))
    mix = log_mix(feats)

    per_epoch = math.ceil(len(feats) / cfg.batch_size)
    total_steps = math.ceil(cfg.epochs * per_epoch) if cfg.epochs > 0 else cfg.max_steps
    log.info("schedule: %d steps (%.2f epochs of %d steps), time budget %.0f min", total_steps, total_steps / per_epoch, per_epoch, cfg.time_budget_min)

    # Start weights: --init-from (e.g. the shipped fp16 reader), always as fp32 (transformers
    # 5 would otherwise keep the stored dtype); a checkpoint, if any, replaces them below.
    model = BertForQuestionAnswering.from_pretrained(cfg.init_from or base, dtype=torch.float32).to(device)
    if cfg.init_from:
        log.info("initialised from %s", cfg.init_from)
    teacher = None
    if cfg.distil_from:
        teacher = BertForQuestionAnswering.from_pretrained(cfg.distil_from, dtype=torch.float32).to(device).eval().requires_grad_(False)
        log.info("distilling from %s (weight %.2f, temperature %.1f) on the windows that hold an answer", cfg.distil_from, cfg.distil_weight, cfg.distil_temperature)
    opt = optimizer(model, cfg)
    step, elapsed, curve, ema_loss = 0, 0.0, [], None
    if (out / CHECKPOINT).exists():
        step, elapsed, curve, ema_loss = restore(load_checkpoint(out / CHECKPOINT, cfg), model, opt)
        log.info("resumed at step %d of %d (epoch %.2f, %.1f min)", step, total_steps, step / per_epoch, elapsed / 60)
    eval_items = load_eval_items(cfg.eval_data, cfg.eval_questions)

    budget = cfg.time_budget_min * 60
    model.train()
    t_resume = time.time() - elapsed
    last_ckpt = last_log = time.time()
    log_from = step
    bar = tqdm(total=total_steps, initial=step, desc="train", mininterval=10, dynamic_ncols=True)

    def checkpoint(evaluate: bool = True) -> None:
        if evaluate:
            em, f1v = quick_eval(model, tokenizer, eval_items, cfg) if eval_items else (float("nan"),) * 2
            curve.append({"step": step, "epoch": round(step / per_epoch, 3), "minutes": round((time.time() - t_resume) / 60, 1), "em": round(em, 1), "f1": round(f1v, 1), "loss": ema_loss})
            log.info("curve %s", curve[-1])
        save_checkpoint(
            out, model=model, opt=opt, step=step, elapsed=time.time() - t_resume, curve=curve, cfg=cfg,
            ema_loss=ema_loss, total_steps=total_steps, per_epoch=per_epoch,
        )

    # SIGTERM / SIGINT: finish the current step, save, exit; rerunning the command resumes.
    stop: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.append(signum)) for sig in (signal.SIGTERM, signal.SIGINT)}

    # Grouped windows (a question's passages read together) keep to one batch; a mix without
    # groups keeps the batches of earlier runs, so a run under way resumes unchanged.
    grouped = any(f.get("group", -1) >= 0 for f in feats)
    if cfg.shared_norm > 0 and not grouped:
        log.warning("--shared-norm %.2f: the mix has no groups (--squad 0?), so it changes nothing", cfg.shared_norm)
    epoch_batches: dict[int, list[np.ndarray]] = {}
    while True:
        if stop:
            bar.close()
            checkpoint(evaluate=False)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            raise SystemExit(f"stopped by signal {stop[0]} at step {step}; rerun the same command to resume")
        progress = max(step / total_steps, (time.time() - t_resume) / budget)
        if progress >= 1.0:
            break
        epoch, pos = divmod(step, per_epoch)
        if epoch not in epoch_batches:
            epoch_batches = {
                epoch: grouped_batches(feats, lengths, cfg.batch_size, cfg.seed + epoch) if grouped
                else batches_for_epoch(lengths, cfg.batch_size, cfg.seed + epoch)
            }
        idx = epoch_batches[epoch][pos]
        batch = {k: v.to(device) for k, v in collate(feats, idx, tokenizer).items()}
        for g in opt.param_groups:
            g["lr"] = cfg.lr * lr_factor(progress, cfg.warmup)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            out_s = model(**batch)
            loss = out_s.loss
            if teacher is not None:
                inputs = {k: batch[k] for k in INPUTS}
                with torch.no_grad():
                    out_t = teacher(**inputs)
                soft = distillation_loss(
                    out_s.start_logits, out_s.end_logits, out_t.start_logits, out_t.end_logits,
                    batch["attention_mask"], batch["start_positions"] != 0, cfg.distil_temperature,
                )
                loss = (1 - cfg.distil_weight) * loss + cfg.distil_weight * soft
            if cfg.shared_norm > 0 and grouped and (groups := group_targets(feats, idx)):
                shared = shared_norm_loss(out_s.start_logits, out_s.end_logits, batch["token_type_ids"], batch["attention_mask"], groups)
                loss = loss + cfg.shared_norm * shared
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        loss_v = loss.item()
        ema_loss = loss_v if ema_loss is None else 0.98 * ema_loss + 0.02 * loss_v
        bar.update(1)
        bar.set_postfix(loss=f"{ema_loss:.3f}", lr=f"{opt.param_groups[0]['lr']:.2e}", epoch=f"{step / per_epoch:.2f}", budget=f"{100 * progress:.0f}%")
        if time.time() - last_log > 120:
            log.info(
                "step %d/%d epoch %.2f loss(ema) %.3f lr %.2e %.2f s/step",
                step, total_steps, step / per_epoch, ema_loss, opt.param_groups[0]["lr"], (time.time() - last_log) / max(1, step - log_from),
            )
            last_log, log_from = time.time(), step
        if time.time() - last_ckpt > cfg.checkpoint_every_min * 60:
            checkpoint()
            last_ckpt = time.time()
    bar.close()
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    # The last periodic checkpoint may already be at this step: no second curve point then.
    checkpoint(evaluate=not curve or curve[-1]["step"] != step)
    final = out / "final"
    model.save_pretrained(final)
    tokenizer.save_pretrained(final)
    (final / "training.json").write_text(json.dumps({"config": asdict(cfg), "curve": curve, "windows": len(feats), "cls_share": n_cls / len(feats), "mix": mix, "steps": step}, indent=1))
    return final
