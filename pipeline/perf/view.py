"""Time per page of `memp view` over a real HTTP socket: cold (first visit indexes) and warm."""

from __future__ import annotations

import random
import statistics
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import uvicorn

from pipeline.view.app import bind, create_app, url_of

_PAGES = ("run", "episodes", "episodes?retrieved=yes&success=no", "episodes?page=last",
          "procedures", "procedures?sort=utility")  # fmt: skip


def _get(url: str) -> tuple[float, str]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read().decode()
    return time.perf_counter() - started, body


def _ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"n": len(values), "median_ms": round(statistics.median(values) * 1000, 1),
            "max_ms": round(values[-1] * 1000, 1)}  # fmt: skip


def bench_view(run_dir: Path, samples: int = 20, seed: int = 0) -> dict[str, Any]:
    """Serve run_dir on 127.0.0.1 (a free port) and time list pages and sampled detail pages."""
    started = time.perf_counter()
    app = create_app([run_dir])
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    startup = time.perf_counter() - started
    base = url_of(sock)
    key = next(iter(app.state.pages.catalog.runs))
    run_url = f"{base}runs/{key}"
    try:
        cold, _ = _get(run_url)  # urlopen raises on any HTTP error
        out: dict[str, Any] = {"startup_s": round(startup, 3), "cold_first_page_ms":
                               round(cold * 1000, 1)}  # fmt: skip
        run = app.state.pages.catalog.runs[key]
        out["n_episodes"], out["n_procedures"] = len(run.episodes), len(run.replay.lives)
        last = max(1, -(-len(run.episodes) // 50))
        for page in _PAGES:
            path = page.replace("page=last", f"page={last}")
            url = run_url if page == "run" else f"{run_url}/{path}"
            out[page] = _ms([_get(url)[0] for _ in range(5)])
        rng = random.Random(seed)
        ids = [r.id for r in rng.sample(run.episodes.rows, min(samples, len(run.episodes)))]
        out["episode"] = _ms([_get(f"{run_url}/episodes/{i}")[0] for i in ids])
        lives = list(run.replay.lives)
        pids = rng.sample(lives, min(samples, len(lives)))
        out["procedure"] = _ms([_get(f"{run_url}/procedures/{p}")[0] for p in pids])
        if ids:
            out["episode_page_kb"] = round(len(_get(f"{run_url}/episodes/{ids[0]}")[1]) / 1024, 1)
    finally:
        server.should_exit = True
        thread.join(10)
    return out
