"""A real Prometheus on 127.0.0.1 for the monitoring tests, with memp's scrape config and rules."""

from __future__ import annotations

import contextlib
import json
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def _prometheus_binary() -> str | None:
    found = shutil.which("prometheus")
    if found:
        return found
    return "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None


PROMETHEUS = _prometheus_binary()
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="prometheus is not installed: apt-get install prometheus (CI installs it)",
)


def free_port() -> int:
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

    def alert_state(self, name: str) -> str:
        """inactive | pending | firing, as the rule manager sees the alert now."""
        states = [a["state"] for a in _get(f"{self.base}/api/v1/alerts")["data"]["alerts"]
                  if a["labels"]["alertname"] == name]  # fmt: skip
        for state in ("firing", "pending"):
            if state in states:
                return state
        return "inactive"


def fast_rules(text: str) -> str:
    """The rules file with minutes shrunk to seconds, so an alert can fire within a test."""
    text = re.sub(r"\[(1|5)m\]", lambda m: f"[{int(m.group(1)) * 5}s]", text)
    return re.sub(r"for: \d+m", "for: 2s", text)


@contextlib.contextmanager
def running_prometheus(home: Path, exporter_port: int, rules: Any = None) -> Iterator[Prom]:
    """Prometheus with our scrape config and rules (through `rules(text)` if given), 1 s scrapes."""
    conf = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    conf["global"].update(scrape_interval="1s", evaluation_interval="1s")
    for job in conf["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{exporter_port}"]}]
    home.mkdir()
    for rule_file in conf["rule_files"]:
        text = (DEPLOY / "prometheus" / rule_file).read_text()
        (home / rule_file).write_text(rules(text) if rules else text)
    (home / "prometheus.yml").write_text(yaml.safe_dump(conf))
    port = free_port()
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


PRESET = ROOT / "configs" / "household-sim.yaml"


def start_memp_run(
    run_dir: Path, exporter_port: int, sets: list[str], address: str | None = None
) -> subprocess.Popen:
    """`memp run` (async, memory on, fast sim) serving metrics on exporter_port; `sets` last."""
    base = [
        "env.step_limit=30", "pipeline.mode=async", "pipeline.rollout_workers=2",
        "pipeline.episodes_per_worker=4", "sim.latency.kind=fixed", "memory.enabled=true",
        "metrics.enabled=true", "metrics.host=127.0.0.1", f"metrics.port={exporter_port}",
    ]  # fmt: skip
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(PRESET), "--run-dir", str(run_dir),
           "--no-progress", *[a for kv in [*base, *sets] for a in ("--set", kv)]]  # fmt: skip
    if address:
        cmd += ["--address", address]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(proc: subprocess.Popen, timeout: float = 60) -> str:
    """The process's output once it exits (killed after `timeout`)."""
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]
