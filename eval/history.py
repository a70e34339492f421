"""The history of the headline figures: one CSV row per (run, figure), and a chart of it.

A full `qa eval` that writes into `eval/results/` appends its headline figures to
`history.csv` (date, commit, figure, value) and redraws `history.png`; `python -m eval.history`
redraws the chart alone. The report itself is rewritten by each run: how the figures moved
lives here, not in dated copies of the report.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from eval.common import RESULTS

HISTORY = RESULTS / "history.csv"
FIELDS = ("date", "commit", "figure", "value")
# figure key in figures.json -> what the chart calls it (the README's "How good, how fast" rows)
HEADLINE = {
    "reader_squad1_f1": "reader: SQuAD v1.1 gold paragraph F1",
    "reader_squad2_overall_f1": "reader: SQuAD v2.0 half B overall F1",
    "e2e_squad1_em": "end to end: SQuAD v1.1 open EM",
    "e2e_squad2_noans_acc": "end to end: SQuAD v2.0 unanswerable refused %",
    "e2e_squad2_hasans_f1": "end to end: SQuAD v2.0 answerable F1",
    "news_em": "news: forced EM",
    "news_r5": "news: recall@5 of an answering article",
    "seed_right": "sample articles: seed_dev right (of 14)",
    "on_topic_rejected": "sample articles: on-topic unanswerable refused (of 14)",
    "ask_p50_ms_1": "/ask p50 ms, 1 client",
    "ingest_chunks_per_s": "ingest chunks/s",
}


def commit() -> str:
    """The checkout's short commit ('unknown' outside a git checkout), '+' when it has changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=RESULTS).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True, cwd=RESULTS).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def read(path: Path = HISTORY) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def append(figures: dict[str, float], date: str, rev: str, path: Path = HISTORY) -> int:
    """Appends the headline figures of one run; returns how many rows were written."""
    rows = [{"date": date, "commit": rev, "figure": k, "value": f"{figures[k]:.4g}"} for k in HEADLINE if k in figures]
    new = not path.exists()
    with path.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def chart(path: Path = HISTORY, out: Path | None = None) -> Path:
    """One small panel per headline figure, its value by run date."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = out or path.with_suffix(".png")
    series: dict[str, list[tuple[str, float]]] = {}
    for row in read(path):
        series.setdefault(row["figure"], []).append((row["date"], float(row["value"])))
    names = [k for k in HEADLINE if k in series]
    cols = 3
    rows = max(1, -(-len(names) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        points = sorted(series[name])
        ax.plot([d for d, _ in points], [v for _, v in points], marker="o", color="#0b5cad")
        ax.set_title(HEADLINE[name], fontsize=8)
        ax.tick_params(axis="x", labelsize=6, rotation=45)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(chart(Path(sys.argv[1]) if len(sys.argv) > 1 else HISTORY))
