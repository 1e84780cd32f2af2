"""The shared app-server helper of the browser tests and bench/browser.py (``tests/appserver.py``):
its environment, and a server that does not answer in time is stopped and reported."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.appserver import AppServer, ServerStartError, free_port


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # raises if the port were taken


def test_environment_names_the_database_and_drops_unset(monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_ADMIN_SECRET", "secret")
    monkeypatch.setenv("OBSERVATOIRE_DB", "/elsewhere.duckdb")
    env = AppServer(Path("/tmp/x.duckdb"), env={"EXTRA": "1"}, unset=["OBSERVATOIRE_ADMIN_SECRET"]).environment()
    assert env["OBSERVATOIRE_DB"] == "/tmp/x.duckdb" and env["EXTRA"] == "1"
    assert "OBSERVATOIRE_ADMIN_SECRET" not in env
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    # without a database, the caller's choice (here the variable set above) is kept
    assert AppServer().environment()["OBSERVATOIRE_DB"] == "/elsewhere.duckdb"


def test_a_server_not_answering_in_time_is_stopped_and_reported():
    server = AppServer(timeout=0)
    with pytest.raises(ServerStartError, match="n'a pas démarré"):
        server.start()
    assert server.proc is not None and server.proc.poll() is not None  # the process is gone
