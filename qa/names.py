"""The names a question asks about, and whether a passage mentions each of them."""

from __future__ import annotations

import calendar
import difflib
import os.path
import re
import unicodedata

# A name is a run of capitalised words ("Pakistan", "Nawaz Sharif", "Élysée Palace"): a crude
# but language-free stand-in. A word may hold dots and hyphens ("U.S", "Russia-Pakistan"); the
# apostrophe ends it, so a possessive's name is the name alone.
_TOKEN = re.compile(r"\w(?:[\w.-]*\w)?")
# A capitalised word that opens a sentence is capitalised anyway ("Which", "Turkey is ..."),
# whatever marks stand before it: quotes, brackets, an invisible direction mark.
_SENTENCE_START = re.compile(r"(?:^|[.?!:;])\W*$")
_WORD = re.compile(r"\w+")
# Capitalised, but a date rather than what the question is about ("devastated Hawaii in August");
# also what an answer to "Who ...?" never is alone (`qa/answer_type.py`).
CALENDAR = frozenset(
    w.casefold() for w in (*calendar.month_name, *calendar.month_abbr, *calendar.day_name, *calendar.day_abbr, "Sept", "Tues", "Thur", "Thurs") if w
)
SPELLING = 0.8  # difflib ratio at which two words of five letters or more, lengths within one, are one name spelt two ways


def name_spans(question: str) -> list[tuple[int, int]]:
    """Where the name-like runs of `question` are, three characters or more, less a word that opens a sentence."""
    runs: list[list[int]] = []
    last = -1  # where the previous capitalised word ended (-1: the previous word was not one)
    for m in _TOKEN.finditer(question):
        if not m.group()[0].isupper():
            last = -1
        elif last >= 0 and question[last : m.start()].isspace():
            runs[-1][1] = last = m.end()
        else:
            runs.append([m.start(), m.end()])
            last = m.end()
    out = []
    for start, end in runs:
        if _SENTENCE_START.search(question[:start]):
            rest = question[start:end].partition(" ")[2].lstrip()
            start = end - len(rest)
        name = question[start:end]
        if len(name) >= 3 and name.casefold() not in CALENDAR:
            out.append((start, end))
    return out


def names(question: str) -> list[str]:
    """The names `question` asks about (`name_spans`)."""
    return [question[a:b] for a, b in name_spans(question)]


def _fold(text: str) -> list[str]:
    """Lower-cased words without accents: "Müller" and "Muller" are one word."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _WORD.findall(plain.casefold())


def _same(a: str, b: str) -> bool:
    """One word, inflected ("Russia", "Russian"; "Europe", "Europeans") or spelt differently ("Lavrov", "Lovrov")."""
    if a == b:
        return True
    short = min(len(a), len(b))
    common = len(os.path.commonprefix([a, b]))
    if common >= 4 and common >= short - 1:
        return True
    return short >= 5 and abs(len(a) - len(b)) <= 1 and difflib.SequenceMatcher(None, a, b).ratio() >= SPELLING


def _initials(words: list[str], size: int) -> set[str]:
    return {"".join(w[0] for w in words[i : i + size]) for i in range(len(words) - size + 1)}


def unmentioned(question_names: list[str], text: str) -> list[str]:
    """The names none of whose words (three letters or more) `text` holds, inflected or spelt a
    little differently; an acronym also counts as there when words of `text` spell it
    ("PPP" in "Public-Private Partnering")."""
    folded = _fold(text)
    by_letter: dict[str, set[str]] = {}
    for t in folded:  # a misspelt name keeps its first letter: only those words are compared
        by_letter.setdefault(t[0], set()).add(t)
    missing = []
    for name in question_names:
        parts = [w for w in _fold(name) if len(w) >= 3]
        if not parts or any(any(_same(w, t) for t in by_letter.get(w[0], ())) for w in parts):
            continue
        if name.isupper() and " " not in name and name.casefold() in _initials(folded, len(name)):
            continue
        missing.append(name)
    return missing


def mentioned(question_names: list[str], text: str) -> bool:
    """Whether `text` is about what the question names: every name of two words or more, and
    some of the one-word names, which are often a people or a title ("Which American football
    team ...") rather than who the question is about; a name on its own must be there."""
    missing = unmentioned(question_names, text)
    return not missing or (len(missing) < len(question_names) and all(" " not in n for n in missing))


# Capitalised at times, but never a word of a person's or place's name.
_NOT_NAME_WORDS = {
    "a", "an", "the", "in", "on", "at", "by", "for", "from", "about", "until", "after", "before", "during",
    "since", "around", "nearly", "almost", "some", "several", "most", "and", "but", "or", "as", "if", "with",
    "of", "to", "into", "over", "under", "this", "that", "these", "those", "its", "his", "her", "their",
    "our", "my", "your", "when", "while", "where", "who", "which", "what",
}
def name_words(words: list[str]) -> bool:
    """Whether every word is a capitalised word of letters or digits (dots, hyphens, apostrophes allowed): "Lt.", "Jean-Luc", "O'Neil", "R2-D2"."""
    return all(
        w[:1].isupper() and all(ch.isalnum() or ch in ".-'’" for ch in w) and w.casefold().strip(".") not in _NOT_NAME_WORDS
        for w in words
    )
