"""`qa eval [--quick]`: every benchmark in one run, a markdown report, charts and floors."""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from eval.common import CORES, RESULTS, Section

FLOORS = Path(__file__).parent / "floors.json"


def charts(figures: dict[str, float], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    modes = [m for m in ("dense", "bm25", "hybrid") if f"retrieval_{m}_r5" in figures]
    if modes:
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(modes, [figures[f"retrieval_{m}_r5"] for m in modes], color=["#8aa", "#a98", "#0b5cad"])
        ax.set_ylim(0, 1)
        ax.set_title("SQuAD v1.1 dev as a corpus: recall@5")
        fig.tight_layout()
        fig.savefig(out / "retrieval.png", dpi=110)
        plt.close(fig)
        made.append("retrieval.png")
    systems = [s for s in ("ours", "haystack", "txtai") if f"peer_{s}_em" in figures]
    if systems:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3))
        a1.bar(systems, [figures[f"peer_{s}_em"] for s in systems], color="#0b5cad")
        a1.set_title("EM (same questions)")
        a2.bar(systems, [figures[f"peer_{s}_p50_ms"] for s in systems], color="#a98")
        a2.set_title("p50 latency, ms")
        fig.tight_layout()
        fig.savefig(out / "peers.png", dpi=110)
        plt.close(fig)
        made.append("peers.png")
    return made


def check_floors(figures: dict[str, float], quick: bool) -> list[str]:
    floors = json.loads(FLOORS.read_text())["quick" if quick else "full"]
    failures = []
    for name, floor in floors.items():
        if name not in figures:
            continue
        value = figures[name]
        if name.endswith("_ms") or name.endswith("_s"):
            if value > floor:
                failures.append(f"{name} = {value:.2f} above its ceiling {floor}")
        elif value < floor:
            failures.append(f"{name} = {value:.2f} below its floor {floor}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa eval", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seeded subsets, for CI (about 3 minutes)")
    parser.add_argument("--reader", type=Path, default=None, help="reader model folder (default: the packaged one)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: eval/results, or eval/results/quick)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["reader", "answering", "speed", "peers"])
    parser.add_argument("--reader-sample", type=int, default=None, help="full run: seeded sample of SQuAD questions for the reader (default: all)")
    parser.add_argument("--e2e-questions", type=int, default=1000, help="full run: seeded questions for end-to-end answering")
    args = parser.parse_args(argv)

    from qa.read import Reader
    from qa.settings import get_settings

    settings = get_settings()
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="qa-eval-"))
    sections: list[Section] = []
    started = time.time()
    try:
        if "reader" not in args.skip:
            from eval import reader_bench

            sections.append(reader_bench.run(Reader(args.reader, threads=settings.threads, cache_dir=settings.cache_dir), args.quick, args.reader_sample))
        if "answering" not in args.skip:
            from eval import answering

            sections.extend(answering.run(work, args.reader, args.quick, args.e2e_questions))
        if "speed" not in args.skip:
            from eval import speed

            sections.append(speed.run(work, args.reader, args.quick))
        if "peers" not in args.skip and not args.quick:
            from eval import peers

            sections.append(peers.run(work, args.reader, sections))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    figures = {k: v for s in sections for k, v in s.figures.items()}
    made = charts(figures, out)
    failures = check_floors(figures, args.quick)
    cmd = "qa eval " + " ".join(argv if argv is not None else sys.argv[1:])
    report = [
        f"# Evaluation report ({'quick' if args.quick else 'full'} run)",
        "",
        f"Made by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M')} UTC, {CORES} cores, Python {platform.python_version()}, "
        f"in {(time.time() - started) / 60:.1f} minutes. Times are from this machine: compare ratios, not absolute times, across runs.",
        "",
    ]
    for s in sections:
        report += [f"## {s.title}", "", *s.lines, ""]
    report += [f"![{m}]({m})" for m in made] + [""]
    report += ["## Floors", "", *(f"- FAILED: {f}" for f in failures)] if failures else ["## Floors", "", "All figures at or above their floors (eval/floors.json)."]
    (out / "report.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    (out / "figures.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    print("\n".join(report))
    if failures:
        print("\n".join(f"floor failed: {f}" for f in failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
