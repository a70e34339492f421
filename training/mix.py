"""The training mix: which questions of which sets, and which negatives, become examples.

The mix adds hard negatives, each a part of its own, seeded and logged:
- `removed-sentence`: a core question with its gold paragraph minus the sentence(s) holding
  the gold answers (`index.chunk.sentence_spans`), kept only if no gold answer
  string survives a normalised check (`--removed-sentence-negatives`);
- `same-topic`: a core question with a BM25 neighbour of its gold paragraph (same source
  set; for new-wiki that is mostly other paragraphs of the same article) that lacks every
  gold answer, the neighbour that best matches the question (`--same-topic-negatives`);
- `swapped-name`: a core question with a name its gold paragraph holds swapped for another
  question's name that the paragraph lacks, on the window of the original answer: the
  on-topic question the paragraph doesn't answer (`--swapped-name-negatives`, off by default);
- all of SubjQA's unanswerable questions, one window each (`--subjqa-unanswerable -1`), with
  all of its answerable ones (`--subjqa-answerable -1`) so SubjQA stays near its own balance.
- SQuAD v1.1 train (`--squad`), each question a group with same-article paragraphs that
  don't answer it, plus its removed-sentence and swapped-name-or-number questions
  (`--squad-removed`, `--squad-swapped`): `training.squad`.
The first run's mix (model card, v1) is `--removed-sentence-negatives 0
--same-topic-negatives 0 --subjqa-answerable 4000 --subjqa-unanswerable 2500
--subjqa-unanswerable-one-window false --distractors 6000`.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from pathlib import Path

from training.config import TrainConfig
from training.data import CORE_SETS, Example, is_holdout, load_set
from training.negatives import bm25_distractors, removed_sentence_negatives, same_topic_negatives, swapped_name_negatives
from training.squad import squad_examples

log = logging.getLogger(__name__)


def build_examples(cfg: TrainConfig) -> tuple[list[Example], list[dict]]:
    """The training mix, and the held-out core questions (for calibration, never trained on)."""
    root = Path(cfg.train_data)
    rng = random.Random(cfg.seed)
    examples: list[Example] = []
    holdout: list[dict] = []
    distractor_pool: list[tuple[dict[str, dict], list[dict]]] = []

    def add(q: dict, docs: dict[str, dict], source: str) -> None:
        ctx = docs[q["doc_id"]]["text"]
        if q["is_impossible"] or not q["answers"]:
            examples.append(Example(q["question"], ctx, -1, "", source + "-unanswerable"))
        else:
            examples.append(Example(q["question"], ctx, q["answer_starts"][0], q["answers"][0], source))

    for name in CORE_SETS:
        docs, qs = load_set(root, name)
        train_qs = []
        for q in qs:
            if is_holdout(q["doc_id"], cfg.holdout_fraction):
                holdout.append({**q, "context": docs[q["doc_id"]]["text"], "set": name})
            else:
                train_qs.append(q)
                add(q, docs, name)
        distractor_pool.append(({k: v for k, v in docs.items() if not is_holdout(k, cfg.holdout_fraction)}, train_qs))

    docs, qs = load_set(root, "subjqa")
    ans = [q for q in qs if not q["is_impossible"]]
    una = [q for q in qs if q["is_impossible"]]
    n_ans = len(ans) if cfg.subjqa_answerable < 0 else min(cfg.subjqa_answerable, len(ans))
    for q in rng.sample(ans, n_ans):
        add(q, docs, "subjqa")
    n_una = len(una) if cfg.subjqa_unanswerable < 0 else min(cfg.subjqa_unanswerable, len(una))
    for q in rng.sample(una, n_una):
        add(q, docs, "subjqa")
        examples[-1].one_window = cfg.subjqa_unanswerable_one_window

    docs, qs = load_set(root, "covidqa-200423")
    for q in qs:  # whole papers: answer windows kept, answerless windows sampled below
        add(q, docs, "covidqa")

    for name, n in (("qamr-wiki1k", cfg.qamr), ("policyqa", cfg.policyqa), ("ester", cfg.ester)):
        docs, qs = load_set(root, name)
        for q in rng.sample(qs, min(n, len(qs))):
            add(q, docs, name)

    per_set = cfg.distractors // max(1, len(distractor_pool))
    for docs, qs in distractor_pool:
        examples.extend(bm25_distractors(docs, qs, per_set, rng))

    # Hard negatives, each part from its own seeded generator (the parts above are unchanged
    # by turning these on or off). Only training (non-held-out) contexts are used.
    for name, n, make in (
        ("removed-sentence", cfg.removed_sentence_negatives, lambda d, q, k, r: removed_sentence_negatives(d, q, k, r)),
        ("same-topic", cfg.same_topic_negatives, lambda d, q, k, r: same_topic_negatives(d, q, k, r, cfg.same_topic_neighbours)),
        ("swapped-name", cfg.swapped_name_negatives, swapped_name_negatives),
    ):
        if n <= 0:
            continue
        part_rng = random.Random(f"{cfg.seed}-{name}")
        per = [n // len(distractor_pool) + (1 if i < n % len(distractor_pool) else 0) for i in range(len(distractor_pool))]
        stats: Counter = Counter()
        for (docs, qs), k in zip(distractor_pool, per):
            part, st = make(docs, qs, k, part_rng)
            examples.extend(part)
            stats.update(st)
        log.info("%s negatives: %s", name, dict(sorted(stats.items())))
    part, stats = squad_examples(cfg, 0, random.Random(f"{cfg.seed}-squad"))
    examples.extend(part)
    if part:
        log.info("squad v1.1 train: %s", dict(sorted(stats.items())))
    log.info("examples per part: %s", dict(sorted(Counter(e.source for e in examples).items())))
    return examples, holdout
