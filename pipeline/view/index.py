"""Byte-offset index of an append-only JSONL log, extended incrementally as the file grows."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

R = TypeVar("R")
CHUNK = 1 << 20


class JsonlIndex(Generic[R]):
    """Offsets of complete lines plus one small row per line, built by `summarize(line)`.

    A line without its newline (a writer mid-append, or a torn tail) is not indexed until it is
    complete. A file that shrank or was replaced is indexed again from the start.
    """

    def __init__(self, path: Path, summarize: Callable[[int, bytes], R]) -> None:
        self.path = path
        self.summarize = summarize
        self.offsets: list[int] = []
        self.rows: list[R] = []
        self.scanned = 0  # bytes indexed: the end of the last complete line
        self._ident: tuple[int, int] | None = None  # (device, inode) of the indexed file
        self.generation = 0  # bumped on every change, so derived views know to rebuild
        self.resets = 0  # bumped when the file shrank or was replaced: derived state is stale

    def refresh(self) -> bool:
        """Index lines appended since the last call; True when anything changed."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if not self.offsets:
                return False
            self._reset(None)
            return True
        ident = (st.st_dev, st.st_ino)
        reset = ident != self._ident or st.st_size < self.scanned
        if reset:
            self._reset(ident)
        if st.st_size == self.scanned:
            return reset and self.generation > 1
        before = len(self.offsets)
        with self.path.open("rb") as fh:
            fh.seek(self.scanned)
            pending = b""
            pos = self.scanned
            while True:
                block = fh.read(CHUNK)
                if not block:
                    break
                data = pending + block
                start = 0
                while True:
                    end = data.find(b"\n", start)
                    if end < 0:
                        break
                    line = data[start:end]
                    if line.strip():
                        self.offsets.append(pos + start)
                        self.rows.append(self.summarize(len(self.rows), line))
                    start = end + 1
                pos += start
                pending = data[start:]
        self.scanned = pos
        changed = len(self.offsets) != before
        if changed:
            self.generation += 1
        return changed or (reset and self.generation > 1)

    def _reset(self, ident: tuple[int, int] | None) -> None:
        self.offsets, self.rows, self.scanned, self._ident = [], [], 0, ident
        self.generation += 1
        self.resets += 1

    def __len__(self) -> int:
        return len(self.offsets)

    def line(self, i: int) -> bytes:
        """The i-th complete line, read from disk (only its bytes)."""
        start = self.offsets[i]
        with self.path.open("rb") as fh:
            fh.seek(start)
            return fh.readline().rstrip(b"\n")
