"""Copy groups (index/copies.py) measured: precision and recall on made copies, distinct articles on one topic kept apart.

`python -m eval.copies [--sample 200] [--seed 15]` (about a minute, CPU only). Reads the
realtimeqa-2023-dev news articles from `QA_EVAL_DATA` (default `../shared/eval-data`; the texts
are not shipped in the repository) and builds a labelled set:

- made copies of a seeded sample of articles: a new headline, the text trimmed by 10-20% (its
  tail, at a word), one or two boilerplate paragraphs added (wire credits, newsletter and
  comment notices) and 2-6 words replaced;
- true copies: the same text (normalised) under different URLs, if any;
- distinct-but-similar pairs: for each sampled article, the other article that BM25 ranks first
  for its title and opening words (same topic, different text); these must stay apart.

Every article (originals, made copies) goes through `CopyIndex.assign` in a seeded random order,
as ingestion would. Precision: of the pairs put in one group, the share that are labelled copies
(a pair of two originals grouped is counted as wrong, then listed with its shingle Jaccard for
a look). Recall: of the labelled copy pairs, the share grouped. Apart: of the distinct pairs,
the share in different groups. Each threshold of a sweep is measured the same way; writes
`eval/results/copies.md`.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from itertools import combinations

from eval.common import EVAL_DATA, RESULTS, read_jsonl
from index import copies
from index.copies import CopyIndex, shingles

BOILERPLATE = [
    "Copyright 2023 The Associated Press. All rights reserved. This material may not be published, broadcast, rewritten or redistributed without permission.",
    "Sign up for our daily newsletter to get the latest headlines delivered to your inbox every morning.",
    "Have a news tip? Contact our newsroom by email or follow us on Twitter and Facebook for updates.",
    "This story was originally published by a partner outlet and is republished here with permission.",
    "Comments are closed for this article. Read our community guidelines before posting on other stories.",
    "Reuters contributed to this report. Editing by the news desk.",
]
EDIT_WORDS = ["reportedly", "officials", "Tuesday", "several", "state", "major", "local", "new", "former", "early"]


def make_copy(doc: dict, rng: random.Random) -> dict:
    """Re-headlined, trimmed by 10-20%, boilerplate paragraphs added, a few words replaced."""
    words = doc["text"].split(" ")
    keep = round(len(words) * (1 - rng.uniform(0.10, 0.20)))
    words = words[:keep]
    for _ in range(rng.randint(2, 6)):
        words[rng.randrange(len(words))] = rng.choice(EDIT_WORDS)
    paragraphs = [" ".join(words)]
    for b in rng.sample(BOILERPLATE, rng.randint(1, 2)):
        paragraphs.insert(rng.choice([0, len(paragraphs)]), b)
    return {"id": doc["id"] + "-copy", "title": "REPRINT: " + " ".join(reversed(doc["title"].split())), "text": "\n\n".join(paragraphs)}


def similar_pairs(docs: list[dict], sample: list[dict], partners: dict[str, set[str]]) -> list[tuple[str, str]]:
    """For each sampled article, the other article BM25 ranks first for its title and opening words."""
    import bm25s

    corpus = [d["title"] + " " + d["text"] for d in docs]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)
    queries = [d["title"] + " " + " ".join(d["text"].split()[:40]) for d in sample]
    hits, _ = retriever.retrieve(bm25s.tokenize(queries, stopwords="en", show_progress=False), k=3, show_progress=False)
    pairs = []
    for d, row in zip(sample, hits):
        for j in row:
            other = docs[int(j)]
            if other["id"] != d["id"] and other["id"] not in partners.get(d["id"], ()):
                pairs.append((d["id"], other["id"]))
                break
    return pairs


def _sentences(text: str) -> set[str]:
    out = set()
    for s in re.split(r"(?<=[.!?])\s+|\n+", text):
        words = re.findall(r"\w+", s.lower())
        if len(words) >= 6:
            out.add(" ".join(words))
    return out


def same_story(docs: list[dict], share: float = 0.5, least: int = 5) -> set[frozenset]:
    """Pairs under different URLs whose texts are the same, or share at least half of each one's sentences verbatim (of at least `least` sentences)."""
    sentences = {d["id"]: _sentences(d["text"]) for d in docs}
    url = {d["id"]: d["url"] for d in docs}
    holders: dict[str, list[str]] = {}
    for doc_id, ss in sentences.items():
        for s in ss:
            holders.setdefault(s, []).append(doc_id)
    shared: dict[frozenset, int] = {}
    for ids in holders.values():
        if len(ids) <= 20:  # a sentence in many articles is boilerplate, not a shared story
            for p in combinations(ids, 2):
                shared[frozenset(p)] = shared.get(frozenset(p), 0) + 1
    return {
        p for p, n in shared.items()
        if len({url[i] for i in p}) > 1 and n >= least and n >= share * max(len(sentences[i]) for i in p)
    }


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / max(1, len(x | y))


def measure(articles: list[dict], copy_pairs: set[frozenset], apart_pairs: list[tuple[str, str]], threshold: float) -> dict:
    index = CopyIndex(None, threshold=threshold)
    group = {a["id"]: index.assign(a["id"], a["text"])[0] for a in articles}
    members: dict[str, list[str]] = {}
    for doc_id, g in group.items():
        members.setdefault(g, []).append(doc_id)
    predicted = {frozenset(p) for ids in members.values() for p in combinations(ids, 2)}
    right = predicted & copy_pairs
    return {
        "threshold": threshold,
        "precision": len(right) / len(predicted) if predicted else 1.0,
        "recall": len(right) / len(copy_pairs),
        "apart": sum(group[a] != group[b] for a, b in apart_pairs) / len(apart_pairs),
        "predicted": len(predicted),
        "wrong": sorted(tuple(sorted(p)) for p in predicted - copy_pairs),
        "missed": sorted(tuple(sorted(p)) for p in copy_pairs - predicted),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", default="copies.md", help="file name under eval/results (a held-out seed writes beside the tuning run)")
    args = parser.parse_args()
    started = time.perf_counter()
    docs = read_jsonl(EVAL_DATA / "realtimeqa-2023-dev" / "documents.jsonl")
    by_id = {d["id"]: d for d in docs}
    rng = random.Random(args.seed)
    sample = rng.sample(docs, args.sample)
    made = [make_copy(d, rng) for d in sample]

    # True copies: the same text under different URLs (normalised; or most of it, sentence for sentence).
    true_copies = same_story(docs)
    made_of = {d["id"]: m["id"] for d, m in zip(sample, made)}
    copy_pairs = true_copies | {frozenset(p) for p in made_of.items()}
    copy_pairs |= {frozenset((made_of[a], b)) for p in true_copies for a, b in (tuple(p), tuple(p)[::-1]) if a in made_of}
    partners: dict[str, set[str]] = {}
    for p in true_copies:
        a, b = tuple(p)
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    apart_pairs = similar_pairs(docs, sample, partners)
    apart_j = sorted(jaccard(by_id[a]["text"], by_id[b]["text"]) for a, b in apart_pairs)
    made_j = sorted(jaccard(d["text"], m["text"]) for d, m in zip(sample, made))

    articles = docs + made
    random.Random(args.seed + 1).shuffle(articles)
    texts = {a["id"]: a for a in articles}
    sweep = [measure(articles, copy_pairs, apart_pairs, t) for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)]
    chosen = next(r for r in sweep if r["threshold"] == copies.THRESHOLD) if any(r["threshold"] == copies.THRESHOLD for r in sweep) else measure(articles, copy_pairs, apart_pairs, copies.THRESHOLD)
    elapsed = time.perf_counter() - started

    def q(xs: list[float], p: float) -> float:
        return xs[min(len(xs) - 1, int(p * len(xs)))]

    lines = [
        "# Copy groups: syndicated copies found at ingest",
        "",
        f"`python -m eval.copies --sample {args.sample} --seed {args.seed} --out {args.out}` ({elapsed:.0f} s). `index/copies.py`: MinHash LSH "
        f"over {copies.SHINGLE}-word shingles of the normalised text, {copies.PERMUTATIONS} permutations, a pair is one story "
        f"when its estimated Jaccard is at least the threshold (LSH candidates, then the estimate checked).",
        "",
        f"Labelled set from realtimeqa-2023-dev ({len(docs)} news articles, texts not shipped): {len(made)} made copies of a seeded "
        f"sample (re-headlined, trimmed 10-20%, 1-2 boilerplate paragraphs, 2-6 words replaced), {len(true_copies)} true copies "
        f"(pairs of articles under different URLs with the same text, or sharing at least half of each one's sentences "
        f"verbatim, 5 or more: no text appears twice exactly in this set; with a made copy of either, {len(copy_pairs)} labelled copy pairs), {len(apart_pairs)} distinct-but-similar pairs (each sampled "
        f"article with the other article BM25 ranks first for its title and opening words). All {len(articles)} articles are "
        "assigned in a seeded random order, as ingestion would see them (a copy may come before its original).",
        "",
        f"Exact shingle Jaccard: made copies min {made_j[0]:.2f}, 5th percentile {q(made_j, 0.05):.2f}, median {q(made_j, 0.5):.2f}; "
        f"distinct-but-similar pairs median {q(apart_j, 0.5):.3f}, 95th percentile {q(apart_j, 0.95):.3f}, max {apart_j[-1]:.2f}.",
        "",
        "| threshold | precision | recall (copies) | distinct kept apart | pairs grouped |",
        "|---|---|---|---|---|",
    ]
    for r in sweep:
        mark = " (chosen)" if r["threshold"] == copies.THRESHOLD else ""
        lines.append(f"| {r['threshold']:.1f}{mark} | {r['precision']:.3f} | {r['recall']:.3f} | {r['apart']:.3f} | {r['predicted']} |")
    lines += [
        "",
        f"At the chosen threshold {copies.THRESHOLD}: precision **{chosen['precision']:.3f}**, recall **{chosen['recall']:.3f}**, "
        f"distinct kept apart **{chosen['apart']:.3f}** (targets 0.95, 0.9, 0.95).",
    ]
    if chosen["wrong"]:
        lines += ["", "Pairs grouped that are not labelled copies (shingle Jaccard, titles):", ""]
        for a, b in chosen["wrong"][:20]:
            lines.append(f"- {jaccard(texts[a]['text'], texts[b]['text']):.2f}: {texts[a]['title'][:70]!r} / {texts[b]['title'][:70]!r}")
    if chosen["missed"]:
        lines += ["", "Copies missed (shingle Jaccard):", ""]
        for a, b in chosen["missed"][:20]:
            lines.append(f"- {jaccard(texts[a]['text'], texts[b]['text']):.2f}: {a} / {b}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
