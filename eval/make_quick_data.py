"""Build the seeded subsets that `qa eval --quick` reads, from the full benchmark sets.

    python -m eval.make_quick_data [--source /path/to/eval-data]

Reads the full sets from `--source` (default: `QA_EVAL_DATA`, else `../shared/eval-data`) and
writes `eval/data/quick/<dataset>/` in the same uniform format (`documents.jsonl`,
`questions.jsonl`; SciFact adds `qrels/test.tsv`). Every line is copied byte for byte from
the source file; only the selection and the order of lines differ. Running it again on the
same source gives identical files. The quick run reads these files whole: the selection
lives here, not in the benchmarks (which only draw their seeded question samples from the
SQuAD v1.1 subset). `random.Random(seed).sample` over the source files in file order:

- `squad-v1.1-dev`: 300 paragraphs, `sample(paragraphs, 300, seed=0)`, written in sampled
  order, and every question on them (file order). The reader benchmark samples 300 of
  those questions (seed 0), the SQuAD-as-corpus retrieval the same 300 (seed 0), end to
  end answering 150 (seed 1); the paragraphs their questions were not drawn on are the
  distractors. (Before this folder existed, the quick reader benchmark drew 300 questions
  from all 10,570; it now draws them from this subset.)
- `squad-v2.0-dev`: 400 questions, `sample(questions, 400, seed=0)`, written in sampled
  order (the benchmark's tune/report halves come from a seeded shuffle of that order),
  and the paragraphs they are asked on (file order).
- `beir-scifact`: 40 test claims that have qrels, `sample(claims, 40, seed=3)`, in sampled
  order; their relevant abstracts (sorted by id) followed by 150 seeded distractors,
  `sample(abstracts, 150, seed=3)` less those already kept; `qrels/test.tsv` keeps the
  header and the rows of those 40 claims.
- `hotpotqa-dev-ircot500`: 30 questions, `sample(questions, 30, seed=4)`, in sampled
  order, and their own context paragraphs (2 supporting and 8 distractors each, sorted
  by id): retrieval is not trivial since every question's distractors stay in.

seed_dev (`eval/data/seed_dev.jsonl`) is already in the project and is not touched.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = HERE / "data" / "quick"

SQUAD1_PARAGRAPHS = 300
SQUAD2_QUESTIONS = 400
SCIFACT_CLAIMS, SCIFACT_DISTRACTORS = 40, 150
HOTPOTQA_QUESTIONS = 30


def _lines(path: Path) -> list[tuple[str, dict]]:
    """(raw line, parsed record) for every non-empty line, in file order."""
    with path.open(encoding="utf-8") as fh:
        return [(line.rstrip("\n"), json.loads(line)) for line in fh if line.strip()]


def _sample(items: list, n: int, seed: int) -> list:
    return list(items) if n >= len(items) else random.Random(seed).sample(items, n)


def _write(folder: Path, docs: list[tuple[str, dict]], qs: list[tuple[str, dict]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("documents.jsonl", docs), ("questions.jsonl", qs)):
        (folder / name).write_text("".join(raw + "\n" for raw, _ in rows), encoding="utf-8")


def squad_v1(src: Path, dst: Path) -> None:
    docs, qs = _lines(src / "documents.jsonl"), _lines(src / "questions.jsonl")
    kept = _sample(docs, SQUAD1_PARAGRAPHS, seed=0)
    ids = {d["id"] for _, d in kept}
    _write(dst, kept, [q for q in qs if q[1]["doc_id"] in ids])


def squad_v2(src: Path, dst: Path) -> None:
    docs, qs = _lines(src / "documents.jsonl"), _lines(src / "questions.jsonl")
    kept = _sample(qs, SQUAD2_QUESTIONS, seed=0)
    ids = {q["doc_id"] for _, q in kept}
    _write(dst, [d for d in docs if d[1]["id"] in ids], kept)


def scifact(src: Path, dst: Path) -> None:
    header, *rows = (src / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    qrels: dict[str, set[str]] = {}
    for row in rows:
        if row.strip():
            qid, doc, _ = row.split("\t")
            qrels.setdefault(qid, set()).add(doc)
    docs, qs = _lines(src / "documents.jsonl"), _lines(src / "questions.jsonl")
    claims = _sample([q for q in qs if q[1]["id"] in qrels], SCIFACT_CLAIMS, seed=3)
    qids = {q["id"] for _, q in claims}
    relevant = {d for qid in qids for d in qrels[qid]}
    by_id = {d["id"]: (raw, d) for raw, d in docs}
    kept = [by_id[d] for d in sorted(relevant)]
    kept += [d for d in _sample(docs, SCIFACT_DISTRACTORS, seed=3) if d[1]["id"] not in relevant]
    _write(dst, kept, claims)
    (dst / "qrels").mkdir(exist_ok=True)
    keep_rows = [row for row in rows if row.strip() and row.split("\t")[0] in qids]
    (dst / "qrels" / "test.tsv").write_text("\n".join([header, *keep_rows]) + "\n", encoding="utf-8")


def hotpotqa(src: Path, dst: Path) -> None:
    docs, qs = _lines(src / "documents.jsonl"), _lines(src / "questions.jsonl")
    kept = _sample(qs, HOTPOTQA_QUESTIONS, seed=4)
    by_id = {d["id"]: (raw, d) for raw, d in docs}
    _write(dst, [by_id[d] for d in sorted({d for _, q in kept for d in q["context_doc_ids"]})], kept)


BUILDERS = {"squad-v1.1-dev": squad_v1, "squad-v2.0-dev": squad_v2, "beir-scifact": scifact, "hotpotqa-dev-ircot500": hotpotqa}


def main(argv: list[str] | None = None) -> int:
    from eval.common import EVAL_DATA

    parser = argparse.ArgumentParser(prog="python -m eval.make_quick_data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=EVAL_DATA, help=f"the full evaluation data (default: {EVAL_DATA})")
    parser.add_argument("--out", type=Path, default=QUICK, help=f"where the subsets go (default: {QUICK})")
    args = parser.parse_args(argv)
    missing = [args.source / name for name in BUILDERS if not (args.source / name / "questions.jsonl").exists()]
    if missing:
        print(f"error: evaluation data not found: {missing[0]} (pass --source or set QA_EVAL_DATA)", file=sys.stderr)
        return 4
    for name, build in BUILDERS.items():
        shutil.rmtree(args.out / name, ignore_errors=True)
        build(args.source / name, args.out / name)
        files = sorted(p for p in (args.out / name).rglob("*") if p.is_file())
        print(f"{name}: " + ", ".join(f"{p.relative_to(args.out / name)} {sum(1 for _ in p.open(encoding='utf-8'))} lines" for p in files)
              + f", {sum(p.stat().st_size for p in files) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
