"""A test-only hook that kills the process at a chosen ingest phase (fault-injection tests).

Set ``CITEWIRE_FAULT=<phase>`` (or ``<phase>:<n>`` for the n-th time the phase is reached, 1-based)
in a process's environment and it SIGKILLs itself right there, exactly as a power cut or an
OOM kill would. Phases, in the order a batch reaches them:

- ``pending``: the batch's ids are committed to the pending intent log, nothing else written;
- ``vectors``: between two Chroma upserts of one batch (half its vectors written);
- ``commit``: all vectors written, the SQLite transaction not yet committed;
- ``bm25_swap``: the new BM25 index is written to its folder, the pointer not yet swapped.

Unset (always, outside tests) it costs one dictionary lookup per call.

Example:
    >>> fault_point("pending")      # returns at once unless CITEWIRE_FAULT names this phase
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Literal

log = logging.getLogger(__name__)

Phase = Literal["pending", "vectors", "commit", "bm25_swap"]
PHASES: tuple[Phase, ...] = ("pending", "vectors", "commit", "bm25_swap")
_hits: dict[str, int] = {}


def fault_point(phase: Phase) -> None:
    """Kill this process with SIGKILL if ``CITEWIRE_FAULT`` names `phase` (and its count is reached)."""
    spec = os.environ.get("CITEWIRE_FAULT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name not in PHASES:
        raise ValueError(f"CITEWIRE_FAULT={spec!r}: unknown phase {name!r} (valid: {', '.join(PHASES)})")
    if name != phase:
        return
    _hits[phase] = _hits.get(phase, 0) + 1
    if _hits[phase] >= int(nth or 1):
        log.warning("CITEWIRE_FAULT=%s: killing process %d", spec, os.getpid())
        os.kill(os.getpid(), signal.SIGKILL)
