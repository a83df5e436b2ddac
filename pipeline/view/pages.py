"""Page handlers: each re-reads what changed in the run directory, then renders a template."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from pipeline.view.catalog import Catalog
from pipeline.view.diff import config_diff, unified
from pipeline.view.episodes import EpisodeFilter
from pipeline.view.lives import utility
from pipeline.view.run import RunView
from pipeline.view.svg import Point, line_chart

PAGE_SIZE = 50
FREEZE_AFTER = 1000  # new index rows
SIM_NOTE = (
    "model 'sim/*' is a scripted offline stand-in for an LLM; its numbers measure the memory "
    "machinery, not any real model"
)


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def _pct(iv: Any) -> str:
    return f"{iv.value:.1%} [{iv.low:.1%}, {iv.high:.1%}]"


def _num(iv: Any, digits: int = 1) -> str:
    return f"{iv.value:,.{digits}f} [{iv.low:,.{digits}f}, {iv.high:,.{digits}f}]"


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---", "@@")):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "same")


def templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when, pct=_pct, num=_num, diff_class=_diff_class, short=lambda s: (s or "")[:8]
    )
    return Jinja2Templates(env=env)


class Pages:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.t = templates()

    def _render(self, request: Request, name: str, **context: Any) -> HTMLResponse:
        return self.t.TemplateResponse(request, name, context)

    def _run(self, request: Request) -> RunView:
        run = self.catalog.runs.get(request.path_params["key"])
        if run is None:
            raise HTTPException(404, f"no run {request.path_params['key']!r}")
        before = len(run.episodes)
        run.refresh()
        if len(run.episodes) - before > FREEZE_AFTER:
            # Index rows live as long as the server; keeping them out of the cyclic collector's
            # full passes keeps a 100k-episode run's pages from stalling on gc.
            gc.freeze()
        return run

    @staticmethod
    def _meta(run: RunView) -> dict[str, Any]:
        model = run.setting("agent", "model", default="")
        mem = run.setting("memory", default={}) or {}
        policy = "off"
        if isinstance(mem, dict) and mem.get("enabled"):
            policy = "/".join(str(mem.get(k, "?")) for k in ("build", "retrieve", "update"))
        return {"model": model, "policy": policy, "sim": str(model).startswith("sim/"),
                "split": run.setting("env", "split", default="")}  # fmt: skip

    async def index(self, request: Request) -> Response:
        cat = self.catalog
        if len(cat.top_runs) == 1 and not cat.grids:
            return RedirectResponse(f"/runs/{cat.top_runs[0]}", 302)
        runs = [cat.runs[k] for k in cat.top_runs]
        rows = []
        for run in runs:
            run.refresh()
            rows.append(
                (
                    run,
                    self._meta(run),
                    run.figures(),
                )
            )
        diff = config_diff({r.key: _tree(r) for r in runs}) if len(runs) > 1 else None
        return self._render(request, "index.html", rows=rows, grids=list(cat.grids.values()),
                            diff=diff, live=any(not r.finished for r in runs))  # fmt: skip

    async def grid(self, request: Request) -> Response:
        grid = self.catalog.grids.get(request.path_params["key"])
        if grid is None:
            raise HTTPException(404, f"no grid {request.path_params['key']!r}")
        cells = self.catalog.cells(grid)
        rows = []
        for run in cells:
            run.refresh()
            rows.append(
                (
                    run,
                    self._meta(run),
                    run.figures(),
                )
            )
        table = grid.table_file()
        text = table.read_text(encoding="utf-8", errors="replace") if table else None
        diff = config_diff({r.key: _tree(r) for r in cells}) if len(cells) > 1 else None
        return self._render(request, "grid.html", grid=grid, rows=rows, table=table,
                            table_text=text, diff=diff, live=True)  # fmt: skip

    async def run(self, request: Request) -> Response:
        run = self._run(request)
        figs = run.figures()
        sizes = {c.record.group: c.record.size for c in run.commits.rows
                 if c.record is not None and c.record.group is not None}  # fmt: skip
        curve = [Point(x=i, y=b.figures.success.value, low=b.figures.success.low,
                       high=b.figures.success.high, label=b.label)
                 for i, b in enumerate(figs.curve)]  # fmt: skip
        steps = [Point(x=i, y=b.figures.steps.value, low=b.figures.steps.low,
                       high=b.figures.steps.high, label=b.label)
                 for i, b in enumerate(figs.curve)]  # fmt: skip
        per = "group" if figs.curve_of == "group" else "block of episodes (finish order)"
        summary = run.summary
        others = [r for r in self.catalog.runs.values() if r is not run and r.config]
        return self._render(
            request, "run.html", run=run, meta=self._meta(run), figs=figs, sizes=sizes,
            curve=line_chart(curve, f"success rate per {per} (95% Wilson)", 1.0, percent=True),
            steps_chart=line_chart(steps, f"mean steps per {per} (95% t)"),
            summary=summary if isinstance(summary, tuple) else None,
            summary_error=summary if isinstance(summary, Exception) else None,
            config_error=run.config if isinstance(run.config, Exception) else None,
            manifest=run.manifest if isinstance(run.manifest, dict) else None,
            config_text=_read(run.path / "config.yaml"), others=others,
            unreadable=run.unreadable(), live=not run.finished, sim_note=SIM_NOTE,
        )  # fmt: skip

    async def compare(self, request: Request) -> Response:
        keys = request.query_params.getlist("run")
        runs = [self.catalog.runs[k] for k in keys if k in self.catalog.runs]
        if len(runs) < 2:
            raise HTTPException(400, "compare needs two or more ?run= keys")
        diff = config_diff({r.key: _tree(r) for r in runs})
        return self._render(request, "compare.html", diff=diff, live=False)

    async def episodes(self, request: Request) -> Response:
        run = self._run(request)
        flt = EpisodeFilter.model_validate(dict(request.query_params))
        rows = run.episodes.rows
        hits = [(r, g) for r, g in zip(rows, run.groups(), strict=True) if flt.matches(r, g)]
        pages = max(1, -(-len(hits) // PAGE_SIZE))
        page = min(max(1, _int(request.query_params.get("page"), 1)), pages)
        shown = hits[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        facets = run.facets()
        return self._render(
            request, "episodes.html", run=run, flt=flt, shown=shown, total=len(hits),
            all=len(rows), page=page, pages=pages, groups=facets.groups, types=facets.types,
            statuses=facets.statuses, live=not run.finished,
        )  # fmt: skip

    async def episode(self, request: Request) -> Response:
        run = self._run(request)
        n = run.by_id.get(request.path_params["tid"])
        if n is None:
            raise HTTPException(404, f"no episode {request.path_params['tid']!r} in {run.key}")
        row = run.episodes.rows[n]
        if row.unreadable:
            return self._render(request, "unreadable.html", run=run, row=row, live=False)
        traj, extras = run.trajectory(n)
        given = run.memory_given(traj, extras)
        ops = run.replay.by_trajectory.get(traj.id, [])
        step_extras = {int(k.split(".")[1]): {k.split(".", 2)[2]: v}
                       for k, v in extras.items() if k.startswith("steps.")}  # fmt: skip
        top_extras = {k: v for k, v in extras.items() if not k.startswith("steps.")}
        return self._render(
            request, "episode.html", run=run, row=row, traj=traj, given=given, ops=ops,
            group=run.group_of(row), extras=top_extras, step_extras=step_extras,
            prev_id=run.episodes.rows[n - 1].id if n > 0 else None,
            next_id=run.episodes.rows[n + 1].id if n + 1 < len(run.episodes.rows) else None,
            sim=traj.model.startswith("sim/"), sim_note=SIM_NOTE, live=False,
        )  # fmt: skip

    async def procedures(self, request: Request) -> Response:
        run = self._run(request)
        status = request.query_params.get("status", "")
        task_type = request.query_params.get("task_type", "")
        sort = request.query_params.get("sort", "created")
        lives = list(run.replay.lives.values())
        shown = [life for life in lives if (not status or life.current.status == status)
                 and (not task_type or life.current.task_type == task_type)]  # fmt: skip
        keys = {
            "utility": lambda life: -utility(life.current.stats),
            "retrieved": lambda life: -life.current.stats.retrieved,
            "version": lambda life: -life.current.version,
        }
        if sort in keys:
            shown.sort(key=keys[sort])
        pages = max(1, -(-len(shown) // PAGE_SIZE))
        page = min(max(1, _int(request.query_params.get("page"), 1)), pages)
        return self._render(
            request, "procedures.html", run=run, lives=shown[(page - 1) * PAGE_SIZE :][:PAGE_SIZE],
            total=len(shown), all=len(lives), page=page, pages=pages, status=status,
            task_type=task_type, sort=sort, utility=utility,
            types=sorted({life.current.task_type for life in lives}), live=not run.finished,
        )  # fmt: skip

    async def procedure(self, request: Request) -> Response:
        run = self._run(request)
        pid = request.path_params["pid"]
        life = run.replay.lives.get(pid)
        if life is None:
            raise HTTPException(404, f"no procedure {pid!r} in the op log of {run.key}")
        versions = []
        prev = None
        for rev in life.revisions:
            name = f"v{rev.version} {rev.kind} (seq {rev.seq})"
            before = f"v{prev.version} (seq {prev.seq})" if prev else "(nothing)"
            versions.append((rev, unified(prev.content if prev else None, rev.content, before,
                                          name), _memory_version(run, rev.seq)))  # fmt: skip
            prev = rev
        ratio = [Point(x=i, y=s.totals.success_ratio, label=str(s.seq))
                 for i, s in enumerate(life.stats, 1)]  # fmt: skip
        given = [run.episodes.rows[n] for n in run.given_to.get(pid, [])]
        return self._render(
            request, "procedure.html", run=run, life=life, proc=life.current, versions=versions,
            utility=utility(life.current.stats), given=given, live=False,
            ratio=line_chart(ratio, "success ratio after each use (x: op seq)", 1.0, percent=True),
        )  # fmt: skip


def _memory_version(run: RunView, seq: int) -> int | None:
    """The memory version whose commit covered this op (None: not committed yet)."""
    found = [v for v, bound in run.version_bound.items() if bound >= seq and v > 0]
    return min(found) if found else None


def _tree(run: RunView) -> dict[str, Any] | None:
    cfg = run.config
    return cfg if isinstance(cfg, dict) else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default
