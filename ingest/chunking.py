"""Sentence-aligned chunking sized to the embedder, so nothing is silently truncated.

Sentences are packed greedily until the next one would push the chunk past `max_tokens` word
pieces; the last `overlap` sentences are repeated at the start of the next chunk. A sentence
longer than the limit is cut into pieces at word-piece boundaries (preferring whitespace), in
linear time: each window of it is tokenised once with offsets, never prefix by prefix.

Every text is tokenised once: each chunk carries the word-piece ids of its sentences
(`Chunk.token_ids`), which the embedder takes as they are (`Embedder.encode_tokens`).

Example:
    >>> chunks = chunk_article("a1", text, spans, embedder, max_tokens=200, overlap=1)
    >>> all(text[c.start:c.end] == c.text for c in chunks)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .types import Chunk, Span

LONG_CHARS = 20_000  # a sentence longer than this is split window by window, never tokenised whole
WINDOW_CHARS = 20_000


class WordPieces(Protocol):
    """What chunking needs from a tokenizer (`ingest.embed.Embedder` is one)."""

    composes: bool  # whitespace-joined texts tokenise to the concatenation of their ids

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]: ...

    def token_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]: ...


@dataclass
class _Unit:
    """A sentence, or a piece of an over-long one, with its word pieces (None: not known exactly)."""

    span: Span
    ids: list[int] | None


def _window_end(text: str, start: int, end: int) -> int:
    """End of the window starting at `start`: at most WINDOW_CHARS on, cut at whitespace if any."""
    if end - start <= WINDOW_CHARS:
        return end
    limit = start + WINDOW_CHARS
    ws = max(text.rfind(" ", start + WINDOW_CHARS // 2, limit), text.rfind("\n", start + WINDOW_CHARS // 2, limit))
    return ws if ws > start else limit


def split_long(text: str, span: Span, pieces: WordPieces, max_tokens: int) -> list[_Unit]:
    """Cut the sentence at `span` into pieces of at most `max_tokens` word pieces (linear time).

    A piece ends at a word-piece boundary, at whitespace where one lies in the second half of the
    piece. Pieces cut inside a word get `ids=None` (their count is re-measured by `_fit`)."""
    out: list[_Unit] = []
    pos = span.start
    while pos < span.end:
        wend = _window_end(text, pos, span.end)
        ids, offs = pieces.token_offsets(text[pos:wend])
        if not ids:
            pos = wend
            continue
        n, i = len(ids), 0
        while i < n:
            j = min(i + max_tokens, n)
            if j == n and wend < span.end and i > 0:
                break  # the window's tail: start the next window there, so no piece ends at a window cut
            if j < n:  # prefer a boundary with whitespace before the next piece
                for k in range(j, i + max(1, (j - i) // 2), -1):
                    if offs[k][0] > offs[k - 1][1]:
                        j = k
                        break
            clean_left = (offs[i][0] > offs[i - 1][1] if i > 0
                          else pos == span.start or text[pos - 1].isspace())
            clean_right = (offs[j][0] > offs[j - 1][1] if j < n
                           else wend == span.end or text[wend].isspace())
            piece = Span(pos + offs[i][0], pos + offs[j - 1][1])
            out.append(_Unit(piece, ids[i:j] if clean_left and clean_right else None))
            i = j
        pos = wend if i >= n else pos + offs[i][0]
        while pos < span.end and text[pos].isspace():
            pos += 1
    return out


def _fit(text: str, units: list[_Unit], pieces: WordPieces, max_tokens: int) -> list[_Unit]:
    """Measure the pieces cut inside a word (one batch) and re-cut any that came out too long."""
    for _ in range(8):
        unknown = [u for u in units if u.ids is None]
        if not unknown:
            return units
        for u, ids in zip(unknown, pieces.token_ids([text[u.span.start:u.span.end] for u in unknown]), strict=True):
            u.ids = ids
        fitted: list[_Unit] = []
        for u in units:
            assert u.ids is not None
            if len(u.ids) <= max_tokens:
                fitted.append(u)
            else:
                fitted.extend(split_long(text, u.span, pieces, max(1, max_tokens - (len(u.ids) - max_tokens) - 1)))
        units = fitted
    raise RuntimeError("could not cut an over-long sentence into pieces within the token limit")


def _units(text: str, sentences: list[Span], pieces: WordPieces, max_tokens: int) -> list[_Unit]:
    short = [s for s in sentences if s.end - s.start <= LONG_CHARS]
    ids_of = dict(zip(short, pieces.token_ids([text[s.start:s.end] for s in short]), strict=True))
    units: list[_Unit] = []
    for sp in sentences:
        ids = ids_of.get(sp)
        if ids is not None and len(ids) <= max_tokens:
            units.append(_Unit(sp, ids))
        else:
            units.extend(split_long(text, sp, pieces, max_tokens))
    return _fit(text, units, pieces, max_tokens)


def _joins(text: str, a: _Unit, b: _Unit) -> bool:
    """Whether `b` may follow `a` in one chunk: only across whitespace (so counts and ids add up)."""
    gap = text[a.span.end:b.span.start]
    return bool(gap) and gap.isspace()


def chunk_article(
    article_id: str,
    text: str,
    sentences: list[Span],
    pieces: WordPieces,
    max_tokens: int = 200,
    overlap: int = 1,
) -> list[Chunk]:
    """Chunks of `text` made of whole sentences, each within `max_tokens` word pieces."""
    if not sentences:
        return []
    units = _units(text, sentences, pieces, max_tokens)
    size = [len(u.ids or ()) for u in units]

    # Joining across whitespace adds no word pieces, so a chunk's count is the sum of its units'.
    groups: list[list[int]] = []
    cur: list[int] = []
    cur_tokens = 0
    for i, n in enumerate(size):
        broken = bool(cur) and not _joins(text, units[cur[-1]], units[i])
        if cur and (broken or cur_tokens + n > max_tokens):
            groups.append(cur)
            keep = cur[-overlap:] if overlap and not broken else []
            while keep and sum(size[j] for j in keep) + n > max_tokens:
                keep = keep[1:]
            cur = list(keep)
            cur_tokens = sum(size[j] for j in cur)
        cur.append(i)
        cur_tokens += n
    if cur:
        groups.append(cur)

    chunks: list[Chunk] = []
    for idx, g in enumerate(groups):
        start, end = units[g[0]].span.start, units[g[-1]].span.end
        ids = tuple(t for j in g for t in units[j].ids or ()) if pieces.composes else None
        chunks.append(Chunk(id=f"{article_id}:{idx}", article_id=article_id, idx=idx, start=start, end=end,
                            text=text[start:end], token_ids=ids))
    return chunks
