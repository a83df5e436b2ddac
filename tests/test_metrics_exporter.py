"""The exporter serves our catalogue over HTTP and refuses a busy port with one clear line."""

from __future__ import annotations

import re
import socket
import urllib.request

import pytest

from pipeline.llm import CallEvent
from pipeline.metrics import Metrics, MetricsError
from pipeline.types import Step, Task, Trajectory, Usage


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
                          "endpoint", "le"}  # fmt: skip


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
