"""Deterministic synthetic news articles for load and crash tests (each with a known fact)."""

from __future__ import annotations

import random
from dataclasses import dataclass

TOWNS = ["Arden", "Bexley", "Corran", "Dunmore", "Elling", "Farrow", "Glenby", "Harwick", "Islay", "Jorvik"]
FIRST = ["Anna", "Boris", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas"]
LAST = ["Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Sato", "Tanaka", "Ulrich", "Varga", "Weber"]
THINGS = ["bridge", "library", "hospital wing", "school", "harbour wall", "railway station", "museum", "stadium"]
FILLER = [
    "Local officials said the project had been discussed for several years before work began.",
    "Residents gathered at the site on a cold morning to watch the ceremony.",
    "The council expects the work to bring new visitors to the area.",
    "Critics argued that the money could have been spent on roads instead.",
    "A spokesperson declined to comment on the final cost of the work.",
]


@dataclass(frozen=True)
class Article:
    doc_id: str
    title: str
    text: str
    question: str
    answer: str


def article(n: int) -> Article:
    rng = random.Random(n)
    town = f"{rng.choice(TOWNS)}{n}"
    person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    thing = rng.choice(THINGS)
    title = f"New {thing} opens in {town}"
    body = [f"The new {thing} in {town} was opened by mayor {person} on Saturday."]
    body += rng.sample(FILLER, 3)
    text = title + "\n\n" + " ".join(body) + "\n"
    return Article(f"synthetic-{n:04d}", title, text, f"Who opened the new {thing} in {town}?", person)
