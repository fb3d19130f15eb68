"""Unit tests of the UI's safety rules: upload staging, host/auth checks, input validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from citewire.settings import Settings
from ui.app import backend_description, is_loopback, parse_auth, resolve_server
from ui.chat import MAX_QUESTION_CHARS, QuestionProblem, clean_question, make_filters
from ui.library import sanitize_filename, stage_uploads


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\win\\evil.MD", "evil.md"),
        ("my article (final).html", "my_article_final.html"),
        (".hidden.json", "hidden.json"),
        ("...", "upload"),
        ("日本語.pdf", "upload.pdf"),
        ("x" * 300 + ".jsonl", "x" * 100 + ".jsonl"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_stage_uploads_copies_only_safe_files_into_uploads_dir(tmp_path: Path) -> None:
    src = tmp_path / "incoming"
    src.mkdir()
    good = src / "Kyiv report.txt"
    good.write_text("Some article text.", encoding="utf-8")
    exe = src / "payload.sh"
    exe.write_text("rm -rf /", encoding="utf-8")
    big = src / "big.md"
    big.write_bytes(b"x" * 2048)
    uploads = tmp_path / "home" / "uploads"

    staged, rejected = stage_uploads([good, exe, big, src / "missing.txt"], uploads, max_bytes=1024)

    assert staged == [uploads.resolve() / "Kyiv_report.txt"]
    assert staged[0].read_text(encoding="utf-8") == "Some article text."
    reasons = dict(rejected)
    assert "unsupported file type" in reasons["payload.sh"]
    assert "too large" in reasons["big.md"]
    assert "unreadable" in reasons["missing.txt"]
    assert sorted(p.name for p in uploads.iterdir()) == ["Kyiv_report.txt"]


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_public_host_requires_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITEWIRE_UI_AUTH", raising=False)
    s = Settings(home=tmp_path)
    assert resolve_server(s, None, None, None, False) == ("127.0.0.1", 7860, None)
    with pytest.raises(ValueError, match="without authentication"):
        resolve_server(s, "0.0.0.0", 8000, None, False)
    assert resolve_server(s, "0.0.0.0", 8000, "reader:pw", False) == ("0.0.0.0", 8000, ("reader", "pw"))
    assert resolve_server(s, "0.0.0.0", 8000, None, True)[2] is None
    monkeypatch.setenv("CITEWIRE_UI_AUTH", "env:secret")
    assert resolve_server(s, "0.0.0.0", None, None, False)[2] == ("env", "secret")


@pytest.mark.parametrize("bad", ["nopassword", ":pw", "user:"])
def test_malformed_auth_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="user:password"):
        parse_auth(bad)


def test_question_and_filter_validation() -> None:
    assert clean_question("  How   many? ") == ("How many?", None)
    with pytest.raises(QuestionProblem):
        clean_question("   ")
    q, notice = clean_question("word " * 4000)
    assert len(q) == MAX_QUESTION_CHARS and notice and "shortened" in notice
    assert make_filters("All sources", "", " ") is None
    f = make_filters("Associated Press", "2024-01-01", "")
    assert f is not None and f.sources == ["Associated Press"] and str(f.since) == "2024-01-01"
    with pytest.raises(QuestionProblem, match="since"):
        make_filters("", "01/02/2024", "")
    with pytest.raises(QuestionProblem, match="after"):
        make_filters("", "2025-01-02", "2024-01-01")


def test_backend_description_names_the_configured_model(tmp_path: Path) -> None:
    assert "llama.cpp" in backend_description(Settings(home=tmp_path))
    s = Settings(home=tmp_path, llm={"backend": "openai", "base_url": "http://127.0.0.1:8080/v1", "model": "qwen"})
    assert "qwen" in backend_description(s) and "http://127.0.0.1:8080/v1" in backend_description(s)
