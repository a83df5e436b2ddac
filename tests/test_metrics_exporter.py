"""The exporter serves our catalogue over HTTP and refuses a busy port with one clear line."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from pipeline.exporter import MetricsError
from pipeline.llm import CallEvent
from pipeline.metrics import CallRecorder, Metrics
from pipeline.types import Step, Task, Trajectory, Usage

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy


def _traj(success: bool, steps: int) -> Trajectory:
    task = Task(id="t1", env="household", split="x", task_type="pick", goal="g", seed=0)
    return Trajectory(
        id="e1",
        task=task,
        model="sim/household",
        success=success,
        steps=[Step(action="look", observation="o", valid=i % 2 == 0) for i in range(steps)],
    )


AGENT_USAGE = Usage(calls=1, prompt_tokens=100, completion_tokens=7, cost_usd=0.002)
LOW_CARDINALITY_LABELS = {"env", "status", "outcome", "model", "role", "kind", "policy", "stage",
                          "endpoint", "le", "run"}  # fmt: skip


def test_exporter_serves_catalogue() -> None:
    metrics = Metrics()
    port = metrics.start("127.0.0.1", 0)
    try:
        metrics.observe_trajectory(_traj(True, 4))
        metrics.observe_trajectory(_traj(False, 10))
        metrics.observe_calls(
            [
                CallEvent(role="agent", model="sim/household", latency_s=0.01, usage=AGENT_USAGE),
                CallEvent(role="build", model="sim/household", latency_s=0.5, usage=Usage(),
                          error="rate_limit"),
            ]
        )  # fmt: skip
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        metrics.stop()
    assert 'memp_episodes_total{env="household",outcome="success",status="ok"} 1.0' in body
    assert 'memp_agent_steps_total{env="household"} 14.0' in body
    assert 'memp_agent_invalid_steps_total{env="household"} 7.0' in body
    assert "memp_success_rate_window 0.5" in body
    assert "memp_mean_steps_window 7.0" in body
    assert 'memp_llm_tokens_total{kind="prompt",model="sim/household",role="agent"} 100.0' in body
    assert 'memp_llm_cost_usd_total{model="sim/household",role="agent"} 0.002' in body
    assert 'memp_llm_errors_total{kind="rate_limit",model="sim/household",role="build"} 1.0' in body
    assert set(re.findall(r'[{,](\w+)="', body)) <= LOW_CARDINALITY_LABELS


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(MetricsError, match=f"127.0.0.1:{port}.*metrics.port"):
            Metrics().start("127.0.0.1", port)


def test_busy_port_fails_memp_run_with_one_line_before_any_task(tmp_path) -> None:
    root = Path(__file__).resolve().parent.parent
    preset = str(root / "configs" / "household-sim.yaml")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cmd = [sys.executable, "-m", "pipeline.cli", "run", preset, "--set", f"metrics.port={port}",
               "--run-dir", str(tmp_path / "run")]  # fmt: skip
        done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}" in done.stderr
    assert "starting Ray" not in done.stdout  # it failed before Ray, so before any task


def test_prime_gives_every_series_a_zero_and_rows_feed_it() -> None:
    metrics = Metrics()
    metrics.prime("household", [("sim/household", "agent"), ("sim/household", "build")],
                  {"sim": 64}, policy="query")  # fmt: skip
    body = generate_latest(metrics.registry).decode()
    agent = 'model="sim/household",role="agent"'
    for kind in ("rate_limit", "timeout", "server", "bad_output", "auth"):
        assert f'memp_llm_errors_total{{kind="{kind}",{agent}}} 0.0' in body
    for kind in ("add", "adjust", "discard", "stat"):
        assert f'memp_memory_ops_applied_total{{kind="{kind}"}} 0.0' in body
    for stage in ("rollout", "validate", "distill", "write"):
        assert f'memp_queue_depth{{stage="{stage}"}} 0.0' in body
    assert body.count("memp_episodes_total{") == 6
    assert 'memp_llm_calls_total{model="sim/household",role="build"} 0.0' in body
    assert 'memp_retrieval_latency_seconds_count{policy="query"} 0.0' in body
    assert 'memp_llm_concurrency_limit{endpoint="sim"} 64.0' in body

    recorder = CallRecorder()
    recorder(CallEvent(role="build", model="sim/household", latency_s=0.2, usage=AGENT_USAGE))
    recorder(CallEvent(role="build", model="sim/household", latency_s=0.1, usage=Usage(),
                       error="timeout", retried=True))  # fmt: skip
    recorder(CallEvent(role="build", model="sim/household", latency_s=0.1, usage=Usage(),
                       error="timeout"))  # fmt: skip
    rows = recorder.rows()
    assert recorder.rows() == []
    for row in rows:
        metrics.observe_call(*row)
    body = generate_latest(metrics.registry).decode()
    assert 'memp_llm_calls_total{model="sim/household",role="build"} 1.0' in body
    assert 'memp_llm_tokens_total{kind="prompt",model="sim/household",role="build"} 100.0' in body
    assert 'memp_llm_errors_total{kind="timeout",model="sim/household",role="build"} 2.0' in body
    assert 'memp_llm_retries_total{model="sim/household",role="build"} 1.0' in body  # last: none


def test_summary_counts_memory_roles_in_totals() -> None:
    from pipeline.summary import summarize

    traj = _traj(True, 2).model_copy(update={"usage": AGENT_USAGE})
    memory = {"build": Usage(calls=2, prompt_tokens=50, completion_tokens=5, cost_usd=0.001)}
    s = summarize([traj], role_usage=memory)
    assert s.tokens_by_role == {"agent": {"prompt": 100, "completion": 7},
                                "build": {"prompt": 50, "completion": 5}}  # fmt: skip
    assert s.tokens == {"prompt": 150, "completion": 12}
    assert s.cost_usd == pytest.approx(0.003) and s.cost_by_role["build"] == 0.001


def test_run_labels_reach_every_series_and_cells_share_one_endpoint() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from pipeline.exporter import Exporter

    cells = [Metrics({"run": "grid-1", "cell": name}) for name in ("control", "script")]
    exporter = Exporter()
    for m in cells:
        m.prime("household", [("sim/household", "agent")])
        exporter.sources.add(m.registry, m.labels)
    cells[1].observe_trajectory(_traj(True, 3))
    port = exporter.start("127.0.0.1", 0)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        exporter.stop()
    families = list(text_string_to_metric_families(body))  # one block per name, or this raises
    names = [f.name for f in families]
    assert len(names) == len(set(names))
    samples = [s for f in families for s in f.samples]
    assert {(s.labels["run"], s.labels["cell"]) for s in samples} == {
        ("grid-1", "control"), ("grid-1", "script")
    }  # fmt: skip
    ok = 'memp_episodes_total{cell="script",env="household",outcome="success",run="grid-1",'
    assert ok + 'status="ok"} 1.0' in body
    assert 'memp_run_finished{cell="control",run="grid-1"} 0.0' in body


def test_exporter_waits_for_a_scrape_after_the_final_values() -> None:
    import threading
    import time

    metrics = Metrics({"run": "r"})
    port = metrics.start("127.0.0.1", 0)
    exporter = metrics.exporter
    assert exporter is not None and not exporter.scraped
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        for _ in range(2):
            urllib.request.urlopen(url, timeout=5).read()
        assert exporter.scraped and exporter.scrape_interval() is not None
        metrics.run_finished.set(1)
        final = time.monotonic()
        assert not exporter.wait_for_scrape(final, timeout=0.2)  # nobody came
        seen: list[str] = []
        later = threading.Timer(0.3, lambda: seen.append(urllib.request.urlopen(url).read()))
        later.start()
        assert exporter.wait_for_scrape(final, timeout=10)
        later.join()
        assert b'memp_run_finished{run="r"} 1.0' in seen[0]
    finally:
        metrics.stop()
