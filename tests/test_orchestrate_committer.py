"""The MemoryCommitter on a real local Qdrant and a real run directory WAL (no Ray): log before
apply, derived ops logged, group commit, and replay after a crash at each step."""

from __future__ import annotations

import anyio

from pipeline.orchestrate.committer import MemoryCommitter, Submission
from pipeline.runlog import MemoryCommit, OpsWal, read_jsonl
from pipeline.types import MemoryOp, Usage
from tests.test_memory_store import GOALS, add, open_store, proc, stat


def _ops(i: int) -> list[MemoryOp]:
    goal, task_type = GOALS[i % len(GOALS)]
    p = proc(goal, task_type, tag=f"t{i}")
    return [add(p), stat(p.id, f"t{i}", True)]


def _commits(path) -> list[MemoryCommit]:
    return list(read_jsonl(path / "memory_commits.jsonl", MemoryCommit))


def _logged(path) -> list[MemoryOp]:
    return list(read_jsonl(path / "memory_ops.jsonl", MemoryOp))


async def _state(run):
    store = await open_store(run / "qdrant")
    try:
        dump = await store.dump()
    finally:
        await store.close()
    procs = {k: v["payload"] for k, v in dump["procedures"].items()}
    for p in procs.values():  # wall-clock times differ between any two runs
        p.pop("updated_at", None)
        for entry in p.get("history", []):
            entry.pop("at", None)
    return dump["version"], procs


def test_commit_logs_applies_and_records(tmp_path):
    async def main():
        store = await open_store(tmp_path / "qdrant")
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        out = await committer.commit(Submission(_ops(0), "e0", group=0))
        again = await committer.commit(Submission(_ops(0), "e0b"))
        await store.close()
        committer.wal.close()
        return out, again

    out, again = anyio.run(main)
    assert out.applied == {"add": 1, "stat": 1} and out.version == 1 and out.size == 1
    assert again.applied == {} and again.skipped == 2 and again.version == 1  # idempotent
    assert [op.seq for op in _logged(tmp_path)] == [1, 2]  # each op logged once
    first, second = _commits(tmp_path)
    assert (first.first_seq, first.last_seq, first.group) == (1, 2, 0)
    assert first.trajectory_ids == ["e0"] and second.trajectory_ids == ["e0b"]


def test_each_commit_asks_the_store_once_which_ops_it_holds(tmp_path):
    # The WAL filter and the writer's idempotency share one lookup (a scan of the batch records).
    async def main():
        store = await open_store(tmp_path / "qdrant")
        asked: list[list[str]] = []
        lookup = store.applied

        async def applied(op_ids):
            asked.append(list(op_ids))
            return await lookup(op_ids)

        store.applied = applied
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        out = await committer.commit(Submission(_ops(0), "e0"))
        again = await committer.commit(Submission(_ops(0), "e0b"))  # a re-fed batch
        await store.close()
        committer.wal.close()
        return asked, out, again

    asked, out, again = anyio.run(main)
    ids = [op.op_id for op in _ops(0)]
    assert asked == [ids, ids]
    assert out.applied == {"add": 1, "stat": 1} and again.skipped == 2 and again.applied == {}


def test_concurrent_commits_share_one_batch_and_one_version(tmp_path):
    async def main():
        store = await open_store(tmp_path / "qdrant")
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        outcomes = {}

        async def one(i):
            outcomes[i] = await committer.commit(Submission(_ops(i), f"e{i}"))

        await committer.commit()  # version 1 (empty batch still records a commit)
        async with anyio.create_task_group() as tg:
            for i in range(4):
                tg.start_soon(one, i)
        await store.close()
        committer.wal.close()
        return outcomes

    outcomes = anyio.run(main)
    assert sum(o.lead for o in outcomes.values()) <= 2  # the first alone, then the rest together
    assert len({o.version for o in outcomes.values()}) <= 2
    assert sum(len(c.trajectory_ids) for c in _commits(tmp_path)) == 4


def test_crash_after_logging_replays_once_and_matches_an_uninterrupted_commit(tmp_path):
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"

    async def uninterrupted():
        store = await open_store(clean / "qdrant")
        committer = MemoryCommitter(store, OpsWal(clean))
        await committer.commit(Submission(_ops(0), "e0"))
        await committer.commit(Submission(_ops(1), "e1"))
        totals = committer.totals()
        await store.close()
        committer.wal.close()
        return totals

    async def crash_then_resume():
        store = await open_store(crashed / "qdrant")
        committer = MemoryCommitter(store, OpsWal(crashed))
        await committer.commit(Submission(_ops(0), "e0"))
        committer.wal.log(_ops(1))  # durable, then the process dies before the store sees them
        await store.close()
        committer.wal.close()
        store = await open_store(crashed / "qdrant")
        committer = MemoryCommitter(store, OpsWal(crashed))
        replayed = await committer.replay()
        assert await committer.replay() is None
        await committer.commit(Submission(_ops(1), "e1"))  # the driver re-feeds e1
        totals = committer.totals()
        await store.close()
        committer.wal.close()
        wal = OpsWal(crashed)  # a third open finds nothing to replay
        assert wal.uncommitted == []
        wal.close()
        return replayed, totals

    clean_totals = anyio.run(uninterrupted)
    replayed, crashed_totals = anyio.run(crash_then_resume)
    assert replayed is not None and replayed.applied == {"add": 1, "stat": 1}
    assert crashed_totals == clean_totals  # replayed ops counted once
    assert [op.op_id for op in _logged(crashed)] == [op.op_id for op in _logged(clean)]
    assert anyio.run(_state, crashed) == anyio.run(_state, clean)


def test_crash_after_applying_before_the_commit_record(tmp_path):
    async def main():
        store = await open_store(tmp_path / "qdrant")
        wal = OpsWal(tmp_path)
        await store.apply(wal.log(_ops(2)))  # applied, then killed before the commit record
        await store.close()
        wal.close()
        store = await open_store(tmp_path / "qdrant")
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        replayed = await committer.replay()
        out = await committer.commit(Submission(_ops(2), "e2"))
        await store.close()
        committer.wal.close()
        return replayed, out

    replayed, out = anyio.run(main)
    assert replayed is not None and replayed.applied == {}  # the store had them already
    assert out.applied == {} and out.version == 1
    assert [c.trajectory_ids for c in _commits(tmp_path)] == [[], ["e2"]]
    assert len(_logged(tmp_path)) == 2


def _with_usage(i: int, prompt: int) -> list[MemoryOp]:
    """A distill's ops: its LLM usage rides on the first op, as the distiller sends it."""
    first, *rest = _ops(i)
    usage = {"build": Usage(calls=1, prompt_tokens=prompt, completion_tokens=7, cost_usd=0.5)}
    return [first.model_copy(update={"usage": usage}), *rest]


def test_usage_by_role_is_committed_once_whatever_crashes_or_retries(tmp_path):
    """Summary totals are summed from the commit records: a retried submission (its ops already
    logged) adds nothing, a replayed tail counts its usage under the replay's commit."""

    async def main():
        store = await open_store(tmp_path / "qdrant")
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        await committer.commit(Submission(_with_usage(0, 100), "e0"))
        await committer.commit(Submission(_with_usage(0, 999), "e0"))  # redone after a failure
        committer.wal.log(_with_usage(1, 50))  # logged, then the writer dies
        await store.close()
        committer.wal.close()
        store = await open_store(tmp_path / "qdrant")
        committer = MemoryCommitter(store, OpsWal(tmp_path))
        await committer.replay()
        await committer.commit(Submission(_with_usage(1, 888), "e1"))  # re-distilled: same ids
        await store.close()
        committer.wal.close()

    anyio.run(main)
    usage = [c.usage.get("build", Usage()) for c in _commits(tmp_path)]
    assert [u.prompt_tokens for u in usage] == [100, 0, 50, 0]
    assert sum(u.calls for u in usage) == 2 and sum(u.cost_usd for u in usage) == 1.0
