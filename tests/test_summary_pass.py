"""The streaming summary: exact sums (order-independent), groups' memory sizes, flat memory."""

from __future__ import annotations

import gc
import random
import tracemalloc
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from pipeline.console import task_type_table
from pipeline.orchestrate.plan import StreamPositions
from pipeline.runlog import JsonlLog, MemoryCommit, RunDirError, read_jsonl
from pipeline.summary import by_task_type, summarize, tally
from pipeline.summary_pass import SummaryPass
from pipeline.types import Step, Task, Trajectory, Usage

SIZE = 8  # tasks per group


def _task(i: int) -> Task:
    kind = ("pick", "heat", "clean")[i % 3]
    return Task(id=f"h/t/{i:05d}", env="h", split="t", task_type=kind, goal="g", seed=i)


def _traj(i: int, rng: random.Random) -> Trajectory:
    # Magnitudes far apart: a float sum of these depends on the order of its terms.
    cost = rng.choice([1e-7, 3e-5, 0.1, 7.0]) * rng.random()
    spread = rng.choice([1e16, -1e16, 1.0, 0.1])
    return Trajectory(
        id=f"traj-{i}",
        task=_task(i),
        steps=[Step(action="look", observation="You see a room. " * 8)] * (3 + i % 5),
        success=rng.random() < 0.5,
        scores={"spread": spread, "eff": rng.random()} if i % 4 else {"eff": rng.random()},
        status=rng.choice(["ok", "ok", "ok", "error", "timeout"]),
        usage=Usage(calls=2, prompt_tokens=100 + i, completion_tokens=7, cost_usd=cost),
        model="sim/h",
    )


def _commits(trajs: list[Trajectory], rng: random.Random) -> list[MemoryCommit]:
    """Batches of ids in order, a seed commit, a retried batch committed twice, an unknown id."""
    out = [MemoryCommit(version=1, size=3)]  # a seed pack: no trajectories
    ids = [t.id for t in trajs]
    for n, first in enumerate(range(0, len(ids) - 5, 5)):  # the last 5 never commit
        batch = ids[first : first + 5]
        out.append(MemoryCommit(version=n + 2, size=rng.randrange(50), trajectory_ids=batch))
        if n == 7:  # the writer died past its commit record: the retry commits the batch again
            out.append(MemoryCommit(version=n + 2, size=99, trajectory_ids=batch))
    out.append(MemoryCommit(version=999, size=77, trajectory_ids=["traj-unknown"]))
    return out


def _reference_sizes(trajs: list[Trajectory], group_of: dict[str, int],
                     commits: list[MemoryCommit]) -> dict[int, int]:  # fmt: skip
    """Groups' memory sizes the way figures_by_group found them (a dict over every id)."""
    size_after: dict[str, int] = {}
    for c in commits:
        for tid in c.trajectory_ids:
            size_after[tid] = max(size_after.get(tid, 0), c.size)
    out: dict[int, int] = {}
    for t in trajs:
        g = group_of[t.id]
        out[g] = max(out.get(g, 0), size_after.get(t.id, 0))
    return out


def _sync_summary(trajs: Iterable[Trajectory], commits: list[MemoryCommit]) -> str:
    tasks = [_task(i) for i in range(400)]
    run = SummaryPass(SIZE, StreamPositions(iter(tasks)))
    run.feed(trajs, commits)
    return run.summary(model="sim/h", role_usage=run.commit_usage()).model_dump_json()


def test_shuffled_trajectories_summarize_exactly_as_sorted() -> None:
    rng = random.Random(7)
    trajs = [_traj(i, rng) for i in range(400)]
    commits = _commits(trajs, rng)
    for c in commits[::3]:
        c.usage["build"] = Usage(calls=1, prompt_tokens=9, cost_usd=rng.choice([1e9, 1e-9]))
    costs = [t.usage.cost_usd for t in trajs]
    shuffled = trajs[:]
    naive_differs = False
    expected = _sync_summary(trajs, commits)
    for _ in range(5):
        rng.shuffle(shuffled)
        naive_differs |= sum(t.usage.cost_usd for t in shuffled) != sum(costs)
        assert _sync_summary(shuffled, commits) == expected
        assert _sync_summary(shuffled, commits[::-1]) == expected  # commit order neither
    assert naive_differs  # the data would catch an order-dependent float sum
    summary = SummaryPass(SIZE, StreamPositions(iter([_task(i) for i in range(400)])))
    summary.feed(trajs, commits)
    got = summary.summary()
    want = _reference_sizes(trajs, {t.id: i // SIZE for i, t in enumerate(trajs)}, commits)
    assert {g.group: g.memory_size for g in got.groups} == want
    assert got.groups[7 * 5 // SIZE].memory_size == 99  # the retried batch's second commit
    assert got.episodes == 400 and sum(g.episodes for g in got.groups) == 400
    assert got.status == dict(sorted(tally(trajs).status.items()))
    assert got.cost_usd == round(sum(costs), 6)  # rounded as before
    listed = summarize(trajs[::-1]).model_dump(exclude={"groups"})
    assert got.model_dump(exclude={"groups"}) == listed  # the list API, the same sums


def test_async_groups_follow_completion_order() -> None:
    rng = random.Random(3)
    trajs = [_traj(i, rng) for i in range(100)]
    rng.shuffle(trajs)  # finish order
    commits = _commits(trajs, rng)
    run = SummaryPass(SIZE)
    run.feed(trajs, commits)
    got = {g.group: (g.episodes, g.memory_size) for g in run.summary().groups}
    want = _reference_sizes(trajs, {t.id: i // SIZE for i, t in enumerate(trajs)}, commits)
    assert got == {g: (min(SIZE, 100 - g * SIZE), size) for g, size in want.items()}
    assert set(run.task_types) == {"pick", "heat", "clean"}


def test_a_long_async_curve_widens_its_rows_and_keeps_their_sums() -> None:
    # 1,000 episodes in groups of 8 are 125 rows; capped at 20 they widen three times, to 64 a row.
    rng = random.Random(4)
    trajs = [_traj(i, rng) for i in range(1000)]
    rng.shuffle(trajs)
    commits = _commits(trajs, rng)
    capped = SummaryPass(SIZE, max_rows=20)
    capped.feed(trajs, commits)
    wide = SummaryPass(SIZE * 8)  # what those rows must equal: groups of 64 from the start
    wide.feed(trajs, commits)
    got, want = capped.summary(), wide.summary()
    assert len(got.groups) == 16 and got.group_episodes == SIZE * 8
    assert got.groups == want.groups  # episodes, rates, tokens, exact cost, memory sizes
    assert want.group_episodes is None  # not widened: the rows are pipeline.group_size
    # sync groups are the suite's: never widened
    positions = StreamPositions(iter([_task(i) for i in range(1000)]))
    sync = SummaryPass(SIZE, positions, max_rows=20)
    sync.feed(sorted(trajs, key=lambda t: t.task.id), [])
    assert len(sync.summary().groups) == 125 and sync.summary().group_episodes is None


def test_console_table_comes_from_the_pass_tallies() -> None:
    from rich.console import Console

    rng = random.Random(5)
    trajs = [_traj(i, rng) for i in range(30)]
    run = SummaryPass(SIZE)
    run.feed(trajs, [])
    summary = run.summary()
    assert {k: t.model_dump() for k, t in summary.task_types.items()} == {
        k: t.model_dump() for k, t in by_task_type(trajs).items()
    }
    console = Console(width=200, record=True)
    console.print(task_type_table(summary.task_types, "h"))
    text = console.export_text()
    assert "pick" in text and f"{tally(trajs).tokens:,}" in text  # the "all" row
    assert "task_types" not in summary.model_dump_json()  # not part of summary.json


class _Once:
    """An iterable that may be iterated once, and counts how many of its items are alive."""

    def __init__(self, items: Iterator[Trajectory]) -> None:
        self.items = items
        self.used = False
        self.most_alive = 0

    def __iter__(self) -> Iterator[Trajectory]:
        if self.used:
            raise AssertionError("iterated twice")
        self.used = True
        alive: list[weakref.ref[Trajectory]] = []
        for item in self.items:
            gc.collect(0)
            alive = [r for r in alive if r() is not None]
            self.most_alive = max(self.most_alive, len(alive))
            alive.append(weakref.ref(item))
            yield item


def test_the_pass_never_holds_the_trajectories() -> None:
    rng = random.Random(1)
    source = _Once(_traj(i, rng) for i in range(2000))
    commits = _commits([_traj(i, random.Random(1)) for i in range(2000)], rng)
    run = SummaryPass(SIZE)
    run.feed(source, iter(commits))
    assert run.summary().episodes == 2000
    # Those read ahead of a commit that names a later trajectory are the most ever held.
    assert source.most_alive <= 2


def _peak_streaming(path: Path) -> int:
    tracemalloc.start()
    run = SummaryPass(20)
    run.feed(read_jsonl(path, Trajectory), [])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_of_the_pass_stays_flat_as_the_log_grows(tmp_path: Path) -> None:
    rng = random.Random(2)
    sizes, peaks = {}, {}
    for n in (500, 5000):
        path = tmp_path / f"{n}.jsonl"
        log = JsonlLog(path)
        log.append_many([_traj(i, rng) for i in range(n)])
        log.close()
        sizes[n], peaks[n] = path.stat().st_size, _peak_streaming(path)
    # A list of the trajectories would take several times the file; the pass grows by a few
    # hundred bytes a group and pydantic's bounded string cache.
    assert peaks[5000] - peaks[500] < (sizes[5000] - sizes[500]) / 10
    assert peaks[5000] < sizes[500]


def test_stream_positions_read_lazily_and_refuse_unknown_ids() -> None:
    read: list[int] = []

    def stream() -> Iterator[Task]:
        for i in range(10**9):  # endless
            read.append(i)
            yield _task(i)

    positions = StreamPositions(stream())
    assert positions[_task(5).id] == 5 and positions[_task(2).id] == 2 and len(read) == 6
    with pytest.raises(RunDirError, match="not in this run's task stream"):
        StreamPositions(iter([_task(0)]))["nope"]


def test_read_jsonl_streams_and_skips_only_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rng = random.Random(4)
    line = _traj(1, rng).model_dump_json()
    path.write_text(f"{line}\n\n{line}\n{line[:40]}")
    assert len(list(read_jsonl(path, Trajectory))) == 2
    path.write_text(f"{line}\n{line[:40]}\n{line}\n")
    with pytest.raises(RunDirError, match=":2: not a valid Trajectory"):
        list(read_jsonl(path, Trajectory))
