"""A real Prometheus scrapes a real `memp run`: our metrics arrive with the run's label, and every
PromQL expression of the Grafana dashboard and the rules file parses and returns data."""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.prometheus_server import (
    DEPLOY,
    Prom,
    finish,
    free_port,
    needs_prometheus,
    running_prometheus,
    start_memp_run,
)

pytestmark = [needs_prometheus, pytest.mark.heavy]  # not in `make test-fast`
TASKS = 50  # ~20-25 s of run at 1 s scrapes: enough samples for every rate()[5m]


def dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "memp.json").read_text())
    found: list[str] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            found.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    walk(dash["panels"])
    # Grafana's variables as a user with "All" selected would send them.
    subs = {r"\$__(rate_)?interval": "1m", r"\$job": ".*", r"\$run": ".*"}
    for pattern, value in subs.items():
        found = [re.sub(pattern, value, e) for e in found]
    return found


def rules_file() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DEPLOY / "prometheus" / "memp-rules.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def _has_data(prom: Prom, expr: str) -> bool:
    """Some series, and at least one finite value (a quantile of unused roles may be NaN)."""
    return any(math.isfinite(float(s["value"][1])) for s in prom.query(expr))


def _wait_for_final_scrape(prom: Prom, proc: subprocess.Popen, summary: Path) -> None:
    """Until Prometheus holds a scrape taken after the run finished (its final totals)."""
    deadline = time.monotonic() + 150
    while not summary.exists():
        assert proc.poll() is None, f"memp run ended early:\n{proc.communicate()[0][-3000:]}"
        assert time.monotonic() < deadline, "the run did not finish in time"
        time.sleep(0.2)
    while not [s for s in prom.query("memp_run_finished == 1")]:
        assert proc.poll() is None, "the exporter went away before a final scrape"
        assert time.monotonic() < deadline, "no scrape after the run finished"
        time.sleep(0.2)


def test_real_prometheus_scrapes_a_run(tmp_path: Path):
    run_dir = tmp_path / "run"
    exporter_port = free_port()
    sets = [f"env.max_tasks={TASKS}", "sim.latency.mean_s=0.1", "metrics.linger_s=12"]
    with running_prometheus(tmp_path / "prometheus", exporter_port) as prometheus:
        proc = start_memp_run(run_dir, exporter_port, sets)
        _wait_for_final_scrape(prometheus, proc, run_dir / "summary.json")
        summary = json.loads((run_dir / "summary.json").read_text())
        print("run wall_s", summary["wall_s"], "tokens by role", summary["tokens_by_role"])
        check_totals(prometheus, summary, run_dir.name)
        check_dashboard_and_rules(prometheus)
        out = finish(proc)
    assert proc.returncode == 0, out[-3000:]
    assert f"metrics: http://127.0.0.1:{exporter_port}/metrics" in out


def check_totals(prom: Prom, summary: dict[str, Any], run: str) -> None:
    assert summary["episodes"] == TASKS
    # Every memp series carries the run's name; the run ended in order.
    runs = {s["metric"].get("run") for s in prom.query('{job="memp", __name__=~"memp_.+"}')}
    assert runs == {run}, runs
    assert prom.value("memp_run_finished") == 1
    info = prom.query("memp_run_info")[0]["metric"]
    assert (info["env"], info["model"], info["mode"]) == ("household", "sim/household", "async")
    assert prom.value("sum(memp_episodes_total)") == TASKS
    ok = summary["status"].get("ok", 0)
    assert prom.value('sum(memp_episodes_total{status="ok"})') == ok
    successes = round(summary["success_rate"] * TASKS)
    assert prom.value('sum(memp_episodes_total{outcome="success"})') == successes
    assert prom.value("sum(memp_episode_steps_count)") == TASKS
    assert prom.value("sum(memp_retrieval_latency_seconds_count)") == TASKS
    # Every role's calls reached the driver: the exporter and summary.json agree on tokens.
    for role, tokens in summary["tokens_by_role"].items():
        for kind, count in tokens.items():
            got = prom.value(f'sum(memp_llm_tokens_total{{role="{role}", kind="{kind}"}})')
            assert got == count, (role, kind, got, count)
    assert {"agent", "build", "keywords"} <= set(summary["tokens_by_role"])
    assert prom.value("sum(memp_llm_cost_usd_total)") == pytest.approx(summary["cost_usd"], 1e-4)
    memory = summary["memory"]
    assert prom.value('sum(memp_memory_ops_applied_total{kind="add"})') == memory["added"]
    assert prom.value('memp_memory_procedures{status="active"}') == memory["size"]
    assert prom.value("memp_memory_version") == memory["version"] > 0
    # Gauges moved during the run and are back to 0 at the end.
    assert prom.value("max_over_time(memp_in_flight_episodes[5m])") > 0
    assert prom.value("memp_in_flight_episodes") == 0
    assert prom.value('memp_llm_concurrency_limit{endpoint="sim"}') > 0
    stages = {s["metric"]["stage"] for s in prom.query("memp_queue_depth")}
    assert stages == {"rollout", "validate", "distill", "write"}
    peaks = prom.query("max by (stage) (max_over_time(memp_queue_depth[5m]))")
    print("queue depth peaks:", {s["metric"]["stage"]: s["value"][1] for s in peaks})  # -s shows
    errors = {s["metric"]["kind"] for s in prom.query('memp_llm_errors_total{role="agent"}')}
    assert {"rate_limit", "timeout", "server", "bad_output", "auth"} <= errors


def check_dashboard_and_rules(prom: Prom) -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 20, exprs
    # Ray and Qdrant panels read jobs this test does not run: they must parse and evaluate.
    others = [e for e in exprs if 'job="ray"' in e or 'job="qdrant"' in e]
    assert len(others) >= 6, others
    for expr in others:
        prom.query(expr)
    empty = [e for e in exprs if e not in others and not _has_data(prom, e)]
    assert not empty, f"dashboard expressions without data: {empty}"

    loaded = {r["name"]: r for r in prom.rules()}
    for rule in rules_file():
        name = rule.get("record") or rule["alert"]
        assert name in loaded, f"rule {name} not loaded by prometheus"
        assert loaded[name]["health"] == "ok", (name, loaded[name].get("lastError"))
        if "record" in rule:
            assert _has_data(prom, rule["record"]), f"recording rule {name} has no data"
            continue
        prom.query(rule["expr"])  # the whole alert expression parses and evaluates
        # Each side of an `and`: '<expr> <op> <number>', and <expr> has data during a run.
        for clause in re.split(r"\s+and\s+on\s*\([^)]*\)\s+", rule["expr"].strip()):
            lhs = re.fullmatch(r"(.+?)\s*(==|!=|>=|<=|>|<)\s*[-+.\deE]+", clause)
            assert lhs, f"alert {name}: expected '<expr> <op> <number>', got {clause!r}"
            assert _has_data(prom, lhs.group(1)), f"alert {name}: {lhs.group(1)!r} has no data"
