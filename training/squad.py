"""SQuAD v1.1 train as groups of windows read together, and its on-topic questions the passage can't answer.

Each answerable group is a question with its gold paragraph and other paragraphs of the same
article that lack every gold answer but hold a candidate of the answer's kind (a number for a
number, a name for a name), the closest to the question first: the passages a retriever puts
beside the right one, which the reader must learn to score below it (shared normalisation).
The unanswerable ones are made the way SQuAD 2.0 made them, from the same questions:
- `squad-removed`: the gold paragraph minus the sentence(s) holding the answer, grouped with
  the same-article paragraphs: the article is on topic and retrieved, but doesn't say;
- `squad-swapped`: the question with one of its names, numbers or years swapped for another of
  the same kind from the same article that the gold paragraph lacks, on the window of the
  original answer: the passage still looks right, and the tempting span stays in view;
- `squad-retyped`: a number answer replaced, in its paragraph, by a number of another kind
  from the same article (a length where a cost was, a count where a year was): a number stays
  where the question looks, but not the one it asks for.
And one answerable kind the other sets lack:
- `squad-byline`: "Who wrote the article about <its topic>?" over a paragraph put under a
  headline and a byline ("By <name>"), the name taken from another article's answers; a
  quarter of them without the byline, where nobody in the paragraph is the answer.
No passage-side negative holds a gold answer (`training.negatives.contains_gold`).
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from pathlib import Path

from index.keyword import tokenize
from qa.names import name_spans, unmentioned
from qa.normalize import normalize_answer
from training.config import TrainConfig
from training.data import Example, load_set
from training.negatives import contains_gold, removed_sentence_negatives

SET = "squad-v1.1-train"
_NUMBER = re.compile(r"(?<![\w.,])\d[\d,.]*\d(?![\w])|(?<![\w.,])\d(?![\w.,])")


def answer_kind(answer: str) -> str:
    """'number' (any digit), 'name' (opens with a capital), else 'other'."""
    if any(c.isdigit() for c in answer):
        return "number"
    return "name" if answer[:1].isupper() else "other"


def holds_kind(text: str, kind: str) -> bool:
    """Whether `text` holds a candidate answer of `kind` (a digit; a name not opening a sentence)."""
    if kind == "number":
        return any(c.isdigit() for c in text)
    if kind == "name":
        return bool(name_spans(text))
    return True


_SCALE = r"(?:\s?(?:million|billion|trillion|thousand|hundred)\b)?"
_UNIT = (
    r"(?:%|\s?(?:per ?cent|percent|km|kilomet(?:re|er)s?|met(?:re|er)s?|cm|mm|miles?|feet|foot|ft|inch(?:es)?|yards?|acres?"
    r"|hectares?|kg|kilograms?|grams?|g|tons?|tonnes?|lbs?|litres?|liters?|gallons?|degrees?|°[CF]?|mph|km/h|sq(?:uare)? \w+"
    r"|years?|months?|weeks?|days?|hours?|minutes?|seconds?|people|persons|students|members|residents|inhabitants|votes"
    r"|dollars?|pounds?|euros?|yen|yuan|francs?|marks?|rupees?)\b)?"
)
# A number as a reader would pick it: currency sign, digits, scale word, unit.
_QUANTITY = re.compile(r"(?<![\w.,])(?:[$£€¥]\s?)?\d(?:[\d,.]*\d)?" + _SCALE + _UNIT + r"(?![\w])")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(rf"(?:(?:{_MONTHS})\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}}|(?:{_MONTHS})\s+\d{{4}})")


def number_kind(span: str) -> str | None:
    """The kind of number a span is ('time', 'money', 'percent', 'duration', 'measure', 'count'); None without a digit."""
    if not any(c.isdigit() for c in span):
        return None
    low = span.lower()
    if re.search(rf"\b(?:{_MONTHS.lower()})\b|\b1[0-9]\d\ds?\b|\b20\d\ds?\b|\b(?:bc|ad|bce|ce)\b|\bcentury\b", low) and not re.search(r"[$£€¥%]", low):
        return "time"
    if re.search(r"[$£€¥]|\b(?:dollars?|pounds?|euros?|yen|yuan|francs?|marks?|rupees?)\b", low):
        return "money"
    if re.search(r"%|\bper ?cent\b|\bpercent", low):
        return "percent"
    if re.search(r"\b(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?)\b", low):
        return "duration"
    if re.search(r"[a-z°]", low) and not re.search(r"\b(?:people|persons|students|members|residents|inhabitants|votes|million|billion|trillion|thousand|hundred)$", low):
        return "measure"
    return "count"


def _shape(number: str) -> str:
    """Years swap for years, other numbers for other numbers."""
    return "year" if re.fullmatch(r"1[5-9]\d\d|20\d\d", number) else "number"


class Articles:
    """SQuAD train's paragraphs by article, with what the swaps and neighbours need of them."""

    def __init__(self, docs: dict[str, dict]):
        self.docs = docs
        self.by_title: dict[str, list[str]] = defaultdict(list)
        for doc_id, d in docs.items():
            self.by_title[d.get("title", "")].append(doc_id)
        self._tokens: dict[str, set[str]] = {}
        self._norm: dict[str, str] = {}
        self._kinds: dict[str, set[str]] = {}

    def tokens(self, doc_id: str) -> set[str]:
        if not self._tokens:  # one batched call: the stemmer's set-up dominates single ones
            ids = list(self.docs)
            self._tokens = {d: set(t) for d, t in zip(ids, tokenize([self.docs[d]["text"] for d in ids], return_ids=False))}
        return self._tokens[doc_id]

    def normalized(self, doc_id: str) -> str:
        if doc_id not in self._norm:
            self._norm[doc_id] = normalize_answer(self.docs[doc_id]["text"])
        return self._norm[doc_id]

    def holds(self, doc_id: str, kind: str) -> bool:
        if doc_id not in self._kinds:
            text = self.docs[doc_id]["text"]
            self._kinds[doc_id] = {k for k in ("number", "name", "other") if holds_kind(text, k)}
        return kind in self._kinds[doc_id]

    def neighbours(self, q: dict, k: int, rng: random.Random, qt: set[str]) -> list[str]:
        """Up to `k` other paragraphs of `q`'s article without a gold answer, holding a candidate
        of the answer's kind, most of the question's words `qt` shared first (ties broken by `rng`)."""
        if k <= 0:
            return []
        golds = [a for a in q["answers"] if a]
        kind = answer_kind(golds[0]) if golds else "other"
        title = self.docs[q["doc_id"]].get("title", "")
        cands = []
        for doc_id in self.by_title[title]:
            if doc_id == q["doc_id"] or not self.holds(doc_id, kind):
                continue
            if contains_gold(self.docs[doc_id]["text"], golds, self.normalized(doc_id)):
                continue
            cands.append((len(qt & self.tokens(doc_id)), rng.random(), doc_id))
        return [d for *_, d in sorted(cands, reverse=True)[:k]]


def swapped_questions(
    articles: Articles, questions: list[dict], n: int, rng: random.Random
) -> tuple[list[Example], Counter]:
    """Questions with a name, number or year their gold paragraph holds swapped for another of its
    article's (or, failing that, another question's) that the paragraph lacks."""
    stats: Counter = Counter()
    if n <= 0:
        return [], stats
    names_of: dict[str, dict[int, list[str]]] = {}
    numbers_of: dict[str, dict[str, list[str]]] = {}
    global_names: dict[int, set[str]] = defaultdict(set)
    for q in questions:
        for a, b in name_spans(q["question"]):
            global_names[len(q["question"][a:b].split())].add(q["question"][a:b])
    global_pool = {k: sorted(v) for k, v in global_names.items()}

    def article_pools(title: str) -> tuple[dict[int, list[str]], dict[str, list[str]]]:
        if title not in names_of:
            names: dict[int, set[str]] = defaultdict(set)
            numbers: dict[str, set[str]] = defaultdict(set)
            for doc_id in articles.by_title[title]:
                text = articles.docs[doc_id]["text"]
                for a, b in name_spans(text):
                    names[len(text[a:b].split())].add(text[a:b])
                for m in _NUMBER.finditer(text):
                    numbers[_shape(m.group())].add(m.group())
            names_of[title] = {k: sorted(v) for k, v in names.items()}
            numbers_of[title] = {k: sorted(v) for k, v in numbers.items()}
        return names_of[title], numbers_of[title]

    order = list(questions)
    rng.shuffle(order)
    out: list[Example] = []
    for q in order:
        if len(out) >= n:
            break
        text = articles.docs[q["doc_id"]]["text"]
        question = q["question"]
        stats["tried"] += 1
        slots = [(a, b, "name") for a, b in name_spans(question) if question[a:b] in text]
        slots += [(m.start(), m.end(), "number") for m in _NUMBER.finditer(question) if m.group() in text]
        if not slots:
            stats["dropped: no name or number of the question in the paragraph"] += 1
            continue
        a, b, kind = rng.choice(slots)
        names, numbers = article_pools(articles.docs[q["doc_id"]].get("title", ""))
        original = question[a:b]
        if kind == "name":
            width = len(original.split())
            # A few draws, article first: checking every name of an article costs more than the rest.
            local = names.get(width, [])
            draws = rng.sample(local, min(20, len(local))) + rng.sample(global_pool.get(width, []), min(20, len(global_pool.get(width, []))))
            other = next((x for x in draws if x != original and unmentioned([x], text)), None)
            stats["from the article" if other in local else "from another question"] += other is not None
        else:
            pool = [x for x in numbers.get(_shape(original), []) if x != original and x not in text]
            other = rng.choice(pool) if pool else None
            stats["number from the article"] += other is not None
        if other is None:
            stats["dropped: nothing of the kind the paragraph lacks"] += 1
            continue
        stats["kept"] += 1
        out.append(Example(question[:a] + other + question[b:], text, -1, "", "squad-swapped", focus=q["answer_starts"][0]))
    return out, stats


def retyped_answers(
    articles: Articles, questions: list[dict], n: int, rng: random.Random
) -> tuple[list[Example], Counter]:
    """Paragraphs whose number answer is replaced by a number of another kind from the same article."""
    stats: Counter = Counter()
    if n <= 0:
        return [], stats
    pools: dict[str, dict[str, list[str]]] = {}

    def article_pool(title: str) -> dict[str, list[str]]:
        if title not in pools:
            found: dict[str, set[str]] = defaultdict(set)
            for doc_id in articles.by_title[title]:
                text = articles.docs[doc_id]["text"]
                for m in [*_DATE.finditer(text), *_QUANTITY.finditer(text)]:
                    kind = number_kind(m.group())
                    if kind:
                        found[kind].add(m.group().strip())
            pools[title] = {k: sorted(v) for k, v in found.items()}
        return pools[title]

    # Only answers that are a number as a whole: "21st Army Group" is a name with a digit.
    order = [q for q in questions if any(p.fullmatch(q["answers"][0].strip()) for p in (_QUANTITY, _DATE))]
    rng.shuffle(order)
    out: list[Example] = []
    for q in order:
        if len(out) >= n:
            break
        stats["tried"] += 1
        text, answer, start = articles.docs[q["doc_id"]]["text"], q["answers"][0], q["answer_starts"][0]
        kind = number_kind(answer)
        pool = article_pool(articles.docs[q["doc_id"]].get("title", ""))
        # A bare count could still be the asked-for percent or price with its unit dropped.
        others = [x for k, xs in pool.items() if k != kind and (k != "count" or kind in ("time", "count")) for x in xs]
        if not others:
            stats["dropped: no number of another kind in the article"] += 1
            continue
        other = rng.choice(others)
        retyped = text[:start] + other + text[start + len(answer):]
        if contains_gold(retyped, [a for a in q["answers"] if a]):
            stats["dropped: a gold answer remains"] += 1
            continue
        stats[f"kept: {kind} -> {number_kind(other)}"] += 1
        out.append(Example(q["question"], retyped, -1, "", "squad-retyped", focus=start))
    return out, stats


# A person's name as SQuAD answers write one: two or three capitalised words, maybe an initial.
_PERSON = re.compile(r"[A-Z][a-z]+(?: [A-Z]\.)?(?: [A-Z][a-z]+){1,2}")
_BYLINE_QUESTIONS = (
    "Who wrote the article about {topic}?", "Who is the author of the article on {topic}?",
    "Who wrote the story about {topic}?", "Which reporter wrote the article about {topic}?", "Who wrote about {topic}?",
)
_BYLINES = ("By {name}", "By {name}", "By {name}, {desk}", "{name} | {desk}", "Written by {name}", "Story by {name}")
# First words of capitalised answers that are a title, an article or a place, not a given name.
_NOT_GIVEN = frozenset(
    "The A An He She It His Her British American East West North South New Federal World United National Royal Columbia "
    "Admiral Captain Cardinal Dr Emperor Empress General Governor President Prince Princess King Queen Saint Sir Lord Lady "
    "Professor Pope Bishop Senator Judge Mr Mrs Ms Chief St".split()
)
_DESKS = ("Staff Reporter", "Foreign Desk", "The Daily Courier", "Metro Herald", "World News Service", "Special Correspondent")


def byline_questions(
    articles: Articles, questions: list[dict], n: int, rng: random.Random
) -> tuple[list[Example], Counter]:
    """Who-wrote questions whose answer is the byline above a paragraph, or nobody when there is none."""
    stats: Counter = Counter()
    if n <= 0:
        return [], stats
    found = {a.strip() for q in questions if q["question"].lower().startswith("who") for a in q["answers"][:1] if _PERSON.fullmatch(a.strip())}
    # A given name is a first word that starts names with at least three different last words
    # ("John Adams", "John Kerry", "John Locke"); that keeps "Ottoman Turks" out.
    surnames: dict[str, set[str]] = defaultdict(set)
    for name in found:
        surnames[name.split()[0]].add(name.split()[-1])
    names = sorted(n for n in found if len(surnames[n.split()[0]]) >= 3 and n.split()[0] not in _NOT_GIVEN)
    titles = sorted(t for t in articles.by_title if t)
    if not names or not titles:
        return [], stats
    out: list[Example] = []
    while len(out) < n and stats["tried"] < 3 * n:
        stats["tried"] += 1
        title = rng.choice(titles)
        text = articles.docs[rng.choice(articles.by_title[title])]["text"]
        name = rng.choice(names)
        if any(part in text for part in name.split() if len(part) > 2):
            stats["dropped: the paragraph mentions the name"] += 1
            continue
        topic = title.replace("_", " ")
        question = rng.choice(_BYLINE_QUESTIONS).format(topic=topic if rng.random() < 0.5 else topic.lower())
        head = [topic]
        if rng.random() < 0.3:
            head.append(rng.choice(_DESKS))
        if rng.random() < 0.3:  # a standfirst above the byline, as many news pages have
            first, _, rest = text.partition(". ")
            if rest:
                head.append(first + ".")
                text = rest
        if rng.random() < 0.25:
            stats["kept: no byline"] += 1
            out.append(Example(question, "\n\n".join([*head, text]), -1, "", "squad-byline-none"))
            continue
        line = rng.choice(_BYLINES).format(name=name, desk=rng.choice(_DESKS))
        before = "\n\n".join([*head, ""])
        stats["kept: byline"] += 1
        out.append(Example(question, f"{before}{line}\n\n{text}", len(before) + line.index(name), name, "squad-byline"))
    return out, stats


def squad_examples(cfg: TrainConfig, first_group: int, rng: random.Random) -> tuple[list[Example], Counter]:
    """The SQuAD v1.1 train part of the mix: answerable groups, removed-sentence groups and swapped questions."""
    stats: Counter = Counter()
    root = Path(cfg.train_data)
    if cfg.squad == 0 or not (root / SET).exists():
        return [], stats
    docs, qs = load_set(root, SET)
    articles = Articles(docs)
    qs = [q for q in qs if [a for a in q["answers"] if a]]
    sample = qs if cfg.squad < 0 else rng.sample(qs, min(cfg.squad, len(qs)))
    group = first_group
    out: list[Example] = []
    q_tokens = {q["id"]: set(t) for q, t in zip(qs, tokenize([q["question"] for q in qs], return_ids=False))}
    for q in sample:
        out.append(Example(q["question"], docs[q["doc_id"]]["text"], q["answer_starts"][0], q["answers"][0], "squad", group=group))
        for doc_id in articles.neighbours(q, cfg.squad_group - 1, rng, q_tokens[q["id"]]):
            out.append(Example(q["question"], docs[doc_id]["text"], -1, "", "squad-same-article", first_window_only=True, group=group))
            stats["same-article paragraphs"] += 1
        group += 1

    removed, st = removed_sentence_negatives(docs, qs, cfg.squad_removed, random.Random(f"{cfg.seed}-squad-removed"))
    stats.update({f"removed: {k}": v for k, v in st.items()})
    # A removed-sentence example keeps its question's words; a question worded alike in two
    # articles gets no neighbours (whose gold answers they'd be checked against is unclear).
    wording = Counter(q["question"] for q in qs)
    by_question = {q["question"]: q for q in qs if wording[q["question"]] == 1}
    nrng = random.Random(f"{cfg.seed}-squad-removed-neighbours")
    for e in removed:
        e.source, e.group = "squad-removed", group
        out.append(e)
        q = by_question.get(e.question)
        for doc_id in articles.neighbours(q, cfg.squad_group - 1, nrng, q_tokens[q["id"]]) if q else []:
            out.append(Example(e.question, docs[doc_id]["text"], -1, "", "squad-same-article", first_window_only=True, group=group))
        group += 1

    swapped, st = swapped_questions(articles, qs, cfg.squad_swapped, random.Random(f"{cfg.seed}-squad-swapped"))
    stats.update({f"swapped: {k}": v for k, v in st.items()})
    for e in swapped:
        e.group = group  # a group of one: its margins against "no answer" on the shared scale
        group += 1
    out.extend(swapped)

    retyped, st = retyped_answers(articles, qs, cfg.squad_retyped, random.Random(f"{cfg.seed}-squad-retyped"))
    stats.update({f"retyped: {k}": v for k, v in st.items()})
    for e in retyped:
        e.group = group
        group += 1
    out.extend(retyped)

    bylines, st = byline_questions(articles, qs, cfg.squad_bylines, random.Random(f"{cfg.seed}-squad-bylines"))
    stats.update({f"bylines: {k}": v for k, v in st.items()})
    for e in bylines:
        e.group = group
        group += 1
    out.extend(bylines)
    return out, stats
