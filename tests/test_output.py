"""What the CLI prints: citations numbered 1..n, dates shown as the page shows them."""

from __future__ import annotations

from cli.output import print_answer, shown_date
from qa.schema import AskResponse, Citation


def _citation(doc_id: str, start: int, published: str | None) -> Citation:
    text = "In September, the first exercise was held."
    return Citation(doc_id=doc_id, title=f"Title {doc_id}", source=doc_id, published=published, passage=text,
                    passage_start=start, passage_end=start + len(text), answer_start=start + 3, answer_end=start + 12,
                    score=0.9, excerpt_start=start, excerpt_end=start + len(text), group=doc_id)


def test_dates_read_as_on_the_page() -> None:
    assert shown_date("2023-08-30T00:00:00+00:00") == "2023-08-30 00:00 +00:00"
    assert shown_date("2023-06-01T09:30:15Z") == "2023-06-01 09:30:15 Z"
    assert shown_date("2023-06-01") == "2023-06-01"


def test_two_passages_of_one_article_get_two_numbers(capsys) -> None:
    resp = AskResponse(question="When?", answer="September", score=0.9, threshold=0.4, articles=2, sources=2, citations=[
        _citation("a", 0, "2023-08-30T00:00:00+00:00"), _citation("a", 500, "2023-08-30T00:00:00+00:00"), _citation("b", 0, None)])
    print_answer(resp)
    shown = capsys.readouterr().out
    assert "[1] Title a (2023-08-30 00:00 +00:00)" in shown and "[2] Title a" in shown and "[3] Title b —" in shown
    assert "T00:00:00" not in shown
