"""Metadata filters for retrieval: source(s) and a published-date range.

Example:
    >>> Filters(source="Associated Press", since="2025-07-01").chroma_where()
    {'$and': [{'source': {'$in': ['Associated Press']}}, {'published_ts': {'$gte': 1751328000}}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


def _to_date(v: Any, name: str) -> date | None:
    if v in (None, ""):
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v).strip()[:10])
    except ValueError:
        raise ValueError(f"{name} must be a date like 2025-07-04, got {v!r}") from None


def _epoch(d: date, end_of_day: bool = False) -> int:
    ts = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
    return ts + 86399 if end_of_day else ts


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some sources and/or a date range (inclusive, ISO dates)."""

    source: str | tuple[str, ...] | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def coerce(cls, value: Filters | dict[str, Any] | None) -> Filters:
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return cls(value.source, _to_date(value.since, "since"), _to_date(value.until, "until"))
        unknown = set(value) - {"source", "since", "until"}
        if unknown:
            raise ValueError(f"unknown filter(s) {sorted(unknown)}: valid are source, since, until")
        src = value.get("source") or None
        if isinstance(src, list):
            src = tuple(src)
        f = cls(src, _to_date(value.get("since"), "since"), _to_date(value.get("until"), "until"))
        if f.since and f.until and f.since > f.until:
            raise ValueError(f"since ({f.since}) is after until ({f.until})")
        return f

    @property
    def sources(self) -> list[str]:
        if not self.source:
            return []
        return [self.source] if isinstance(self.source, str) else list(self.source)

    @property
    def since_ts(self) -> int | None:
        return _epoch(self.since) if self.since else None

    @property
    def until_ts(self) -> int | None:
        return _epoch(self.until, end_of_day=True) if self.until else None

    def is_empty(self) -> bool:
        return not (self.sources or self.since or self.until)

    def chroma_where(self) -> dict[str, Any] | None:
        conds: list[dict[str, Any]] = []
        if self.sources:
            conds.append({"source": {"$in": self.sources}})
        if self.since_ts is not None:
            conds.append({"published_ts": {"$gte": self.since_ts}})
        if self.until_ts is not None:
            conds.append({"published_ts": {"$lte": self.until_ts}})
            conds.append({"published_ts": {"$gt": 0}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}

