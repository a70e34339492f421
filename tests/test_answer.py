"""Answer assembly: offsets that check, merged answers that keep all their citations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.store import StoredDocument
from qa.answer import assemble
from qa.excerpt import excerpt
from qa.normalize import normalize_answer
from qa.read import Calibration, Span
from qa.retrieve import Passage

CAL = Calibration(slope=1.0, intercept=0.0, threshold=0.5)


def _doc(doc_id: str, text: str) -> StoredDocument:
    return StoredDocument(doc_id, f"Title {doc_id}", f"{doc_id}.txt", text, None, "h", 1, {})


def _gives_too(passage: str, a: int, b: int, key: str) -> bool:
    """Whether the words shown around a place (its excerpt) hold the answer `key` too."""
    ex = excerpt(passage, a, b)
    return f" {key} " in f" {normalize_answer(passage[ex.start : ex.end])} "


def _setup(texts: dict[str, str], picks):
    docs = {k: _doc(k, v) for k, v in texts.items()}
    passages, spans = [], []
    for n, (doc_id, p0, p1, a0, a1, margin) in enumerate(picks):
        text = texts[doc_id]
        passages.append(Passage(f"{doc_id}::{n}", doc_id, text[p0:p1], p0, p1, 0.0))
        spans.append(Span(n, a0 - p0, a1 - p0, text[a0:a1], margin, CAL(margin)))
    return docs, passages, spans


def _pick(texts: dict[str, str], doc_id: str, answer: str, margin: float) -> tuple:
    """A whole article as the passage, with the reader's span at the first `answer` in it."""
    start = texts[doc_id].index(answer)
    return (doc_id, 0, len(texts[doc_id]), start, start + len(answer), margin)


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


def _overlap(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


def test_an_alternatives_place_that_also_shows_the_answer_is_not_cited() -> None:
    """Found by the property below in CI: "1" is also found in d1 with a better margin, but d1's
    words give the answer ("beta") too, so d1 is no article saying otherwise."""
    named = {"d0": "alpha x1 x1 alpha", "d1": "alpha beta x1 x1", "d2": "alpha x1 beta alpha"}
    picks = [("d0", 0, 11, 10, 11, 0.0), ("d1", 0, 16, 15, 16, 1.0), ("d0", 0, 1, 0, 1, 0.0), ("d2", 0, 13, 8, 13, 2.0)]
    docs, passages, spans = _setup(named, picks)
    r = assemble("q", passages, spans, docs, CAL)
    assert normalize_answer(r.answer) == "beta"
    [alt] = r.alternatives
    assert alt.answer == "1"
    assert [(c.doc_id, c.answer_start) for c in alt.citations] == [("d0", 10)]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), texts=st.lists(doc_texts, min_size=1, max_size=4))
def test_every_citation_checks_and_merging_keeps_the_best_of_each_passage(data, texts) -> None:
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
    best_key = normalize_answer(r.answer or "")
    own = {c.doc_id for c in r.citations}  # only other articles say otherwise
    for n, (answer, citations) in enumerate(groups):
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
            assert c.score >= CAL.threshold  # a weaker place is no support
        assert [c.score for c in citations] == sorted((c.score for c in citations), reverse=True)
        # One passage, one citation: no two of one document overlap.
        for i, c in enumerate(citations):
            for d in citations[i + 1 :]:
                assert not (c.doc_id == d.doc_id and _overlap(c.passage_start, c.passage_end, d.passage_start, d.passage_end))
        # Every place the reader found this answer at or above the threshold is cited, or is
        # left out for a better citation of a passage overlapping one it was found in; an
        # alternative's place is also left out where the words shown around it give the answer
        # too (that place doesn't say otherwise), and where the answer's own articles hold it.
        found = [
            (passages[s.passage].doc_id, passages[s.passage].start + s.start, passages[s.passage].start + s.end, s.margin)
            for s in spans
            if normalize_answer(s.text) == key
        ]
        ranges = {}
        for s in spans:
            p = passages[s.passage]
            ranges.setdefault((p.doc_id, p.start + s.start, p.start + s.end), []).append((p.start, p.end))
        for doc_id, a, b, margin in found:
            score = round(CAL(margin), 4)
            if CAL(margin) < CAL.threshold:
                continue
            if n > 0 and doc_id in own:
                continue
            if n > 0 and all(_gives_too(named[doc_id][p0:p1], a - p0, b - p0, best_key) for p0, p1 in ranges[(doc_id, a, b)]):
                continue
            assert any(
                c.doc_id == doc_id and c.score >= score and any(_overlap(c.passage_start, c.passage_end, p0, p1) for p0, p1 in ranges[(doc_id, a, b)])
                for c in citations
            ), (doc_id, a, b, margin)
    if r.answer is not None:
        assert r.articles == len({c.doc_id for c in r.citations})


def test_other_spans_of_the_same_article_are_not_disagreement() -> None:
    texts = {"a": "Janjua met his counterpart Nikolai Patrushev in Moscow on Monday."}
    t = texts["a"]
    picks = [("a", 0, len(t), 0, 6, 5.0), ("a", 0, len(t), t.index("Nikolai"), t.index("Nikolai") + 17, 4.9)]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("Who?", passages, spans, docs, CAL)
    assert r.answer == "Janjua" and r.alternatives == []


def test_one_passage_gives_one_citation() -> None:
    """One sentence was printed as [1] and [2], and --json listed three
    citations that were one passage: "the X" and "X" normalise to one answer, a name is
    mentioned twice in a passage, and the chunks of one document overlap."""
    t = (
        "The first joint exercise was held in the Pakistani province of Khyber-Pakhtunkhwa. "
        "Khyber-Pakhtunkhwa hosted it again. Officers from Khyber-Pakhtunkhwa took part."
    )
    texts = {"a": t}
    province = t.index("Pakistani province")
    second = t.index("Khyber-Pakhtunkhwa hosted")
    third = t.rindex("Khyber-Pakhtunkhwa")
    end = province + len("Pakistani province of Khyber-Pakhtunkhwa")
    chunk0, chunk1 = (0, t.index(" Officers")), (t.index("Khyber-Pakhtunkhwa hosted"), len(t))  # overlapping chunks
    picks = [
        ("a", *chunk0, province, end, 6.0),  # "Pakistani province of Khyber-Pakhtunkhwa"
        ("a", *chunk0, province - 4, end, 5.5),  # "the Pakistani province of ...": the same answer
        ("a", *chunk1, second, second + 18, 3.0),  # "Khyber-Pakhtunkhwa", in the next chunk
        ("a", *chunk1, third, third + 18, 2.0),
        ("a", *chunk0, second, second + 18, 2.5),  # the same place, through the other chunk
    ]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("Where?", passages, spans, docs, CAL)
    assert r.answer == "Pakistani province of Khyber-Pakhtunkhwa"
    assert [(c.passage_start, c.answer_start, c.answer_end) for c in r.citations] == [(chunk0[0], province, end)]
    assert r.articles == 1 and r.alternatives == []
    assert r.citations[0].score == round(CAL(6.0), 4)  # the best-scoring place is the one kept

    # Both readings are one answer "Khyber-Pakhtunkhwa"; the two chunks overlap: one citation.
    docs, passages, spans = _setup(texts, picks[2:])
    r = assemble("Where?", passages, spans, docs, CAL)
    assert r.answer == "Khyber-Pakhtunkhwa"
    assert [(c.passage_start, c.answer_start) for c in r.citations] == [(chunk1[0], second)]


def test_a_name_mentioned_twice_in_a_passage_is_cited_once() -> None:
    """The reader scores every mention of the answer (`Reading.mentions`); each mention in
    the same passage used to become a citation of its own."""
    t = "Nasir Khan Janjua was in Russia. Talks were held between Nasir Khan Janjua and Patrushev."
    texts = {"a": t, "b": "Pakistan sent Nasir Khan Janjua to Moscow."}
    first, later = t.index("Nasir"), t.rindex("Nasir")
    other = texts["b"].index("Nasir")
    picks = [("a", 0, len(t), first, first + 17, 5.0), ("b", 0, len(texts["b"]), other, other + 17, 3.0)]
    docs, passages, spans = _setup(texts, picks)
    # The reader's other mention of the name in passage a (`Reading.mentions`).
    mentions = [Span(0, later, later + 17, t[later : later + 17], 4.0, CAL(4.0))]
    r = assemble("Who?", passages, spans, docs, CAL, mentions=mentions)
    assert [(c.doc_id, c.answer_start) for c in r.citations] == [("a", first), ("b", other)]
    assert r.articles == 2


def test_citations_below_the_threshold_are_not_listed() -> None:
    """A place scoring below the threshold is no support for the answer;
    `articles` counts the articles listed."""
    texts = {
        "a": "The exercise was held in September near Cherat.",
        "b": "September was also when talks began, some say.",
    }
    picks = [
        ("a", 0, len(texts["a"]), texts["a"].index("September"), texts["a"].index("September") + 9, 6.0),
        ("b", 0, len(texts["b"]), 0, 9, -2.0),  # scores 0.12, under the threshold of 0.5
    ]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("When?", passages, spans, docs, CAL)
    assert r.answer == "September"
    assert [c.doc_id for c in r.citations] == ["a"] and r.articles == 1
    # A stricter threshold given by the settings applies to citations the same way.
    picks[1] = ("b", 0, len(texts["b"]), 0, 9, 1.0)  # 0.73
    docs, passages, spans = _setup(texts, picks)
    assert [c.doc_id for c in assemble("When?", passages, spans, docs, CAL).citations] == ["a", "b"]
    r = assemble("When?", passages, spans, docs, CAL, threshold=0.9)
    assert [c.doc_id for c in r.citations] == ["a"] and r.articles == 1


def test_a_shorter_reading_below_the_threshold_is_not_the_answer() -> None:
    """The nested reading that replaces the best answer must clear the threshold itself."""
    texts = {"a": "Talks were led by Russian Defense Minister Sergey Shoigu in Moscow."}
    s, title = texts["a"].index("Sergey"), texts["a"].index("Russian")
    picks = [("a", 0, len(texts["a"]), title, s + 13, 0.5), ("a", 0, len(texts["a"]), s, s + 13, -0.5)]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("Who?", passages, spans, docs, CAL)
    assert r.answer == "Russian Defense Minister Sergey Shoigu" and r.score >= CAL.threshold
    assert len(r.citations) == 1 and r.citations[0].score >= CAL.threshold


def test_an_alternative_must_answer_the_same_question(tmp_path) -> None:
    """A sentence about something else is not an article saying otherwise (real models)."""
    from index.documents import Document
    from qa.pipeline import Pipeline
    from qa.schema import AskRequest
    from qa.settings import Settings

    pipe = Pipeline(Settings(data_dir=tmp_path / "data", sample_corpus=False))
    pipe.add_documents([
        Document("zorbulon", "Zorbulon bridge", "The Zorbulon bridge was opened by mayor Quentin Vasquez in March 1987.", "a.txt"),
        Document("ostrand", "Ostrand library", "The Ostrand library was opened by Paul Kine.", "b.txt"),
    ])
    r = pipe.ask(AskRequest(question="Who opened the Zorbulon bridge?"))
    assert r.answer is not None and "Quentin Vasquez" in r.answer
    assert r.alternatives == []
    # An article that does answer the same question differently is still shown.
    pipe.add_documents([Document("zorbulon-2", "Bridge history", "Historians say the Zorbulon bridge was opened by governor Ilse Brandt.", "c.txt")])
    r = pipe.ask(AskRequest(question="Who opened the Zorbulon bridge?"))
    shown = {r.answer, *(a.answer for a in r.alternatives)}
    assert any("Vasquez" in a for a in shown) and any("Ilse Brandt" in a for a in shown), shown


def test_a_name_is_kept_whole_but_a_title_may_go() -> None:
    """ "McCarthy" alone does not replace "Kevin McCarthy", nor "... Nazir Ahmed" "... Nazir Ahmed Butt"; "Sergey Shoigu" still replaces the title before it."""
    texts = {"a": "The speaker, Kevin McCarthy, lost the vote.", "b": "McCarthy said he would not run again."}
    k = texts["a"].index("Kevin")
    picks = [("a", 0, len(texts["a"]), k, k + 14, 5.0), ("a", 0, len(texts["a"]), k + 6, k + 14, 4.5), ("b", 0, len(texts["b"]), 0, 8, 4.4)]
    docs, passages, spans = _setup(texts, picks)
    assert assemble("Who lost the vote?", passages, spans, docs, CAL).answer == "Kevin McCarthy"
    texts = {"a": "Droid R2-D2 Mark2 repaired the ship."}
    end = texts["a"].index(" repaired")
    picks = [("a", 0, len(texts["a"]), 6, end, 5.0), ("a", 0, len(texts["a"]), 6, 11, 4.8)]
    docs, passages, spans = _setup(texts, picks)
    assert assemble("Who repaired the ship?", passages, spans, docs, CAL).answer == "R2-D2 Mark2"  # digits in a name keep it whole

    texts = {"a": "Talks were led by Russian Defense Minister Sergey Shoigu in Moscow.", "b": "Sergey Shoigu flew home."}
    s, title = texts["a"].index("Sergey"), texts["a"].index("Russian")
    picks = [("a", 0, len(texts["a"]), title, s + 13, 5.0), ("a", 0, len(texts["a"]), s, s + 13, 4.5), ("b", 0, len(texts["b"]), 0, 13, 4.4)]
    docs, passages, spans = _setup(texts, picks)
    assert assemble("Who led the talks?", passages, spans, docs, CAL).answer == "Sergey Shoigu"

    # A reading that stops before the name's last word is no shorter answer: it loses the surname.
    texts = {"a": "Pakistan’s Lt. Gen. Nazir Ahmed Butt briefed the delegation."}
    end = texts["a"].index(" briefed")
    picks = [("a", 0, len(texts["a"]), 0, end, 5.0), ("a", 0, len(texts["a"]), 0, end - 5, 4.6)]
    docs, passages, spans = _setup(texts, picks)
    assert assemble("Who briefed the delegation?", passages, spans, docs, CAL).answer == "Pakistan’s Lt. Gen. Nazir Ahmed Butt"


def test_an_owner_before_a_name_goes_however_the_reader_scores_the_rest() -> None:
    texts = {"a": "Pakistan’s Lt. Gen. Nazir Ahmed Butt briefed the delegation."}
    end, lt = texts["a"].index(" briefed"), texts["a"].index("Lt.")
    picks = [("a", 0, len(texts["a"]), 0, end, 5.0), ("a", 0, len(texts["a"]), lt, end, 2.0)]
    docs, passages, spans = _setup(texts, picks)
    assert assemble("Who briefed the delegation?", passages, spans, docs, CAL).answer == "Lt. Gen. Nazir Ahmed Butt"


def test_a_surname_gives_way_to_the_whole_name_its_article_gives() -> None:
    texts = {"a": "Simone Biles won a record eighth title. Biles said she was proud.", "b": "Gymnast Kay Biles trained in Ohio."}
    later, kay = texts["a"].index("Biles said"), texts["b"].index("Kay")
    picks = [("a", 0, len(texts["a"]), later, later + 5, 8.0), ("a", 0, len(texts["a"]), 0, 12, 2.0), ("b", 0, len(texts["b"]), kay, kay + 9, 3.0)]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("Which gymnast won a record eighth title?", passages, spans, docs, CAL)
    assert r.answer == "Simone Biles" and r.citations[0].doc_id == "a"  # not "Kay Biles": another article's Biles
    # Words capitalised by the sentence, and a place that holds the word, are no whole name of it.
    texts = {"a": "In Brazil, the league stopped. Brazil suspended all fixtures."}
    br = texts["a"].index("Brazil suspended")
    picks = [("a", 0, len(texts["a"]), br, br + 6, 8.0), ("a", 0, len(texts["a"]), 0, 9, 7.0)]
    docs, passages, spans = _setup(texts, picks)
    assert assemble("Which country suspended all fixtures?", passages, spans, docs, CAL).answer == "Brazil"
    texts = {"a": "Idalia made landfall in Taylor County, Florida. Florida braced for floods."}
    fl, taylor = texts["a"].index("Florida braced"), texts["a"].index("Taylor")
    picks = [("a", 0, len(texts["a"]), fl, fl + 7, 8.0), ("a", 0, len(texts["a"]), taylor, taylor + 22, 7.0)]
    docs, passages, spans = _setup(texts, picks)
    assert assemble("Idalia made landfall in which state?", passages, spans, docs, CAL).answer == "Florida"


def test_an_answer_never_runs_across_a_blank_line() -> None:
    """A list or a headline above its story is not one answer (real reader)."""
    from qa.read import Reader

    reader = Reader()
    passage = "Vehicles sent to Ukraine\n\nLand Rover Defenders\n\nBlack cabs\n \nBendy buses have been sent to Ukraine by volunteers."
    spans = reader.read("Which British vehicles are being used in Ukraine's war effort?", [passage], top_spans=20).spans
    assert spans and all("\n\n" not in s.text.replace(" ", "") for s in spans)
    # A single newline only wraps a line: an answer may still run across it.
    spans = reader.read("Who briefed the delegation?", ["The delegation was briefed by Lt. Gen. Nazir\nAhmed Butt on Monday."], top_spans=20).spans
    assert any("\n" in s.text for s in spans)


def test_an_answer_never_runs_across_a_datelines_dash() -> None:
    """News dev: "WASHINGTON – Republican presidential candidates" was an answer (real reader)."""
    from qa.read import Reader

    passage = (
        "GOP Debate: Donald Trump is absent, but he and rivals still face risks\n\nWASHINGTON – Republican presidential "
        "candidates – most of them – gather this week for a first debate that will revolve around someone who won't be there: Donald Trump."
    )
    question = 'Which would-be Republican presidential nominee referred to the absent Donald Trump as "Donald Duck"?'
    spans = Reader().read(question, [passage], top_spans=20).spans
    assert spans and not [s.text for s in spans if "WASHINGTON –" in s.text]


@pytest.mark.parametrize(
    ("text", "breaks"),
    [
        ("WASHINGTON – President Joe Biden said", ["WASHINGTON – "]),
        ("Title\n\nNEW YORK (AP) — It has been a big week", ["\n\n", "NEW YORK (AP) — "]),
        ("MYRTLE CREEK, Ore. – A toddler crashed", ["MYRTLE CREEK, Ore. – "]),
        ("KYIV, Ukraine -- The city", ["KYIV, Ukraine -- "]),
        ("US – China trade talks resumed", []),  # two capitals open many lines: not a dateline
        ("Thomas Edison - inventor", []),
        ("The talks - in Paris - ended", []),
    ],
)
def test_where_one_piece_of_text_ends(text: str, breaks: list[str]) -> None:
    from qa.spans import SEGMENT_BREAK

    assert [m.group() for m in SEGMENT_BREAK.finditer(text)] == breaks


def test_a_reading_nested_twice_is_reached_in_close_steps() -> None:
    """ "September" inside "month of September" inside "Last year in the month of September":
    each step within the nested margin of the one before, though not of the first."""
    texts = {"a": "Last year in the month of September, a first-ever exercise took place."}
    t = texts["a"]
    s, m = t.index("September"), t.index("month")
    picks = [("a", 0, len(t), 0, s + 9, 15.2), ("a", 0, len(t), m, s + 9, 14.2), ("a", 0, len(t), s, s + 9, 13.6), ("a", 0, len(t), 0, 9, 13.9)]
    docs, passages, spans = _setup(texts, picks)
    assert assemble("When was the first joint exercise?", passages, spans, docs, CAL).answer == "September"


def test_a_passage_scores_the_same_whatever_is_read_beside_it() -> None:
    """The int8 reader's margins are a function of the window alone (real reader): an unrelated
    article read in the same call must not change an answer's score or the answer."""
    from qa.read import Reader

    reader = Reader()
    question = "When was the first joint exercise?"
    passage = "Last year in the month of September, the first-ever joint military exercise took place near Cherat."
    others = [
        "Race results: the 400 metres was won in 44.1 seconds, a record for the stadium. " * 6,
        "Tickets go on sale in December; the box office opens at nine.",
    ]
    alone = {(s.start, s.end): s.margin for s in reader.read(question, [passage]).spans}
    beside = {(s.start, s.end): s.margin for s in reader.read(question, [*others, passage]).spans if s.passage == 2}
    assert alone and alone == beside


def test_a_passage_that_never_names_what_the_question_asks_about_is_no_proof(pipeline) -> None:
    """On-topic questions the sample articles don't answer get "not found" (real models)."""
    from qa.schema import AskRequest

    for question in ("Who is China's defence minister?", "When did Narendra Modi visit Islamabad?"):
        r = pipeline.ask(AskRequest(question=question))
        assert r.answer is None and r.citations == [], (question, r.answer, r.score)
    # The same question about the country the articles do name is answered, and its passage names it.
    r = pipeline.ask(AskRequest(question="Who is Pakistan's defence minister?"))
    assert r.answer == "Khurram Dastgir", r.answer
    assert all("Pakistan" in c.passage for c in r.citations)


def test_a_span_of_the_wrong_kind_is_no_answer(pipeline) -> None:
    """The articles name Patrushev but never his birth; a weekday is no birth date (real models)."""
    from qa.schema import AskRequest

    r = pipeline.ask(AskRequest(question="When was Nikolai Patrushev born?"), threshold=0.0)
    assert r.answer is None or any(ch.isdigit() for ch in r.answer), r.answer
    assert pipeline.ask(AskRequest(question="When was Nikolai Patrushev born?")).answer is None
    # A question of a kind the articles do answer is answered as before.
    assert pipeline.ask(AskRequest(question="How many wars have India and Pakistan fought?")).answer == "three"


def test_spans_count_only_from_passages_that_name_what_the_question_names() -> None:
    texts = {
        "a": "Pakistan's defence minister Khurram Dastgir met the delegation.",
        "b": "China's defence minister Wei Fenghe visited Moscow.",
    }
    picks = [
        ("a", 0, len(texts["a"]), texts["a"].index("Khurram"), texts["a"].index("Khurram") + 15, 6.0),
        ("b", 0, len(texts["b"]), texts["b"].index("Wei"), texts["b"].index("Wei") + 10, 2.0),
    ]
    docs, passages, spans = _setup(texts, picks)
    r = assemble("Who is China's defence minister?", passages, spans, docs, CAL)
    assert r.answer == "Wei Fenghe" and [c.doc_id for c in r.citations] == ["b"]
    assert r.alternatives == []  # Pakistan's minister is not another article's answer to it
    r = assemble("Who is China's defence minister?", passages[:1], spans[:1], docs, CAL, threshold=0.0)
    assert r.answer is None and r.citations == []  # not even when an answer is forced


def test_a_sentence_that_also_gives_the_answer_does_not_say_otherwise(pipeline) -> None:
    """The question "When was the first joint exercise?" showed "December", the date of another
    exercise, from a run-on sentence that also says the first joint exercise was in September."""
    texts = {
        "a": "The first joint exercise was held in September near Cherat.",
        "b": "A second exercise was held in December The first joint exercise was held in September at Cherat",
        "c": "The first joint exercise was held in December, officials said.",
    }
    picks = [_pick(texts, "a", "September", 6.0), _pick(texts, "b", "December", 5.5)]
    question = "When was the first joint exercise held?"
    docs, passages, spans = _setup(texts, picks)
    r = assemble(question, passages, spans, docs, CAL)
    assert r.answer == "September" and r.alternatives == []
    # An article that gives another date for the same exercise, and not this one, is still shown.
    docs, passages, spans = _setup(texts, [*picks, _pick(texts, "c", "December", 5.5)])
    r = assemble(question, passages, spans, docs, CAL)
    assert [(a.answer, [c.doc_id for c in a.citations]) for a in r.alternatives] == [("December", ["c"])]
    # The real models on the sample articles, reading 20 passages: no "December" beside "September".
    from qa.schema import AskRequest

    r = pipeline.ask(AskRequest(question="When was the first joint exercise?", top_k=20))
    assert r.answer == "September" and "December" not in {a.answer for a in r.alternatives}, r.alternatives


def test_a_question_in_compatibility_forms_is_read_as_plain_letters(pipeline) -> None:
    """A fullwidth question word ("Ｗｈｅｎ", as East Asian keyboards type it) answered "Pakistan and Russia"."""
    from qa.schema import AskRequest

    request = AskRequest(question="  Ｗｈｅｎ was the ﬁrst joint exercise？ ")
    assert request.question == "When was the first joint exercise?"
    assert pipeline.ask(request).answer == "September"
