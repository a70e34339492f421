"""Train the reader on a lent accelerator in one call: pack here, run there, join the weights back here.

The `device` tool (a GPU machine lent only at times, 15 minutes of device time a loan,
at most 64 MiB carried per call, the project's tracked tree included, and files of at
most 16 MiB coming back) shapes the three steps:

- `pack` (here): the run's windows, built by `training.loop.windows` exactly as a CPU run
  builds them (the mix options of `qa train-reader` apply), xz-compressed into `.device/`,
  which git ignores and a call carries (`carry: [".device"]`), with the data options and the
  held-out questions; it prints what will travel against the 64 MiB. Building them here
  (about 2 minutes) spares that much device time, and the BM25 library stays here.
- `run` (there, `--device cuda`): trains with `training.loop` from those windows (the data
  options come from the pack; the schedule's are given), with the shipped reader as start
  weights and tokenizer (the base model's package is not installed there), exports fp16 and
  writes the weights in parts under 16 MiB, with a manifest of their sha256 and the run's
  training.json, into `--out` ($OUT).
- `join` (here): checks the parts against the manifest and writes a reader folder (weights,
  config, the shipped tokenizer, the pack's held-out questions) for `qa calibrate` and
  `python -m eval.readers --candidate`.

On the device, one command, e.g.:
    python3 -m training.device_run run --out $OUT --device cuda --lr 5e-5 --epochs 3 --time-budget-min 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import lzma
import shutil
import subprocess
import tempfile
from dataclasses import asdict
from pathlib import Path

PACK = Path(".device")
WINDOWS = "features.pt.xz"
PACK_INFO = "pack.json"
HOLDOUT = "holdout.jsonl"
# Relative to the repository root, where a device call runs too: the data options name it, and
# a path that differed between here and there would make the packed windows refuse the run.
READER = "qa/models/reader"
PART_BYTES = 15 * 2**20  # a file back from the device is at most 16 MiB
CALL_BYTES = 64 * 2**20  # what one call carries: the tracked tree plus `carry`
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"  # the exported reader's one weights file, what travels back in parts
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
# The learning curve's questions there: the repository's seeded SQuAD v1.1 subset (../shared does not travel).
QUICK_SQUAD = Path(__file__).resolve().parents[1] / "eval" / "data" / "quick" / "squad-v1.1-dev"


def tracked_bytes(root: Path) -> int:
    """Bytes of the files git tracks under `root`: what every device call carries besides `carry`."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout.split(b"\0")
    return sum((root / n.decode()).stat().st_size for n in names if n and (root / n.decode()).is_file())


def pack(out: Path, train_args: list[str]) -> int:
    """The windows of a run with `train_args` (`qa train-reader`'s mix options) into `out`; returns the bytes written."""
    from transformers import AutoTokenizer

    from training.checkpoint import FEATURES
    from training.config import DATA_KEYS, TrainConfig
    from training.loop import windows
    from training.train_reader import parser

    cfg = TrainConfig(**vars(parser().parse_args(["--base-model", READER, *train_args])))
    if not Path(cfg.train_data).is_dir():
        raise SystemExit(f"--train-data {cfg.train_data}: no such folder")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        windows(cfg, AutoTokenizer.from_pretrained(cfg.base_model), Path(tmp))
        with (Path(tmp) / FEATURES).open("rb") as src, lzma.open(out / WINDOWS, "wb", preset=6) as dst:
            shutil.copyfileobj(src, dst, 2**20)
        shutil.copy(Path(tmp) / HOLDOUT, out / HOLDOUT)
    options = {k: v for k, v in asdict(cfg).items() if k in DATA_KEYS}
    (out / PACK_INFO).write_text(json.dumps(options, indent=1))
    return sum(p.stat().st_size for p in out.iterdir() if p.is_file())


def unpack(folder: Path, run_dir: Path) -> list[str]:
    """The pack's windows into `run_dir` (where the loop looks for them); its data options as arguments."""
    from training.checkpoint import FEATURES

    run_dir.mkdir(parents=True, exist_ok=True)
    with lzma.open(folder / WINDOWS, "rb") as src, (run_dir / FEATURES).open("wb") as dst:
        shutil.copyfileobj(src, dst, 2**20)
    options = json.loads((folder / PACK_INFO).read_text())
    args: list[str] = []
    for key, value in options.items():
        if value is not None:
            args += [f"--{key.replace('_', '-')}", str(value).lower() if isinstance(value, bool) else str(value)]
    return args


def split(file: Path, out: Path, part_bytes: int = PART_BYTES) -> list[dict]:
    """`file` cut into numbered parts of at most `part_bytes` in `out`; their names and sha256, in order."""
    parts: list[dict] = []
    with file.open("rb") as f:
        for i, block in enumerate(iter(lambda: f.read(part_bytes), b"")):
            name = f"{file.name}.part{i:02d}"
            (out / name).write_bytes(block)
            parts.append({"name": name, "sha256": hashlib.sha256(block).hexdigest(), "bytes": len(block)})
    return parts


def ship_back(export: Path, run_dir: Path, out: Path, part_bytes: int = PART_BYTES) -> dict:
    """An exported reader and its run's records into `out`, every file under the size that comes back."""
    out.mkdir(parents=True, exist_ok=True)
    with (export / WEIGHTS).open("rb") as f:
        whole = hashlib.file_digest(f, "sha256").hexdigest()
    manifest = {"weights": WEIGHTS, "sha256": whole, "parts": split(export / WEIGHTS, out, part_bytes)}
    shutil.copy(export / "config.json", out / "config.json")
    shutil.copy(run_dir / "final" / "training.json", out / "training.json")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def join(parts: Path, out: Path, pack_dir: Path | None = None) -> Path:
    """A reader folder from what `ship_back` wrote: the weights checked part by part and whole, the shipped reader's tokenizer."""
    from qa.read import PACKAGED_READER

    missing = [n for n in (MANIFEST, "config.json", "training.json") if not (parts / n).is_file()]
    if missing:
        raise SystemExit(f"{parts}: no {', '.join(missing)}: not the files of a device run")
    try:
        manifest = json.loads((parts / MANIFEST).read_text())
        names = [str(p["name"]) for p in manifest["parts"]]
        str(manifest["sha256"])
    except (ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"{parts / MANIFEST}: not a device run's manifest ({e!r})") from None
    # Plain names of files in `parts`: a manifest never steers a read (or the write) elsewhere.
    if bad := [n for n in names if Path(n).name != n or not n.startswith(WEIGHTS + ".part")]:
        raise SystemExit(f"{parts / MANIFEST}: part names that are no parts of {WEIGHTS}: {', '.join(map(repr, bad))}")
    if absent := [n for n in names if not (parts / n).is_file()]:
        raise SystemExit(f"{parts}: missing {', '.join(absent)}; fetch the run's files again")
    # Checked before anything is read: a part of another size is refused without loading it.
    if sized := [p["name"] for p in manifest["parts"] if "bytes" in p and (parts / p["name"]).stat().st_size != p["bytes"]]:
        raise SystemExit(f"{parts}: {', '.join(sized)} not of the size the manifest gives; fetch the run's files again")
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS
    whole = hashlib.sha256()
    # A name of its own: two joins into one folder never write into each other's file.
    with tempfile.NamedTemporaryFile(dir=out, prefix=WEIGHTS + ".", suffix=".partial", delete=False) as f:
        partial = Path(f.name)
    try:
        with partial.open("wb") as f:
            for part in manifest["parts"]:
                block = (parts / part["name"]).read_bytes()
                if hashlib.sha256(block).hexdigest() != part["sha256"]:
                    raise SystemExit(f"{part['name']}: its sha256 is not the manifest's; fetch the run's files again")
                f.write(block)
                whole.update(block)
        if whole.hexdigest() != manifest["sha256"]:
            raise SystemExit(f"{weights}: the joined weights' sha256 is not the manifest's")
    except BaseException:
        partial.unlink(missing_ok=True)  # no half-joined weights to be mistaken for the run's
        raise
    partial.replace(weights)
    shutil.copy(parts / "config.json", out / "config.json")
    for name in TOKENIZER_FILES:
        shutil.copy(PACKAGED_READER / name, out / name)
    shutil.copy(parts / "training.json", out / "training.json")
    if pack_dir is not None and (pack_dir / HOLDOUT).exists():
        shutil.copy(pack_dir / HOLDOUT, out / HOLDOUT)  # what `qa calibrate --holdout` reads
    return out


def run(pack_dir: Path, out: Path, train_args: list[str]) -> dict:
    """Train from the pack's windows (schedule options: `train_args`), export fp16, and write what comes back."""
    from training.export_reader import export
    from training.train_reader import main as train_main

    work = Path(tempfile.mkdtemp(prefix="reader-run-"))
    run_dir = work / "run"
    data_args = unpack(pack_dir, run_dir)
    # The pack's data options first, so that a differing one given here is refused by the loop, not silently used.
    train_main([*data_args, "--out-dir", str(run_dir), "--init-from", READER, "--eval-data", str(QUICK_SQUAD), *train_args])
    exported = export(run_dir / "final", work / "export", fmt="fp16")
    return ship_back(exported, run_dir, out)


def main(argv: list[str] | None = None) -> None:
    from training.config import existing

    parser = argparse.ArgumentParser(prog="python -m training.device_run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("pack", help="here: the run's windows into .device/; other options are qa train-reader's mix options")
    p.add_argument("--out", type=Path, default=PACK)
    r = sub.add_parser("run", help="there: train, export, write the parts into --out; other options go to qa train-reader")
    r.add_argument("--pack", type=existing, default=PACK)
    r.add_argument("--out", type=Path, required=True)
    j = sub.add_parser("join", help="here: the fetched parts into a reader folder")
    j.add_argument("parts", type=existing)
    j.add_argument("--out", type=Path, required=True)
    j.add_argument("--pack", type=existing, default=PACK)
    args, rest = parser.parse_known_args(argv)
    if args.verb == "join" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.verb == "pack":
        size = pack(args.out, rest)
        tree = tracked_bytes(Path.cwd())
        verdict = "fits" if tree + size <= CALL_BYTES else "does NOT fit"
        print(f"{args.out}: {size / 2**20:.1f} MiB; with the tracked tree ({tree / 2**20:.1f} MiB) a call carries "
              f"{(tree + size) / 2**20:.1f} of {CALL_BYTES / 2**20:.0f} MiB: {verdict}")
        if tree + size > CALL_BYTES:
            raise SystemExit(1)
    elif args.verb == "run":
        manifest = run(args.pack, args.out, rest)
        print(f"{args.out}: {len(manifest['parts'])} parts of the fp16 weights (sha256 {manifest['sha256'][:12]})")
    else:
        print(join(args.parts, args.out, args.pack))


if __name__ == "__main__":
    main()
