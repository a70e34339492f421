"""What a run's --out-dir holds: the windows cache (features.pt), the checkpoint and the curve.

Resuming: rerun the same command with the same `--out-dir`. The windows are built once and
cached in `features.pt` (refused if the data options changed), batches of epoch e are a
pure function of `seed + e`, and the checkpoint holds step, elapsed time, optimiser, RNG and
the loss EMA; SIGTERM/SIGINT save a checkpoint at the next step boundary before exiting.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

import torch

from training.config import DATA_KEYS, SCHEDULE_KEYS, TrainConfig, mismatch

log = logging.getLogger(__name__)

FEATURES = "features.pt"
CHECKPOINT = "checkpoint.pt"


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_features(path: Path, cfg: TrainConfig) -> tuple[list[dict], list[dict]]:
    """The cached windows and held-out questions; SystemExit if built with other data options."""
    data = torch.load(path, weights_only=False)
    feats, holdout = data["feats"], data["holdout"]
    if "config" in data and (diff := mismatch(data["config"], cfg, DATA_KEYS)):
        raise SystemExit(f"{path} was built with other data options {diff}: use another --out-dir")
    log.info("windows loaded from %s", path)
    return feats, holdout


def save_features(out: Path, feats: list[dict], holdout: list[dict], cfg: TrainConfig) -> None:
    """features.pt ({feats, holdout, config}) and holdout.jsonl (for calibration) into `out`."""
    atomic_save({"feats": feats, "holdout": holdout, "config": asdict(cfg)}, out / FEATURES)
    (out / "holdout.jsonl").write_text("".join(json.dumps(q) + "\n" for q in holdout), encoding="utf-8")


def load_checkpoint(path: Path, cfg: TrainConfig) -> dict:
    """A saved checkpoint; SystemExit if it belongs to a run with other options."""
    ck = torch.load(path, weights_only=False, map_location="cpu")  # a run may resume on another device
    if diff := mismatch(ck.get("config", {}), cfg, SCHEDULE_KEYS):
        raise SystemExit(f"{path} belongs to a run with other options {diff}: rerun its own command")
    return ck


def restore(ck: dict, model, opt) -> tuple[int, float, list[dict], float | None]:
    """Load a checkpoint's weights, optimiser and torch RNG; returns (step, elapsed, curve, ema_loss)."""
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    step, elapsed, curve = ck["step"], ck["elapsed"], ck["curve"]
    ema_loss = ck.get("ema_loss")
    if "torch_rng" in ck:
        torch.set_rng_state(ck["torch_rng"])
    return step, elapsed, curve, ema_loss


def save_checkpoint(
    out: Path, *, model, opt, step: int, elapsed: float, curve: list[dict], cfg: TrainConfig,
    ema_loss: float | None, total_steps: int, per_epoch: int,
) -> None:
    """checkpoint.pt (atomically) and curve.json into `out`."""
    atomic_save(
        {
            "model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "elapsed": elapsed,
            "curve": curve, "config": asdict(cfg), "ema_loss": ema_loss, "torch_rng": torch.get_rng_state(),
            "total_steps": total_steps, "per_epoch": per_epoch,
        },
        out / CHECKPOINT,
    )
    (out / "curve.json").write_text(json.dumps(curve, indent=1))
    log.info("checkpoint at step %d of %d saved to %s", step, total_steps, out / CHECKPOINT)
