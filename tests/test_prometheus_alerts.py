"""memp's alerts against a real Prometheus (rules with minutes shrunk to seconds): a stalled run
fires MempNoEpisodesFinished, a killed driver fires MempExporterDown, a run that finished in order
fires neither, while it lingers or after its exporter is gone."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import ray

from actors.session import start_ray
from tests.prometheus_server import (
    Prom,
    fast_rules,
    finish,
    free_port,
    needs_prometheus,
    running_prometheus,
    start_memp_run,
)

pytestmark = [needs_prometheus, pytest.mark.heavy]  # not in `make test-fast`


@pytest.fixture(scope="module")
def ray_address():
    """A Ray the drivers join: a driver killed with -9 then leaves no Ray of its own behind."""
    start_ray(num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _wait_for(prom: Prom, alert: str, state: str, seconds: float, proc=None) -> None:
    deadline = time.monotonic() + seconds
    while prom.alert_state(alert) != state:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"memp run ended early:\n{finish(proc)[-3000:]}")
        assert time.monotonic() < deadline, f"{alert} never became {state}"
        time.sleep(0.5)


def _hold(prom: Prom, alerts: tuple[str, ...], seconds: float) -> None:
    """Every alert stays inactive for `seconds` (longer than any shrunk window plus its `for`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        states = {a: prom.alert_state(a) for a in alerts}
        assert set(states.values()) == {"inactive"}, states
        time.sleep(0.5)


def test_stalled_run_then_killed_driver_fire(ray_address, tmp_path: Path) -> None:
    port = free_port()
    with running_prometheus(tmp_path / "prometheus", port, rules=fast_rules) as prom:
        # Every model call takes a minute: the run is alive and finishes nothing.
        sets = ["env.max_tasks=8", "sim.latency.mean_s=60", "agent.timeout_s=120"]
        proc = start_memp_run(tmp_path / "run", port, sets, address=ray_address)
        try:
            _wait_for(prom, "MempNoEpisodesFinished", "firing", 90, proc)
            assert prom.alert_state("MempExporterDown") == "inactive"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            _wait_for(prom, "MempExporterDown", "firing", 30)
        finally:
            if proc.poll() is None:
                proc.kill()
            finish(proc)


def test_clean_finish_fires_nothing(ray_address, tmp_path: Path) -> None:
    port = free_port()
    run_dir = tmp_path / "run"
    with running_prometheus(tmp_path / "prometheus", port, rules=fast_rules) as prom:
        sets = ["env.max_tasks=6", "sim.latency.mean_s=0.05", "metrics.linger_s=12"]
        proc = start_memp_run(run_dir, port, sets, address=ray_address)
        deadline = time.monotonic() + 150
        while not (run_dir / "summary.json").exists():
            assert proc.poll() is None, finish(proc)[-3000:]
            assert time.monotonic() < deadline, "the run did not finish in time"
            time.sleep(0.2)
        # Start-up finishes no episode either (and may fire with the shrunk windows); what counts
        # is the state once Prometheus has seen the run finish.
        while not prom.query("memp_run_finished == 1"):
            assert time.monotonic() < deadline, "no scrape saw the run finish"
            time.sleep(0.2)
        _wait_for(prom, "MempNoEpisodesFinished", "inactive", 5)
        # Lingering: no episode finishes any more, yet the run is over, so nothing fires.
        _hold(prom, ("MempNoEpisodesFinished", "MempExporterDown"), 10)
        out = finish(proc)
        assert proc.returncode == 0, out[-3000:]
        assert "metrics: waiting up to" in out  # Prometheus was scraping: one final scrape
        # The exporter is gone after a clean finish: the target is down, and that is fine.
        _hold(prom, ("MempNoEpisodesFinished", "MempExporterDown"), 8)
        assert prom.value('up{job="memp"}') == 0
