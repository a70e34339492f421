"""Train the project's extractive reader (MiniLM-L6 + span head) on CPU, resumably."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from training import checkpoint, mix
from training.checkpoint import FEATURES
from training.config import TrainConfig, existing
from training.loop import train

__all__ = ["TrainConfig", "main", "train"]


def description() -> str:
    """The --help text: this module's summary, then the notes on the mix and on resuming."""
    notes = [m.__doc__.split("\n", 1)[1].strip() for m in (mix, checkpoint)]
    return "\n\n".join([__doc__.strip(), *notes])


def parser() -> argparse.ArgumentParser:
    """One option per `TrainConfig` field (--max-steps for max_steps; booleans take true/false)."""
    p = argparse.ArgumentParser(prog="qa train-reader", description=description())
    for name, fdef in TrainConfig.__dataclass_fields__.items():
        if name == "extra":
            continue
        default = fdef.default
        kind = type(default) if default is not None else str
        if kind is bool:
            p.add_argument(f"--{name.replace('_', '-')}", type=lambda s: s.lower() in ("1", "true", "yes"), default=default)
        elif name in ("init_from", "distil_from"):
            p.add_argument(f"--{name.replace('_', '-')}", type=lambda v: str(existing(v)), default=default)
        else:
            p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default)
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    # Checked here, not by the option's type: a resumed run reads its windows from the cache, not the data.
    if not (Path(args.out_dir) / FEATURES).exists():
        try:
            existing(args.train_data)
        except argparse.ArgumentTypeError as e:
            p.error(f"argument --train-data: {e}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = TrainConfig(**{k: v for k, v in vars(args).items()})
    print(train(cfg))


if __name__ == "__main__":
    main()
