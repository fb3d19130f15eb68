"""`citewire eval` argument handling that needs no store."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from citewire.settings import Settings
from evals.cli import add_arguments, default_out, list_suites, main


def test_list_and_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--home", str(tmp_path), "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("seed", "jsonl", "realtimeqa", "clapnq"))
    assert main(["--home", str(tmp_path), "jsonl"]) == 2  # no --data
    assert "needs --data" in capsys.readouterr().err
    assert main(["--home", str(tmp_path), "seed", "--compare", "--extractive"]) == 2
    assert main(["--home", str(tmp_path)]) == 2


def test_add_arguments_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["realtimeqa", "--data", "d", "--weeks", "3", "--limit", "10", "--multiple-choice"])
    assert (args.suite, args.engine, args.seed, args.compare) == ("realtimeqa", "citewire", 0, False)
    assert args.weeks == "3" and args.limit == 10 and args.multiple_choice
    with pytest.raises(SystemExit):
        parser.parse_args(["nosuch"])


def test_default_out_is_new_and_under_home(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    a = default_out(s, "seed")
    assert a.parent == tmp_path / "evals" and a.name.endswith("-seed")
    a.mkdir(parents=True)
    assert default_out(s, "seed") != a
    assert list_suites().splitlines()[0].startswith("seed")


def test_mounted_in_the_citewire_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from citewire.cli import main as citewire_main

    assert citewire_main(["--home", str(tmp_path), "eval", "--list"]) == 0
    assert "realtimeqa" in capsys.readouterr().out
    assert citewire_main(["--home", str(tmp_path), "eval", "clapnq", "--data", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
