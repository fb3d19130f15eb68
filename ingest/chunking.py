"""Sentence-aligned chunking sized to the embedder, so nothing is silently truncated.

Sentences are packed greedily until the next one would push the chunk past `max_tokens` word
pieces; the last `overlap` sentences are repeated at the start of the next chunk. A single
sentence longer than the limit is cut at token boundaries (preferring whitespace).

Example:
    >>> chunks = chunk_article("a1", text, spans, counter, max_tokens=200, overlap=1)
    >>> all(text[c.start:c.end] == c.text for c in chunks)
    True
"""

from __future__ import annotations

from collections.abc import Callable

from .types import Chunk, Span

TokenCounter = Callable[[list[str]], list[int]]


def _split_long(text: str, span: Span, n_tokens: int, max_tokens: int, counter: TokenCounter) -> list[Span]:
    """Cut one over-long sentence into pieces of at most `max_tokens` word pieces."""
    pieces: list[Span] = []
    start = span.start
    while start < span.end:
        # Binary search the longest prefix (ending at whitespace where possible) that fits.
        lo, hi = start + 1, span.end
        best = lo
        while lo <= hi:
            mid = (lo + hi) // 2
            if counter([text[start:mid]])[0] <= max_tokens:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        end = best
        if end < span.end:
            ws = text.rfind(" ", start + 1, end)
            if ws > start + (end - start) // 2:
                end = ws
        piece = text[start:end]
        stripped = len(piece) - len(piece.rstrip())
        pieces.append(Span(start, end - stripped))
        start = end
        while start < span.end and text[start].isspace():
            start += 1
    return pieces


def chunk_article(
    article_id: str,
    text: str,
    sentences: list[Span],
    counter: TokenCounter,
    max_tokens: int = 200,
    overlap: int = 1,
) -> list[Chunk]:
    """Chunks of `text` made of whole sentences, each within `max_tokens` word pieces."""
    if not sentences:
        return []
    counts = counter([text[s.start:s.end] for s in sentences])
    units: list[tuple[Span, int]] = []
    for sp, n in zip(sentences, counts):
        if n > max_tokens:
            for piece in _split_long(text, sp, n, max_tokens, counter):
                units.append((piece, counter([text[piece.start:piece.end]])[0]))
        else:
            units.append((sp, n))

    # Joining whitespace adds no word pieces, so a chunk's count is the sum of its units'.
    groups: list[list[int]] = []
    cur: list[int] = []
    cur_tokens = 0
    for i, (_, n) in enumerate(units):
        if cur and cur_tokens + n > max_tokens:
            groups.append(cur)
            keep = cur[-overlap:] if overlap else []
            while keep and sum(units[j][1] for j in keep) + n > max_tokens:
                keep = keep[1:]
            cur = list(keep)
            cur_tokens = sum(units[j][1] for j in cur)
        cur.append(i)
        cur_tokens += n
    if cur:
        groups.append(cur)

    chunks: list[Chunk] = []
    for idx, g in enumerate(groups):
        start, end = units[g[0]][0].start, units[g[-1]][0].end
        chunks.append(Chunk(id=f"{article_id}:{idx}", article_id=article_id, idx=idx, start=start, end=end, text=text[start:end]))
    return chunks
