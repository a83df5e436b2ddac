"""`MempError`: the one base of errors a user causes with input (config, files, run directories)."""

from __future__ import annotations

import sys


class MempError(Exception):
    """A user error: the CLI prints its one-line message on stderr and exits 2 (no traceback)."""


def one_line(message: object) -> str:
    """The message with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(message).split())


def fail(message: object, code: int = 2) -> None:
    """Print `error: <message>` as one line on stderr and exit with `code` (2: a user error)."""
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
    raise SystemExit(code)
