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
    assert run_qa("ingest", str(tmp_path / "a" / "report.txt"), env=env, timeout=600).returncode == 0
    r = run_qa("ingest", str(tmp_path / "b" / "report.txt"), env=env, timeout=600)
    assert r.returncode == 0 and "1 added" in r.stdout, r.stdout + r.stderr
    assert "kept apart: report-" in r.stderr and "--replace" in r.stderr
    shown = run_qa("docs", "show", "report", env=env, timeout=600)
    assert "harbour of Lunde" in shown.stdout
    (tmp_path / "b" / "report.txt").write_text("Report\n\nThe bridge opened in July.")
    forced = run_qa("ingest", "--replace", str(tmp_path / "b" / "report.txt"), env=env, timeout=600)
    assert forced.returncode == 0, forced.stderr
    assert "bridge opened in July" in run_qa("docs", "show", "report", env=env, timeout=600).stdout


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


# -- one writer per data directory ---------------------------------------------------------------
def _holder(data: Path):
    """Another process holding the data directory's writer lock (as a running `qa serve` does)."""
    import subprocess
    import sys

    code = "import sys, time; from pathlib import Path; from index.lock import lock_data_dir; lock_data_dir(Path(sys.argv[1])); print('locked', flush=True); time.sleep(600)"
    proc = subprocess.Popen([sys.executable, "-c", code, str(data)], stdout=subprocess.PIPE, text=True, env={**qa_env(data), "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.slow
def test_a_second_writer_on_a_data_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = qa_env(data, QA_SAMPLE_CORPUS="false")
    (tmp_path / "a.txt").write_text("A title\n\nSome text to index.")
    proc = _holder(data)
    try:
        for args in (["ingest", str(tmp_path / "a.txt")], ["serve", "--port", "9"], ["watch", "--once", "http://127.0.0.1:9/feed.xml"]):
            r = run_qa(*args, env=env, timeout=600)
            assert r.returncode == 3, (args, r.stdout, r.stderr)
            assert r.stderr.strip() == f"error: data directory {data.resolve()} is in use by process {proc.pid} (a running qa serve, ingest or watch); stop it, or write through its API, or use another QA_DATA_DIR", r.stderr
        # Readers share the directory with the writer.
        listed = run_qa("docs", "list", env=env, timeout=600)
        assert listed.returncode == 0, listed.stderr
    finally:
        proc.kill()
        proc.wait()
    # The lock goes with the process, however it ended.
    r = run_qa("ingest", str(tmp_path / "a.txt"), env=env, timeout=600)
    assert r.returncode == 0 and r.stdout.startswith("1 added"), r.stderr


def test_the_lock_is_taken_once_per_process(tmp_path: Path) -> None:
    from index.lock import LOCK_FILE, lock_data_dir, unlock_data_dir

    lock_data_dir(tmp_path / "d")
    lock_data_dir(tmp_path / "d")  # again in the same process: fine
    assert (tmp_path / "d" / LOCK_FILE).read_text() == str(__import__("os").getpid())
    unlock_data_dir(tmp_path / "d")


# -- awkward files: deeply nested HTML, Latin-1 text ---------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_html_is_refused_in_a_sentence(client: TestClient, depth: int) -> None:
    html = b"<html><head><title>Deep</title></head><body>" + b"<div>" * depth + b"<p>" + b"Deep text of the page. " * 10 + b"</p>" + b"</div>" * depth + b"</body></html>"
    started = time.monotonic()
    r = client.post("/documents/upload", files={"file": ("deep.html", html)})
    assert r.status_code == 422 and "nested more than 128 elements deep" in r.json()["detail"], r.text
    assert time.monotonic() - started < 60


def test_ordinary_nesting_is_read() -> None:
    from index.load import from_bytes

    html = b"<html><head><title>Shallow</title></head><body>" + b"<div>" * 40 + b"<article><p>" + b"The shallow page keeps its text for readers. " * 6 + b"</p></article>" + b"</div>" * 40 + b"</body></html>"
    assert "shallow page keeps its text" in from_bytes("shallow.html", html)[0].text


@pytest.mark.slow
def test_a_latin1_upload_is_read_as_latin1(client: TestClient) -> None:
    r = client.post("/documents/upload", files={"file": ("cafe.txt", "Café de la Gare\n\nLe café a rouvert à Genève, dit la propriétaire Hélène.".encode("latin-1"))})
    assert r.status_code == 200 and r.json()["added"] == ["cafe"], r.text
    doc = client.get("/documents/cafe").json()
    assert doc["title"] == "Café de la Gare" and "à Genève" in doc["text"]
    html = '<html><head><meta charset="iso-8859-15"><title>Zürich</title></head><body><article><p>'.encode() + ("Die Brücke in Zürich wurde für den Verkehr geöffnet. " * 5).encode("iso-8859-15") + b"</p></article></body></html>"
    r = client.post("/documents/upload", files={"file": ("zurich.html", html)})
    assert r.status_code == 200, r.text
    assert "Brücke in Zürich" in client.get(f"/documents/{r.json()['added'][0]}").json()["text"]


def test_text_in_utf16_with_its_mark_and_binary_files() -> None:
    from index.load import LoadError, from_bytes

    assert from_bytes("u.txt", "Title\n\nÜber alles.".encode("utf-16"))[0].text.endswith("Über alles.")
    with pytest.raises(LoadError, match="binary"):
        from_bytes("b.txt", b"abc\x00\x01\x02")


# -- one huge feed can't starve the others -------------------------------------------------------
@pytest.mark.slow
def test_a_feed_gets_an_item_cap_and_a_time_budget_per_cycle(tmp_path: Path) -> None:
    from index.feeds import STATE_FILE, Sync
    from index.fetch import Fetcher
    from qa.pipeline import Pipeline
    from qa.settings import Settings
    from tests.test_feeds import Site, publish

    site = Site()
    try:
        pipe = Pipeline(Settings(data_dir=tmp_path / "data", sample_corpus=False))
        pipe.open_store()
        huge, small = publish(site, "huge", range(7000, 7006)), publish(site, "small", range(7100, 7102))

        def sync(**limits) -> Sync:
            fetcher = Fetcher(host_delay_s=0.0, backoff_s=0.01, retries=0, timeout_s=5.0)
            return Sync(pipe.add_documents, pipe.store.claims, fetcher, tmp_path / "data" / STATE_FILE, **limits)

        first = sync(max_items=4).run([huge, small])
        assert len(first.ingest.added) == 6 and first.deferred == 2, first.summary()
        assert first.summary() == "watch: 2 sources, 6 new, 0 changed, 0 unchanged, 0 failed, 2 deferred to the next cycle"
        # The next cycle takes the items left over first, then checks known ones.
        second = sync(max_items=4).run([huge, small])
        assert len(second.ingest.added) == 2 and second.deferred == 2, second.summary()
        # A budget spent on the first item of a feed leaves its other items for later, not the next feed's.
        slow = publish(site, "slow", range(7200, 7203))
        third = sync(budget_s=1e-9).run([slow, publish(site, "next", range(7300, 7301))])
        assert len(third.ingest.added) == 2 and third.deferred == 2, third.summary()
        assert any("/next/" in d.source for d in pipe.list_documents())
    finally:
        site.close()


def test_the_feed_limits_are_settings(monkeypatch) -> None:
    from qa.settings import Settings

    monkeypatch.setenv("QA_FEED_MAX_ITEMS", "7")
    monkeypatch.setenv("QA_FEED_BUDGET_S", "12.5")
    s = Settings()
    assert (s.feed_max_items, s.feed_budget_s) == (7, 12.5)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "`QA_FEED_MAX_ITEMS`" in readme and "`QA_FEED_BUDGET_S`" in readme


# -- a full disk -----------------------------------------------------------------------------------
def test_a_write_is_refused_with_507_while_the_disk_is_under_its_margin(tmp_path: Path) -> None:
    from api.app import create_app
    from index.documents import Document
    from index.space import StorageFull, check_room
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    check_room(tmp_path, 1)  # this disk has a megabyte
    with pytest.raises(StorageFull, match=r"QA_MIN_FREE_MB"):
        check_room(tmp_path, 10**12)
    # The margin is checked before anything is embedded or written.
    pipe = Pipeline(Settings(data_dir=tmp_path / "pipe", sample_corpus=False, min_free_mb=10**12))
    with pytest.raises(StorageFull):
        pipe.add_documents([Document(id="a", title="A", text="The ferry sails at nine.", source="pasted")])
    assert pipe.store.count() == (0, 0)
    # No lifespan: the route needs no models to refuse.
    client = TestClient(create_app(Settings(data_dir=tmp_path / "api", sample_corpus=False, min_free_mb=10**12)))
    r = client.post("/documents", json={"title": "A", "text": "The ferry sails at nine."})
    assert r.status_code == 507 and "MB free" in r.json()["detail"], r.text
    r = client.post("/documents/upload", files={"file": ("a.txt", b"The ferry sails at nine.", "text/plain")})
    assert r.status_code == 507, r.text
    assert client.get("/documents").json() == []


def _tmpfs(path: Path, mb: int) -> bool:
    import subprocess

    path.mkdir(parents=True, exist_ok=True)
    try:
        return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}m", "tmpfs", str(path)], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.slow
def test_a_full_disk_gives_507_and_the_server_recovers_when_space_is_freed(tmp_path: Path) -> None:
    import os
    import subprocess

    import httpx

    from tests.conftest import Server

    disk = tmp_path / "disk"
    if not _tmpfs(disk, 40):
        pytest.skip("mounting a tmpfs needs root (or CAP_SYS_ADMIN) on this machine")
    server = None
    try:
        # No margin: the store itself runs out of room, the case the margin exists to avoid.
        server = Server(qa_env(disk, QA_SAMPLE_CORPUS="false", QA_MIN_FREE_MB="0"))
        server.wait_ready()
        c = httpx.Client(base_url=server.url, timeout=120)
        assert c.post("/documents", json={"title": "Bridge", "text": "The bridge opened in May 2020. " * 5, "doc_id": "bridge"}).status_code == 200
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)  # unbuffered: every byte the disk has left
        try:
            while True:
                os.write(filler, b"\0" * 65536)
        except OSError:
            pass
        finally:
            os.close(filler)
        # How much a store's files still absorb varies; a write that doesn't fit is a 507, never a 500.
        stored = {"bridge": 1}
        codes = []
        for i in range(8):
            r = c.post("/documents", json={"title": f"Story {i}", "text": f"Story {i} says the council met on Tuesday {i}. " * 400})
            assert r.status_code in (200, 507) and r.headers["content-type"] == "application/json", r.text
            codes.append(r.status_code)
            if r.status_code == 507:
                assert "full" in r.json()["detail"]
            else:
                stored |= {doc_id: r.json()["chunks"] for doc_id in r.json()["added"]}
        assert 507 in codes, codes
        assert c.post("/ask", json={"question": "When did the bridge open?"}).json()["answer"] == "May 2020"
        assert c.get("/health").json()["status"] == "ok"

        (disk / "filler").unlink()
        assert c.post("/documents", json={"title": "After", "text": "After the disk was freed the mayor spoke on Friday. " * 5, "doc_id": "after"}).status_code == 200
        assert c.delete("/documents/after").json()["deleted"] is True
        health = c.get("/health").json()
        # Chunks a refused write left behind are swept by the next write: none is counted or cited.
        assert (health["documents"], health["chunks"]) == (len(stored), sum(stored.values())), (health, stored)
        assert c.post("/ask", json={"question": "When did the bridge open?"}).json()["answer"] == "May 2020"
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 15 and server.proc.returncode in (0, -15), server.proc.returncode
        server = None
    finally:
        if server:
            server.stop()
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# -- a PDF that costs far more to read than it weighs ----------------------------------------------
def test_a_page_of_millions_of_drawing_operations_is_skipped_not_read_for_minutes() -> None:
    from index.load import PDF_PAGE_TOKENS, from_pdf
    from tests.conftest import pdf_pages

    bomb = b"BT /F1 12 Tf 72 712 Td " + b"(A) Tj " * (2 * PDF_PAGE_TOKENS) + b"ET"
    text = b"BT /F1 12 Tf 72 712 Td (The ferry to Lunde sails at nine every morning.) Tj ET"
    data = pdf_pages([bomb, text])
    assert len(data) < 20_000  # a small upload
    started = time.monotonic()
    doc = from_pdf("ferry", data, "ferry.pdf")
    # Unbounded, the first page alone took about 90 s of CPU; its budget ends it in a few.
    assert time.monotonic() - started < 30
    assert doc.text == "The ferry to Lunde sails at nine every morning."
