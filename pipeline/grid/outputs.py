"""Everything a finished grid writes: grid.md, grid.csv, plots, grid.html, manifest.json."""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path

import anyio
from pydantic import BaseModel

from pipeline.grid import plots
from pipeline.grid.expand import PACK, Cell
from pipeline.grid.render import (
    SIM_NOTE,
    csv_text,
    curve_table,
    html_page,
    main_table,
    markdown,
    task_type_table,
)
from pipeline.grid.results import load_results, rows
from pipeline.grid.spec import GridSpec
from pipeline.report.table import markdown_table
from pipeline.runlog import _git_rev


class GridFiles(BaseModel):
    markdown: Path
    csv: Path
    html: Path
    manifest: Path
    images: list[Path]
    table: str  # the main table as Markdown, for the console


def export_cell_pack(cell: Cell, run_path: Path) -> int:
    """The cell's memory as a pack next to its run (what seeds evaluations and the manifest)."""
    from pipeline.memory.pack import export_pack
    from pipeline.memory.stack import MemoryStack

    async def body() -> int:
        store = await MemoryStack(cell.config.memory).open_store(run_path, embed=False)
        try:
            return await export_pack(store, run_path / PACK)
        finally:
            await store.close()

    return anyio.run(body)


def _manifest(spec: GridSpec, cells: list[Cell], grid_dir: Path) -> dict:
    try:
        version = metadata.version("memp")
    except metadata.PackageNotFoundError:
        version = "unknown"
    models = set()
    out_cells = []
    for c in cells:
        cfg = c.config
        used = [cfg.agent.model]
        if cfg.memory.enabled:
            used.append((cfg.memory.builder or cfg.agent).model)
            if cfg.memory.embedder.startswith("litellm:"):
                used.append(cfg.memory.embedder.removeprefix("litellm:"))
        models.update(used)
        pack = grid_dir / "cells" / c.name / PACK
        out_cells.append({
            "name": c.name, "kind": c.kind, "labels": c.labels, "control": c.control,
            "build": c.build, "models": used, "seed": cfg.run.seed,
            "config": cfg.model_dump(mode="json"),
            "memory_pack": str(pack.relative_to(grid_dir)) if pack.is_file() else None,
            "memory_pack_procedures": _lines(pack),
        })  # fmt: skip
    return {
        "memp_version": version,
        "git_rev": _git_rev(),
        "created_at": time.time(),
        "grid": spec.model_dump(mode="json"),
        "models": sorted(models),
        "seeds": sorted({c.config.run.seed for c in cells}),
        "cells": out_cells,
    }


def _lines(path: Path) -> int | None:
    if not path.is_file():
        return None
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def write_outputs(spec: GridSpec, cells: list[Cell], grid_dir: Path, seed: int = 0) -> GridFiles:
    """Tables and plots over every cell's run directory; the bootstrap seeded with `seed`."""
    results = load_results(cells, grid_dir)
    table_rows = rows(results, seed)
    tables = [main_table(table_rows), task_type_table(table_rows), curve_table(results)]
    images = [plots.learning_curves(results, grid_dir / "learning_curve.png")]
    sweep = plots.topk_sweep(table_rows, grid_dir / "topk_sweep.png")
    images += [sweep] if sweep else []
    images.append(plots.cost_vs_success(table_rows, grid_dir / "cost_vs_success.png"))
    notes = [
        f"protocol {spec.protocol}; every memory row is paired with the no-memory control on the "
        "same tasks and seed; 95% paired-bootstrap CI (10,000 resamples), McNemar exact test on "
        "success, Wilcoxon signed-rank on steps; 'not significant' means p >= 0.05. Tokens and "
        "cost are the agent's (from trajectories); memory roles' usage is in each cell's "
        "summary.json."
    ]
    if any(c.config.agent.model.startswith("sim/") for c in cells):
        notes.insert(0, f"Note: {SIM_NOTE}")
    title = f"memp grid: {spec.name}"
    md = grid_dir / "grid.md"
    md.write_text(markdown(title, tables, images, notes), encoding="utf-8")
    csv_path = grid_dir / "grid.csv"
    csv_path.write_text(csv_text(table_rows), encoding="utf-8")
    page = grid_dir / "grid.html"
    page.write_text(html_page(title, tables, images, notes), encoding="utf-8")
    manifest = grid_dir / "manifest.json"
    manifest.write_text(json.dumps(_manifest(spec, cells, grid_dir), indent=2), encoding="utf-8")
    return GridFiles(markdown=md, csv=csv_path, html=page, manifest=manifest, images=images,
                     table=markdown_table(tables[0]))  # fmt: skip
