"""`memp report`: plots, Markdown, HTML from synthetic run dirs; bad input: one line, exit 2."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import dump_config
from pipeline.config_load import build_config
from pipeline.report import load_run, run_figures
from pipeline.report.figures import headline_labels
from pipeline.runlog import CONFIG, MEMORY_COMMITS, MEMORY_OPS, SUMMARY, TRAJECTORIES
from pipeline.summary import group_figures, summarize
from pipeline.types import MemoryOp, Procedure, ProcedureStats, Step, Task, Trajectory, Usage

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMAGES = ("learning_curve.png", "cost_per_success.png", "memory.png")
ALPHA = "nynnyyyyyyyy"  # 9 of 12 succeed
BETA = "ynynynynnn"  # 4 of 10 succeed


def _trajectories(pattern: str, model: str = "sim/household") -> list[Trajectory]:
    """One trajectory per character of `pattern`: 'y' succeeded, 'n' failed."""
    out = []
    for i, flag in enumerate(pattern):
        task = Task(
            id=f"household/t/{i:04d}",
            env="household",
            split="t",
            seed=i,
            task_type=("pick_and_place_simple", "pick_two_obj_and_place")[i % 2],
            goal=f"put a mug {i} in cabinet 1",
        )
        steps = [Step(action="look", observation="You see a room.")] * (5 if flag == "y" else 9)
        out.append(
            Trajectory(
                id=f"traj-{i}",
                task=task,
                steps=steps,
                success=flag == "y",
                model=model,
                started_at=1000.0 + i,
                wall_s=2.0,
                usage=Usage(calls=3, prompt_tokens=1000, completion_tokens=50, cost_usd=0.001),
            )
        )
    return out


def _op(seq: int, kind: str, pid: str) -> MemoryOp:
    proc = None
    if kind in ("add", "adjust"):
        proc = Procedure(
            id=pid,
            namespace="household",
            task_text="put a mug in cabinet",
            task_type="pick_and_place_simple",
            granularity="script",
            script="1. go",
        )
    delta = ProcedureStats(retrieved=1, succeeded=1) if kind == "stat" else None
    return MemoryOp(
        op_id=f"op-{seq}",
        kind=kind,
        procedure_id=pid,
        procedure=proc,  # type: ignore[arg-type]
        stats_delta=delta,
        seq=seq,
    )


def _write_jsonl(path: Path, records: list) -> None:
    path.write_text("".join(r.model_dump_json() + "\n" for r in records), encoding="utf-8")


def _config(path: Path, memory: bool, group_size: int) -> None:
    cfg = build_config(
        {
            "memory": {
                "enabled": memory,
                "build": "script",
                "retrieve": "query",
                "update": "adjustment",
            },
            "pipeline": {"group_size": group_size},
        }
    )
    (path / CONFIG).write_text(dump_config(cfg))


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    """alpha: memory on, 9/12 succeed, summary.json; beta: memory off, 4/10, crashed (torn tail)."""
    assert (ALPHA.count("y"), BETA.count("y")) == (9, 4)
    alpha = tmp_path / "alpha"
    alpha.mkdir()
    _config(alpha, memory=True, group_size=4)
    trajs = _trajectories(ALPHA)
    _write_jsonl(alpha / TRAJECTORIES, trajs)
    kinds = ["add", "add", "stat", "add", "adjust", "stat", "discard"]
    pids = ["p1", "p2", "p1", "p3", "p1", "p3", "p2"]
    _write_jsonl(
        alpha / MEMORY_OPS,
        [_op(i + 1, k, p) for i, (k, p) in enumerate(zip(kinds, pids, strict=True))],
    )
    groups = [group_figures(g, trajs[4 * g : 4 * g + 4], g + 1) for g in range(3)]
    build = Usage(calls=2, prompt_tokens=4000, completion_tokens=1000, cost_usd=0.5)
    summary = summarize(
        trajs, groups=groups, wall_s=12.5, model="sim/household", role_usage={"build": build}
    )
    (alpha / SUMMARY).write_text(summary.model_dump_json(indent=2))
    commits = [  # one writer commit per sync group
        {"version": 1, "first_seq": 1, "last_seq": 2, "applied": {"add": 2}, "size": 2, "group": 0},
        {"version": 2, "first_seq": 3, "last_seq": 5, "applied": {"add": 1, "adjust": 1},
         "size": 3, "group": 1},
        {"version": 3, "first_seq": 6, "last_seq": 7, "applied": {"discard": 1}, "size": 2,
         "group": 2},
    ]  # fmt: skip
    (alpha / MEMORY_COMMITS).write_text("".join(json.dumps(c) + "\n" for c in commits))

    beta = tmp_path / "beta"
    beta.mkdir()
    _config(beta, memory=False, group_size=4)
    _write_jsonl(beta / TRAJECTORIES, _trajectories(BETA))
    with (beta / TRAJECTORIES).open("a") as fh:
        fh.write('{"id": "traj-10", "task": {"id": "hou')  # killed mid-write
    return alpha, beta


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_report_writes_plots_markdown_and_html(runs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", str(runs[0]), str(runs[1]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    for name in IMAGES:
        width, height = _png_size(out / name)
        assert width >= 900 and height >= 600
        assert (out / name).stat().st_size > 20_000
    md = (out / "report.md").read_text()
    rows: dict[str, str] = {}  # the first table's row per run
    for line in md.splitlines():
        if " | " in line:
            rows.setdefault(line.split(" | ")[0].strip("| "), line)
    assert "| 12 | 75.0% [46.8, 91.1] |" in rows["alpha"]  # 9 of 12, Wilson 95% interval
    assert "| 10 | 40.0% [16.8, 68.7] |" in rows["beta"]  # 4 of 10; torn 11th line skipped
    assert "| off |" in rows["beta"] and "script/query/adjustment" in rows["alpha"]
    assert "sim is a scripted offline stand-in for an LLM" in md
    for name in IMAGES:
        assert f"]({name})" in md
    page = (out / "report.html").read_text()
    assert page.count("src='data:image/png;base64,iVBORw0KGgo") == len(IMAGES)
    assert "learning_curve.png'" not in page  # self-contained: no file references
    assert "sim is a scripted offline stand-in for an LLM" in page


def test_figures_from_logs(runs: tuple[Path, Path]) -> None:
    alpha, beta = (run_figures(load_run(p)) for p in runs)
    assert alpha.groups_source == "summary" and alpha.memory_state == "enabled"
    assert alpha.series.seq == [1, 2, 3, 4, 5, 6, 7]
    assert alpha.series.active_source == "commits" and alpha.series.active == [0, 2, 3, 2]
    (runs[0] / MEMORY_COMMITS).unlink()  # an older run without a commit log: estimated from ops
    alpha = run_figures(load_run(runs[0]))
    assert alpha.series.active == [1, 2, 2, 3, 3, 3, 2]  # add +1, discard -1, adjust/stat 0
    assert alpha.curve.axis == "seq" and alpha.curve.active == alpha.series.active
    assert alpha.series.cumulative["stat"][-1] == 2
    assert (alpha.memory.added, alpha.memory.adjusted, alpha.memory.discarded) == (3, 1, 1)
    assert beta.memory_state == "disabled" and not beta.has_summary
    assert beta.groups_source == "trajectories"  # no summary.json: chunked by group_size
    assert [g.episodes for g in beta.groups] == [4, 4, 2]
    assert [g.success_rate for g in beta.groups] == [0.5, 0.5, 0.0]
    assert beta.wall_estimated and beta.wall_s == pytest.approx(11.0)


def _bad_line(root: Path) -> tuple[Path, str]:
    run = root / "badline"
    run.mkdir()
    good = _trajectories("yy")
    (run / TRAJECTORIES).write_text(
        good[0].model_dump_json() + "\n{not json\n" + good[1].model_dump_json() + "\n"
    )
    return run, f"{run / TRAJECTORIES}:2:"


def _no_log(root: Path) -> tuple[Path, str]:
    run = root / "empty"
    run.mkdir()
    return run, f"{run}: not a run directory (no trajectories.jsonl)"


def _missing(root: Path) -> tuple[Path, str]:
    return root / "nope", f"{root / 'nope'}: no such run directory"


@pytest.mark.parametrize("make", [_bad_line, _no_log, _missing])
def test_bad_input_is_one_line_exit_2(make, runs: tuple[Path, Path], tmp_path: Path) -> None:
    bad, needle = make(tmp_path)
    result = CliRunner().invoke(app, ["report", str(runs[0]), str(bad), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_tables_fit_and_carry_intervals_roles_and_memory_curve(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    alpha, beta = (run_figures(load_run(p)) for p in runs)
    assert alpha.curve.axis == "group" and alpha.curve.x == [0, 1, 2, 3]  # groups, not op seq
    assert alpha.curve.active == [0, 2, 3, 2] and alpha.curve.cumulative["add"] == [0, 2, 3, 3]
    assert beta.steps_ci.low < beta.total.mean_steps < beta.steps_ci.high
    # Every LLM role counts: the agent's 12 x 1050 tokens and the builder's 5000.
    assert alpha.tokens_by_role == {"agent": 12600, "build": 5000}
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", str(runs[0]), str(runs[1]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    md = (out / "report.md").read_text()
    tables = [block for block in md.split("### ")[1:]]
    assert len(tables) >= 4
    for block in tables:  # split into narrow tables: none has more than 8 columns
        header = block.splitlines()[2]
        assert header.count(" | ") + 1 <= 8, header
    cost = next(b for b in tables if b.startswith("Tokens and cost"))
    alpha_row = next(line for line in cost.splitlines() if line.startswith("| alpha"))
    assert "| 17,600 |" in alpha_row and "build $0.5000" in alpha_row
    assert "| $0.5120 |" in alpha_row  # agent 12 x $0.001 + build $0.50
    memory = next(b for b in tables if b.startswith("Memory and wall time"))
    assert "| alpha | 2 | 3 | 1 | 1 | 3 | 12.5 s |" in memory  # size, ops, version from commits
    assert "| beta | - | - | - | - | - | ~11.0 s |" in memory


def _errored_travelplanner(root: Path) -> Path:
    run = root / "gamma"
    run.mkdir()
    (run / CONFIG).write_text("env: {name: travelplanner}\nagent: {model: sim/travelplanner}\n")
    trajs = _trajectories("nnnn", model="sim/travelplanner")
    for t in trajs:
        t.status, t.error = "error", "litellm.APIConnectionError: connection refused"
        t.scores = {"final_pass": 0.0, "commonsense_micro": 0.25, "cs_is_reasonable": 1.0}
    _write_jsonl(run / TRAJECTORIES, trajs)
    errors = {"agent": {"server": 8, "rate_limit": 3, "auth": 1}}
    summary = summarize(trajs, model="sim/travelplanner", llm_errors=errors,
                        llm_retries={"agent": 9, "build": 0})  # fmt: skip
    assert summary.llm_retries == {"agent": 9}  # roles with no retry are left out
    (run / SUMMARY).write_text(summary.model_dump_json())
    return run


def test_all_errored_run_is_marked_and_env_scores_use_headline(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    assert headline_labels("travelplanner")["commonsense_micro"] == "#CS micro"
    assert headline_labels("no-such-env") == {}
    gamma = _errored_travelplanner(tmp_path)
    figs = run_figures(load_run(gamma))
    assert figs.all_errored and figs.errored == 4
    assert list(figs.scores) == ["commonsense_micro", "final_pass"]  # headline order, no cs_*
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", str(runs[0]), str(gamma), "-o", str(out)])
    assert result.exit_code == 0, result.output
    md = (out / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| gamma | sim/"))
    assert "errored (4 of 4; not a 0% result)" in row and "0.0%" not in row
    assert "gamma: every episode errored (4)" in md
    failures = md[md.index("### Failures") :].split("###")[1]
    assert "| gamma | 4 of 4 | 3 | 9 | agent: auth 1, rate_limit 3, server 8 |" in failures
    assert "| alpha | 0 of 12 | 0 | 0 | none |" in failures
    by_type = md[md.index("### Success rate by task type") :]
    assert "| errored (2) |" in by_type
    scores = md[md.index("### Env scores") :].split("###")[1]
    assert "#CS micro" in scores and "final pass" in scores and "cs_is_reasonable" not in scores
    assert "| gamma | 25.0 | 0.0 |" in scores
    # alpha (household, no headline keys) carries no scores: a dash, not an invented number
    assert "| alpha | - | - |" in scores
