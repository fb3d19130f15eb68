"""Ingest and query make no network connection beyond loopback."""

import pytest

from citewire.settings import Settings

pytestmark = pytest.mark.slow


def test_ingest_and_query_are_offline(tmp_path, network_audit):
    from rag import Engine

    eng = Engine.open(settings=Settings(home=tmp_path))
    eng.ingest([])
    ans = eng.ask("How many drones and missiles did Russia launch?")
    assert ans.citations
    assert network_audit.violations == []


def test_the_audit_hook_catches_a_connection(network_audit):
    import socket

    s = socket.socket()
    s.settimeout(0.01)
    try:
        s.connect(("10.255.255.1", 9))
    except OSError:
        pass
    finally:
        s.close()
    assert network_audit.violations == ["10.255.255.1:9"]
