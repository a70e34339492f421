"""What a second round of probing as an attacker broke: copy groups naming deleted articles, uploads
replacing other documents, a damaged keyword index, IPv6 forms of private addresses, two writers."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import qa_env, run_qa
from tests.test_copies import COPY, QUESTION, STORY

NEW_STORY = (
    "A brass band from Lunde played on Sunday while Paul Kine opened the Zorbulon bridge to cyclists for a day of races. "
    "More than three hundred riders took part, the youngest of them nine years old, and the fastest crossed the river "
    "twelve times in an hour. Stalls along the old ferry landing sold apple cake and cold tea, and the organisers want to "
    "make the race a yearly event if the council agrees to close the road again next spring."
)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The real app in-process over an empty store (no sample articles), ready."""
    from api.app import create_app
    from qa.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("probes") / "data", sample_corpus=False)
    with TestClient(create_app(settings)) as c:
        deadline = time.time() + 240
        while c.get("/health").json()["status"] != "ok":
            assert time.time() < deadline, "the app did not become ready"
            time.sleep(0.2)
        yield c


def _post(client: TestClient, **doc) -> dict:
    r = client.post("/documents", json=doc)
    assert r.status_code == 200, r.text
    return r.json()


def _group(client: TestClient, doc_id: str) -> str | None:
    pipe = client.app.state.pipeline
    d = pipe.get_document(doc_id)
    return d.group if d else None


# -- copy groups follow deletes and reused ids ---------------------------------------------------
@pytest.mark.slow
def test_copy_groups_follow_a_delete_and_a_reused_id(client: TestClient) -> None:
    _post(client, title="Mayor opens the Zorbulon bridge", text=STORY, doc_id="bridge-story")
    _post(client, title="Kessel river finally has its bridge", text=COPY, doc_id="bridge-reprint")
    assert _group(client, "bridge-reprint") == "bridge-story"
    assert client.delete("/documents/bridge-story").json()["deleted"] is True
    # The copy no longer names an id that is gone ...
    assert _group(client, "bridge-reprint") == "bridge-reprint"
    # ... so an unrelated story posted under that id later is a story of its own.
    _post(client, title="Cyclists race over the bridge", text=NEW_STORY, doc_id="bridge-story")
    assert _group(client, "bridge-story") == "bridge-story"
    resp = client.post("/ask", json={"question": QUESTION, "filters": {"doc_ids": ["bridge-story", "bridge-reprint"]}}).json()
    groups = {c["doc_id"]: c["group"] for c in resp["citations"]}
    assert groups.get("bridge-reprint", "bridge-reprint") == "bridge-reprint" and groups.get("bridge-story", "bridge-story") == "bridge-story"
    assert resp["sources"] == len(set(groups.values()))
    if resp["articles"] == 2:
        assert resp["sources"] == 2, resp
    for doc_id in ("bridge-story", "bridge-reprint"):
        client.delete(f"/documents/{doc_id}")


@pytest.mark.slow
def test_copies_of_an_article_replaced_by_another_story_stand_apart(client: TestClient) -> None:
    _post(client, title="Mayor opens the Zorbulon bridge", text=STORY, doc_id="span-story")
    _post(client, title="Kessel river finally has its bridge", text=COPY, doc_id="span-reprint-1")
    _post(client, title="Bridge opened", text=COPY.replace("Kessel Wire", "Lunde Wire"), doc_id="span-reprint-2")
    assert {_group(client, i) for i in ("span-reprint-1", "span-reprint-2")} == {"span-story"}
    # The same id, now another story: its former copies keep together, under the first of them.
    assert _post(client, title="Cyclists race over the bridge", text=NEW_STORY, doc_id="span-story")["updated"] == ["span-story"]
    assert _group(client, "span-story") == "span-story"
    assert _group(client, "span-reprint-1") == _group(client, "span-reprint-2") == "span-reprint-1"
    # A corrected version of a story keeps its copies.
    _post(client, title="Mayor opens the Zorbulon bridge", text=STORY, doc_id="span-reprint-1")
    assert _group(client, "span-reprint-2") == "span-reprint-1"
    for doc_id in ("span-story", "span-reprint-1", "span-reprint-2"):
        client.delete(f"/documents/{doc_id}")


# -- an upload never silently replaces a different document --------------------------------------
@pytest.mark.slow
def test_a_different_file_of_the_same_name_gets_an_id_of_its_own(client: TestClient) -> None:
    first = client.post("/documents/upload", files={"file": ("report.txt", b"Report\n\nThe harbour of Lunde reopened in May.")}).json()
    assert first["added"] == ["report"]
    second = client.post("/documents/upload", files={"file": ("report.txt", b"Report\n\nThe ferry to Kessel stopped in June.")}).json()
    assert second["added"] and second["added"][0] != "report" and not second["updated"], second
    assert second["renamed"] == [{"doc_id": second["added"][0], "taken": "report"}]
    assert "harbour of Lunde" in client.get("/documents/report").json()["text"]
    # The same file again is unchanged, under the id it got.
    again = client.post("/documents/upload", files={"file": ("report.txt", b"Report\n\nThe ferry to Kessel stopped in June.")}).json()
    assert again["unchanged"] == second["added"] and not again["renamed"]
    # Replacing is explicit.
    forced = client.post("/documents/upload", files={"file": ("report.txt", b"Report\n\nThe bridge opened in July.")}, data={"replace": "true"}).json()
    assert forced["updated"] == ["report"] and not forced["renamed"]
    assert "bridge opened in July" in client.get("/documents/report").json()["text"]
    assert "ferry to Kessel" in client.get(f"/documents/{second['added'][0]}").json()["text"]


def test_the_page_asks_before_replacing() -> None:
    js = (Path(__file__).resolve().parents[1] / "api" / "static" / "app.js").read_text()
    upload = js[js.index('$("upload-form")') :]
    assert "renamed" in upload and "window.confirm(" in upload and 'append("replace", "true")' in upload


@pytest.mark.slow
def test_ingest_of_another_file_of_the_same_name_keeps_both(tmp_path: Path) -> None:
    for folder, text in (("a", "Report\n\nThe harbour of Lunde reopened in May."), ("b", "Report\n\nThe ferry to Kessel stopped in June.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "report.txt").write_text(text)
    env = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false")
    assert run_qa("ingest", str(tmp_path / "a" / "report.txt"), env=env).returncode == 0
    r = run_qa("ingest", str(tmp_path / "b" / "report.txt"), env=env)
    assert r.returncode == 0 and "1 added" in r.stdout, r.stdout + r.stderr
    assert "kept apart: report-" in r.stderr and "--replace" in r.stderr
    shown = run_qa("docs", "show", "report", env=env)
    assert "harbour of Lunde" in shown.stdout
    (tmp_path / "b" / "report.txt").write_text("Report\n\nThe bridge opened in July.")
    forced = run_qa("ingest", "--replace", str(tmp_path / "b" / "report.txt"), env=env)
    assert forced.returncode == 0, forced.stderr
    assert "bridge opened in July" in run_qa("docs", "show", "report", env=env).stdout


# -- a damaged keyword index under a running app -------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("damage", [b"", b"garbage " * 64])
def test_asking_with_a_damaged_keyword_index_rebuilds_it(client: TestClient, damage: bytes) -> None:
    _post(client, title="Harbour", text="The Kessel harbour reopened on Monday after crews from Lunde repaired the storm damage.", doc_id="harbour")
    question = {"question": "When did the Kessel harbour reopen?"}
    assert client.post("/ask", json=question).json()["answer"] == "Monday"
    data_dir = client.app.state.pipeline.settings.data_dir
    (path,) = data_dir.glob("keyword-*.sqlite3")
    with sqlite3.connect(path) as con:  # everything in the main file, as after a checkpoint
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path.write_bytes(damage)
    for _ in range(3):  # each request may run on another thread with a connection of its own
        r = client.post("/ask", json=question)
        assert r.status_code == 200, r.text
        assert r.json()["answer"] == "Monday"
    hits = client.post("/search", json=question).json()["passages"]
    assert hits[0]["doc_id"] == "harbour" and hits[0]["scores"]["bm25_rank"] == 1  # rebuilt, not only dense


# -- IPv6 forms of private and loopback IPv4 addresses -------------------------------------------
@pytest.mark.parametrize(
    "host",
    [
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
        "[2002:c0a8:101::]",  # 6to4 of 192.168.1.1
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of the metadata address
        "[64:ff9b:1::a00:1]",  # local-use NAT64 of 10.0.0.1
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",  # IPv4-compatible
        "[::a00:1]",
    ],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_refused(host: str) -> None:
    from index.fetch import AddressGuard, Refused

    with pytest.raises(Refused, match="refused"):
        AddressGuard().check(f"http://{host}/latest/meta-data/")


def test_a_6to4_address_of_a_public_ipv4_address_is_judged_as_itself() -> None:
    import ipaddress

    from index.fetch import _refusal, embedded_ipv4

    ip = ipaddress.ip_address("2002:808:808::1")
    assert embedded_ipv4(ip) == [ipaddress.ip_address("8.8.8.8")]
    assert _refusal(ip) is None
    assert "127.0.0.1" in (_refusal(ipaddress.ip_address("2002:7f00:1::")) or "")


@pytest.mark.slow
def test_an_upload_replaces_a_document_named_by_its_id(client: TestClient) -> None:
    first = client.post("/documents/upload", files={"file": ("notes.md", b"# Notes\n\nThe first notes.")}, data={"doc_id": "my-notes"}).json()
    assert first["added"] == ["my-notes"]
    second = client.post("/documents/upload", files={"file": ("other.md", b"# Notes\n\nThe second notes.")}, data={"doc_id": "my-notes"}).json()
    assert second["updated"] == ["my-notes"]
    bad = client.post("/documents/upload", files={"file": ("x.jsonl", b'{"id": "a", "title": "A", "text": "B"}\n')}, data={"doc_id": "x"})
    assert bad.status_code == 422 and "jsonl" in bad.json()["detail"]
    assert client.post("/documents/upload", files={"file": ("x.md", b"# X\n\ny")}, data={"doc_id": "../x"}).status_code == 422
