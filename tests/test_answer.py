"""Answer assembly: offsets that check, merged answers that keep all their citations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.store import StoredDocument
from qa.answer import assemble
from qa.normalize import normalize_answer
from qa.read import Calibration, Span
from qa.retrieve import Passage

CAL = Calibration(slope=1.0, intercept=0.0, threshold=0.5)


def _doc(doc_id: str, text: str) -> StoredDocument:
    return StoredDocument(doc_id, f"Title {doc_id}", f"{doc_id}.txt", text, None, "h", 1, {})


def _setup(texts: dict[str, str], picks):
    docs = {k: _doc(k, v) for k, v in texts.items()}
    passages, spans = [], []
    for n, (doc_id, p0, p1, a0, a1, margin) in enumerate(picks):
        text = texts[doc_id]
        passages.append(Passage(f"{doc_id}::{n}", doc_id, text[p0:p1], p0, p1, 0.0))
        spans.append(Span(n, a0 - p0, a1 - p0, text[a0:a1], margin, CAL(margin)))
    return docs, passages, spans


def test_same_answer_in_two_articles_is_one_answer_with_two_citations() -> None:
    texts = {
        "a": "The first joint exercise was held in September near Cherat.",
        "b": "Last year in the month of September, a first-ever exercise took place.",
        "c": "Some say it happened in October instead.",
    }
    picks = [
        ("a", 0, len(texts["a"]), texts["a"].index("September"), texts["a"].index("September") + 9, 6.0),
        ("b", 0, len(texts["b"]), texts["b"].index("September"), texts["b"].index("September") + 9, 5.0),
        ("c", 0, len(texts["c"]), texts["c"].index("October"), texts["c"].index("October") + 7, 4.5),
    ]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("When?", passages, spans, docs, CAL)
    assert r.answer == "September"
    assert [c.doc_id for c in r.citations] == ["a", "b"] and r.articles == 2
    assert [a.answer for a in r.alternatives] == ["October"]
    for c in r.citations + r.alternatives[0].citations:
        t = texts[c.doc_id]
        assert t[c.passage_start : c.passage_end] == c.passage
        assert normalize_answer(t[c.answer_start : c.answer_end]) in {"september", "october"}


def test_below_threshold_abstains_with_no_citations() -> None:
    texts = {"a": "Nothing relevant is said here at all."}
    docs, passages, spans = _setup(texts, [("a", 0, len(texts["a"]), 0, 7, -3.0)])
    r = assemble("Who?", passages, spans, docs, CAL)
    assert r.answer is None and r.citations == [] and 0 <= r.score < 0.5


def test_nested_readings_are_not_alternatives() -> None:
    texts = {"a": "Talks were led by Russian Defense Minister Sergey Shoigu in Moscow."}
    s = texts["a"].index("Sergey")
    picks = [("a", 0, len(texts["a"]), s, s + 13, 5.0), ("a", 0, len(texts["a"]), s - 24, s + 13, 4.9)]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("Who?", passages, spans, docs, CAL)
    assert r.answer == "Sergey Shoigu" and r.alternatives == []


words = st.sampled_from(["alpha", "beta", "gamma", "the", "delta", "Alpha", "BETA", "x1", "2019"])
doc_texts = st.lists(words, min_size=4, max_size=40).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), texts=st.lists(doc_texts, min_size=1, max_size=4))
def test_every_citation_checks_and_merging_keeps_all(data, texts) -> None:
    named = {f"d{i}": t for i, t in enumerate(texts)}
    picks = []
    for _ in range(data.draw(st.integers(1, 8))):
        doc_id = data.draw(st.sampled_from(sorted(named)))
        t = named[doc_id]
        p0 = data.draw(st.integers(0, len(t) - 1))
        p1 = data.draw(st.integers(p0 + 1, len(t)))
        a0 = data.draw(st.integers(p0, p1 - 1))
        a1 = data.draw(st.integers(a0 + 1, p1))
        picks.append((doc_id, p0, p1, a0, a1, data.draw(st.floats(-5, 10))))
    docs, passages, spans = _setup(named, picks)
    r = assemble("q", passages, spans, docs, CAL)
    groups = [(r.answer, r.citations)] + [(a.answer, a.citations) for a in r.alternatives]
    for answer, citations in groups:
        if answer is None:
            assert citations == []
            continue
        t0 = named[citations[0].doc_id]
        assert t0[citations[0].answer_start : citations[0].answer_end] == answer
        key = normalize_answer(answer)
        for c in citations:
            t = named[c.doc_id]
            assert t[c.passage_start : c.passage_end] == c.passage
            assert c.passage_start <= c.answer_start < c.answer_end <= c.passage_end
            assert normalize_answer(t[c.answer_start : c.answer_end]) == key
        # Every distinct place the reader found this answer is cited.
        expected = {
            (passages[s.passage].doc_id, passages[s.passage].start + s.start, passages[s.passage].start + s.end)
            for s in spans
            if normalize_answer(s.text) == key
        }
        assert {(c.doc_id, c.answer_start, c.answer_end) for c in citations} == expected
        assert [c.score for c in citations] == sorted((c.score for c in citations), reverse=True)


def test_other_spans_of_the_same_article_are_not_disagreement() -> None:
    texts = {"a": "Janjua met his counterpart Nikolai Patrushev in Moscow on Monday."}
    t = texts["a"]
    picks = [("a", 0, len(t), 0, 6, 5.0), ("a", 0, len(t), t.index("Nikolai"), t.index("Nikolai") + 17, 4.9)]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("Who?", passages, spans, docs, CAL)
    assert r.answer == "Janjua" and r.alternatives == []
