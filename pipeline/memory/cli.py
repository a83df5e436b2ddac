"""`memp memory ...`: inspect a run's procedural memory and move it between runs as JSONL packs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import anyio
import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import ConfigError, MemoryConfig, load_config
from pipeline.memory.embed import EmbedderError, make_embedder
from pipeline.memory.pack import export_pack, import_pack
from pipeline.memory.schema import MemoryStoreError, utility
from pipeline.memory.store import ProcedureStore
from pipeline.types import Procedure

memory_app = typer.Typer(help="Inspect, export and import procedural memory.", no_args_is_help=True)
T = TypeVar("T")

RunDirOpt = Annotated[Path, typer.Option("--run-dir", help="run directory (store at DIR/qdrant)")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="Qdrant server instead of DIR/qdrant")]
NsOpt = Annotated[str | None, typer.Option("--namespace", help="memory namespace")]


def _config(run_dir: Path, url: str | None, namespace: str | None) -> MemoryConfig:
    """The run's memory config (DIR/config.yaml when present), with command-line overrides."""
    saved = run_dir / "config.yaml"
    cfg = load_config(saved).memory if saved.is_file() else MemoryConfig()
    if url:
        cfg.qdrant.url = url
    if namespace:
        cfg.namespace = namespace
    return cfg


def console() -> Console:
    # Made per command, so the terminal width (and COLUMNS) is read when the command runs.
    return Console()


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return anyio.run(fn)
    except (MemoryStoreError, EmbedderError, ConfigError) as err:
        console().print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None


async def _open(cfg: MemoryConfig, run_dir: Path, writable: bool = False) -> ProcedureStore:
    path = None if cfg.qdrant.url else run_dir / "qdrant"
    if not writable:
        return await ProcedureStore.open(cfg, path, None)
    return await ProcedureStore.open(cfg, path, make_embedder(cfg))


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _proc_row(p: Procedure) -> list[str]:
    s = p.stats
    return [p.id[:8], p.status, p.task_type, p.task_text, p.granularity, str(p.version),
            f"{s.retrieved}/{s.succeeded}/{s.failed}", f"{utility(s):.2f}"]  # fmt: skip


@memory_app.command("ls")
def ls(
    run_dir: RunDirOpt,
    url: UrlOpt = None,
    namespace: NsOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="include discarded procedures")] = False,
) -> None:
    """List procedures (active only unless --all)."""

    async def body() -> list[Procedure]:
        store = await _open(_config(run_dir, url, namespace), run_dir)
        try:
            return await store.all(None if all_ else "active")
        finally:
            await store.close()

    procs = _run(body)
    table = Table(title=f"procedures ({len(procs)})")
    for col in ("id", "status", "task type", "task", "granularity", "ver", "ret/ok/fail", "util"):
        table.add_column(col)
    for p in procs:
        table.add_row(*_proc_row(p))
    console().print(table)


async def _resolve(store: ProcedureStore, ident: str) -> Procedure:
    """A procedure by full id or unique id prefix (ls shows 8 characters)."""
    found = await store.get([ident]) if len(ident) == 36 else []
    if not found:
        found = [p for p in await store.all() if p.id.startswith(ident)]
    if len(found) != 1:
        what = "no procedure" if not found else f"{len(found)} procedures"
        raise MemoryStoreError(f"{what} with id {ident!r}")
    return found[0]


@memory_app.command("show")
def show(ident: str, run_dir: RunDirOpt, url: UrlOpt = None, namespace: NsOpt = None) -> None:
    """Show one procedure in full (id or id prefix)."""

    async def body() -> Procedure:
        store = await _open(_config(run_dir, url, namespace), run_dir)
        try:
            return await _resolve(store, ident)
        finally:
            await store.close()

    p = _run(body)
    console().print_json(p.model_dump_json())


@memory_app.command("history")
def history(ident: str, run_dir: RunDirOpt, url: UrlOpt = None, namespace: NsOpt = None) -> None:
    """Every change to one procedure, with the content it replaced."""

    async def body():
        store = await _open(_config(run_dir, url, namespace), run_dir)
        try:
            proc = await _resolve(store, ident)
            return proc, await store.history(proc.id)
        finally:
            await store.close()

    proc, entries = _run(body)
    table = Table(title=f"history of {proc.id}")
    for col in ("when", "mem ver", "kind", "proc ver", "reason", "previous script"):
        table.add_column(col)
    for h in entries:
        prev = (h.previous.script or "").splitlines()[0] if h.previous and h.previous.script else ""
        table.add_row(_when(h.at), str(h.memory_version), h.kind, str(h.version), h.reason, prev)
    console().print(table)


@memory_app.command("stats")
def stats(run_dir: RunDirOpt, url: UrlOpt = None, namespace: NsOpt = None) -> None:
    """Counts by status and task type, the memory version and totals of use."""

    async def body():
        store = await _open(_config(run_dir, url, namespace), run_dir)
        try:
            return store.collection, store.version, await store.all()
        finally:
            await store.close()

    collection, version, procs = _run(body)
    table = Table(title=f"{collection}: memory version {version}")
    for col in ("task type", "active", "discarded", "retrieved", "succeeded", "failed"):
        table.add_column(col, justify="left" if col == "task type" else "right")
    for tt in sorted({p.task_type for p in procs}):
        mine = [p for p in procs if p.task_type == tt]
        table.add_row(
            tt,
            str(sum(p.status == "active" for p in mine)),
            str(sum(p.status == "discarded" for p in mine)),
            *(str(sum(getattr(p.stats, k) for p in mine)) for k in ("retrieved", "succeeded",
                                                                    "failed")),
        )  # fmt: skip
    console().print(table)


@memory_app.command("export")
def export(
    run_dir: RunDirOpt,
    out: Annotated[Path, typer.Option("-o", "--out", help="JSONL memory pack to write")],
    url: UrlOpt = None,
    namespace: NsOpt = None,
    active_only: Annotated[bool, typer.Option("--active-only")] = False,
) -> None:
    """Write the memory as a JSONL pack (one Procedure per line)."""

    async def body() -> int:
        store = await _open(_config(run_dir, url, namespace), run_dir)
        try:
            return await export_pack(store, out, "active" if active_only else None)
        finally:
            await store.close()

    n = _run(body)
    console().print(f"exported {n} procedures to {out}")


@memory_app.command("import")
def import_(
    pack: Path,
    run_dir: RunDirOpt,
    url: UrlOpt = None,
    namespace: NsOpt = None,
) -> None:
    """Add a JSONL pack's procedures (idempotent: importing twice changes nothing)."""

    async def body():
        cfg = _config(run_dir, url, namespace)
        store = await _open(cfg, run_dir, writable=True)
        try:
            return await import_pack(store, pack)
        finally:
            await store.close()

    result = _run(body)
    summary = {"applied": len(result.applied), "skipped": len(result.skipped),
               "merged": len(result.merged), "version": result.version}  # fmt: skip
    console().print(f"imported {pack}: {json.dumps(summary)}")
