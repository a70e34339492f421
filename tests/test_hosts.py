"""The Host header: the API answers only to the names it is known by, so a rebound DNS name can't pass as this server."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient


def _client(data: Path, **settings) -> TestClient:
    from api.app import create_app
    from qa.settings import Settings

    # No lifespan: the Host check runs before any route, no models needed.
    return TestClient(create_app(Settings(data_dir=data, sample_corpus=False, **settings)))


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST", "testserver"])
def test_own_names_and_the_bound_address_are_served(tmp_path: Path, host: str) -> None:
    # TestClient's connection comes in on "testserver": the address the server is bound to.
    assert _client(tmp_path).get("/", headers={"host": host}).status_code == 200


def test_a_rebound_name_is_refused_reads_and_writes(tmp_path: Path) -> None:
    client = _client(tmp_path)
    r = client.get("/", headers={"host": "rebind.example:8000"})
    assert r.status_code == 400 and r.json()["detail"] == "host 'rebind.example:8000' is not served here (allow it with QA_ALLOWED_HOSTS)"
    # The page of a rebound name is same-origin to itself: Origin and Host agree, so only the Host check stops it.
    r = client.post("/documents", json={"title": "t", "text": "x"}, headers={"host": "rebind.example", "origin": "http://rebind.example"})
    assert r.status_code == 400 and "QA_ALLOWED_HOSTS" in r.json()["detail"]


def test_allowed_hosts_setting(tmp_path: Path) -> None:
    named = _client(tmp_path / "a", allowed_hosts=["news.lan"])
    assert named.get("/", headers={"host": "news.lan:8000"}).status_code == 200
    assert named.get("/", headers={"host": "localhost"}).status_code == 400  # the list replaces the default names
    assert named.get("/").status_code == 200  # the bound address is always served
    assert _client(tmp_path / "b", allowed_hosts=["*"]).get("/", headers={"host": "anything.example"}).status_code == 200
