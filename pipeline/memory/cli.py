"""`memp memory ...`: inspect a run's procedural memory and move it between runs as JSONL packs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import MemoryConfig
from pipeline.config_load import load_config
from pipeline.errors import MempError, fail
from pipeline.memory.pack import export_pack, import_ops, read_pack
from pipeline.memory.render import history_lines, procedure_lines, when
from pipeline.memory.schema import MemoryStoreError, utility
from pipeline.memory.stack import MemoryStack
from pipeline.memory.store import ProcedureStore
from pipeline.runlog import CONFIG, MEMORY_OPS, QDRANT_DIR, read_jsonl, store_dir
from pipeline.types import MemoryOp, Procedure, stable_id

memory_app = typer.Typer(help="Inspect, export and import procedural memory.", no_args_is_help=True)
T = TypeVar("T")

RunDirOpt = Annotated[Path, typer.Option("--run-dir", help="run directory (store at DIR/qdrant)")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="Qdrant server instead of DIR/qdrant")]
NsOpt = Annotated[str | None, typer.Option("--namespace", help="memory namespace")]
SortKey = Literal["utility", "retrieved", "updated"]


def _config(run_dir: Path, url: str | None, namespace: str | None) -> MemoryConfig:
    """The run's memory config (DIR/config.yaml when present), with command-line overrides."""
    saved = run_dir / CONFIG
    cfg = load_config(saved).memory if saved.is_file() else MemoryConfig()
    if url:
        cfg.qdrant.url = url
    if namespace:
        cfg.namespace = namespace
    return cfg


def _readable(run_dir: Path, url: str | None, namespace: str | None) -> MemoryConfig:
    """The config of a run whose memory can be read; MemoryStoreError (one line) otherwise.

    Checked before the store is opened, since opening a local store creates its directory.
    """
    if url:
        return _config(run_dir, url, namespace)
    if not run_dir.is_dir():
        raise MemoryStoreError(f"{run_dir}: no such run directory")
    if not (run_dir / CONFIG).is_file():
        raise MemoryStoreError(f"{run_dir}: not a run directory (no {CONFIG})")
    cfg = _config(run_dir, url, namespace)
    store = store_dir(run_dir, cfg)
    if store is not None and not store.is_dir():
        if not cfg.enabled:
            raise MemoryStoreError(f"{run_dir}: memory was off in this run (memory.enabled: false)")
        raise MemoryStoreError(f"{run_dir}: no memory store ({QDRANT_DIR}/ is missing)")
    return cfg


def console() -> Console:
    # Made per command, so the terminal width (and COLUMNS) is read when the command runs.
    return Console()


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return anyio.run(fn)
    except MempError as err:
        fail(err)
        raise  # unreachable: _fail raises


def _print_lines(lines: list[str]) -> None:
    # Procedure text is data: no markup, highlighting or re-wrapping.
    out = console()
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


async def _open(cfg: MemoryConfig, run_dir: Path, writable: bool = False) -> ProcedureStore:
    return await MemoryStack(cfg).open_store(run_dir, embed=writable)


def _proc_row(p: Procedure) -> list[str]:
    s = p.stats
    return [p.id[:8], p.status, p.task_type, p.task_text, p.granularity, str(p.version),
            f"{s.retrieved}/{s.succeeded}/{s.failed}", f"{utility(s):.2f}",
            when(p.updated_at)]  # fmt: skip


def sort_procedures(procs: list[Procedure], key: SortKey) -> list[Procedure]:
    """Best first: highest utility / most retrieved / most recently updated (ties by id)."""
    value: dict[SortKey, Callable[[Procedure], float]] = {
        "utility": lambda p: utility(p.stats),
        "retrieved": lambda p: p.stats.retrieved,
        "updated": lambda p: p.updated_at,
    }
    return sorted(sorted(procs, key=lambda p: p.id), key=value[key], reverse=True)


@memory_app.command("ls")
def ls(
    run_dir: RunDirOpt,
    url: UrlOpt = None,
    namespace: NsOpt = None,
    status: Annotated[
        Literal["active", "discarded", "quarantined", "all"],
        typer.Option(help="which procedures to list"),
    ] = "active",
    all_: Annotated[bool, typer.Option("--all", help="same as --status all")] = False,
    task_type: Annotated[str | None, typer.Option(help="only this task type")] = None,
    sort: Annotated[SortKey, typer.Option(help="order, best first")] = "utility",
) -> None:
    """List procedures (active only unless --status or --all), sorted and filtered."""
    wanted = None if all_ or status == "all" else status

    async def body() -> list[Procedure]:
        store = await _open(_readable(run_dir, url, namespace), run_dir)
        try:
            return await store.all(wanted)
        finally:
            await store.close()

    procs = [p for p in _run(body) if task_type is None or p.task_type == task_type]
    procs = sort_procedures(procs, sort)
    table = Table(title=f"procedures ({len(procs)}, by {sort})")
    for col in ("id", "status", "task type", "task", "granularity", "ver", "ret/ok/fail", "util",
                "updated"):  # fmt: skip
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
    """Show one procedure in full (id or id prefix): fields, use, times, script, steps."""

    async def body() -> Procedure:
        store = await _open(_readable(run_dir, url, namespace), run_dir)
        try:
            return await _resolve(store, ident)
        finally:
            await store.close()

    _print_lines(procedure_lines(_run(body)))


def _ops_by_id(run_dir: Path) -> dict[str, MemoryOp]:
    return {op.op_id: op for op in read_jsonl(run_dir / MEMORY_OPS, MemoryOp)}


@memory_app.command("history")
def history(ident: str, run_dir: RunDirOpt, url: UrlOpt = None, namespace: NsOpt = None) -> None:
    """Every version of one procedure: its script, a diff to the one before, what caused it."""

    async def body():
        store = await _open(_readable(run_dir, url, namespace), run_dir)
        try:
            proc = await _resolve(store, ident)
            return proc, await store.history(proc.id), _ops_by_id(run_dir)
        finally:
            await store.close()

    proc, entries, ops = _run(body)
    _print_lines(history_lines(proc, entries, ops, str(run_dir)))


@memory_app.command("stats")
def stats(run_dir: RunDirOpt, url: UrlOpt = None, namespace: NsOpt = None) -> None:
    """Counts by status and task type, the memory version and totals of use."""

    async def body():
        store = await _open(_readable(run_dir, url, namespace), run_dir)
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
        store = await _open(_readable(run_dir, url, namespace), run_dir)
        try:
            return await export_pack(store, out, "active" if active_only else None)
        finally:
            await store.close()

    n = _run(body)
    console().print(f"exported {n} procedures to {out}")


OpsFor = Callable[[ProcedureStore], Awaitable[list[MemoryOp]]]


async def _commit(cfg: MemoryConfig, run_dir: Path, ops: OpsFor) -> Any:
    """The run's one write path: ops reach memory_ops.jsonl before the store, with a commit."""
    from pipeline.orchestrate.committer import MemoryCommitter, Submission
    from pipeline.runlog import OpsWal

    wal = OpsWal(run_dir)  # checks the log before the store is touched
    try:
        store = await _open(cfg, run_dir, writable=True)
    except BaseException:
        wal.close()
        raise
    committer = MemoryCommitter(store, wal)
    try:
        await committer.replay()
        return await committer.commit(Submission(await ops(store)))
    finally:
        committer.wal.close()
        await store.close()


@memory_app.command("import")
def import_(
    pack: Path,
    run_dir: RunDirOpt,
    url: UrlOpt = None,
    namespace: NsOpt = None,
) -> None:
    """Add a JSONL pack's procedures (idempotent: importing twice changes nothing)."""
    cfg = _config(run_dir, url, namespace)

    async def ops(store: ProcedureStore) -> list[MemoryOp]:
        return import_ops(read_pack(pack), cfg.namespace)

    out = _run(lambda: _commit(cfg, run_dir, ops))
    summary = {"applied": sum(out.applied.values()), "skipped": out.skipped,
               "merged": len(out.commit.merged if out.commit else {}),
               "version": out.version}  # fmt: skip
    console().print(f"imported {pack}: {json.dumps(summary)}")


@memory_app.command("restore")
def restore(
    ident: str,
    run_dir: RunDirOpt,
    url: UrlOpt = None,
    namespace: NsOpt = None,
    reason: Annotated[str, typer.Option(help="why, kept in its history")] = "restored by user",
) -> None:
    """Make a discarded or quarantined procedure active again (the only op that may change it)."""
    cfg = _readable(run_dir, url, namespace)
    found: list[Procedure] = []

    async def ops(store: ProcedureStore) -> list[MemoryOp]:
        proc = await _resolve(store, ident)
        if proc.status == "active":
            raise MemoryStoreError(f"procedure {proc.id} is active; only a discarded or "
                                   "quarantined one can be restored")  # fmt: skip
        found.append(proc)
        n = len(await store.history(proc.id))  # restored again later: a new op id
        op_id = stable_id("restore", proc.id, str(n))
        return [MemoryOp(op_id=op_id, kind="restore", procedure_id=proc.id, reason=reason)]

    out = _run(lambda: _commit(cfg, run_dir, ops))
    console().print(f"restored {found[0].id} (was {found[0].status}); memory version {out.version}",
                    highlight=False)  # fmt: skip
