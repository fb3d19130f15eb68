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
