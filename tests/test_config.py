"""RunConfig: presets load, overrides apply, bad input is one line naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import ConfigError
from pipeline.config_load import load_config

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]


def test_presets_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.envs.alfworld.export import export_games

    export_games(tmp_path, per_type=1)  # alfworld-sim.yaml checks its game directory at load
    monkeypatch.setenv("ALFWORLD_DATA", str(tmp_path))
    for preset in sorted((ROOT / "configs").glob("*.yaml")):
        load_config(preset)


def test_override_types_and_nesting() -> None:
    cfg = load_config(
        ROOT / "configs/household-sim.yaml",
        ["memory.top_k=3", "memory.qdrant.url=http://127.0.0.1:6333", "sim.latency.mean_s=0.5"],
    )
    assert cfg.memory.top_k == 3
    assert cfg.memory.qdrant.url == "http://127.0.0.1:6333"
    assert cfg.sim.latency.mean_s == 0.5


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        (
            "memory.bogus=1",
            "unknown config key 'memory.bogus'; allowed here: adjust_similarity, build",
        ),
        ("memory.build=foo", "'memory.build'"),
        ("memory.retrieve=nope", "no policy 'nope'; use one of random, query, avefact"),
        ("env.step_limit=0", "'env.step_limit'"),
        ("nosuch.key=1", "unknown config key 'nosuch'"),
        ("memory.top_k", "expected key=value"),
    ],
)
def test_bad_input_is_one_clear_line(override: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


def test_cli_rejects_unknown_key_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(ROOT / "configs/household-sim.yaml"),
         "--set", "memory.nope=1", "--run-dir", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "unknown config key 'memory.nope'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists(), "a rejected config must not create a run directory"
