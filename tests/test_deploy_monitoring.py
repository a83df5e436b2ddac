"""Monitoring assets: the Grafana dashboard is importable and scoped by variables, and the k8s
PrometheusRule and dashboard ConfigMap match the files they are generated from."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


def _panel_datasources(board: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in board["panels"]:
        found += [panel["datasource"]] if "datasource" in panel else []
        found += [t["datasource"] for t in panel.get("targets", []) if "datasource" in t]
    return found


def test_dashboard_is_importable_and_scoped_by_variables() -> None:
    board = json.loads((DEPLOY / "grafana/dashboards/memp.json").read_text())
    assert board["uid"] and board["panels"]
    # No hard-coded datasource uid: every panel and query goes through the datasource variable.
    assert {d["uid"] for d in _panel_datasources(board)} == {"${datasource}"}
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"job", "run"} <= set(variables)
    assert [i["pluginId"] for i in board["__inputs"]] == ["prometheus"]
    # Every memp series a panel reads is scoped to the selected job and run.
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            for series in re.findall(r"\bmemp[_:][\w:]*(?:\{[^}]*\})?", target["expr"]):
                assert 'job=~"$job"' in series and 'run=~"$run"' in series, (panel["title"], series)


def test_k8s_monitoring_manifests_match_their_sources() -> None:
    spec = importlib.util.spec_from_file_location("render", K8S / "render_monitoring.py")
    assert spec is not None and spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    fix = "run: python deploy/k8s/render_monitoring.py"
    assert (K8S / "prometheus-rules.yaml").read_text() == render.rules_manifest(), fix
    assert (K8S / "grafana-dashboard.yaml").read_text() == render.dashboard_manifest(), fix
    rule = yaml.safe_load((K8S / "prometheus-rules.yaml").read_text())
    source = yaml.safe_load((DEPLOY / "prometheus/memp-rules.yml").read_text())
    assert rule["kind"] == "PrometheusRule" and rule["spec"]["groups"] == source["groups"]
    dashboard = yaml.safe_load((K8S / "grafana-dashboard.yaml").read_text())
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads((DEPLOY / "grafana/dashboards/memp.json").read_text())
    assert json.loads(dashboard["data"]["memp.json"]) == board
