"""Deployment assets agree with each other and with the code, checked without a Docker engine.

The Dockerfile, compose stack, Kubernetes manifests, Prometheus and Grafana files and the cluster
preset each name ports, hosts, paths and env vars that another file must match. Nothing here
builds or starts a container: these checks catch the drift (a renamed service, a moved port, an
undocumented env var, a committed key) that would otherwise surface only on a real cluster.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from pipeline.config import RunConfig
from pipeline.config_load import load_config

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
CLUSTER_PRESET = ROOT / "configs" / "cluster.yaml"
K8S = DEPLOY / "k8s"
RAY_SD_FILE = "/tmp/ray/prom_metrics_service_discovery.json"

# RayJobSpec's JSON fields in KubeRay's ray-operator/apis/ray/v1/rayjob_types.go: a typo in a
# CRD field is silently dropped by the API server, so catch it here.
RAYJOB_SPEC_FIELDS = {
    "activeDeadlineSeconds", "backoffLimit", "rayClusterSpec", "submitterPodTemplate", "metadata",
    "clusterSelector", "submitterConfig", "managedBy", "deletionStrategy", "entrypoint",
    "runtimeEnvYAML", "jobId", "submissionMode", "entrypointResources", "entrypointNumCpus",
    "entrypointNumGpus", "ttlSecondsAfterFinished", "shutdownAfterJobFinishes", "suspend",
    "schedule",
}  # fmt: skip
WORKER_GROUP_FIELDS = {
    "groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams", "template",
    "numOfHosts", "scaleStrategy", "suspend", "idleTimeoutSeconds",
}  # fmt: skip


def _yaml_files() -> list[Path]:
    found = [*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), *(ROOT / "configs").glob("*.y*ml")]
    return sorted(set(found))


def _docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def cluster_cfg() -> RunConfig:
    return load_config(CLUSTER_PRESET)


@pytest.fixture(scope="module")
def k8s_docs() -> list[dict[str, Any]]:
    return [d for p in sorted(K8S.glob("*.yaml")) for d in _docs(p)]


def _flag(args: list[str], name: str) -> str | None:
    """Value of --name=value (or --name value) in an argument list."""
    for i, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (named volume or host path) for short-syntax volumes."""
    out = {}
    for spec in service.get("volumes", []):
        source, target, *_ = spec.split(":")
        out[target] = source
    return out


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(p).split(":")[-1].split("/")[0]) for p in service.get("ports", [])}


# ---------------------------------------------------------------- every file parses


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_parses(path: Path) -> None:
    assert _docs(path), f"{path} is empty"


def test_cluster_preset_validates(cluster_cfg: RunConfig) -> None:
    assert cluster_cfg.metrics.host == "0.0.0.0", "Prometheus scrapes from another container"
    assert cluster_cfg.memory.qdrant.url
    # The keyless smoke test the preset's header promises.
    smoke = load_config(CLUSTER_PRESET, ["agent.model=sim/household", "agent.api_key_env=null"])
    assert smoke.agent.api_key_env is None


# ---------------------------------------------------------------- Dockerfile


def _dockerfile() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]


def test_dockerfile_entrypoint_is_the_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entry = [ln for ln in _dockerfile() if ln.startswith("ENTRYPOINT")]
    assert len(entry) == 1
    assert json.loads(entry[0].removeprefix("ENTRYPOINT"))[0] in scripts


def test_dockerfile_is_pinned_locked_and_non_root() -> None:
    lines = _dockerfile()
    text = "\n".join(lines)
    args = dict(
        ln.removeprefix("ARG ").split("=", 1) for ln in lines if ln.startswith("ARG ") and "=" in ln
    )
    for ln in (ln for ln in lines if ln.startswith("FROM ")):
        image = ln.split()[1]
        image = args.get(image.strip("${}"), image) if image.startswith("$") else image
        assert re.search(r":\d+\.\d+\.\d+", image) and "latest" not in image, ln
    assert "pip install --require-hashes --no-deps -r requirements.lock" in text
    assert re.search(r"pip install --no-deps \.", text)
    # litellm's offline env comes from `import pipeline`, in the image as anywhere else.
    assert "LITELLM_LOCAL_MODEL_COST_MAP" not in text
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert not re.search(r"^(ARG|ENV)\b.*(KEY|TOKEN|SECRET|PASSWORD)", text, re.M | re.I)


def test_dockerignore_lets_every_copy_source_through() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    allowed = {ln[1:] for ln in ignore if ln.startswith("!")}
    for ln in _dockerfile():
        if ln.startswith("COPY") and "--from=" not in ln:
            sources = [t for t in shlex.split(ln)[1:-1] if not t.startswith("--")]
            for src in sources:
                top = src.rstrip("/").split("/")[0]
                assert top in allowed, f"{src} is excluded from the build context"
    # The preset the compose and k8s docs tell people to run is baked in (it ships in the package).
    assert "pipeline" in allowed and CLUSTER_PRESET.resolve().parent.name == "presets"


# ---------------------------------------------------------------- compose


def test_compose_services_and_profiles(services: dict[str, Any]) -> None:
    assert {"ray-head", "ray-worker", "qdrant", "prometheus", "grafana", "litellm"} <= set(services)
    assert services["litellm"].get("profiles") == ["proxy"]
    for name in ("ray-head", "ray-worker", "qdrant", "prometheus", "grafana"):
        assert not services[name].get("profiles"), f"{name} must start by default"
    for name, svc in services.items():
        image = svc["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"


def test_ray_head_and_workers_agree(services: dict[str, Any]) -> None:
    head, worker = services["ray-head"], services["ray-worker"]
    head_args, worker_args = head["command"], worker["command"]
    assert head["entrypoint"] == worker["entrypoint"] == ["ray"]
    assert {"start", "--head", "--block"} <= set(head_args)
    assert {"start", "--block"} <= set(worker_args) and "--head" not in worker_args
    assert _flag(worker_args, "--address") == f"ray-head:{_flag(head_args, '--port')}"
    assert _flag(head_args, "--dashboard-host") == "0.0.0.0"
    port = _flag(head_args, "--metrics-export-port")
    assert port and _flag(worker_args, "--metrics-export-port") == port
    # Scalable: no fixed container name, no host ports to collide on.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["depends_on"]["ray-head"]["condition"] == "service_healthy"
    assert head["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / head["build"]["context"] / head["build"]["dockerfile"]).is_file()


def test_qdrant_url_matches_compose(services: dict[str, Any], cluster_cfg: RunConfig) -> None:
    url = urlparse(cluster_cfg.memory.qdrant.url)
    assert url.hostname in services and url.hostname == "qdrant"
    assert url.port in _container_ports(services["qdrant"])
    assert "/qdrant/storage" in _mounts(services["qdrant"])


def test_prometheus_scrapes_what_compose_runs(
    services: dict[str, Any], cluster_cfg: RunConfig
) -> None:
    prom = services["prometheus"]
    config_path = _flag(prom["command"], "--config.file")
    mounts = _mounts(prom)
    assert mounts["/etc/prometheus"] == "./prometheus"
    config_file = DEPLOY / "prometheus" / Path(config_path).relative_to("/etc/prometheus")
    scrape = yaml.safe_load(config_file.read_text())
    for rules in scrape["rule_files"]:
        assert (config_file.parent / rules).is_file()
    jobs = {j["job_name"]: j for j in scrape["scrape_configs"]}

    memp_targets = {t for sc in jobs["memp"]["static_configs"] for t in sc["targets"]}
    assert memp_targets == {f"ray-head:{cluster_cfg.metrics.port}"}

    qdrant = urlparse(cluster_cfg.memory.qdrant.url)
    qdrant_targets = {t for sc in jobs["qdrant"]["static_configs"] for t in sc["targets"]}
    assert qdrant_targets == {f"{qdrant.hostname}:{qdrant.port}"}

    # Ray: file-based discovery from the head's temp dir, shared through one named volume.
    sd_files = [f for sd in jobs["ray"]["file_sd_configs"] for f in sd["files"]]
    assert sd_files == [RAY_SD_FILE]
    ray_tmp = str(Path(RAY_SD_FILE).parent)
    assert _mounts(services["ray-head"])[ray_tmp] == mounts[ray_tmp]
    assert mounts[ray_tmp] in yaml.safe_load(COMPOSE_FILE.read_text())["volumes"]

    # The LiteLLM proxy serves its metrics (prometheus callback) and is scraped on its port.
    proxy_targets = {t for sc in jobs["litellm"]["static_configs"] for t in sc["targets"]}
    proxy_port = _flag(services["litellm"]["command"], "--port")
    assert proxy_targets == {f"litellm:{proxy_port}"}
    proxy = yaml.safe_load((DEPLOY / "litellm/config.yaml").read_text())
    assert "prometheus" in proxy["litellm_settings"]["callbacks"]


def test_grafana_provisioning_matches_mounts(services: dict[str, Any]) -> None:
    mounts = _mounts(services["grafana"])
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/memp.yml").read_text())
    dash_path = provider["providers"][0]["options"]["path"]
    assert mounts[dash_path] == "./grafana/dashboards"
    assert (DEPLOY / "grafana/dashboards/memp.json").is_file()
    ds = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    url = urlparse(ds["datasources"][0]["url"])
    assert url.hostname in services and url.port in _container_ports(services["prometheus"])


def test_litellm_proxy_config_is_mounted_and_keyless(services: dict[str, Any]) -> None:
    proxy = services["litellm"]
    config_in_container = _flag(proxy["command"], "--config")
    assert _mounts(proxy)[config_in_container] == "./litellm/config.yaml"
    config = yaml.safe_load((DEPLOY / "litellm/config.yaml").read_text())
    for model in config["model_list"]:
        assert model["litellm_params"]["api_key"].startswith("os.environ/")
    assert config["general_settings"]["master_key"].startswith("os.environ/")


def test_docker_compose_config_validates() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker client not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"docker compose plugin unavailable: {probe.stderr.strip() or probe.stdout}")
    env = {**os.environ, "GRAFANA_ADMIN_PASSWORD": "test-only"}
    cmd = [docker, "compose", "-f", str(COMPOSE_FILE), "--profile", "proxy", "config", "-q"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- Kubernetes


def _containers(node: Any) -> list[dict[str, Any]]:
    """Every container and init container anywhere in a manifest (pod templates nest in CRDs)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                found.extend(value)
            found.extend(_containers(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_containers(item))
    return found


def _by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_k8s_kinds(k8s_docs: list[dict[str, Any]]) -> None:
    kinds = {d["kind"] for d in k8s_docs}
    expected = {"RayJob", "StatefulSet", "Service", "PodMonitor", "ServiceMonitor", "Secret",
                "PrometheusRule", "ConfigMap"}  # fmt: skip
    assert expected <= kinds
    assert {d["apiVersion"] for d in k8s_docs if d["kind"] == "RayJob"} == {"ray.io/v1"}
    for kind in ("PodMonitor", "ServiceMonitor", "PrometheusRule"):
        assert {d["apiVersion"] for d in _by_kind(k8s_docs, kind)} == {"monitoring.coreos.com/v1"}
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file()
    assert "secret.example.yaml" not in kustomization["resources"]


def test_every_container_has_resource_requests(k8s_docs: list[dict[str, Any]]) -> None:
    containers = _containers(k8s_docs)
    assert len(containers) >= 4  # qdrant, ray head, ray worker, submitter
    for c in containers:
        requests = c.get("resources", {}).get("requests", {})
        assert {"cpu", "memory"} <= set(requests), f"container {c['name']} lacks requests"


def test_rayjob_shape(k8s_docs: list[dict[str, Any]], cluster_cfg: RunConfig) -> None:
    (job,) = _by_kind(k8s_docs, "RayJob")
    spec = job["spec"]
    assert set(spec) <= RAYJOB_SPEC_FIELDS, set(spec) - RAYJOB_SPEC_FIELDS
    assert "memp run configs/cluster.yaml" in spec["entrypoint"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] > 0
    assert spec["submissionMode"] in {"K8sJobMode", "HTTPMode", "InteractiveMode"}
    cluster = spec["rayClusterSpec"]
    lock = (ROOT / "requirements.lock").read_text()
    assert f"ray=={cluster['rayVersion']} " in lock, "rayVersion must equal the locked Ray"
    head = cluster["headGroupSpec"]
    assert all(isinstance(v, str) for v in head["rayStartParams"].values())
    head_ports = {
        p["name"]: p["containerPort"] for p in head["template"]["spec"]["containers"][0]["ports"]
    }
    assert head_ports["memp-metrics"] == cluster_cfg.metrics.port
    assert str(head_ports["metrics"]) == head["rayStartParams"]["metrics-export-port"]
    for group in cluster["workerGroupSpecs"]:
        assert set(group) <= WORKER_GROUP_FIELDS, set(group) - WORKER_GROUP_FIELDS
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    # Monitors select pods by labels the templates carry, and scrape ports the containers name.
    pod_templates = [head["template"], *(g["template"] for g in cluster["workerGroupSpecs"])]
    for monitor in _by_kind(k8s_docs, "PodMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        matched = [t for t in pod_templates if selector.items() <= t["metadata"]["labels"].items()]
        assert matched, f"{monitor['metadata']['name']} selects no Ray pod"
        names = {p["name"] for t in matched for p in t["spec"]["containers"][0]["ports"]}
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["port"] in names


def test_k8s_qdrant_matches_preset(k8s_docs: list[dict[str, Any]], cluster_cfg: RunConfig) -> None:
    (sts,) = _by_kind(k8s_docs, "StatefulSet")
    assert sts["spec"]["volumeClaimTemplates"]
    url = urlparse(cluster_cfg.memory.qdrant.url)
    svc = next(s for s in _by_kind(k8s_docs, "Service") if s["metadata"]["name"] == url.hostname)
    assert url.port in {p["port"] for p in svc["spec"]["ports"]}
    compose_image = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["qdrant"]["image"]
    assert _containers(sts)[0]["image"] == compose_image


def test_k8s_secrets_come_from_secret_refs(k8s_docs: list[dict[str, Any]]) -> None:
    for c in _containers(k8s_docs):
        for var in c.get("env", []):
            if re.search(r"KEY|TOKEN|SECRET|PASSWORD", var["name"]):
                assert "secretKeyRef" in var.get("valueFrom", {}), f"{var['name']} is a literal"
    (example,) = _by_kind(k8s_docs, "Secret")
    assert all(v.startswith("<") for v in example["stringData"].values())
    names = {c.get("valueFrom", {}).get("secretKeyRef", {}).get("key") for c in _env(k8s_docs)}
    assert "OPENAI_API_KEY" in names


def _env(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [var for c in _containers(docs) for var in c.get("env", [])]


# ---------------------------------------------------------------- no committed secrets

# key: value / key=value pairs; values may be quoted. Keys exclude "-" so that
# `--from-literal=NAME=value` yields the pair NAME=value.
