"""What an ingest run did: `IngestReport`.

Example:
    >>> report = Ingestor(settings).ingest([Path("news/")])
    >>> print(report.summary())
    added 12, updated 0, unchanged 3, removed 0, skipped 1, failed 0 (214 chunks embedded)
    >>> report.skipped
    [('news/dup.json#0', 'article 5f2c... was ingested from news/a.md: not replaced (use --replace)')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# reasons that mean "nothing to ingest here" rather than "something is wrong with it"
SKIP_REASONS = ("empty file", "unsupported file type", "file too large")


@dataclass
class IngestReport:
    """Per-article outcome lists of one run. `ok` is False only when nothing could be ingested.

    `skipped` and `failed` hold ``(place, reason)``: the place is the file, ``file:line`` (JSON
    Lines) or ``file#index`` (a JSON array)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    recovered: list[str] = field(default_factory=list)  # interrupted articles undone before this run

    @property
    def ok(self) -> bool:
        return bool(self.added or self.updated or self.unchanged or self.removed) or not (self.skipped or self.failed)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.recovered)

    def summary(self) -> str:
        return (f"added {len(self.added)}, updated {len(self.updated)}, unchanged {len(self.unchanged)}, "
                f"removed {len(self.removed)}, skipped {len(self.skipped)}, failed {len(self.failed)} "
                f"({self.chunks} chunks embedded)")

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
                "skipped": [list(x) for x in self.skipped], "failed": [list(x) for x in self.failed],
                "chunks": self.chunks, "recovered": self.recovered}
