"""The two test tiers: the whole suite (what CI runs) and the fast tier (``pytest -m "not slow"``, what a developer
runs on every change). conftest.py tells which one is running before any test module is imported."""

from __future__ import annotations

import os

FAST = os.environ.get("REPORTGEN_TEST_TIER") == "fast"


def examples(n: int) -> int:
    """Hypothesis examples of a property test: ``n`` in the whole suite, a tenth (at least 10) in the fast tier."""
    return max(10, n // 10) if FAST else n
