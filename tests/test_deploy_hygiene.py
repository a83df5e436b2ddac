"""Deployment hygiene: no committed secrets; every env var the code reads is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pipeline.config_load import load_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


SECRET_PAIR = re.compile(r"([A-Za-z0-9_.]+)\s*[:=]\s*(\"[^\"]*\"|'[^']*'|[^\s,;]*)")
SECRET_WORDS = {"apikey", "secret", "secrets", "password", "passwd", "token"}
OPENAI_STYLE = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
REFERENCE_PREFIXES = ("os.environ/", "$", "<", "{")  # env refs, interpolation, placeholders


def _is_secret_key(key: str) -> bool:
    words = set(re.split(r"[_.]+", key.lower()))
    return bool(words & SECRET_WORDS) or ("key" in words and bool(words & {"api", "master"}))


def _is_literal_secret(key: str, value: str) -> bool:
    if not _is_secret_key(key) or key.lower().endswith("_env"):
        return False  # not a secret, or the *name* of the variable holding one
    if value in ("", "null", "~", "true", "false") or value.startswith(REFERENCE_PREFIXES):
        return False
    return not re.fullmatch(r"[A-Z][A-Z0-9_]*", value)  # an env var's name is not a secret


def _secret_findings(text: str) -> list[str]:
    findings = [m.group(0) for m in OPENAI_STYLE.finditer(text)]
    for line in text.splitlines():
        pos = 0
        while match := SECRET_PAIR.search(line, pos):
            key, value = match.group(1), match.group(2).strip("\"'")
            if _is_literal_secret(key, value):
                findings.append(line.strip())
                break
            # Look inside a literal value for a nested pair; skip over references whole.
            nested = value and not value.startswith(REFERENCE_PREFIXES)
            pos = match.start(2) if nested else match.end()
            pos = max(pos, match.start() + 1)
    return findings


def test_secret_scanner_catches_literals() -> None:
    assert _secret_findings("api_key: abc123")
    assert _secret_findings("OPENAI_API_KEY=sk-" + "x" * 24)
    assert _secret_findings('#  --from-literal=QDRANT_API_KEY="hunter2hunter2"')
    assert _secret_findings("GF_SECURITY_ADMIN_PASSWORD: admin")
    assert not _secret_findings(
        "api_key_env: OPENAI_API_KEY\napi_key: os.environ/OPENAI_API_KEY\n"
        "PASSWORD: ${GRAFANA_ADMIN_PASSWORD:?set it}\nkey: QDRANT_API_KEY\nOPENAI_API_KEY=\n"
        "- record: memp:tokens_per_success:rate5m"
    )


def test_no_secret_values_committed() -> None:
    files = [p for base in (DEPLOY, ROOT / "configs") for p in base.rglob("*") if p.is_file()]
    for path in files:
        if path.name == ".env":
            continue  # the git-ignored local copy, if a developer made one
        findings = _secret_findings(path.read_text(errors="replace"))
        assert not findings, f"{path.relative_to(ROOT)}: {findings}"


# ---------------------------------------------------------------- env vars are documented

_ENV_METHODS = {"get", "setdefault", "pop", "__getitem__"}


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _env_names_in(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        key: ast.AST | None = None
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            key = node.slice
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _ENV_METHODS:
                if _is_environ(func.value):
                    key = node.args[0]
            elif (isinstance(func, ast.Attribute) and func.attr == "getenv") or (
                isinstance(func, ast.Name) and func.id == "getenv"
            ):
                key = node.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    return names


def _env_vars_read() -> set[str]:
    names: set[str] = set()
    for package in ("pipeline", "actors"):
        for path in (ROOT / package).rglob("*.py"):
            names |= _env_names_in(path.read_text())
    # Key variables are named by config (api_key_env) in presets and in documented overrides.
    for preset in (ROOT / "configs").glob("*.yaml"):
        cfg = load_config(preset)
        models = [cfg.agent, cfg.memory.builder]
        names |= {m.api_key_env for m in models if m is not None and m.api_key_env}
        names |= {cfg.memory.qdrant.api_key_env} - {None}
    for path in [*DEPLOY.rglob("*"), *(ROOT / "configs").glob("*")]:
        if path.is_file():
            names |= set(re.findall(r"api_key_env=([A-Z][A-Z0-9_]*)", path.read_text()))
    # Ray reads RAY_ADDRESS on memp's behalf: it is how the driver finds a cluster.
    return names | {"RAY_ADDRESS"}


def _readme_env_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying on a cluster", 1)
    assert len(section) == 2, "README.md lacks the '## Deploying on a cluster' section"
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", section[1], re.M))


def test_env_scanner_sees_the_forms_code_uses() -> None:
    src = (
        "import os\nfrom os import environ, getenv\n"
        "os.environ['A']; os.environ.get('B'); os.getenv('C'); environ.setdefault('D', '1');"
        " getenv('E'); os.environ.get(name)"
    )
    assert _env_names_in(src) == {"A", "B", "C", "D", "E"}


def test_every_env_var_the_code_reads_is_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.envs.alfworld.export import export_games

    export_games(tmp_path, per_type=1)  # alfworld-sim.yaml checks its game directory at load
    monkeypatch.setenv("ALFWORLD_DATA", str(tmp_path))
    missing = sorted(_env_vars_read() - _readme_env_table())
    assert not missing, f"add to the env-var table in README.md: {missing}"
