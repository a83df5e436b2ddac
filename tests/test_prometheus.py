"""A real Prometheus scrapes a real `memp run`: our metrics arrive, and every PromQL expression of
the Grafana dashboard and the rules file parses and returns data."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PRESET = ROOT / "configs" / "household-sim.yaml"
TASKS = 50  # ~20-25 s of run at 1 s scrapes: enough samples for every rate()[5m]


def _prometheus_binary() -> str | None:
    found = shutil.which("prometheus")
    if found:
        return found
    return "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None


PROMETHEUS = _prometheus_binary()
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="prometheus is not installed: apt-get install prometheus (CI installs it)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode())


class Prom:
    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; fails the test on a parse or evaluation error."""
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            body = _get(url)
        except urllib.error.HTTPError as err:  # 400 on a bad expression, with the reason
            raise AssertionError(f"{expr!r}: {err.read().decode()[:300]}") from None
        assert body["status"] == "success", (expr, body)
        return body["data"]["result"]

    def value(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    def rules(self) -> list[dict[str, Any]]:
        body = _get(f"{self.base}/api/v1/rules")
        assert body["status"] == "success", body
        return [r for g in body["data"]["groups"] for r in g["rules"]]


@pytest.fixture
def exporter_port() -> int:
    return _free_port()


@pytest.fixture
def prometheus(tmp_path: Path, exporter_port: int):
    """Prometheus on 127.0.0.1 with our prometheus.yml and rules, 1 s scrapes of the exporter."""
    conf = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    conf["global"].update(scrape_interval="1s", evaluation_interval="1s")
    for job in conf["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{exporter_port}"]}]
    home = tmp_path / "prometheus"
    home.mkdir()
    for rule_file in conf["rule_files"]:
        shutil.copy(DEPLOY / "prometheus" / rule_file, home / rule_file)
    (home / "prometheus.yml").write_text(yaml.safe_dump(conf))
    port = _free_port()
    assert PROMETHEUS is not None
    log = (home / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: teardown kills all of it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (home / "prometheus.log").read_text()[-2000:]
            try:
                urllib.request.urlopen(f"{base}/-/ready", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "prometheus never became ready"
                time.sleep(0.2)
        prom = Prom(base)
        loaded = {r["name"] for r in prom.rules()}
        assert "memp:episodes:rate1m" in loaded, f"rules not loaded: {loaded}"
        yield prom
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def dashboard_exprs() -> list[str]:
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "memp.json").read_text())
    found: list[str] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            found.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    walk(dash["panels"])
    # Grafana's interval variables, should a panel use them.
    return [re.sub(r"\$__(rate_)?interval", "1m", e) for e in found]


def rules_file() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DEPLOY / "prometheus" / "memp-rules.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def _has_data(prom: Prom, expr: str) -> bool:
    """Some series, and at least one finite value (a quantile of unused roles may be NaN)."""
    return any(math.isfinite(float(s["value"][1])) for s in prom.query(expr))


def _run_memp(run_dir: Path, exporter_port: int, linger_s: float) -> subprocess.Popen:
    sets = [
        f"env.max_tasks={TASKS}", "env.step_limit=30", "pipeline.mode=async",
        "pipeline.rollout_workers=2", "pipeline.episodes_per_worker=4",
        "sim.latency.kind=fixed", "sim.latency.mean_s=0.1", "memory.enabled=true",
        "metrics.enabled=true", "metrics.host=127.0.0.1", f"metrics.port={exporter_port}",
        f"metrics.linger_s={linger_s}",
    ]  # fmt: skip
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(PRESET), "--run-dir", str(run_dir),
           "--no-progress", *[a for kv in sets for a in ("--set", kv)]]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _wait_for_final_scrape(prom: Prom, proc: subprocess.Popen, summary: Path) -> None:
    """Until Prometheus holds a scrape taken after summary.json was written (final totals)."""
    deadline = time.monotonic() + 150
    while not summary.exists():
        assert proc.poll() is None, f"memp run ended early:\n{proc.communicate()[0][-3000:]}"
        assert time.monotonic() < deadline, "the run did not finish in time"
        time.sleep(0.2)
    written = summary.stat().st_mtime
    while True:
        # On a bare selector timestamp() is the scrape's time (on any other expression: now).
        stamps = prom.query("timestamp(memp_memory_version)")
        if stamps and float(stamps[0]["value"][1]) > written + 0.1:
            return
        assert proc.poll() is None, "the exporter went away before a final scrape"
        assert time.monotonic() < deadline, "no scrape after the summary was written"
        time.sleep(0.2)


def test_real_prometheus_scrapes_a_run(prometheus: Prom, exporter_port: int, tmp_path: Path):
    run_dir = tmp_path / "run"
    proc = _run_memp(run_dir, exporter_port, linger_s=12)
    try:
        _wait_for_final_scrape(prometheus, proc, run_dir / "summary.json")
        summary = json.loads((run_dir / "summary.json").read_text())
        print("run wall_s", summary["wall_s"], "tokens by role", summary["tokens_by_role"])
        check_totals(prometheus, summary)
        check_dashboard_and_rules(prometheus)
    finally:
        try:
            out = proc.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
    assert proc.returncode == 0, out[-3000:]
    assert f"metrics: http://127.0.0.1:{exporter_port}/metrics" in out


def check_totals(prom: Prom, summary: dict[str, Any]) -> None:
    assert summary["episodes"] == TASKS
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
    empty = [e for e in exprs if not _has_data(prom, e)]
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
        lhs = re.fullmatch(r"(.+?)\s*(==|!=|>=|<=|>|<)\s*[-+.\deE]+", rule["expr"].strip())
        assert lhs, f"alert {name}: expected '<expr> <op> <number>', got {rule['expr']!r}"
        assert _has_data(prom, lhs.group(1)), f"alert {name}: {lhs.group(1)!r} has no data"
