"""Syndicated copies: one copy group per story at ingest, `sources` beside `articles` in answers, copies folded in the CLI."""

from __future__ import annotations

import pytest

from index.copies import CopyIndex, decode, encode, signature
from index.documents import Document
from qa.schema import AskRequest
from tests.conftest import qa_env, run_qa, started, stored

STORY = (
    "The new Zorbulon bridge over the Kessel river was opened on Saturday by mayor Paul Kine, "
    "after four years of construction and two delays caused by spring floods. "
    "The bridge is 640 metres long and carries two lanes of traffic, a tram line and a wide path for cyclists. "
    "Engineers from the regional transport office said the steel arches were lifted into place in a single night last October. "
    "Local shops near the old ferry landing expect more visitors now that the crossing takes three minutes instead of forty. "
    "The ferry will keep running on weekends during the summer for tourists who want to see the river from the water."
)
COPY = (
    "Sign up for our daily newsletter to get the latest headlines delivered to your inbox every morning.\n\n"
    + STORY.replace("four years", "almost four years").replace("wide path", "broad path")
    + "\n\nCopyright 2024 Kessel Wire. All rights reserved. This material may not be published or redistributed without permission."
)
SAME_TOPIC = (
    "Traffic on the Zorbulon bridge reached twelve thousand cars a day in its first month, the transport office reported. "
    "Commuters from the northern suburbs said their trips to the city centre were now much shorter than before. "
    "The tram line across the river will start its service in the autumn, once the new depot has been finished. "
    "Some residents near the eastern ramp complained about noise at night and asked for a lower speed limit. "
    "The council promised to measure the noise and to plant trees along the ramp next spring."
)
ARTICLES = [
    Document("zorbulon-opens", "Mayor opens the Zorbulon bridge", STORY, "kessel-times", "2024-05-04"),
    Document("wire-reprint", "Kessel river finally has its bridge", COPY, "river-post", "2024-05-05"),
    Document("zorbulon-traffic", "A month of traffic on the Zorbulon bridge", SAME_TOPIC, "kessel-times", "2024-06-04"),
]
QUESTION = "Who opened the Zorbulon bridge?"


def test_a_reheadlined_copy_with_boilerplate_joins_its_story_and_a_same_topic_story_stays_apart():
    index = CopyIndex(None)
    assert index.assign("zorbulon-opens", STORY)[0] == "zorbulon-opens"  # the first article names its group
    assert index.assign("wire-reprint", COPY)[0] == "zorbulon-opens"
    assert index.assign("zorbulon-traffic", SAME_TOPIC)[0] == "zorbulon-traffic"
    index.refresh()  # nothing stored behind it: what was assigned stays the index
    assert index.assign("late-copy", COPY)[0] == "zorbulon-opens"


def test_signatures_survive_their_metadata_encoding():
    m = signature(STORY)
    assert decode(encode(m)).jaccard(m) == 1.0
    assert decode("not base64!") is None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return stored(tmp_path_factory.mktemp("copies"), ARTICLES)


@pytest.fixture(scope="module")
def pipe(data_dir):
    return started(data_dir)


def test_groups_are_stored_and_a_later_process_groups_a_new_copy_with_them(pipe):
    docs = pipe.open_store().get_documents([a.id for a in ARTICLES])
    assert {i: d.group for i, d in docs.items()} == {
        "zorbulon-opens": "zorbulon-opens", "wire-reprint": "zorbulon-opens", "zorbulon-traffic": "zorbulon-traffic",
    }
    # This pipeline did not write them: its copy index is rebuilt from the stored signatures.
    pipe.add_documents([Document("another-reprint", "Bridge opened", STORY[: int(len(STORY) * 0.85)], "daily", "2024-05-06")])
    assert pipe.open_store().get_documents(["another-reprint"])["another-reprint"].group == "zorbulon-opens"
    pipe.delete_document("another-reprint")


def test_an_answer_from_a_story_and_its_copy_is_one_source(pipe):
    resp = pipe.ask(AskRequest(question=QUESTION))
    assert resp.answer is not None and "Paul Kine" in resp.answer
    assert resp.articles == 2
    assert resp.sources == 1
    assert {c.group for c in resp.citations} == {"zorbulon-opens"}


def test_the_cli_says_one_source_with_a_copy(data_dir, pipe):
    result = run_qa("ask", QUESTION, env=qa_env(data_dir, QA_SAMPLE_CORPUS="false"))
    assert result.returncode == 0, result.stderr
    assert "found in 1 source (and 1 copy)" in result.stdout
    assert "copy: " in result.stdout and "wire-reprint" in result.stdout


# -- the copy index on disk ------------------------------------------------------------------
def _store(tmp_path):
    from index.embed import Embedder
    from index.store import Store

    return Store(tmp_path / "data", None, Embedder.name, Embedder.dimension)


def test_the_copy_index_follows_writes_and_deletes_without_rereading_the_archive(tmp_path):
    from index.embed import Embedder
    from index.ingest import Indexer

    store = _store(tmp_path)
    writer = Indexer(store, Embedder(), tmp_path / "writer")
    writer.add([ARTICLES[0], ARTICLES[2]])
    other = CopyIndex(_store(tmp_path), tmp_path / "other")  # another process, its own file
    other.refresh()
    assert len(other) == 2

    def refuse(ids=None):
        if ids is None:
            raise AssertionError("the copy index re-read every record")
        return type(store).copy_records(other.store, ids)

    other.store.copy_records = refuse  # type: ignore[method-assign]
    writer.add([ARTICLES[1]])  # the reprint, written by the first process
    assert other.assign("late-reprint", COPY)[0] == "zorbulon-opens"  # judged against the reprint's story
    other.refresh()
    assert len(other) == 3
    writer.store.delete_document("zorbulon-opens")
    writer.store.delete_document("wire-reprint")
    other.refresh()
    assert len(other) == 1 and other.assign("late-reprint", COPY)[0] == "late-reprint"  # nothing left to copy


def test_articles_stored_without_a_signature_get_one_and_a_damaged_file_is_rebuilt(tmp_path):
    from index.embed import Embedder
    from index.ingest import Indexer

    store = _store(tmp_path)
    Indexer(store, Embedder(), tmp_path / "writer").add([ARTICLES[0]])
    meta = store.documents.get(ids=["zorbulon-opens"], include=["metadatas"])["metadatas"][0]
    store.documents.update(ids=["zorbulon-opens"], metadatas=[{k: v for k, v in meta.items() if k != "minhash"} | {"minhash": ""}])
    index = CopyIndex(_store(tmp_path), tmp_path / "legacy")
    index.refresh()
    assert index.assign("reprint", COPY)[0] == "zorbulon-opens"
    index.path.write_bytes(b"not a database" * 100)
    fresh = CopyIndex(_store(tmp_path), tmp_path / "legacy")
    fresh.refresh()
    assert len(fresh) == 1 and fresh.assign("reprint", COPY)[0] == "zorbulon-opens"
