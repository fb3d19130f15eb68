"""The console script as a user runs it (subprocesses)."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def run(home, *args, check=True):
    env = {**os.environ, "CITEWIRE_HOME": str(home), "HF_HUB_OFFLINE": "1", "CITEWIRE_LLM__BACKEND": "none"}
    p = subprocess.run([sys.executable, "-m", "citewire", *args], check=False, env=env, capture_output=True, text=True,
                       timeout=600)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_ingest_articles_article_ask(tmp_path):
    out = run(tmp_path, "ingest", "-q", "--json")
    rep = json.loads(out.stdout)
    assert len(rep["added"]) == 1
    arts = json.loads(run(tmp_path, "articles", "--json").stdout)
    assert arts[0]["source"] == "Associated Press"
    art = json.loads(run(tmp_path, "article", arts[0]["id"], "--json").stdout)
    for s, e in art["sentences"]:
        assert art["text"][s:e].strip() == art["text"][s:e] != ""
    ans = json.loads(run(tmp_path, "ask", "How many drones and missiles did Russia launch?", "--json").stdout)
    assert set(ans) >= {"question", "answer", "abstained", "citations", "related", "timings"}
    c = ans["citations"][0]
    assert art["text"][c["start"]:c["end"]] == c["quote"]
    cautious = json.loads(run(tmp_path, "ask", "How many drones and missiles did Russia launch?", "--json",
                              "--risk", "cautious").stdout)
    assert cautious["features"]["threshold"] == pytest.approx(2 / 3, abs=1e-3)  # the decision rule's cautious point
    p = run(tmp_path, "ask", "How many drones?", "--risk", "reckless", check=False)
    assert p.returncode == 2 and "cautious, balanced, eager" in p.stderr.replace("'", "")
    stats = json.loads(run(tmp_path, "stats", "--json").stdout)
    assert stats["articles"] == 1 and stats["vectors"] == stats["chunks"]
    cfg = json.loads(run(tmp_path, "config").stdout)
    assert cfg["home"] == str(tmp_path) and cfg["llm"]["backend"] == "none"


def test_errors_are_one_line_without_traceback(tmp_path):
    p = run(tmp_path, "article", "nope", check=False)
    assert p.returncode != 0 and p.stderr.strip() == "citewire: error: no article with id 'nope'"
    p = run(tmp_path, "ingest", str(tmp_path / "missing.txt"), "-q", check=False)
    assert p.returncode == 1 and "no such file" in p.stderr and "Traceback" not in p.stderr
    p = run(tmp_path, "ask", "How many?", check=False)
    assert p.returncode == 2 and "citewire ingest" in p.stderr and "Traceback" not in p.stderr
