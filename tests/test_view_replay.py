"""Procedure lives replayed from the op log, and a run directory read while it grows."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.memory.schema import utility as store_utility
from pipeline.prompts import render_memory
from pipeline.runlog import MemoryCommit
from pipeline.types import (
    MemoryOp,
    Procedure,
    ProcedureStats,
    Step,
    Task,
    Trajectory,
    stable_id,
)
from pipeline.view.lives import MemoryReplay, utility
from pipeline.view.records import parse_tolerant
from pipeline.view.run import RunView


def _proc(pid: str, text: str, script: str = "1. do it") -> Procedure:
    return Procedure(
        id=pid, namespace="household", task_text=text, task_type="pick_and_place_simple",
        script=script, trajectory=[f"> go to {pid}"], granularity="proceduralization",
        source_trajectory_ids=[f"t-{pid}"],
    )  # fmt: skip


def _add(seq: int, proc: Procedure) -> MemoryOp:
    return MemoryOp(
        op_id=f"add-{proc.id}", kind="add", procedure_id=proc.id, procedure=proc,
        reason="adjustment: success", source_trajectory_id=f"t-{proc.id}", seq=seq,
    )  # fmt: skip


def _stat(seq: int, pid: str, tid: str, ok: bool) -> MemoryOp:
    delta = ProcedureStats(retrieved=1, succeeded=int(ok), failed=int(not ok))
    return MemoryOp(op_id=f"stat-{seq}", kind="stat", procedure_id=pid, stats_delta=delta,
                    source_trajectory_id=tid, seq=seq)  # fmt: skip


def _adjust(seq: int, proc: Procedure, script: str, tid: str) -> MemoryOp:
    revised = proc.model_copy(
        update={"script": script, "source_trajectory_ids": [*proc.source_trajectory_ids, tid]}
    )
    return MemoryOp(op_id=f"adjust-{seq}", kind="adjust", procedure_id=proc.id, procedure=revised,
                    reason=f"failed while following it in {tid}", source_trajectory_id=tid,
                    seq=seq)  # fmt: skip


def test_utility_is_the_stores_formula() -> None:
    for s in range(5):
        for f in range(5):
            stats = ProcedureStats(retrieved=s + f, succeeded=s, failed=f)
            assert utility(stats) == store_utility(stats)


def test_replay_versions_merges_and_discards_in_log_order() -> None:
    a, b, dup = _proc("a", "put a mug in sink."), _proc("b", "put a pen in box."), _proc("d", "x")
    replay = MemoryReplay()
    replay.merged = {"add-d": "a"}  # the commit says: d was a near-duplicate of a
    for op in [_add(1, a), _add(2, b), _add(3, dup)]:
        replay.feed(op)
    assert set(replay.lives) == {"a", "b"}
    assert [r.kind for r in replay.lives["a"].revisions] == ["add", "merge"]
    assert replay.lives["a"].current.source_trajectory_ids == ["t-a", "t-d"]
    replay.feed(_adjust(4, a, "1. rinse first\n2. do it", "t9"))
    life = replay.lives["a"]
    assert life.current.version == 2 and life.current.script.startswith("1. rinse")
    assert life.at(3).version == 1 and life.at(3).script == "1. do it"  # content as of seq 3
    assert life.at(0) is None
    # The writer folds the rule's discard after the rest of the batch (and logs it after it):
    # an adjust from the same batch still applies, then the discard.
    replay.feed(_stat(5, "b", "t10", ok=False))
    replay.feed(_stat(6, "b", "t11", ok=False))
    replay.feed(_adjust(7, b, "revised", "t11"))
    rule_op = stable_id("discard-rule", "b", "2")
    replay.feed(MemoryOp(op_id=rule_op, kind="discard", procedure_id="b",
                         reason="discard rule: retrieved 2, success 0.00", seq=8))  # fmt: skip
    replay.feed(_adjust(9, b, "too late", "t12"))  # a discarded procedure is not revised
    life_b = replay.lives["b"]
    assert [(r.kind, r.version, r.seq) for r in life_b.revisions] == [
        ("add", 1, 2), ("adjust", 2, 7), ("discard", 2, 8)
    ]  # fmt: skip
    assert life_b.current.status == "discarded" and life_b.current.script == "revised"
    assert life_b.discard_reason == "discard rule: retrieved 2, success 0.00"
    assert life_b.current.stats == ProcedureStats(retrieved=2, succeeded=0, failed=2)
    assert [s.trajectory_id for s in life_b.stats] == ["t10", "t11"]
    assert replay.active() == 1
    assert [k for _, k, _ in replay.by_trajectory["t11"]] == ["stat", "adjust"]


def test_tolerant_parse_sets_unknown_fields_aside_at_any_depth() -> None:
    task = Task(id="x/0", env="household", split="s", task_type="t", goal="g", seed=1)
    traj = Trajectory(id="t", task=task, model="sim/household",
                      steps=[Step(action="look", observation="ok")])  # fmt: skip
    tree = json.loads(traj.model_dump_json())
    tree["future_scores"] = {"success": 1.0}
    tree["steps"][0]["future_call"] = {"name": "look"}
    tree["task"]["new_field"] = 3
    parsed, extras = parse_tolerant(Trajectory, json.dumps(tree))
    assert parsed == traj
    assert extras == {"future_scores": {"success": 1.0}, "steps.0.future_call": {"name": "look"},
                      "task.new_field": 3}  # fmt: skip


def _write(path: Path, records: list) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(r.model_dump_json() + "\n" for r in records))


def test_run_view_follows_a_growing_run_and_rebuilds_the_memory_text(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("pipeline:\n  mode: sync\n  group_size: 2\n")
    task = Task(id="h/0", env="household", split="s", task_type="pick_and_place_simple",
                goal="put a mug in sink.", seed=0)  # fmt: skip
    a = _proc("a", "put a mug in sink.")
    t0 = Trajectory(id="t-a", task=task, model="sim/household", success=True)
    run = RunView(tmp_path, "r")
    run.refresh()  # nothing there yet: no error
    assert len(run.episodes) == 0 and not run.replay.lives
    _write(tmp_path / "trajectories.jsonl", [t0])
    _write(tmp_path / "memory_ops.jsonl", [_add(1, a)])
    run.refresh()
    assert len(run.episodes) == 1 and run.uncommitted_ops == 1 and not run.replay.lives
    _write(tmp_path / "memory_commits.jsonl",
           [MemoryCommit(version=1, first_seq=1, last_seq=1, trajectory_ids=["t-a"], size=1,
                         group=0, applied={"add": 1})])  # fmt: skip
    run.refresh()
    assert run.uncommitted_ops == 0 and run.replay.active() == 1 and not run.divergence
    t1 = Trajectory(id="t-b", task=task, model="sim/household", memory_ids=["a"],
                    memory_version=1)  # fmt: skip
    line = json.loads(t1.model_dump_json()) | {"later_field": {"x": 1}}
    with (tmp_path / "trajectories.jsonl").open("a") as fh:
        fh.write(json.dumps(line) + "\n")
    _write(tmp_path / "memory_ops.jsonl",
           [_stat(2, "a", "t-b", ok=False), _adjust(3, a, "2. rinse", "t-b")])  # fmt: skip
    _write(tmp_path / "memory_commits.jsonl",
           [MemoryCommit(version=2, first_seq=2, last_seq=3, trajectory_ids=["t-b"], size=1,
                         group=0, applied={"stat": 1, "adjust": 1})])  # fmt: skip
    run.refresh()
    assert run.by_id == {"t-a": 0, "t-b": 1} and run.given_to == {"a": [1]}
    assert [run.group_of(r) for r in run.episodes.rows] == [0, 0]
    traj, extras = run.trajectory(1)
    assert extras == {"later_field": {"x": 1}}
    given = run.memory_given(traj, extras)
    # The episode saw memory version 1: the script before the adjust its own failure caused.
    assert given.source == "reconstructed"
    assert given.text == render_memory([a]) and "1. do it" in given.text
    assert run.replay.lives["a"].current.script == "2. rinse"
    # A commit whose size disagrees with the replay (a merge the commits did not record) shows.
    _write(tmp_path / "memory_commits.jsonl", [MemoryCommit(version=3, size=7)])
    run.refresh()
    assert [(d.version, d.replayed, d.recorded) for d in run.divergence] == [(3, 1, 7)]
    # A torn, unreadable line is reported, not fatal.
    with (tmp_path / "trajectories.jsonl").open("a") as fh:
        fh.write('{"id": 5}\n')
    run.refresh()
    assert run.episodes.rows[-1].unreadable and run.unreadable()[0].startswith("trajectories")
