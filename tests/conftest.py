"""Shared fixtures: offline env, a network guard, and built stores (module/session scoped)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ.pop("CITEWIRE_CHROMA_URL", None)
# Tests check mechanics (spans, markers, filters, servers, the UI), not where the calibrated policy puts its
# operating point (`citewire eval` measures that on the report split; tests/rag/test_policy.py checks the packaged
# file; `seed_engine` runs the packaged file at "balanced"). So they run at "eager" with MECHANICS_POLICY: the
# packaged file with every section's eager threshold at 0.1 (show any candidate the fitted models give a real
# chance), so that a refit of the policy does not decide whether a test of, say, SSE streaming sees an answer.
MECHANICS_EAGER = 0.1


def _mechanics_policy() -> str:
    import atexit
    import json
    import shutil
    import tempfile

    from rag.policy import load_params

    params = json.loads(json.dumps(load_params()))
    for section in [*params["profiles"].values(), *(params.get("models") or {}).values()]:
        section["thresholds"]["eager"] = MECHANICS_EAGER
    folder = tempfile.mkdtemp(prefix="cw-test-policy-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "mechanics-policy.json"
    path.write_text(json.dumps(params), encoding="utf-8")
    return str(path)


MECHANICS_POLICY = _mechanics_policy()
os.environ["CITEWIRE_RETRIEVAL__RISK"] = "eager"
os.environ["CITEWIRE_RETRIEVAL__POLICY_PATH"] = MECHANICS_POLICY

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
    """(#articles, #chunks in SQLite, #vectors) after asserting that the three stores agree:
    nothing pending, the same chunk ids in SQLite, Chroma and BM25 (so no duplicates, no orphans,
    no half articles), and every article's chunks numbered 0..n-1."""
    counts = ing.store.counts()
    assert counts["pending"] == 0
    chunk_ids = sorted(r[0] for r in ing.store.iter_chunks())
    assert len(chunk_ids) == len(set(chunk_ids)) == counts["chunks"]
    assert sorted(ing.vectors.chunk_ids()) == chunk_ids
    bm25 = ing.bm25()
    assert sorted(bm25.chunk_ids) == chunk_ids and bm25.generation == ing.store.generation
    assert ing.vectors.article_ids() == {a.id for a in ing.store.list()}
    per_article: dict[str, list[int]] = {}
    for cid in chunk_ids:
        aid, idx = cid.rsplit(":", 1)
        per_article.setdefault(aid, []).append(int(idx))
    assert all(sorted(v) == list(range(len(v))) for v in per_article.values())
    return counts["articles"], counts["chunks"], ing.vectors.count()


@pytest.fixture
def consistent():
    return check_consistent


@pytest.fixture(scope="session")
def embedder():
    from citewire.settings import Settings
    from ingest.embed import Embedder

    return Embedder.load(Settings())


@pytest.fixture(scope="session")
def seed_engine(tmp_path_factory):
    """An engine over the bundled corpus with the bundled LLM (shared by read-only tests)."""
    from citewire.settings import RetrievalSettings, Settings
    from rag import Engine

    eng = Engine.open(settings=Settings(home=tmp_path_factory.mktemp("seed-home"), retrieval=RetrievalSettings(risk="balanced")))
    eng.ingest([])
    return eng


@pytest.fixture(scope="session")
def eager_seed_engine(seed_engine):
    """The same store at the eager end of the answer policy's curve (`MECHANICS_POLICY`): for tests of what
    an answer looks like (spans, markers), not of the calibrated operating point."""
    from rag import Engine

    s = seed_engine.settings
    return Engine.open(settings=s.model_copy(update={"retrieval": s.retrieval.model_copy(
        update={"risk": "eager", "policy_path": MECHANICS_POLICY})}))


@pytest.fixture(scope="session")
def extractive_engine(tmp_path_factory):
    """An engine over the bundled corpus with generation off (fast, deterministic), at the eager end of the
    answer policy's curve so that tests of filters and follow-ups see answers."""
    from citewire.settings import LLMSettings, RetrievalSettings, Settings
    from rag import Engine

    home = tmp_path_factory.mktemp("extractive-home")
    eng = Engine.open(settings=Settings(home=home, llm=LLMSettings(backend="none"),
                                        retrieval=RetrievalSettings(risk="eager", policy_path=MECHANICS_POLICY)))
    eng.ingest([])
    return eng


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA
