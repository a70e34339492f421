"""The kinds of answerless training pairs: removed-sentence, same-topic, swapped-name and BM25 distractors."""

from __future__ import annotations

import random
from collections import Counter

from index.keyword import tokenize
from qa.names import name_spans, unmentioned
from qa.normalize import normalize_answer
from training.data import Example


def contains_gold(text: str, golds: list[str], norm_text: str | None = None) -> bool:
    """Whether any gold answer survives in `text`, raw (lower-cased) or SQuAD-normalised.

    A substring test on normalised text (no word boundaries), so it errs towards "present";
    an answer that normalises to nothing can't be checked and counts as present.
    """
    low = text.lower()
    norm_text = normalize_answer(text) if norm_text is None else norm_text
    for g in golds:
        ng = normalize_answer(g)
        if not ng or g.lower() in low or ng in norm_text:
            return True
    return False


def removed_sentence_negatives(
    docs: dict[str, dict], questions: list[dict], n: int, rng: random.Random
) -> tuple[list[Example], Counter]:
    """A question with its gold paragraph minus every sentence that overlaps a gold answer.

    Dropped when an answer string still occurs (normalised) in what is left, or when less
    than two sentences / 150 characters remain.
    """
    from index.chunk import sentence_spans

    stats: Counter = Counter()
    if n <= 0 or not questions:
        return [], stats
    order = list(questions)
    rng.shuffle(order)
    spans_cache: dict[str, list] = {}
    out: list[Example] = []
    for q in order:
        if len(out) >= n:
            break
        golds = [a for a in q["answers"] if a]
        if not golds:
            continue
        stats["tried"] += 1
        text = docs[q["doc_id"]]["text"]
        if q["doc_id"] not in spans_cache:
            spans_cache[q["doc_id"]] = sentence_spans(text)
        spans = spans_cache[q["doc_id"]]
        answer_spans = [(s, s + len(a)) for s, a in zip(q["answer_starts"], q["answers"]) if a]
        drop = [sp for sp in spans if any(sp.start < a1 and a0 < sp.end for a0, a1 in answer_spans)]
        if not drop:
            stats["dropped: answer not inside sentences"] += 1
            continue
        kept = [sp for sp in spans if sp not in drop]
        if len(kept) < 2:
            stats["dropped: too short"] += 1
            continue
        pieces: list[str] = []
        focus = -1
        for sp in spans:
            if sp in drop:
                if focus < 0:
                    focus = len(" ".join(pieces))
                continue
            pieces.append(text[sp.start : sp.end])
        new_text = " ".join(pieces)
        if len(new_text) < 150:
            stats["dropped: too short"] += 1
            continue
        if contains_gold(new_text, golds):
            stats["dropped: answer string remains"] += 1
            continue
        stats["kept"] += 1
        out.append(Example(q["question"], new_text, -1, "", "removed-sentence", focus=min(focus, len(new_text) - 1)))
    return out, stats


def same_topic_negatives(
    docs: dict[str, dict], questions: list[dict], n: int, rng: random.Random, neighbours: int = 8
) -> tuple[list[Example], Counter]:
    """A question with a BM25 neighbour of its gold paragraph that lacks every gold answer.

    The neighbours are the paragraph's own top BM25 matches in its set (same source; in
    SQuADShifts new-wiki mostly the other paragraphs of the same article); of those without
    any gold answer (normalised check), the one that best matches the question is taken.
    """
    import bm25s

    stats: Counter = Counter()
    if n <= 0 or not questions:
        return [], stats
    ids = list(docs)
    pos = {d: i for i, d in enumerate(ids)}
    doc_tokens = tokenize([docs[i]["text"] for i in ids], return_ids=False)
    retriever = bm25s.BM25()
    retriever.index(doc_tokens, show_progress=False)
    norm_cache: dict[int, str] = {}
    sample = rng.sample(questions, min(n, len(questions)))
    gold_idx = sorted({pos[q["doc_id"]] for q in sample if q["doc_id"] in pos})
    k = min(neighbours + 1, len(ids))
    neigh: dict[int, list[int]] = {}
    for b in range(0, len(gold_idx), 256):
        chunk = gold_idx[b : b + 256]
        rows, _ = retriever.retrieve([doc_tokens[i] or ["."] for i in chunk], k=k, show_progress=False, n_threads=1)
        for i, row in zip(chunk, rows):
            neigh[i] = [int(j) for j in row if int(j) != i]
    q_tokens = tokenize([q["question"] for q in sample], return_ids=False)
    out: list[Example] = []
    for q, qt in zip(sample, q_tokens):
        g = pos.get(q["doc_id"])
        if g is None:
            continue
        golds = [a for a in q["answers"] if a]
        cands = []
        for j in neigh.get(g, []):
            if j not in norm_cache:
                norm_cache[j] = normalize_answer(docs[ids[j]]["text"])
            if not contains_gold(docs[ids[j]]["text"], golds, norm_cache[j]):
                cands.append(j)
        if not cands:
            stats["dropped: every neighbour holds an answer"] += 1
            continue
        ids_q = retriever.get_tokens_ids(qt)
        if ids_q:
            scores = retriever.get_scores(ids_q)
            best = max(cands, key=lambda j: (float(scores[j]), -cands.index(j)))
        else:
            best = cands[0]
        stats["kept"] += 1
        out.append(Example(q["question"], docs[ids[best]]["text"], -1, "", "same-topic", first_window_only=True))
    return out, stats


def swapped_name_negatives(
    docs: dict[str, dict], questions: list[dict], n: int, rng: random.Random
) -> tuple[list[Example], Counter]:
    """A question with a name its gold paragraph holds swapped for another question's name the paragraph lacks.

    The on-topic question the articles don't answer ("Who is China's defence minister?" on a
    paragraph about Pakistan's) is the one a reader most often answers anyway. The swapped-in
    name has as many words as the original and is one the service counts as unmentioned in the
    paragraph (`qa.names.unmentioned`), so the question asks about something it never names.
    The example keeps the window that held the original answer: the tempting span stays in view.
    """
    stats: Counter = Counter()
    if n <= 0 or not questions:
        return [], stats
    pool: dict[int, list[str]] = {}
    for q in questions:
        for a, b in name_spans(q["question"]):
            pool.setdefault(len(q["question"][a:b].split()), []).append(q["question"][a:b])
    pool = {k: sorted(set(v)) for k, v in pool.items()}
    order = list(questions)
    rng.shuffle(order)
    out: list[Example] = []
    for q in order:
        if len(out) >= n:
            break
        if not [a for a in q["answers"] if a]:
            continue
        stats["tried"] += 1
        text = docs[q["doc_id"]]["text"]
        present = [(a, b) for a, b in name_spans(q["question"]) if q["question"][a:b] in text]
        if not present:
            stats["dropped: no name of the question in the paragraph"] += 1
            continue
        a, b = rng.choice(present)
        width = len(q["question"][a:b].split())
        for _ in range(20):
            other = rng.choice(pool[width])
            if unmentioned([other], text):  # the service's own test: not even inflected or misspelt
                break
        else:
            stats["dropped: no name the paragraph lacks"] += 1
            continue
        question = q["question"][:a] + other + q["question"][b:]
        stats["kept"] += 1
        out.append(Example(question, text, -1, "", "swapped-name", focus=q["answer_starts"][0]))
    return out, stats


def bm25_distractors(
    docs: dict[str, dict], questions: list[dict], n: int, rng: random.Random
) -> list[Example]:
    """Pair questions with the best BM25 passage of their set that lacks every gold answer."""
    import bm25s

    if n <= 0 or not questions:
        return []
    ids = list(docs)
    retriever = bm25s.BM25()
    retriever.index(tokenize([docs[i]["text"] for i in ids]), show_progress=False)
    sample = rng.sample(questions, min(n, len(questions)))
    q_tokens = tokenize([q["question"] for q in sample])
    results, _ = retriever.retrieve(q_tokens, k=min(5, len(ids)), show_progress=False, n_threads=1)
    out: list[Example] = []
    for q, row in zip(sample, results):
        golds = [a.lower() for a in q["answers"] if a]
        for idx in row:
            doc = docs[ids[int(idx)]]
            if doc["id"] == q["doc_id"]:
                continue
            low = doc["text"].lower()
            if any(g in low for g in golds):
                continue
            out.append(Example(q["question"], doc["text"], -1, "", "distractor", first_window_only=True))
            break
    return out
