"""The README's Layout section names every package and top-level directory in git, and no other."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _layout_dirs() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Layout\n", 1)[1].split("```", 2)[1]
    found: set[str] = set()
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        m = re.match(r"^( *)([\w.]+)/\s", line + " ")
        if not m:
            continue
        depth = len(m.group(1))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        path = f"{stack[-1][1]}/{m.group(2)}" if stack else m.group(2)
        found.add(path)
        stack.append((depth, path))
    return found


def _git_dirs() -> set[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("git is not installed")
    if out.returncode:
        pytest.skip("not a git checkout")
    files = out.stdout.split()
    top = {f.split("/")[0] for f in files if "/" in f}
    packages = {f.rsplit("/", 1)[0] for f in files if f.endswith("/__init__.py")}
    links = {f for f in files if (ROOT / f).is_symlink() and (ROOT / f).is_dir()}
    return top | packages | links


def test_layout_lists_every_package_and_top_level_directory() -> None:
    assert _layout_dirs() == _git_dirs()
