"""Run telemetry: the Prometheus exporter of a `memp run` and the LLM usage of every process.

Actor side: `recorder()` installs one CallRecorder per process as an llm observer. Actors ship
`recorder().rows()` (plain CallRow tuples) piggybacked on their results: rollout workers on each
EpisodeResult, distillers on each DistillResult, which the writer forwards with its own calls
(avefact retrieval keywords, litellm embeddings) on the next CommitResult. Every actor also answers
`calls()`: the driver pulls it every CALLS_PULL_S (so each attempt reaches Prometheus within
seconds, not when its episode ends) and once more when the run ends.

Driver side: `Telemetry` tallies the shipped calls by role (for summary.json) and, when
metrics.enabled, serves them with episodes, retrieval latency, memory, queues and limits from
metrics.host:metrics.port. The exporter starts before Ray and stops after the summary is written;
metrics.linger_s (seconds, default 0) keeps it serving that much longer so a scraper with a
short interval (tests, CI) sees the final totals.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import ray
from rich.console import Console
from rich.table import Table

from actors.messages import CommitResult, EpisodeResult
from pipeline.config import RunConfig
from pipeline.memory.stack import MemoryStack
from pipeline.metrics import CallRecorder, CallRow, Metrics
from pipeline.types import Trajectory, Usage

SAMPLE_S = 0.5  # how often the driver measures queue depths
CALLS_PULL_S = 2.0  # how often the driver pulls buffered LLM calls from every actor
FINAL_PULL_S = 10.0  # how long the final calls() pull waits for actors

_recorder: CallRecorder | None = None


def recorder() -> CallRecorder:
    """This process's CallRecorder, installed as an llm observer on first use."""
    global _recorder
    if _recorder is None:
        from pipeline.llm import add_observer  # actor processes import litellm anyway

        _recorder = CallRecorder()
        add_observer(_recorder)
    return _recorder


def pending_rows() -> list[CallRow]:
    """Drain this process's recorder, if one was ever installed (else there is nothing to ship)."""
    return _recorder.rows() if _recorder is not None else []


class Telemetry:
    """The driver's view: usage by role always; the exporter only once start() has served it."""

    def __init__(self, cfg: RunConfig, run: str | None = None) -> None:
        self.cfg = cfg
        self.run = run or cfg.run.name  # the `run` label: the run directory's name
        self.metrics: Metrics | None = None
        self.url: str | None = None
        self.usage: dict[str, Usage] = {}  # role -> usage of the calls shipped to this driver
        self.errors: dict[str, dict[str, int]] = {}  # role -> error kind -> failed attempts
        self.retries: dict[str, int] = {}  # role -> failed attempts that another attempt followed
        self.agent_latency_s = 0.0  # summed over answered agent calls: their mean paces windows
        self.endpoint = cfg.agent.endpoint
        self.limits = dict.fromkeys(range(cfg.pipeline.rollout_workers), cfg.agent.concurrency)
        self._sampled = 0.0
        self._pulled = 0.0
        self._pulls: dict[int, tuple[Any, bool]] = {}  # source position -> (its ref, summed)
        self._finished_at: float | None = None

    def start(self) -> str | None:
        """Serve /metrics when metrics.enabled; raises MetricsError (one line) on a busy port."""
        if not self.cfg.metrics.enabled:
            return None
        m = self.cfg.metrics
        metrics = Metrics({"run": self.run})
        port = metrics.start(m.host, m.port)
        self.metrics = metrics
        env, agent = self.cfg.env, self.cfg.agent
        metrics.run_info.labels(
            env=env.name, split=env.split, model=agent.model, mode=self.cfg.pipeline.mode
        ).set(1)
        metrics.run_started.set(time.time())
        metrics.prime(
            self.cfg.env.name,
            self._roles(),
            {self.endpoint: sum(self.limits.values())},
            self.cfg.memory.retrieve if self.cfg.memory.enabled else None,
        )
        metrics.set_memory(0, 0, 0)
        self.url = f"http://{m.host}:{port}/metrics"
        return self.url

    def _roles(self) -> list[tuple[str, str]]:
        roles = [(self.cfg.agent.model, "agent")]
        if self.cfg.memory.enabled:
            roles += MemoryStack(self.cfg.memory).roles(self.cfg.agent.model)
        return roles

    def finish(self) -> None:
        """The run ended in order (summary written): every final value is set from here on."""
        self._finished_at = time.monotonic()
        if self.metrics is not None:
            self.metrics.run_finished.set(1)

    def stop(self, console: Console) -> None:
        """Stop serving; after finish(), first wait for a final scrape and linger."""
        if self.metrics is None:
            return
        if self._finished_at is not None:
            self._final_scrape(console, self._finished_at)
            if self.cfg.metrics.linger_s > 0:
                console.print(
                    f"metrics: serving {self.cfg.metrics.linger_s:g}s more (metrics.linger_s)",
                    highlight=False,
                )
                time.sleep(self.cfg.metrics.linger_s)
        self.metrics.stop()
        self.metrics = None

    def _final_scrape(self, console: Console, finished_at: float) -> None:
        """Short runs lost their tail: a scraper that came during the run gets one more look."""
        exporter = self.metrics.exporter if self.metrics is not None else None
        limit = self.cfg.metrics.final_scrape_s
        if exporter is None or not exporter.scraped or limit <= 0:
            return  # nobody is scraping this run: waiting would only delay the exit
        interval = exporter.scrape_interval() or limit
        timeout = min(limit, 2 * interval + 1)
        console.print(f"metrics: waiting up to {timeout:.0f}s for a final scrape", highlight=False)
        if not exporter.wait_for_scrape(finished_at, timeout):
            console.print(
                "[yellow]metrics: no final scrape came; the final totals are in summary.json",
                highlight=False,
            )

    # ---- feeding ----

    def calls(self, rows: Iterable[CallRow], summed: bool = True) -> None:
        """summed=False: served only; the distillers' usage reaches summary.json through the
        commit records (once per committed trajectory), not through this live tally."""
        for row in rows:
            role, _model, prompt, completion, cost, latency, error, retried = row
            if error is not None:
                kinds = self.errors.setdefault(role, {})
                kinds[error] = kinds.get(error, 0) + 1
                self.retries[role] = self.retries.get(role, 0) + retried
            elif summed:
                used = Usage(
                    calls=1, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost
                )
                self.usage[role] = self.usage.get(role, Usage()) + used
                if role == "agent":
                    self.agent_latency_s += latency
            if self.metrics is not None:
                self.metrics.observe_call(*row)

    def episode(self, traj: Trajectory, result: EpisodeResult | None = None) -> None:
        """A recorded trajectory; `result` when it came back from a live worker (not a failure)."""
        if result is not None:
            self.calls(result.calls)
            self.limits[result.worker] = result.llm_limit
        if self.metrics is None:
            return
        self.metrics.observe_trajectory(traj)
        if result is not None and result.retrieved:
            self.metrics.observe_retrieval(self.cfg.memory.retrieve, traj.retrieval_latency_s)
        # The fleet's ceiling on concurrent agent calls: each worker process has its own limiter.
        self.metrics.concurrency_limit.labels(endpoint=self.endpoint).set(sum(self.limits.values()))

    def commit(self, result: CommitResult) -> None:
        """A CommitResult: its shipped calls, the ops applied by its batch, memory size/version."""
        self.calls(result.calls)
        self.calls(result.distill_calls, summed=False)
        if self.metrics is None:
            return
        for kind, count in result.new_ops.items():
            self.metrics.ops_applied(kind, count)
        self.metrics.set_memory(result.size, result.discarded, result.version)

    def memory_totals(self, size: int, discarded: int, version: int) -> None:
        if self.metrics is not None:
            self.metrics.set_memory(size, discarded, version)

    @property
    def agent_steps(self) -> int:
        """Answered agent calls shipped so far: agent steps taken, the in-flight cap's signal."""
        return self.usage["agent"].calls if "agent" in self.usage else 0

    @property
    def mean_agent_latency_s(self) -> float:
        steps = self.agent_steps
        return self.agent_latency_s / steps if steps else 0.0

    def sample(self, rollout: int, in_flight: int, chains: Sequence[tuple[Any, Any]],
               force: bool = False, cap: int | None = None) -> None:  # fmt: skip
        """Queue depths; chains: (validate ref, distill ref) of each trajectory not committed."""
        now = time.monotonic()
        if self.metrics is None or (not force and now - self._sampled < SAMPLE_S):
            return
        self._sampled = now
        validate = distill = write = 0
        if chains:
            refs = [r for chain in chains for r in chain]
            done = set(ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=False)[0])
            for v, d in chains:
                if d in done:
                    write += 1  # distilled, waiting for (or inside) the writer's commit
                elif v in done:
                    distill += 1
                else:
                    validate += 1
        m = self.metrics
        for stage, depth in (("rollout", rollout), ("validate", validate), ("distill", distill),
                             ("write", write)):  # fmt: skip
            m.set_queue(stage, depth)
        m.in_flight.set(in_flight)
        if cap is not None:
            m.in_flight_cap.set(cap)

    def pull_calls(self, sources: Sequence[tuple[Any, bool]]) -> None:
        """Every CALLS_PULL_S, ask each source for its buffered calls; take the answers that came.

        sources: (an actor's remote `calls` method, summed into summary.json's tally or only
        served). Calls also ride on results, but a slow model's episode can run for minutes: this
        keeps Prometheus within seconds of every attempt. Never blocks; an actor busy with a
        long task keeps one request queued and is asked again once it answers."""
        if self._pulls:
            refs = [r for r, _ in self._pulls.values()]
            ready = set(ray.wait(refs, num_returns=len(refs), timeout=0)[0])
            self._take([p for p in self._pulls.values() if p[0] in ready])
            self._pulls = {i: p for i, p in self._pulls.items() if p[0] not in ready}
        now = time.monotonic()
        if now - self._pulled < CALLS_PULL_S:
            return
        self._pulled = now
        for i, (method, summed) in enumerate(sources):
            if i not in self._pulls:
                self._pulls[i] = (method.remote(), summed)

    def final_pull(self, sources: Sequence[tuple[Any, bool]]) -> None:
        """Collect the calls still buffered in each source; dead or slow ones are skipped."""
        pulls = [*self._pulls.values(), *((m.remote(), summed) for m, summed in sources)]
        self._pulls = {}
        if not pulls:
            return
        refs = [r for r, _ in pulls]
        ready = set(ray.wait(refs, num_returns=len(refs), timeout=FINAL_PULL_S)[0])
        self._take([p for p in pulls if p[0] in ready])

    def _take(self, pulls: Iterable[tuple[Any, bool]]) -> None:
        for ref, summed in pulls:
            try:
                self.calls(ray.get(ref), summed)
            except ray.exceptions.RayError:  # a dead actor: its buffered calls are lost with it
                continue

    # ---- the end ----

    def memory_usage(self, committed: Iterable[dict[str, Usage]] = ()) -> dict[str, Usage]:
        """Usage of every role but the agent's (which the trajectories themselves carry): the
        commit records' (distills, resumes included) plus what this invocation's other actors
        shipped (the writer's own and retrieval's calls)."""
        out = {role: u for role, u in self.usage.items() if role != "agent"}
        for usage in committed:
            for role, u in usage.items():
                out[role] = out.get(role, Usage()) + u
        return dict(sorted(out.items()))


def usage_table(by_role: dict[str, dict[str, int]], cost_by_role: dict[str, float]) -> Table:
    table = Table(title="LLM usage by role")
    for col in ("role", "prompt tokens", "completion tokens", "cost"):
        table.add_column(col, justify="left" if col == "role" else "right")
    for role, tokens in by_role.items():
        table.add_row(
            role,
            f"{tokens.get('prompt', 0):,}",
            f"{tokens.get('completion', 0):,}",
            f"${cost_by_role.get(role, 0.0):.4f}",
        )
    return table


def print_url(console: Console, url: str | None) -> None:
    if url is not None:
        console.print(f"metrics: {url}", highlight=False)
