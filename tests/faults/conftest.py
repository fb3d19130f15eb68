"""The fault-injection suite's helpers live in fault_helpers.py (importable as a plain module)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
