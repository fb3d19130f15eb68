import gzip
import json

import pytest

from ingest.readers import FieldMap, ReadError, read_path


def read_all(path, **kw):
    return list(read_path(path, **kw))


def test_text_with_front_matter(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("---\ntitle: Big news\nsource: AP\npublished: 2025-07-04\n---\nBody text here.\n")
    [a] = read_all(p)
    assert (a.title, a.source, a.published, a.text.strip()) == ("Big news", "AP", "2025-07-04", "Body text here.")


def test_text_first_line_headline(tmp_path):
    p = tmp_path / "b.txt"
    p.write_text("Kyiv under attack\nDrones hit the city overnight.\n")
    [a] = read_all(p)
    assert a.title == "Kyiv under attack" and "Drones hit" in a.text and "Kyiv under attack" not in a.text


def test_html_via_trafilatura(tmp_path):
    body = "<p>" + "The council voted on Tuesday to expand the tram network across the city. " * 8 + "</p>"
    html = f"""<html><head><title>Tram vote</title><meta name="author" content="Jane Roe">
    <meta property="article:published_time" content="2024-03-05"></head>
    <body><nav>Home | News</nav><article><h1>Council backs trams</h1>{body}</article></body></html>"""
    p = tmp_path / "c.html"
    p.write_text(html)
    [a] = read_all(p)
    assert "tram network" in a.text and "Home | News" not in a.text
    assert a.published == "2024-03-05"


def test_jsonl_gz_with_realtimeqa_fields_and_a_bad_line(tmp_path):
    p = tmp_path / "d.jsonl.gz"
    rows = [json.dumps({"id": "x1", "url": "http://e/1", "title": "T1", "publish_date": "2024/01/05",
                        "authors": ["A B"], "text": "Text one."}), "{not json", json.dumps({"title": "no text"})]
    with gzip.open(p, "wt") as fh:
        fh.write("\n".join(rows))
    out = read_all(p)
    assert out[0].id == "x1" and out[0].published == "2024-01-05" and out[0].authors == ("A B",)
    assert isinstance(out[1], ReadError) and "malformed JSON line" in out[1].reason and out[1].origin.endswith(":2")
    assert isinstance(out[2], ReadError) and "no text field" in out[2].reason


def test_field_mapping(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text(json.dumps({"body": "Hello world.", "pubDate": "2023-02-01"}) + "\n")
    [a] = read_all(p, fields=FieldMap.parse("text=body,published=pubDate"))
    assert a.text == "Hello world." and a.published == "2023-02-01"
    with pytest.raises(ValueError, match="valid are"):
        FieldMap.parse("bogus=x")


@pytest.mark.parametrize("name,content,reason", [
    ("empty.txt", b"", "empty file"),
    ("bin.txt", b"\x00\x01\x02abc", "binary file"),
    ("latin.txt", "caf\xe9 au lait".encode("latin-1"), "not valid UTF-8"),
    ("x.docx", b"PK\x03\x04", "unsupported file type"),
])
def test_bad_files_give_specific_reasons(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content)
    [err] = read_all(p)
    assert isinstance(err, ReadError) and reason in err.reason and name in str(err)


def test_too_large(tmp_path):
    p = tmp_path / "big.txt"
    p.write_bytes(b"a" * 2048)
    [err] = read_all(p, max_bytes=1024)
    assert isinstance(err, ReadError) and "too large" in err.reason


def test_gzip_bomb_is_stopped_at_the_decompressed_cap(tmp_path):
    p = tmp_path / "bomb.jsonl.gz"
    good = json.dumps({"id": "ok", "text": "A real article."}) + "\n"
    with gzip.open(p, "wt", compresslevel=9) as fh:
        fh.write(good)
        fh.write(json.dumps({"text": "x" * (50 * 2**20)}) + "\n")  # one 50 MB line
    assert p.stat().st_size < 100 * 1024  # a ~51 KB file
    out = read_all(p, max_bytes=20 * 2**20)
    assert [a.id for a in out if not isinstance(a, ReadError)] == ["ok"]
    [err] = [e for e in out if isinstance(e, ReadError)]
    assert "decompressed size exceeds the 20 MB limit at line 2" in err.reason and "1 record(s) before it" in err.reason


def test_jsonl_is_streamed_not_read_whole(tmp_path):
    import tracemalloc

    p = tmp_path / "big.jsonl"
    line = json.dumps({"text": "Word " * 2000}) + "\n"  # 10 KB a line
    with open(p, "w") as fh:
        for _ in range(2000):  # 20 MB
            fh.write(line)
    tracemalloc.start()
    n = 0
    for item in read_path(p, max_bytes=64 * 2**20):
        assert not isinstance(item, ReadError)
        n += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 2000 and peak < 2 * 2**20  # a few lines' worth, not the file's 20 MB


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    p = tmp_path / "cut.jsonl.gz"
    with gzip.open(p, "wt") as fh:
        for i in range(200):
            fh.write(json.dumps({"id": f"r{i}", "text": f"Article number {i} " * 20}) + "\n")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    out = read_all(p)
    good = [a for a in out if not isinstance(a, ReadError)]
    errs = [e for e in out if isinstance(e, ReadError)]
    assert 0 < len(good) < 200 and len(errs) >= 1
    assert "cannot read past line" in errs[-1].reason or "malformed JSON line" in errs[-1].reason


@pytest.mark.parametrize("record,reason", [
    ({"text": "t", "authors": 5}, "'authors' must be a string or a list of strings, got int"),
    ({"text": "t", "authors": ["A", 3, None]}, "a list holding NoneType, int"),
    ({"text": "t", "published": 1e20}, "'published': 1e+20 is not a valid Unix timestamp"),
    ({"text": "t", "published": {"y": 2024}}, "'published': expected a date string"),
    ({"text": "t", "title": {"a": 1}}, "'title' must be a string, got dict"),
    ({"text": ["a", "b"]}, "'text' must be a string, got list"),
    ({"text": "   "}, "'text' is blank"),
    ({"text": "t", "id": [1]}, "'id' must be a string, got list"),
    ([1, 2], "expected a JSON object, got list"),
])
def test_bad_records_name_the_field(tmp_path, record, reason):
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps({"text": "fine"}) + "\n" + json.dumps(record) + "\n")
    out = read_all(p)
    assert out[0].text == "fine"
    assert isinstance(out[1], ReadError) and reason in out[1].reason and out[1].origin.endswith(":2")


@pytest.mark.parametrize("line,reason", [
    (b'{"text": "t", "n": ' + b"9" * 5000 + b"}", "malformed JSON line"),
    (b"[" * 100_000 + b"]" * 100_000, "malformed JSON line"),
    (b'{"text": "caf\xe9"}', "not valid UTF-8"),
    (b'{"text": "trunc', "malformed JSON line"),
])
def test_lines_that_break_the_json_parser_are_reported(tmp_path, line, reason):
    p = tmp_path / "l.jsonl"
    p.write_bytes(line + b"\n" + json.dumps({"text": "fine"}).encode() + b"\n")
    out = read_all(p)
    assert isinstance(out[0], ReadError) and reason in out[0].reason and out[0].origin.endswith(":1")
    assert out[1].text == "fine"


def test_lone_surrogates_become_replacement_characters(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text('{"text": "bad \\ud800 escape", "title": "t\\udfff"}\n')
    [a] = read_all(p)
    assert a.text == "bad \ufffd escape" and a.title == "t\ufffd"
    a.text.encode("utf-8")


def test_reader_table():
    from pathlib import Path

    from ingest.readers import reader_for, supported_suffixes

    sfx = supported_suffixes()
    assert {".txt", ".md", ".html", ".json", ".jsonl", ".jsonl.gz", ".pdf"} <= set(sfx)
    assert reader_for(Path("a.JSONL.GZ")) is reader_for(Path("b.jsonl"))
    assert reader_for(Path("a.tar.gz")) is None and reader_for(Path(".jsonl")) is None
