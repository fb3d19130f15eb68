"""1,000 malformed records among good ones: every good record ingested, every bad one reported
with its line, no crash. Deterministic (seeded)."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from citewire.settings import LLMSettings, Settings
from ingest import Ingestor

pytestmark = pytest.mark.slow

N_BAD, N_GOOD = 1000, 24


def _bad_record(rng: random.Random) -> bytes:
    """One malformed line (no trailing newline): wrong types, huge numbers, bad bytes, truncation..."""
    text = "A perfectly fine sentence about the harbour."
    kind = rng.randrange(16)
    wrong = rng.choice([5, -1.5, True, None, [1, 2], {"a": 1}, ["x", 3], [], {}])
    if kind == 0:
        rec = {"text": wrong if wrong is not None else 7}
    elif kind == 1:
        rec = {"text": text, "authors": rng.choice([5, 2.5, {"n": "x"}, ["ok", 3], [None], True])}
    elif kind == 2:
        rec = {"text": text, "published": rng.choice([1e20, -1e20, 10**30, True, [2024], {"y": 1}, 1e300])}
    elif kind == 3:
        rec = {"text": text, "title": rng.choice([{"a": 1}, [1], ["t"], {"t": None}])}
    elif kind == 4:
        rec = {"text": text, "id": rng.choice([[1], {"i": 2}, ["a"]])}
    elif kind == 5:
        rec = {"text": text, "url": rng.choice([[1], {"u": "x"}]), "source": "AP"}
    elif kind == 6:
        return b'{"text": "' + text.encode() + b'", "n": ' + b"9" * rng.randrange(4400, 9000) + b"}"
    elif kind == 7:
        d = rng.randrange(5_000, 50_000)
        return b'{"text": ' + b"[" * d + b"]" * d + b"}"
    elif kind == 8:
        return json.dumps({"text": text + " caf\u00e9"}).encode()[:-3] + rng.choice([b"\xe9\"}", b"\xff\xfe\"}", b"\xc3\"}"])
    elif kind == 9:
        line = json.dumps({"title": "Cut", "text": text * 3}).encode()
        return line[: rng.randrange(1, len(line) - 1)]
    elif kind == 10:
        return json.dumps(rng.choice([[1, 2], "a string", 42, None, [{"text": text}]])).encode()
    elif kind == 11:
        rec = {"text": rng.choice(["", "   ", "\n\t "]), "title": "blank"}
    elif kind == 12:
        rec = {"title": "no text at all", "body_missing": True}
    elif kind == 13:
        return b'{"text": NaN, "published": Infinity}' if rng.random() < 0.5 else b'{"text": "x", "published": NaN}'
    elif kind == 14:
        rec = {"text": "Advertisement\nShare this article\nBe first to comment"}  # nothing left after cleaning
    else:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).replace(b"\n", b" ") or b"\x00"
    return json.dumps(rec).encode()


def _good_record(i: int) -> bytes:
    return json.dumps({"id": f"good-{i}", "title": f"Harbour note {i}", "published": "2024-05-0" + str(1 + i % 9),
                       "authors": ["A. Writer"], "text": f"The harbour of Lumo{i}vik counted {100 + i} boats in May."}).encode()


def test_fuzzed_records(tmp_path, consistent):
    rng = random.Random(20241127)
    lines: list[tuple[bool, bytes]] = [(False, _bad_record(rng)) for _ in range(N_BAD)]
    lines += [(True, _good_record(i)) for i in range(N_GOOD)]
    rng.shuffle(lines)
    path = tmp_path / "fuzz.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\n".join(line for _, line in lines) + b"\n")
    bad_lines = {i + 1 for i, (good, _) in enumerate(lines) if not good}

    ing = Ingestor(Settings(home=tmp_path / "home", llm=LLMSettings(backend="none")))
    rep = ing.ingest([path])  # must not raise

    assert sorted(rep.added) == sorted(f"good-{i}" for i in range(N_GOOD))
    reported = {}
    for place, reason in rep.failed + rep.skipped:
        assert place.startswith(f"{path.resolve()}:"), place
        reported[int(place.rsplit(":", 1)[1])] = reason
    assert set(reported) == bad_lines  # every bad line reported once, with its line number
    assert all(reason.strip() for reason in reported.values())
    assert consistent(ing)[0] == N_GOOD
