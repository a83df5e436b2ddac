"""The presets shipped inside the package: run configs (<name>.yaml) and grids (grids/<name>.yaml).

The repository's configs/ is a link to this directory, so `configs/<name>.yaml` and the preset
name `<name>` are the same file in a checkout and in an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

PRESET_DIR = Path(__file__).resolve().parent
GRID_DIR = PRESET_DIR / "grids"
DEFAULT_PRESET = PRESET_DIR / "household-sim.yaml"


def run_presets() -> dict[str, Path]:
    """Run preset name -> its file."""
    return {p.stem: p for p in sorted(PRESET_DIR.glob("*.yaml"))}


def grid_presets() -> dict[str, Path]:
    """Grid preset name -> its file."""
    return {p.stem: p for p in sorted(GRID_DIR.glob("*.yaml"))}


def find(ref: str | Path, presets: dict[str, Path]) -> Path | None:
    """`ref` as a file path, else as a preset name (with or without .yaml); None if neither."""
    path = Path(ref)
    if path.is_file():
        return path
    name = path.name.removesuffix(".yaml")
    return presets.get(name) if str(ref) in (name, path.name) else None


def description(path: Path) -> str:
    """The first sentence of the preset's leading comment."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        words += line.lstrip("#").split()
    text = " ".join(words)
    return text.split(". ")[0].split(": ")[0].rstrip(".")
