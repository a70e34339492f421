"""Publication dates: found in each file format, normalised to ISO 8601."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from dateutil import parser as dateutil_parser

log = logging.getLogger(__name__)

# Two defaults that differ in every field: a field that comes out the same under both was
# written in the string, one that differs was filled in by the default (dateutil has no
# other way to say which parts it found).
_DEFAULT_A = datetime(2000, 1, 1, 0, 0, 0)
_DEFAULT_B = datetime(2001, 2, 2, 1, 1, 1)

# These patterns only *locate* a date in a line of prose; dateutil parses what they find.
_MONTH = r"(?i:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?)"
_WEEKDAY = r"(?i:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_DATE = (
    r"(?P<date>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}})"
)
# "Published: March 5, 2024", "Posted on 2024-03-05 | Updated ...", "Date: 5 March 2024",
# and CNN's "Published 8:34 AM EDT, Wed August 30, 2023" (a time of day before the date)
_CLOCK = r"(?:\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:[A-Z]{2,5}\b)?,?\s+)?"
_LABELLED = re.compile(rf"^(?:first\s+)?(?:published|posted|date|dated)(?:\s+on)?\s*[:\-–—]?\s*{_CLOCK}{_WEEKDAY}{_DATE}", re.I)
_UPDATED_FIRST = re.compile(r"^(?:last\s+)?updated\b.*?(?=\b(?:published|posted)\b)", re.I)
# "WASHINGTON, March 5, 2024 — ...", "LONDON (Reuters), 5 March 2024 - ..."
_DATELINE = re.compile(rf"^[A-Z][\w.'’/ -]{{0,40}}(?:\s*\([^)]{{1,30}}\))?,\s+{_WEEKDAY}{_DATE}\s*(?:[-–—:(]|$)")
# A line that is only a date, perhaps with a weekday and a time: "Tuesday, March 5, 2024 10:30 GMT"
_ALONE = re.compile(rf"^{_WEEKDAY}{_DATE}(?:\s*[,|·-]?\s*(?:at\s+)?\d{{1,2}}[:.]\d{{2}}[\sa-z.]{{0,12}})?$", re.I)

BYLINE_ELEMENTS = 20  # date-like elements read, at most: a byline is near the top
PARAGRAPH_CHARS = 80
_NOT_THE_ARTICLE = " | ".join([
    "//aside", "//nav", "//footer", "//*[@role='complementary' or @role='navigation' or @role='contentinfo']",
    *(f"//*[contains(@class, '{w}') or contains(@id, '{w}')]" for w in ("comment", "related", "sidebar", "recirc")),
])
_TEXT_TAGS = frozenset({"p", "div", "span", "section", "article", "td", "li", "blockquote"})
_BYLINE_HINT = re.compile(r"date|time|byline|publish|posted", re.I)
HEADER_LINES = 6  # a dateline sits at the top of an article; deeper dates are about events
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
FRONT_MATTER_KEYS = ("published", "date", "pubDate", "publish_date")


# Clocks and time zones differ: a day ahead of this machine may still be today somewhere.
FUTURE_SLACK = timedelta(days=1)


def future_refusal(published: str | None, now: datetime | None = None) -> str | None:
    """Why a normalised publication date can't be stored: more than a day ahead of now, it would
    be the latest article on every latest-state question until that day. None when it can be."""
    if not published:
        return None
    try:
        if "T" in published:
            when = datetime.fromisoformat(published)
        else:
            parts = [int(p) for p in published[:10].split("-")]
            when = datetime(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return None  # not a date this module wrote: nothing to compare
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if when > (now or datetime.now(timezone.utc)) + FUTURE_SLACK:
        return f"published {published} is more than a day in the future"
    return None


def normalize(value: Any) -> str | None:
    """An ISO date (`2024-03-05`), datetime (`2024-03-05T10:30:00+01:00`), month or year; None if not a date.

    A value with no year is refused: "March 5" would otherwise take the year of the machine.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.isoformat() if (value.hour, value.minute, value.second, value.tzinfo) != (0, 0, 0, None) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not text or len(text) > 100:
        return None
    if re.fullmatch(r"\d{4}", text):
        return text  # a bare year: dateutil would read it as a time of day in some forms
    try:
        a = dateutil_parser.parse(text, default=_DEFAULT_A)
        b = dateutil_parser.parse(text, default=_DEFAULT_B)
    except (ValueError, OverflowError):
        return None
    if a.year != b.year:
        return None
    if a.month != b.month:
        return f"{a.year:04d}"
    if a.day != b.day:
        return f"{a.year:04d}-{a.month:02d}"
    if (a.hour, a.minute) != (b.hour, b.minute):
        return a.date().isoformat()
    return normalize(a.replace(second=a.second if a.second == b.second else 0))


def from_text(text: str) -> str | None:
    """The date of a plain-text article: a "Published: ..." line, a dateline or a date alone on a line, near the top."""
    lines = [line.strip() for line in text.splitlines() if line.strip()][:HEADER_LINES]
    return next(filter(None, (_from_line(line, (_LABELLED, _DATELINE, _ALONE)) for line in lines)), None)


def _from_line(line: str, patterns: tuple[re.Pattern, ...]) -> str | None:
    line = line.lstrip("#*_> ").strip()[:200]
    # "Updated 9:00 AM EDT, Thu August 31, 2023 Published 8:34 AM ...": the article's date is the published one
    line = _UPDATED_FIRST.sub("", line)
    for pattern in patterns:
        m = pattern.match(line)
        if m and (found := normalize(m.group("date"))):
            return found
    return None


def from_byline(html: str, body: str) -> str | None:
    """A "Published ..." or date-only byline in a page element named for it (class, id or itemprop).

    Text extraction drops such elements as boilerplate, and a page may have no date metadata.
    Only elements before the article's first paragraph (`body` is the extracted text) count:
    dates after it belong to related stories or comments. Only the strict forms count: a
    labelled date or a date alone, never a date in prose.
    """
    from lxml import etree
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, etree.ParserError):
        return None
    # The first paragraph-length line: a headline (also in <title>) is shorter as a rule.
    opening = next((" ".join(line.split())[:40] for line in body.splitlines() if len(line.strip()) >= PARAGRAPH_CHARS), None)
    seen = 0
    root = tree.find("body") if tree.find("body") is not None else tree
    for node in root.iter():
        if opening and node.tag in _TEXT_TAGS and opening in " ".join((node.text or "").split()):
            return None  # the article has begun: no byline above it
        hint = " ".join(filter(None, (node.get("class"), node.get("id"), node.get("itemprop")))) if isinstance(node.tag, str) else ""
        if not _BYLINE_HINT.search(hint):
            continue
        found = _from_line(" ".join(node.text_content().split()), (_LABELLED, _ALONE))
        seen += 1
        if found or seen >= BYLINE_ELEMENTS:
            return found
    return None


def split_front_matter(text: str) -> tuple[dict, str]:
    """Markdown front matter (`---` YAML `---`) as a dict, and the text after it; ({}, text) if there is none."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    import yaml

    try:
        data = yaml.safe_load(m.group("yaml"))
    except yaml.YAMLError:
        return {}, text  # not front matter after all: a rule line opening the article
    if not isinstance(data, dict):
        return {}, text
    return data, text[m.end() :]


def from_front_matter(data: dict) -> str | None:
    for key in FRONT_MATTER_KEYS:
        found = normalize(data.get(key))
        if found:
            return found
    return None


def from_html(html: str) -> str | None:
    """The page's own publication date from its metadata (meta tags, JSON-LD, ...), by htmldate.

    No extensive search: that falls back to guesses such as a copyright year, which would
    date an undated article wrongly; the caller reads a dateline in the text instead. Even
    without it htmldate reads date-like elements anywhere in the page, so the parts that
    never carry the article's own date (related stories, navigation, footer) go first.
    """
    import htmldate
    from lxml import etree
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, etree.ParserError):
        return None
    for node in tree.xpath(_NOT_THE_ARTICLE):
        node.drop_tree()
    try:
        found = htmldate.find_date(tree, extensive_search=False, original_date=True, outputformat="%Y-%m-%dT%H:%M:%S%z")
    except Exception as exc:  # noqa: BLE001 - a date is optional: never fail a document over it
        log.debug("htmldate failed: %s", exc)
        return None
    if not found:
        return None
    # htmldate writes midnight when the page gave a day but no time.
    return found[:10] if found.endswith("T00:00:00") else normalize(found)


def from_pdf(metadata: Any) -> str | None:
    """A PDF's /CreationDate (or /ModDate when it has none), from pypdf's DocumentInformation."""
    if metadata is None:
        return None
    for attr in ("creation_date", "modification_date"):
        try:
            value = getattr(metadata, attr)
        except Exception:  # noqa: BLE001 - pypdf raises on malformed date strings
            value = None
        found = normalize(value)
        if found:
            return found
    return None


def shown_date(value: str) -> str:
    """A stored date as people read it, as the page shows it: "2023-06-01 09:30 +00:00" rather than
    ISO's "T" and seconds; a day alone stays "2023-06-01"."""
    value = value.replace("T", " ", 1)
    value = re.sub(r"(\d{2}:\d{2}):00(?=$|[Z+-])", r"\1", value)
    return re.sub(r"(\d{2}:\d{2}(?::\d{2})?)([Z+-])", r"\1 \2", value)
