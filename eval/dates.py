"""Publication dates found at ingest (index/dates.py through index/load.py), measured per file format and form.

`python -m eval.dates [--sample 300] [--seed 3]` (about a minute). Each sampled realtimeqa-2023-dev
news article (its text, title, URL and gold `published` day; texts not shipped) is written as a
file the way a user would drop it in: an HTML page carrying its date in one of the forms news
sites use (OpenGraph `article:published_time`, schema.org JSON-LD `datePublished`, microdata
`itemprop`, a `<time datetime>` byline, Dublin Core / `date` / Parse.ly / Sailthru meta tags, a
CNN-style "Updated ... Published ..." byline in the body, a date in the URL path only), a JSONL
line under each field name news datasets use (`published`, `date`, `publish_date` in
RealTime QA's own `YYYY/MM/DD`, an RFC 822 `pubDate`-style value), a text file with a labelled
line or a wire dateline, and Markdown with front matter. Every file goes through the project's
own loader (`index.load.from_bytes`), exactly as `qa ingest` reads it. No network: the pages are
made from the real articles in the real forms, not crawled (this machine has no web access).

Found: the day agrees with the gold date. Wrong: a date came out and it is a different day
(worse than none: it misplaces the article in time). Writes `eval/results/dates.md`.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import time
from collections.abc import Callable
from datetime import date, timedelta

from eval.common import EVAL_DATA, RESULTS, read_jsonl
from index.load import from_bytes

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


def _page(doc: dict, head: str = "", byline: str = "") -> bytes:
    title, body = html.escape(doc["title"]), "".join(f"<p>{html.escape(p)}</p>" for p in doc["text"].split("\n\n") if p.strip())
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head><body>"
        f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article><h1>{title}</h1>{byline}{body}</article>"
        "<footer>&copy; 2024 News Corp. All rights reserved.</footer></body></html>"
    ).encode()


def _human(d: date) -> str:
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


# Each form: (file name, how the date is written into the file).
HTML_FORMS: dict[str, Callable[[dict, date], bytes]] = {
    "og article:published_time": lambda doc, d: _page(doc, f"<meta property='article:published_time' content='{d.isoformat()}T14:05:00Z'>"),
    "JSON-LD NewsArticle": lambda doc, d: _page(doc, "<script type='application/ld+json'>"
        + json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": doc["title"][:100], "datePublished": f"{d.isoformat()}T08:30:00-04:00"})
        + "</script>"),
    "itemprop datePublished": lambda doc, d: _page(doc, byline=f"<span itemprop='datePublished' content='{d.isoformat()}'>{_human(d)}</span>"),
    "<time datetime> byline": lambda doc, d: _page(doc, byline=f"<p class='byline'>By Staff <time datetime='{d.isoformat()}T10:00:00+00:00' pubdate>{_human(d)}</time></p>"),
    "Dublin Core DC.date.issued": lambda doc, d: _page(doc, f"<meta name='DC.date.issued' content='{d.isoformat()}'>"),
    "meta name=date": lambda doc, d: _page(doc, f"<meta name='date' content='{d.isoformat()}'>"),
    "Parse.ly parsely-pub-date": lambda doc, d: _page(doc, f"<meta name='parsely-pub-date' content='{d.isoformat()}T12:00:00Z'>"),
    "Sailthru sailthru.date": lambda doc, d: _page(doc, f"<meta name='sailthru.date' content='{d.isoformat()} 12:00:00'>"),
    "CNN-style byline text": lambda doc, d: _page(doc, byline="<div class='timestamp'>Updated 9:02 AM EDT, "
        f"{(d + timedelta(days=1)).strftime('%a')} {_human(d + timedelta(days=1))} Published 8:34 AM EDT, {d.strftime('%a')} {_human(d)}</div>"),
    "date in the URL only": lambda doc, d: _page(doc, f"<link rel='canonical' href='https://news.example.com/{d.year}/{d.month:02d}/{d.day:02d}/world/story-{d.toordinal()}/index.html'>"),
}
# Pages that carry no publication date of their own: nothing may come out (a guess misdates the article).
UNDATED_FORMS: dict[str, Callable[[dict], bytes]] = {
    "copyright year only": lambda doc: _page(doc),
    "related stories dated, after the article": lambda doc: _page(doc).replace(
        b"<footer>", b"<aside class='related'><h2>More news</h2><ul><li><a href='/x'>Storm season ends</a>"
        b"<span class='date'>Published March 1, 2022</span></li></ul></aside><footer>"),
}
JSONL_FORMS: dict[str, Callable[[dict, date], dict]] = {
    "published ISO": lambda doc, d: {"published": d.isoformat()},
    "date ISO date-time": lambda doc, d: {"date": f"{d.isoformat()}T09:15:00Z"},
    "publish_date YYYY/MM/DD": lambda doc, d: {"publish_date": d.strftime("%Y/%m/%d")},
    "published RFC 822": lambda doc, d: {"published": d.strftime("%a, %d %b %Y 10:00:00 +0000")},
}
TEXT_FORMS: dict[str, tuple[str, Callable[[dict, date], str]]] = {
    "text: Published: line": (".txt", lambda doc, d: f"{doc['title']}\n\nPublished: {_human(d)}\n\n{doc['text']}"),
    "text: wire dateline": (".txt", lambda doc, d: f"{doc['title']}\n\nWASHINGTON, {_human(d)} (AP) — {doc['text']}"),
    "Markdown front matter": (".md", lambda doc, d: f"---\ntitle: \"{doc['title']}\"\ndate: {d.isoformat()}\n---\n\n{doc['text']}"),
}


def files_for(doc: dict, d: date) -> list[tuple[str, str, str, bytes]]:
    """(format, form, file name, bytes) for every form of one article."""
    out = [("HTML", form, "article.html", make(doc, d)) for form, make in HTML_FORMS.items()]
    for form, make in JSONL_FORMS.items():
        record = {"id": doc["id"], "title": doc["title"], "text": doc["text"], "url": doc.get("url", "")} | make(doc, d)
        out.append(("JSONL", form, "articles.jsonl", (json.dumps(record) + "\n").encode()))
    out += [("text", form, f"article{ext}", make(doc, d).encode()) for form, (ext, make) in TEXT_FORMS.items()]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    docs = [d for d in read_jsonl(EVAL_DATA / "realtimeqa-2023-dev" / "documents.jsonl") if d.get("published")]
    sample = random.Random(args.seed).sample(docs, min(args.sample, len(docs)))
    tally: dict[tuple[str, str], list[int]] = {}
    wrong_examples: list[str] = []
    start = time.perf_counter()
    for i, doc in enumerate(sample, 1):
        gold = date.fromisoformat(doc["published"][:10])
        for fmt, form, name, data in files_for(doc, gold):
            found = from_bytes(name, data)[0].published
            counts = tally.setdefault((fmt, form), [0, 0, 0])
            counts[0] += 1
            if found and found[:10] == gold.isoformat():
                counts[1] += 1
            elif found:
                counts[2] += 1
                if len(wrong_examples) < 10:
                    wrong_examples.append(f"{form}: {found} for {gold} ({doc['id']})")
        for form, make in UNDATED_FORMS.items():
            found = from_bytes("article.html", make(doc))[0].published
            counts = tally.setdefault(("undated HTML", form), [0, 0, 0])
            counts[0] += 1
            if found:
                counts[2] += 1
                if len(wrong_examples) < 10:
                    wrong_examples.append(f"{form}: {found} for an undated page ({doc['id']})")
        if i % 50 == 0:
            print(f"{i}/{len(sample)} articles, {time.perf_counter() - start:.0f} s", flush=True)
    elapsed = time.perf_counter() - start

    def rate(rows: list[list[int]]) -> tuple[int, int, int]:
        return sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows)

    lines = [
        "# Publication dates found at ingest",
        "",
        f"`python -m eval.dates --sample {args.sample} --seed {args.seed}` ({elapsed:.0f} s): {len(sample)} realtimeqa-2023-dev news "
        "articles with a gold publication day, each written in every form below and read by `index.load.from_bytes`, as `qa ingest` "
        "reads a file. The HTML pages are made from the real articles in the forms news sites use, not crawled (no network here).",
        "",
        "| format | found (day right) | wrong day | files |",
        "|---|---|---|---|",
    ]
    for fmt in ("HTML", "JSONL", "text"):
        n, ok, bad = rate([v for (f, _), v in tally.items() if f == fmt])
        lines.append(f"| {fmt} | **{100 * ok / n:.1f}%** | {100 * bad / n:.1f}% | {n} |")
    n, _, bad = rate([v for (f, _), v in tally.items() if f == "undated HTML"])
    lines.append(f"| HTML without a date | (none expected) | {100 * bad / n:.1f}% dated anyway | {n} |")
    lines += ["", "| form | found | wrong day |", "|---|---|---|"]
    for (fmt, form), (n, ok, bad) in tally.items():
        shown = "-" if fmt == "undated HTML" else f"{100 * ok / n:.1f}%"
        lines.append(f"| {fmt}: {form} | {shown} | {100 * bad / n:.1f}% |")
    lines += [
        "",
        "How these figures came about (not a held-out measurement): the first run of this script, on the same sample, found 90.0% "
        "of the HTML dates: the CNN-style byline (a time of day before the date, the update before the publication, in an "
        "element that text extraction drops) gave 0.3%; and htmldate dated 100% of the undated pages from a related story's "
        "date after the article. Both were fixed with these forms in view (`index/dates.py`: the labelled rule takes a time "
        "of day first and skips a leading \"Updated ...\"; `from_byline` reads date elements above the article's first "
        "paragraph; asides, navigation, footers, comments and related-story blocks are removed before htmldate looks). "
        "A page whose title carries a date (\"Ten Things You Need to Know Today: 12 December 2021\") is dated from it.",
    ]
    if wrong_examples:
        lines += ["", "Wrong days (first 10):", "", *(f"- {w}" for w in wrong_examples)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dates.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
