"""Progress reporting for long commands (printed to stderr, UI-free)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

ProgressFn = Callable[[str, float | None], None]


class Progress:
    """Print timestamped progress lines: ``[  12.3 s] message (45 %)``.

    Parameters
    ----------
    stream : file-like
        Where to print (stderr by default).
    quiet : bool
        Print nothing.
    """

    def __init__(self, stream=None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since creation."""
        return time.perf_counter() - self.start

    def __call__(self, message: str, fraction: float | None = None) -> None:
        if self.quiet:
            return
        pct = f" ({fraction * 100:.0f} %)" if fraction is not None else ""
        print(f"[{self.elapsed():7.1f} s] {message}{pct}", file=self.stream, flush=True)


def silent(message: str, fraction: float | None = None) -> None:
    """A progress callback that prints nothing."""
