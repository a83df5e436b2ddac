"""Embedders (hash and the real litellm HTTP path), memory packs and the `memory` CLI."""

from __future__ import annotations

import json

import anyio
import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.config import MemoryConfig, ModelConfig, dump_config
from pipeline.config_load import build_config
from pipeline.memory.cli import memory_app
from pipeline.memory.embed import EmbedderError, HashEmbedder, LiteLLMEmbedder, make_embedder
from pipeline.memory.pack import export_pack, import_pack
from pipeline.memory.schema import MemoryStoreError
from pipeline.memory.store import ProcedureStore
from tests.openai_server import OpenAIServer
from tests.test_memory_store import GOALS, add, proc, stat

TEXTS = ["put a clean mug in cabinet.", "put a clean cup in cabinet.", "look at book under lamp."]


def test_hash_embedder_deterministic_and_normalised():
    a = HashEmbedder(256).encode(TEXTS)
    b = HashEmbedder(256).encode(list(reversed(TEXTS)))[::-1]
    assert a.shape == (3, 256) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    sims = a @ a.T
    assert sims[0, 1] > 0.6 > sims[0, 2]  # shared words and char grams count
    assert not HashEmbedder(256).encode([""]).any()


def test_embedder_registry():
    assert isinstance(make_embedder(MemoryConfig(embed_dim=64)), HashEmbedder)
    assert make_embedder(MemoryConfig(embedder="litellm:openai/e")).name == "litellm:openai/e"
    with pytest.raises(EmbedderError, match=r"unknown memory\.embedder 'word2vec'"):
        make_embedder(MemoryConfig(embedder="word2vec"))


def test_litellm_embedder_over_http_is_batched_and_cached(monkeypatch):
    monkeypatch.setenv("MEMP_TEST_KEY", "sk-test")

    async def body(base_url: str, server: OpenAIServer):
        endpoint = ModelConfig(api_base=base_url, api_key_env="MEMP_TEST_KEY", max_retries=0)
        emb = LiteLLMEmbedder("openai/test-embed", endpoint, batch_size=2)
        rows, _ = await emb.embed(TEXTS)
        assert rows.shape == (3, 16) and emb.dim == 16
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
        calls = len(server.requests)
        assert calls == 2  # batches of two
        again, _ = await emb.embed([TEXTS[1], TEXTS[0]])
        assert len(server.requests) == calls and np.array_equal(again[0], rows[1])

    with OpenAIServer(lambda messages: "ok", dim=16) as server:
        anyio.run(body, server.base_url, server)


def test_export_import_round_trip(tmp_path):
    async def body():
        cfg = MemoryConfig(embed_dim=256)
        src = await ProcedureStore.open(cfg, tmp_path / "a", HashEmbedder(256))
        procs = [proc(g, t) for g, t in GOALS]
        await src.apply([add(p) for p in procs])
        await src.apply(
            [stat(procs[0].id, "x", True)] + [stat(procs[1].id, t, False) for t in "abc"]
        )
        n = await export_pack(src, tmp_path / "pack.jsonl")
        before = await src.all()
        await src.close()
        by_id = {p.id: p for p in before}
        assert n == 4 and by_id[procs[1].id].status == "discarded"
        dst = await ProcedureStore.open(cfg, tmp_path / "b", HashEmbedder(256))
        first = await import_pack(dst, tmp_path / "pack.jsonl")
        assert len(first.applied) == 4
        dump = await dst.dump()
        second = await import_pack(dst, tmp_path / "pack.jsonl")
        assert second.applied == [] and await dst.dump() == dump
        assert await dst.all() == before
        assert await dst.count() == 3  # the discarded one stays discarded
        await dst.close()
        bad = tmp_path / "bad.jsonl"
        bad.write_text(json.dumps({"id": "x"}) + "\n")
        dst = await ProcedureStore.open(cfg, tmp_path / "b", HashEmbedder(256))
        with pytest.raises(MemoryStoreError, match=r"bad.jsonl:1: "):
            await import_pack(dst, bad)
        await dst.close()

    anyio.run(body)


def test_memory_cli(tmp_path):
    run_dir = tmp_path / "run"

    async def fill():
        memory = MemoryConfig(namespace="household")  # what the run config below derives
        store = await ProcedureStore.open(memory, run_dir / "qdrant", HashEmbedder(512))
        p = proc(*GOALS[0])
        await store.apply([add(p)])
        await store.apply([stat(p.id, t, False) for t in "abc"])
        await store.apply([add(proc(*GOALS[1]))])
        await store.close()
        return p.id

    pid = anyio.run(fill)
    (run_dir / "config.yaml").write_text(dump_config(build_config({"memory": {"enabled": True}})))
    runner = CliRunner(env={"COLUMNS": "200"})
    res = runner.invoke(memory_app, ["ls", "--run-dir", str(run_dir)])
    assert res.exit_code == 0, res.output
    assert "heat some egg" in res.output and "clean mug" not in res.output
    res = runner.invoke(memory_app, ["ls", "--run-dir", str(run_dir), "--all"])
    assert "discarded" in res.output
    res = runner.invoke(memory_app, ["show", pid[:8], "--run-dir", str(run_dir)])
    assert res.exit_code == 0 and "status:      discarded" in res.output
    res = runner.invoke(memory_app, ["history", pid, "--run-dir", str(run_dir)])
    assert res.exit_code == 0 and "discard rule" in res.output
    res = runner.invoke(memory_app, ["stats", "--run-dir", str(run_dir)])
    assert res.exit_code == 0 and "memory version 3" in res.output
    pack = tmp_path / "pack.jsonl"
    res = runner.invoke(memory_app, ["export", "--run-dir", str(run_dir), "-o", str(pack)])
    assert res.exit_code == 0 and len(pack.read_text().splitlines()) == 2
    other = tmp_path / "other"
    for expected in ('"applied": 2', '"applied": 0'):
        res = runner.invoke(memory_app, ["import", str(pack), "--run-dir", str(other)])
        assert res.exit_code == 0 and expected in res.output, res.output
    res = runner.invoke(memory_app, ["show", "nope", "--run-dir", str(run_dir)])
    assert res.exit_code == 2 and "no procedure with id 'nope'" in res.stderr


def test_caches_are_capped() -> None:
    from pipeline.memory.lru import CappedCache

    cache: CappedCache[str, int] = CappedCache(3)
    for n in range(5):
        cache[f"k{n}"] = n
    assert len(cache) == 3 and "k0" not in cache and cache.get("k4") == 4
    cache.get("k2")  # used: survives the next insert
    cache["k5"] = 5
    assert "k2" in cache and "k3" not in cache
