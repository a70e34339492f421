"""Follow-up questions with and without the conversation: `python -m eval.conversations [--news-store FOLDER]`.

Every conversation of `eval/data/conversations.jsonl` is asked turn by turn through
`Pipeline.ask`, once with `history` (the earlier questions and the answers this run showed for
them, "not found" included) and once with each question alone. A follow-up turn (one whose gold
`follows` names an earlier turn) is scored by exact match of the forced answer (threshold 0, as
the other benchmarks score), by whether that answer cites the conversation's article, and by
what a user is shown (answers above the threshold, right and wrong). Turns after the first that
stand alone are scored the same way: the rule should leave them as they were. The sample
conversations run on the five sample articles, the news ones on a kept store of the news archive
(`--news-store`, a copy of one `python -m eval.readers --stores` or `qa eval` built).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from eval.common import RESULTS, ROOT, read_jsonl
from eval.readers import store
from qa.normalize import best_over_golds
from qa.pipeline import SAMPLE_CORPUS, Pipeline
from qa.schema import AskRequest, HistoryTurn

CONVERSATIONS = ROOT / "eval" / "data" / "conversations.jsonl"


@dataclass
class Score:
    """One kind of turn under one way of asking."""

    turns: int = 0
    em: float = 0.0  # forced answer, exact match
    cited: int = 0  # the forced answer cites the conversation's article
    shown_right: float = 0.0  # answers above the threshold, right (EM)
    shown_wrong: float = 0.0
    detected: int = 0  # the rule used an earlier turn (`follows` set)
    lines: list[str] = field(default_factory=list)

    def add(self, em: float, cited: bool, shown: str | None, shown_em: float, follows: int | None) -> None:
        self.turns += 1
        self.em += em
        self.cited += cited
        if shown is not None:
            self.shown_right += shown_em
            self.shown_wrong += 1 - shown_em
        self.detected += follows is not None


SHOWN = True  # also ask each turn with the product's threshold (what a user is shown); off: half the time


def ask(pipe: Pipeline, question: str, history: list[HistoryTurn], turn: dict, doc_ids: list[str]):
    forced = pipe.ask(AskRequest(question=question, history=history), threshold=0.0)
    # Without the thresholded run, the forced answer goes into the history when it clears the threshold.
    threshold = pipe.settings.no_answer_threshold
    threshold = (pipe.reader.confidence or pipe.reader.calibration).threshold if threshold is None else threshold
    shown = pipe.ask(AskRequest(question=question, history=history)) if SHOWN else forced.model_copy(
        update={"answer": forced.answer if forced.score >= threshold else None})
    em = best_over_golds(forced.answer or "", turn["answers"])[0]
    shown_em = best_over_golds(shown.answer, turn["answers"])[0] if shown.answer is not None else 0.0
    cited = bool(set(doc_ids) & {c.doc_id for c in forced.citations})
    return forced, shown, em, shown_em, cited


def conversation(pipe: Pipeline, conv: dict, scores: dict[tuple[str, str], Score]) -> None:
    history: list[HistoryTurn] = []
    for i, turn in enumerate(conv["turns"]):
        q = turn["question"]
        if i == 0:
            forced, shown, em, shown_em, cited = ask(pipe, q, [], turn, conv["doc_ids"])
            scores["first", "alone"].add(em, cited, shown.answer, shown_em, forced.follows)
            history.append(HistoryTurn(question=q, answer=shown.answer))
            continue
        kind = "follow-up" if turn["follows"] is not None else "standalone"
        results = {}
        for mode, given in (("with history", history), ("alone", [])):
            forced, shown, em, shown_em, cited = ask(pipe, q, given, turn, conv["doc_ids"])
            scores[kind, mode].add(em, cited, shown.answer, shown_em, forced.follows)
            results[mode] = (forced, shown, em)
        (fw, sw, ew), (fa, _, ea) = results["with history"], results["alone"]
        scores[kind, "with history"].lines.append(
            f"| {conv['id']}.{i + 1} | {q} | {turn['answers'][0]} | {fw.answer} {'✓' if ew else '✗'} | {fa.answer} {'✓' if ea else '✗'} "
            f"| {'—' if fw.follows is None else fw.follows + 1} | {sw.answer if sw.answer is not None else '— (not found)'} |"
        )
        history.append(HistoryTurn(question=q, answer=results["with history"][1].answer))


def run(pipes: dict[str, Pipeline], conversations: list[dict]) -> dict[str, dict[tuple[str, str], Score]]:
    out: dict[str, dict[tuple[str, str], Score]] = {}
    for corpus, pipe in pipes.items():
        scores: dict[tuple[str, str], Score] = {}
        for key in (("first", "alone"), ("follow-up", "with history"), ("follow-up", "alone"), ("standalone", "with history"), ("standalone", "alone")):
            scores[key] = Score()
        for conv in conversations:
            if conv["corpus"] == corpus:
                conversation(pipe, conv, scores)
        out[corpus] = scores
        print(corpus, {f"{k[0]} {k[1]}": (s.turns, s.em, s.cited) for k, s in scores.items()}, flush=True)
    return out


def _pct(x: float, n: int) -> str:
    return f"{100 * x / n:.1f}" if n else "—"


def write(results: dict[str, dict[tuple[str, str], Score]], out: Path, conversations: int, minutes: float, command: str) -> list[str]:
    rows = []
    for corpus, scores in [*results.items(), ("all", _total(results))]:
        for key in (("follow-up", "with history"), ("follow-up", "alone"), ("standalone", "with history"), ("standalone", "alone"), ("first", "alone")):
            s = scores[key]
            if s.turns:
                rows.append(
                    f"| {corpus} | {key[0]} | {key[1]} | {s.turns} | **{_pct(s.em, s.turns)}** | {_pct(s.cited, s.turns)} "
                    f"| {f'{s.shown_right:.0f} / {s.shown_wrong:.0f}' if SHOWN else '—'} | {s.detected} |"
                )
    total = _total(results)
    fw, fa = total["follow-up", "with history"], total["follow-up", "alone"]
    sw, sa = total["standalone", "with history"], total["standalone", "alone"]
    lines = [
        "# Follow-up questions",
        "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M')} UTC in {minutes:.0f} minutes: {conversations} conversations of "
        f"`eval/data/conversations.jsonl` asked turn by turn through `Pipeline.ask`, each later turn once with `history` "
        "(the earlier questions and the answers this run showed) and once alone.",
        "",
        f"**Follow-up turns, exact match of the forced answer: {_pct(fw.em, fw.turns)} with history, {_pct(fa.em, fa.turns)} without** "
        f"({fw.turns} turns). Turns that stand alone: {_pct(sw.em, sw.turns)} with history, {_pct(sa.em, sa.turns)} without ({sw.turns} turns).",
        "",
        "EM: the forced answer (threshold 0) against the turn's gold answers; cited: the forced answer cites the conversation's article; "
        "shown right / wrong: the answers a user is shown (above the threshold); used an earlier turn: responses with `follows` set.",
        "",
        "| corpus | turns | asked | n | EM | cited % | shown right / wrong | used an earlier turn |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Each later turn: the gold answer, the forced answer with history and alone, the earlier turn used (1-based), and what was shown with history.",
        "",
        "| turn | question | gold | with history | alone | follows | shown with history |",
        "|---|---|---|---|---|---|---|",
        *(line for scores in results.values() for key in (("follow-up", "with history"), ("standalone", "with history")) for line in scores[key].lines),
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")
    return lines


def _total(results: dict[str, dict[tuple[str, str], Score]]) -> dict[tuple[str, str], Score]:
    total: dict[tuple[str, str], Score] = {}
    for scores in results.values():
        for key, s in scores.items():
            t = total.setdefault(key, Score())
            t.turns += s.turns
            t.em += s.em
            t.cited += s.cited
            t.shown_right += s.shown_right
            t.shown_wrong += s.shown_wrong
            t.detected += s.detected
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news-store", type=Path, default=None, help="a kept store of the news archive (a copy: it is opened read-write); without it the news conversations are skipped")
    parser.add_argument("--data", type=Path, default=CONVERSATIONS)
    parser.add_argument("--out", type=Path, default=RESULTS / "conversations.md")
    parser.add_argument("--forced-only", action="store_true", help="score forced answers only (half the asks); the history carries the forced answers that clear the threshold")
    args = parser.parse_args(argv)
    global SHOWN
    SHOWN = not args.forced_only
    started = time.time()
    conversations = read_jsonl(args.data)
    work = Path(tempfile.mkdtemp(prefix="qa-conversations-"))
    try:
        pipes = {"sample": store(work / "seed", lambda p: p.ingest_paths([SAMPLE_CORPUS]))}
        if args.news_store:
            if not (args.news_store / "chroma").is_dir():
                parser.error(f"{args.news_store}: not a kept store (no chroma folder)")
            pipes["news"] = store(args.news_store, None)
        asked = [c for c in conversations if c["corpus"] in pipes]
        results = run(pipes, asked)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = "python -m eval.conversations" + (f" --news-store {args.news_store}" if args.news_store else "") + (" --forced-only" if args.forced_only else "")
    print("\n".join(write(results, args.out, len(asked), (time.time() - started) / 60, command)))


if __name__ == "__main__":
    main()
