import time

import numpy as np
import pytest

from ingest.chunking import chunk_article, split_long
from ingest.sentences import split_sentences
from ingest.types import Span


class CountingPieces:
    """The real embedder's tokenizer, counting how many characters it is asked to tokenise."""

    def __init__(self, embedder):
        self.e, self.chars, self.composes = embedder, 0, embedder.composes

    def token_ids(self, texts):
        self.chars += sum(len(t) for t in texts)
        return self.e.token_ids(texts)

    def token_offsets(self, text):
        self.chars += len(text)
        return self.e.token_offsets(text)


def test_chunks_are_sentence_aligned_and_within_the_encoder_limit(embedder):
    text = " ".join(f"Sentence number {i} talks about drones, missiles and the city of Kyiv in detail." for i in range(60))
    spans = split_sentences(text)
    chunks = chunk_article("a", text, spans, embedder, max_tokens=100, overlap=1)
    assert len(chunks) > 5
    starts = {s.start for s in spans}
    ends = {s.end for s in spans}
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert c.start in starts and c.end in ends
        # the ids chunking carries are exactly what the tokenizer makes of the chunk text
        assert list(c.token_ids) == embedder.token_ids([c.text])[0]
        assert len(c.token_ids) <= 100
    # one sentence of overlap between neighbours
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end


def test_overlong_sentence_is_split_not_truncated(embedder):
    text = ("word " * 600 + "end.").strip()
    spans = split_sentences(text)
    chunks = chunk_article("b", text, spans, embedder, max_tokens=50, overlap=0)
    assert len(chunks) >= 12
    assert all(embedder.count_tokens([c.text])[0] <= 50 for c in chunks)
    assert all(list(c.token_ids) == embedder.token_ids([c.text])[0] for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    covered = "".join(text[c.start:c.end] for c in chunks).replace(" ", "")
    assert covered == text.replace(" ", "")


def test_pieces_cut_inside_a_word_are_remeasured(embedder):
    # no whitespace anywhere: every cut falls between word pieces of one "word"
    text = "-".join(f"x{i}y" for i in range(3000))
    chunks = chunk_article("c", text, [Span(0, len(text))], embedder, max_tokens=64, overlap=1)
    assert len(chunks) > 10
    assert all(embedder.count_tokens([c.text])[0] <= 64 for c in chunks)
    assert "".join(c.text for c in chunks) == text  # contiguous, nothing lost, no overlap across cuts


def test_splitting_a_long_unpunctuated_text_is_linear(embedder):
    """Tokenised characters grow with the text (not with its square): 8x the text, <~9x the work."""
    small, big = ("lorem ipsum dolor " * 6_000).strip(), ("lorem ipsum dolor " * 48_000).strip()
    work = []
    for text in (small, big):
        pieces = CountingPieces(embedder)
        units = split_long(text, Span(0, len(text)), pieces, 200)
        assert all(len(u.ids) <= 200 for u in units if u.ids is not None)
        work.append(pieces.chars / len(text))
    assert work[1] < 1.2 and work[1] < work[0] * 1.1


def test_a_megabyte_sentence_chunks_in_seconds(embedder):
    text = ("unpunctuated words keep coming without a full stop " * 20_000).strip()  # ~1 MB
    t = time.perf_counter()
    chunks = chunk_article("d", text, [Span(0, len(text))], embedder, max_tokens=200, overlap=1)
    elapsed = time.perf_counter() - t
    assert sum(len(c.token_ids) for c in chunks) == pytest.approx(len(embedder.token_ids([text])[0]), rel=0.01)
    assert elapsed < 30, elapsed  # the prefix-bisecting splitter took hours on 20 MB


def test_encode_tokens_equals_encode(embedder):
    texts = ["Drones hit Kyiv overnight.", "The council approved a budget of 4 million dollars on Monday. " * 5, "Café"]
    a = embedder.encode(texts)
    b = embedder.encode_tokens(texts, embedder.token_ids(texts))
    c = embedder.encode_tokens(texts, [None, None, None])
    assert np.abs(a - b).max() < 1e-5 and np.abs(a - c).max() < 1e-5


def test_empty_article_has_no_chunks(embedder):
    assert chunk_article("c", "", [], embedder) == []
