"""Loading: every supported format, and clear reasons for what can't be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.load import LoadError, discover, from_bytes, load_file


def test_text_title_is_first_non_empty_line(tmp_path: Path) -> None:
    p = tmp_path / "a1.txt"
    p.write_text("\n\n  My title  \n\nBody text.\r\nMore.", encoding="utf-8")
    (doc,) = load_file(p)
    assert doc.id == "a1" and doc.title == "My title" and doc.source == "a1.txt"
    assert "\r" not in doc.text and doc.text.endswith("More.")


def test_markdown_heading_title() -> None:
    (doc,) = from_bytes("n.md", b"# Heading here\n\nText.")
    assert doc.title == "Heading here"


def test_html_main_text_is_extracted() -> None:
    html = b"""<html><head><title>Page title</title><script>var x=1;</script></head><body>
    <nav>Home | About</nav><article><h1>Storm hits coast</h1><p>The storm reached the coast on Monday
    and flooded the harbour. Officials said the damage was heavy and repairs would take weeks.</p>
    <p>Schools were closed for two days while crews cleared the roads.</p></article></body></html>"""
    (doc,) = from_bytes("storm.html", html)
    assert "flooded the harbour" in doc.text and "var x" not in doc.text
    assert doc.title


def test_pdf_text_layer(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(6, 2))
    fig.text(0.05, 0.5, "The harbour reopened on Friday.")
    fig.savefig(tmp_path / "harbour.pdf")
    plt.close(fig)
    (doc,) = load_file(tmp_path / "harbour.pdf")
    assert "harbour reopened on Friday" in doc.text


def test_jsonl_records_with_metadata() -> None:
    lines = [
        {"id": "n1", "title": "One", "text": "First text.", "url": "http://example.org/1", "published": "2024-05-01"},
        {"id": "n2", "title": "Two", "text": "Second text."},
    ]
    docs = from_bytes("batch.jsonl", "\n".join(json.dumps(x) for x in lines).encode())
    assert [d.id for d in docs] == ["n1", "n2"]
    assert docs[0].published == "2024-05-01" and docs[0].metadata["url"] == "http://example.org/1"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("bin.txt", b"\x00\x01\x02binary", "binary"),
        ("empty.txt", b"   \n\n", "empty"),
        ("bad.jsonl", b"{not json}\n", "not JSON"),
        ("notext.jsonl", b'{"id": "x", "title": "t"}\n', "no text"),
        ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
        ("image.png", b"\x89PNG....", "unsupported"),
    ],
)
def test_bad_files_say_why(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        from_bytes(name, data)


def test_discover_reports_missing_and_empty_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "sub" / "a.txt").write_text("A\n\ntext")
    (tmp_path / "docs" / "ignored.png").write_bytes(b"x")
    files, failures = discover([tmp_path / "docs", tmp_path / "empty", tmp_path / "nope"])
    assert [f.name for f in files] == ["a.txt"]
    assert {Path(f.source).name for f in failures} == {"empty", "nope"}
