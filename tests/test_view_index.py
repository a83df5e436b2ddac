"""The viewer's JSONL index: byte offsets, incremental growth, torn tails, replaced files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline.view.index import JsonlIndex


def _first_key(n: int, line: bytes) -> tuple[int, int]:
    return n, json.loads(line)["i"]


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def test_index_grows_incrementally_and_reads_lines_by_offset(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    index = JsonlIndex(path, _first_key)
    assert not index.refresh() and len(index) == 0  # no file yet
    _append(path, "".join(json.dumps({"i": i, "pad": "x" * i}) + "\n" for i in range(3)))
    assert index.refresh()
    assert [r[1] for r in index.rows] == [0, 1, 2]
    assert not index.refresh()  # nothing new: no re-read
    generation = index.generation
    _append(path, json.dumps({"i": 3}) + "\n\n" + json.dumps({"i": 4}) + "\n")
    assert index.refresh() and index.generation > generation
    assert [r for r in index.rows] == [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]
    assert json.loads(index.line(4)) == {"i": 4}
    assert json.loads(index.line(1))["pad"] == "x"


def test_partial_last_line_waits_until_complete(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps({"i": 0}) + "\n" + '{"i": 1, "half')
    index = JsonlIndex(path, _first_key)
    index.refresh()
    assert len(index) == 1
    _append(path, '": true}\n')
    index.refresh()
    assert [r[1] for r in index.rows] == [0, 1]
    assert json.loads(index.line(1)) == {"i": 1, "half": True}


def test_lines_longer_than_a_read_chunk(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("pipeline.view.index.CHUNK", 16)
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps({"i": i, "pad": "y" * 40}) + "\n" for i in range(5)))
    index = JsonlIndex(path, _first_key)
    index.refresh()
    assert [r[1] for r in index.rows] == list(range(5))
    assert json.loads(index.line(3))["i"] == 3


def test_replaced_or_truncated_file_is_indexed_again(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(4)))
    index = JsonlIndex(path, _first_key)
    index.refresh()
    resets = index.resets
    fresh = tmp_path / "new.jsonl"
    fresh.write_text(json.dumps({"i": 9}) + "\n")
    os.replace(fresh, path)
    assert index.refresh()
    assert [r[1] for r in index.rows] == [9] and index.resets == resets + 1
    path.write_text("")
    assert index.refresh() and len(index) == 0
    assert not index.refresh()
