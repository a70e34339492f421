"""The official SQuAD EM/F1 definitions."""

from qa.normalize import best_over_golds, exact_match, f1, normalize_answer


def test_normalisation() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"


def test_em_f1() -> None:
    assert exact_match("the Broncos", "Broncos") == 1.0
    assert f1("Denver Broncos team", "Denver Broncos") == 0.8
    assert f1("", "") == 1.0 and f1("x", "") == 0.0
    assert best_over_golds("in September", ["September", "in September"]) == (1.0, 1.0)
