"""A Ray cluster of several nodes on one machine, made with `ray start` as on real hosts."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pipeline
from actors.session import QUIET_ENV
from pipeline.errors import StartupError

# The `ray` CLI of the interpreter running memp (the venv), not whichever is on PATH.
RAY = Path(sys.executable).with_name("ray")
ROOT = Path(pipeline.__file__).resolve().parent.parent
# A raylet gets a fixed 30 s to come up; on a loaded machine that can pass once.
START_ATTEMPTS = 2


def _psutil() -> Any:
    # A dev dependency (requirements-dev.lock), not in the image's lock: say so in one line.
    try:
        import psutil
    except ImportError:
        raise StartupError("a local multi-node cluster needs psutil: pip install psutil") from None
    return psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_env(**extra: str) -> dict[str, str]:
    """The environment every node and the joining driver share (auth off, code importable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    # QUIET_ENV turns token auth off, which Ray >= 2.5x turns on when it finds
    # ~/.ray/auth_token: every node and the driver must agree (see deploy/compose.yaml).
    return {**env, **QUIET_ENV, "PYTHONPATH": str(ROOT), **extra}


class LocalCluster:
    """`ray start` processes, each in its own session, so teardown kills exactly what they made.

    Each node carries a custom resource named after it (placement is checkable), and may be
    pinned to a set of cores (`taskset`), so one machine can stand in for separate hosts."""

    def __init__(self, tmp: Path) -> None:
        _psutil()  # before any node starts: teardown needs it
        self.tmp = tmp  # short: Ray's unix socket paths live under it (~107 characters at most)
        self.sessions: dict[str, int] = {}
        self.port = free_port()
        self.dashboard_port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dashboard = f"http://127.0.0.1:{self.dashboard_port}"

    def start_node(self, name: str, cores: set[int] | None = None, head: bool = False) -> None:
        cmd = [
            str(RAY), "start", "--node-ip-address=127.0.0.1", "--num-cpus=1",
            f"--resources={json.dumps({name: 1})}", f"--temp-dir={self.tmp / name}",
            "--disable-usage-stats",
        ]  # fmt: skip
        if head:
            # The dashboard serves the state API (list_actors: where actors ran).
            cmd += [
                "--head", f"--port={self.port}", "--include-dashboard=true",
                "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
            ]  # fmt: skip
        else:
            cmd.append(f"--address={self.address}")
        if cores and shutil.which("taskset"):  # every process the node starts inherits it
            cmd = ["taskset", "-c", ",".join(map(str, sorted(cores))), *cmd]
        for attempt in range(START_ATTEMPTS):
            proc = subprocess.Popen(
                cmd, env=node_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True, text=True,
            )  # fmt: skip
            self.sessions[name] = proc.pid  # its session id: every Ray process it starts inherits
            out, _ = proc.communicate(timeout=180)
            if proc.returncode == 0:
                return
            self.stop([name])  # the half-started node, before the next try
            if attempt + 1 == START_ATTEMPTS:
                last = next((ln for ln in reversed(out.splitlines()) if ln.strip()), "")
                raise StartupError(f"ray start ({name}) exited {proc.returncode}: {last.strip()}")

    def processes(self, names: list[str] | None = None) -> list[Any]:
        psutil = _psutil()
        wanted = {self.sessions[n] for n in (names or self.sessions) if n in self.sessions}
        found: dict[int, psutil.Process] = {}
        for proc in psutil.process_iter():
            try:
                if os.getsid(proc.pid) in wanted:
                    found[proc.pid] = proc
                    found.update((c.pid, c) for c in proc.children(recursive=True))
            except (psutil.Error, ProcessLookupError, PermissionError):
                continue
        return list(found.values())

    def stop(self, names: list[str] | None = None) -> None:
        """No `ray stop`: it would stop every Ray on the machine, other sessions' too."""
        psutil = _psutil()
        procs = self.processes(names)
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=10)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=10)
        for name in names or list(self.sessions):
            self.sessions.pop(name, None)
