"""Unit tests of the UI's safety rules: upload staging, host/auth checks, input validation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from citewire.errors import CitewireError
from citewire.settings import Settings
from rag.errors import BadQuestionError, EmptyStoreError
from ui.app import backend_description, is_loopback, parse_auth, resolve_server
from ui.chat import (
    MAX_QUESTION_CHARS,
    QuestionProblem,
    clean_question,
    error_message,
    make_filters,
    max_top_k,
    parse_as_of,
    parse_day,
    parse_top_k,
)
from ui.library import (
    ALLOWED_EXTENSIONS,
    content_hash,
    picker_types,
    sanitize_filename,
    split_suffix,
    stage_uploads,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\win\\evil.MD", "evil.md"),
        ("my article (final).html", "my_article_final.html"),
        (".hidden.json", "hidden.json"),
        ("...", "upload"),
        ("日本語.pdf", "日本語.pdf"),
        ("Прогноз погоды.TXT", "Прогноз_погоды.txt"),
        ("हिन्दी समाचार.md", "हिन्दी_समाचार.md"),  # combining vowel signs survive
        ("Ｆｕｌｌ　ｗｉｄｔｈ.txt", "Full_width.txt"),  # NFKC
        ("a\x00b\x1fc\u202egnp.txt", "a_b_c_gnp.txt"),  # control and bidi-override characters
        ("tab\tnew\nline.md", "tab_new_line.md"),
        ("x" * 300 + ".jsonl", "x" * 120 + ".jsonl"),
        ("語" * 100 + ".txt", "語" * 40 + ".txt"),  # 120 UTF-8 bytes, cut on a character
        ("report", "report"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_split_suffix_prefers_the_longest_allowed_suffix() -> None:
    assert split_suffix("Data.JSONL.gz", (".jsonl.gz", ".gz", ".jsonl")) == ("Data", ".jsonl.gz")
    assert split_suffix("notes.tar.bz2", (".txt",)) == ("notes.tar", ".bz2")
    assert split_suffix(".txt", (".txt",)) == (".txt", "")


def test_allow_list_comes_from_the_reader_table(tmp_path: Path) -> None:
    from ingest.readers import supported_suffixes

    assert set(ALLOWED_EXTENSIONS) == {s.lower() for s in supported_suffixes()}
    assert ALLOWED_EXTENSIONS.index(".jsonl.gz") < ALLOWED_EXTENSIONS.index(".jsonl")
    assert set(picker_types()) == set(ALLOWED_EXTENSIONS) | {".gz"}
    src = tmp_path / "in"
    src.mkdir()
    for name in ("Feed.JSONL.gz", "notes.tar.gz"):
        (src / name).write_bytes(b"\x1f\x8b")
    staged, rejected = stage_uploads([src / "Feed.JSONL.gz", src / "notes.tar.gz"], tmp_path / "up", 1024)
    assert [p.name for p in staged] == ["Feed.jsonl.gz"]
    assert [name for name, _ in rejected] == ["notes.tar.gz"]


def test_same_name_uploads_from_two_people_are_both_kept(tmp_path: Path) -> None:
    uploads = tmp_path / "home" / "uploads"
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    for d, body in ((alice, "Alice's report on the ferry."), (bob, "Bob's report on the bridge.")):
        d.mkdir()
        (d / "report.txt").write_text(body, encoding="utf-8")
    (staged_a,), _ = stage_uploads([alice / "report.txt"], uploads, max_bytes=1024)
    (staged_b,), _ = stage_uploads([bob / "report.txt"], uploads, max_bytes=1024)
    assert staged_a != staged_b and staged_a.name == staged_b.name == "report.txt"
    assert staged_a.read_text(encoding="utf-8") == "Alice's report on the ferry."
    assert staged_b.read_text(encoding="utf-8") == "Bob's report on the bridge."
    assert staged_a.parent.name == content_hash(alice / "report.txt") and len(staged_a.parent.name) == 12
    # the same bytes uploaded again land on the same path (ingest then reports them unchanged)
    (again,), _ = stage_uploads([alice / "report.txt"], uploads, max_bytes=1024)
    assert again == staged_a and staged_a.read_text(encoding="utf-8") == "Alice's report on the ferry."
    files = sorted(p.relative_to(uploads.resolve()).as_posix() for p in uploads.resolve().rglob("*") if p.is_file())
    assert files == sorted([f"{staged_a.parent.name}/report.txt", f"{staged_b.parent.name}/report.txt"])


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

    assert staged == [uploads.resolve() / content_hash(good) / "Kyiv_report.txt"]
    assert staged[0].read_text(encoding="utf-8") == "Some article text."
    reasons = dict(rejected)
    assert "unsupported file type" in reasons["payload.sh"]
    assert "too large" in reasons["big.md"]
    assert "unreadable" in reasons["missing.txt"]
    assert sorted(p.name for p in uploads.rglob("*") if p.is_file()) == ["Kyiv_report.txt"]


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
    with pytest.raises(QuestionProblem, match="19999 characters long; the limit is 2000"):
        clean_question("word " * 4000, shorten=False)  # the API refuses instead of cutting
    assert make_filters("All sources", "", " ") is None
    f = make_filters("Associated Press", "2024-01-01", "")
    assert f is not None and f.sources == ["Associated Press"] and str(f.since) == "2024-01-01"
    with pytest.raises(QuestionProblem, match="since"):
        make_filters("", "01/02/2024", "")
    with pytest.raises(QuestionProblem, match="after"):
        make_filters("", "2025-01-02", "2024-01-01")
    with pytest.raises(QuestionProblem, match="source is 400 characters"):
        make_filters("x" * 400, "", "")


@pytest.mark.parametrize("bad", ["2025-13-01", "2025-02-30", "2025-07-04T10:00", "2025-07-04garbage", "20250704",
                                 "-2025-07-04", "yesterday"])
def test_dates_must_be_exact_iso_days(bad: str) -> None:
    with pytest.raises(QuestionProblem, match=r"until must be a date like 2025-07-04 \(YYYY-MM-DD\)"):
        parse_day(bad, "until")
    with pytest.raises(QuestionProblem, match="as_of must be a date"):
        parse_as_of(bad)


def test_as_of_defaults_to_today() -> None:
    assert parse_as_of("") == parse_as_of(None) == date.today()
    assert parse_as_of(" 2025-05-07 ") == date(2025, 5, 7)


def test_top_k_is_bounded(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    assert max_top_k(s) == 50
    assert [parse_top_k(v, s) for v in (None, "", 0, "0", 1, "12", 12.0, 50)] == [None, None, None, None, 1, 12, 12, 50]
    for bad in (-1, 51, 10**9, 2.5, "ten", "1e400", True, float("nan")):
        with pytest.raises(QuestionProblem, match="top_k must be a whole number from 1 to 50"):
            parse_top_k(bad, s)
    big = Settings(home=tmp_path, retrieval={"top_k": 80})
    assert max_top_k(big) == 80 and parse_top_k(80, big) == 80


class IngestProblem(CitewireError):
    """Stands for the error classes of ingest/ (all CitewireError subclasses)."""


def test_every_citewire_error_shows_its_own_message() -> None:
    assert error_message(IngestProblem("notes.txt: not valid UTF-8 text (byte 3)")) == \
        "notes.txt: not valid UTF-8 text (byte 3)"
    assert error_message(BadQuestionError("question too long")) == "question too long"
    assert error_message(QuestionProblem("top_k must be ...")) == "top_k must be ..."
    assert error_message(EmptyStoreError("x")).startswith("No articles are ingested yet")
    assert error_message(RuntimeError("boom")).startswith("Unexpected error (RuntimeError): boom")


def test_backend_description_names_the_configured_model(tmp_path: Path) -> None:
    assert "llama.cpp" in backend_description(Settings(home=tmp_path))
    s = Settings(home=tmp_path, llm={"backend": "openai", "base_url": "http://127.0.0.1:8080/v1", "model": "qwen"})
    assert "qwen" in backend_description(s) and "http://127.0.0.1:8080/v1" in backend_description(s)
