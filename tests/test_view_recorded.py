"""`memp view` over a run recorded by the real Ray pipeline.

The op-log replay must agree with what the writer put in Qdrant (read here, never by the viewer),
and a real headless Chromium walks the pages: run -> episode -> procedure -> back, a version diff,
and a page that follows the run as it grows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from rich.console import Console

from pipeline.config_load import load_config
from pipeline.runlog import RunDir
from pipeline.view.run import RunView

# Needs Ray, Prometheus, a browser or a subprocess: not in `make test-fast`.
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "configs" / "household-sim.yaml"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SETS = [
    "metrics.enabled=false", "env.max_tasks=30", "pipeline.group_size=6", "env.step_limit=30",
    "pipeline.episodes_per_worker=16", "memory.discard.min_retrieved=2",
]  # fmt: skip


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """A finished 30-task sync run (5 groups) with memory on: adds, merges, adjusts, stats."""
    import ray

    from actors.job import run_job
    from actors.session import start_ray

    path = tmp_path_factory.mktemp("view") / "run"
    cfg = load_config(PRESET, SETS)
    start_ray(num_cpus=2)
    rd = RunDir.create(path, cfg)
    try:
        run_job(cfg, rd, Console(quiet=True), show_progress=False)
    finally:
        rd.close()
        ray.shutdown()
    return path


async def _store_view(path: Path):
    from pipeline.memory.store import ProcedureStore

    store = await ProcedureStore.open(load_config(path / "config.yaml").memory, path / "qdrant")
    try:
        procs = await store.all()
        return procs, {p.id: await store.history(p.id) for p in procs}
    finally:
        await store.close()


def test_op_log_replay_equals_the_store(recorded: Path) -> None:
    procs, history = anyio.run(_store_view, recorded)
    run = RunView(recorded, "run")
    run.refresh()
    assert not run.divergence and run.uncommitted_ops == 0
    assert set(run.replay.lives) == {p.id for p in procs}
    kinds = set()
    for proc in procs:
        life = run.replay.lives[proc.id]
        assert life.current.model_dump(exclude={"updated_at", "namespace"}) == proc.model_dump(
            exclude={"updated_at", "namespace"}
        )
        entries = history[proc.id]
        assert [(h.kind, h.version, h.op_id) for h in entries] == [
            (r.kind, r.version, r.op_id) for r in life.revisions
        ]
        # Each stored `previous` is the content the replay holds just before that change.
        for before, entry in zip(life.revisions, entries[1:], strict=False):
            if entry.previous is not None:
                assert before.content.script == entry.previous.script
                assert before.content.version == entry.previous.version
        kinds.update(r.kind for r in life.revisions)
    assert {"add", "adjust"} <= kinds, kinds


# ---- the browser ----


def _serve(*dirs: Path) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "pipeline.cli", "view", *map(str, dirs), "--port", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the socket is bound
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"memp view printed no URL: {line!r}")
    return proc, found.group(0)


@pytest.fixture
def browser(tmp_path: Path):
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "needs Debian's chromium and chromium-driver (apt-get install, as .ci/run does)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _click(driver, css: str, text: str | None = None) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    links = driver.find_elements(By.CSS_SELECTOR, css)
    if text is not None:
        links = [a for a in links if a.text == text]
    assert links, f"no {css!r} {text or ''} on {driver.current_url}"
    before = driver.current_url
    links[0].click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url != before)


def _h1(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "h1").text


def test_browser_run_episode_procedure_and_back(recorded: Path, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    before = _files(recorded)
    proc, url = _serve(recorded)
    try:
        browser.get(url)  # one run: the index redirects to it
        assert _h1(browser) == "Run run"
        assert browser.find_elements(By.CSS_SELECTOR, "svg.chart")  # learning curves
        types = browser.find_elements(By.CSS_SELECTOR, "#types tr")
        assert len(types) >= 3  # header + task types, each with a Wilson interval
        assert "[" in types[1].text and "%" in types[1].text

        _click(browser, "nav a", "episodes")
        Select(browser.find_element(By.NAME, "retrieved")).select_by_visible_text("yes")
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
        # the submit navigates asynchronously: wait for the filtered page, do not race it
        WebDriverWait(browser, 15).until(lambda d: "retrieved=yes" in d.current_url)
        rows = browser.find_elements(By.CSS_SELECTOR, "#episodes tr")[1:]
        assert rows and all(r.find_elements(By.CSS_SELECTOR, "td:nth-child(10) a") for r in rows)

        _click(browser, "#episodes a.episode")
        episode_url = browser.current_url
        episode_id = episode_url.rsplit("/", 1)[1]
        assert _h1(browser) == f"Episode {episode_id}"
        memory = browser.find_element(By.ID, "memory-text").text
        assert memory.startswith("Procedure 1 (from the task:")
        assert "reconstructed" in browser.find_element(By.ID, "memory-source").text
        steps = browser.find_elements(By.CSS_SELECTOR, "#transcript tr")[1:]
        traj = _trajectory(recorded, episode_id)
        assert len(steps) == len(traj["steps"])
        invalid = [r for r in steps if "invalid" in (r.get_attribute("class") or "").split()]
        assert len(invalid) == sum(not s["valid"] for s in traj["steps"])

        _click(browser, "a.procedure")
        procedure_id = browser.current_url.rsplit("/", 1)[1]
        assert procedure_id == traj["memory_ids"][0]
        assert _h1(browser) == f"Procedure {procedure_id}"
        given = [
            a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#given a")
        ]
        assert episode_url in given  # and back: the episode that was given it
        browser.find_element(By.CSS_SELECTOR, f'#given a[href$="{episode_id}"]').click()
        WebDriverWait(browser, 15).until(lambda d: d.current_url == episode_url)

        # A procedure with more than one version shows a unified diff to the previous one.
        browser.get(url + "runs/run/procedures?sort=version")
        _click(browser, "#procedures td:first-child a")
        versions = browser.find_elements(By.CSS_SELECTOR, "div.version")
        assert len(versions) >= 2
        second = versions[1]
        assert "adjust" in second.find_element(By.TAG_NAME, "h3").text
        added = second.find_elements(By.CSS_SELECTOR, "pre.diff span.add")
        assert any(s.text.startswith("+  ") for s in added)  # a changed script line
        assert second.find_elements(By.CSS_SELECTOR, "pre.diff span.del")
        _click(browser, "div.version a.cause")  # the episode whose failure caused the change
        assert "/episodes/" in browser.current_url
        assert browser.find_elements(By.CSS_SELECTOR, "#caused a")  # ...links back to it
    finally:
        proc.terminate()
        proc.wait(10)
    assert _files(recorded) == before  # read-only: nothing written, nothing touched


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def _trajectory(run_dir: Path, trajectory_id: str) -> dict:
    lines = (run_dir / "trajectories.jsonl").read_text().splitlines()
    return next(t for t in map(json.loads, lines) if t["id"] == trajectory_id)


def test_browser_follows_a_run_while_it_is_written(recorded: Path, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    live = tmp_path / "live"
    live.mkdir()
    for name in ("config.yaml", "manifest.json", "memory_ops.jsonl", "memory_commits.jsonl"):
        shutil.copy(recorded / name, live / name)
    lines = (recorded / "trajectories.jsonl").read_text().splitlines(keepends=True)
    (live / "trajectories.jsonl").write_text("".join(lines[:10]))
    grid = tmp_path / "grid"
    (grid / "cells").mkdir(parents=True)
    shutil.copytree(recorded, grid / "cells" / "memory-on", ignore=shutil.ignore_patterns("qdrant"))
    proc, url = _serve(live, grid)
    try:
        browser.get(url)
        runs = browser.find_elements(By.CSS_SELECTOR, "#runs tr")[1:]
        assert len(runs) == 1 and "running or stopped" in runs[0].text
        _click(browser, "a", "grid")
        cells = browser.find_elements(By.CSS_SELECTOR, "#cells td:first-child a")
        assert [c.text for c in cells] == ["grid.cells-memory-on"]
        _click(browser, "#cells td:first-child a")
        assert _h1(browser) == "Run grid.cells-memory-on"

        browser.get(url + "runs/live/episodes")
        assert browser.find_element(By.CSS_SELECTOR, ".live")  # no summary yet: refreshes itself
        assert "10 of 10 episodes" in browser.page_source
        with (live / "trajectories.jsonl").open("a") as fh:
            fh.write("".join(lines[10:25]))
            fh.write(lines[25][:40])  # a line still being written is not shown yet
        deadline = time.monotonic() + 20  # the page's own refresh (5 s) picks the new lines up
        while "25 of 25 episodes" not in browser.page_source and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "25 of 25 episodes" in browser.page_source
    finally:
        proc.terminate()
        proc.wait(10)
