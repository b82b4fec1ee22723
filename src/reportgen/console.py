"""What reportgen prints while it works: one function for every progress and warning line (stderr)."""

from __future__ import annotations

import sys


def say(msg: str) -> None:
    """One line on stderr, flushed at once (the workflow's log interleaves several processes)."""
    print(msg, file=sys.stderr, flush=True)
