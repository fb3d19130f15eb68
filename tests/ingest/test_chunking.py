import pytest

from ingest.chunking import chunk_article
from ingest.embed import max_tokens, token_counts
from ingest.sentences import split_sentences


@pytest.fixture(scope="module")
def counter(embedder):
    return lambda xs: token_counts(embedder, xs)


def test_chunks_are_sentence_aligned_and_within_the_encoder_limit(embedder, counter):
    text = " ".join(f"Sentence number {i} talks about drones, missiles and the city of Kyiv in detail." for i in range(60))
    spans = split_sentences(text)
    chunks = chunk_article("a", text, spans, counter, max_tokens=100, overlap=1)
    assert len(chunks) > 5
    starts = {s.start for s in spans}
    ends = {s.end for s in spans}
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert c.start in starts and c.end in ends
        assert counter([c.text])[0] <= 100
        assert embedder.tokenizer(c.text, truncation=False)["input_ids"].__len__() <= max_tokens(embedder) + 2
    # one sentence of overlap between neighbours
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end


def test_overlong_sentence_is_split_not_truncated(counter):
    text = "word " * 600 + "end."
    text = text.strip()
    spans = split_sentences(text)
    chunks = chunk_article("b", text, spans, counter, max_tokens=50, overlap=0)
    assert len(chunks) >= 12
    assert all(counter([c.text])[0] <= 50 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    covered = "".join(text[c.start:c.end] for c in chunks).replace(" ", "")
    assert covered == text.replace(" ", "")


def test_empty_article_has_no_chunks(counter):
    assert chunk_article("c", "", [], counter) == []
