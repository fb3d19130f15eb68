"""Shared fixtures: offline env, a network guard, and built stores (module/session scoped)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ.pop("CITEWIRE_CHROMA_URL", None)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
for _p in (REPO, REPO / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


class NetworkAudit:
    """Records every non-loopback connect attempted while active (sys.addaudithook)."""

    def __init__(self) -> None:
        self.active = False
        self.violations: list[str] = []

    def hook(self, event: str, args: tuple) -> None:
        if not self.active or event != "socket.connect":
            return
        addr = args[1]
        if isinstance(addr, tuple) and addr:
            host = str(addr[0])
            if not (host.startswith("127.") or host in ("::1", "localhost", "0.0.0.0")):
                self.violations.append(f"{host}:{addr[1] if len(addr) > 1 else ''}")
        elif isinstance(addr, (str, bytes)):  # unix sockets are local
            return


_AUDIT = NetworkAudit()
sys.addaudithook(_AUDIT.hook)


@pytest.fixture
def network_audit() -> Iterator[NetworkAudit]:
    _AUDIT.violations.clear()
    _AUDIT.active = True
    try:
        yield _AUDIT
    finally:
        _AUDIT.active = False


def check_consistent(ing) -> tuple[int, int, int]:
    """(#articles, #chunks in SQLite, #vectors) after asserting that the three stores agree."""
    counts = ing.store.counts()
    assert counts["pending"] == 0
    assert ing.vectors.count() == counts["chunks"]
    assert len(ing.bm25()) == counts["chunks"]
    assert ing.vectors.article_ids() == {a.id for a in ing.store.list()}
    return counts["articles"], counts["chunks"], ing.vectors.count()


@pytest.fixture
def consistent():
    return check_consistent


@pytest.fixture(scope="session")
def embedder():
    from citewire.settings import Settings
    from ingest.embed import load_embedder

    return load_embedder(Settings())


@pytest.fixture(scope="session")
def seed_engine(tmp_path_factory):
    """An engine over the bundled corpus with the bundled LLM (shared by read-only tests)."""
    from rag import Engine

    eng = Engine.open(home=tmp_path_factory.mktemp("seed-home"))
    eng.ingest([])
    return eng


@pytest.fixture(scope="session")
def extractive_engine(tmp_path_factory):
    """An engine over the bundled corpus with generation off (fast, deterministic)."""
    from citewire.settings import LLMSettings, Settings
    from rag import Engine

    home = tmp_path_factory.mktemp("extractive-home")
    eng = Engine.open(settings=Settings(home=home, llm=LLMSettings(backend="none")))
    eng.ingest([])
    return eng


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA
