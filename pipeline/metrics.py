"""The Prometheus metric catalogue: every name, label and bucket memp exports, in one place."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pipeline.exporter import Exporter
from pipeline.types import OP_KINDS, Trajectory, TrajectoryStatus

if TYPE_CHECKING:  # pipeline.llm imports litellm (seconds): the driver process must not pay for it
    from pipeline.llm import CallEvent

# Bucket edges chosen for the latencies we see: sub-ms sim calls up to slow remote models.
LLM_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
RETRIEVAL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
EPISODE_STEP_BUCKETS = (1, 2, 4, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100)
WINDOW = 100  # episodes in the sliding success-rate / mean-steps window
# Env scores are mostly rates in [0, 1]; the tail covers counts (tries, steps, ...).
EPISODE_SCORE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 2, 5, 10, 100)

# Label values primed at 0 so every dashboard and rule expression has a series from the start.
STATUSES: tuple[TrajectoryStatus, ...] = get_args(TrajectoryStatus)
OUTCOMES = ("success", "failure")
ERROR_KINDS = (
    "rate_limit", "timeout", "server", "bad_output", "auth", "bad_request", "other", "cancelled",
)  # fmt: skip
STAGES = ("rollout", "validate", "distill", "write")


class Metrics:
    """memp's metrics on their own registry (so tests and several runs never collide).

    `labels` (e.g. {"run": ...}, plus "cell" in a grid) are added to every series when served.
    """

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.labels = dict(labels or {})
        r = self.registry
        self.episodes = Counter(
            "memp_episodes", "Episodes finished.", ["env", "status", "outcome"], registry=r
        )
        self.agent_steps = Counter("memp_agent_steps", "Agent steps taken.", ["env"], registry=r)
        self.invalid_steps = Counter(
            "memp_agent_invalid_steps", "Steps with a malformed or rejected command.", ["env"],
            registry=r,
        )  # fmt: skip
        self.episode_steps = Histogram(
            "memp_episode_steps", "Steps per finished episode.", ["env"],
            buckets=EPISODE_STEP_BUCKETS, registry=r,
        )  # fmt: skip
        # `score` values are the env's score keys: a handful per env (e.g. constraint pass rates).
        self.episode_score = Histogram(
            "memp_episode_score", "Per-episode scores reported by the env.", ["env", "score"],
            buckets=EPISODE_SCORE_BUCKETS, registry=r,
        )  # fmt: skip
        self.llm_calls = Counter("memp_llm_calls", "LLM calls.", ["model", "role"], registry=r)
        self.llm_tokens = Counter(
            "memp_llm_tokens", "LLM tokens.", ["model", "role", "kind"], registry=r
        )
        self.llm_cost = Counter(
            "memp_llm_cost_usd", "LLM cost in USD.", ["model", "role"], registry=r
        )
        self.llm_latency = Histogram(
            "memp_llm_latency_seconds", "LLM call latency.", ["model", "role"],
            buckets=LLM_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.llm_errors = Counter(
            "memp_llm_errors", "Failed LLM call attempts by kind.", ["model", "role", "kind"],
            registry=r,
        )  # fmt: skip
        self.llm_retries = Counter(
            "memp_llm_retries", "Failed LLM call attempts that another attempt followed.",
            ["model", "role"], registry=r,
        )  # fmt: skip
        self.retrieval_latency = Histogram(
            "memp_retrieval_latency_seconds", "Memory retrieval latency.", ["policy"],
            buckets=RETRIEVAL_BUCKETS, registry=r,
        )  # fmt: skip
        self.memory_procedures = Gauge(
            "memp_memory_procedures", "Procedures in memory.", ["status"], registry=r
        )
        self.memory_ops = Counter(
            "memp_memory_ops_applied", "Memory ops applied by the writer.", ["kind"], registry=r
        )
        self.memory_version = Gauge("memp_memory_version", "Applied memory version.", registry=r)
        self.queue_depth = Gauge(
            "memp_queue_depth", "Items waiting per pipeline stage.", ["stage"], registry=r
        )
        self.in_flight = Gauge("memp_in_flight_episodes", "Episodes running now.", registry=r)
        self.in_flight_cap = Gauge(
            "memp_in_flight_cap", "Most episodes the driver keeps in flight now.", registry=r
        )
        self.success_rate = Gauge(
            "memp_success_rate_window", f"Success rate over the last {WINDOW} episodes.", registry=r
        )
        self.mean_steps = Gauge(
            "memp_mean_steps_window", f"Mean steps over the last {WINDOW} episodes.", registry=r
        )
        self.concurrency_limit = Gauge(
            "memp_llm_concurrency_limit", "Current adaptive LLM concurrency limit.", ["endpoint"],
            registry=r,
        )  # fmt: skip
        # Run state, so alerts can tell a finished run from a stalled or vanished one.
        self.run_info = Gauge(
            "memp_run_info", "1 while the run's exporter serves; labels describe the run.",
            ["env", "split", "model", "mode"], registry=r,
        )  # fmt: skip
        self.run_started = Gauge(
            "memp_run_start_time_seconds", "Unix time the run started.", registry=r
        )
        self.run_finished = Gauge(
            "memp_run_finished", "1 once the run has ended in order (summary written).", registry=r
        )
        self._window: deque[tuple[bool, int]] = deque(maxlen=WINDOW)
        self.exporter: Exporter | None = None

    def start(self, host: str, port: int) -> int:
        """Serve these metrics alone on their own exporter; returns the bound port."""
        exporter = Exporter()
        exporter.sources.add(self.registry, self.labels)
        bound = exporter.start(host, port)
        self.exporter = exporter
        return bound

    def stop(self) -> None:
        if self.exporter is not None:
            self.exporter.stop()
            self.exporter = None

    def observe_trajectory(self, traj: Trajectory) -> None:
        env = traj.task.env
        outcome = "success" if traj.success else "failure"
        self.episodes.labels(env=env, status=traj.status, outcome=outcome).inc()
        self.agent_steps.labels(env=env).inc(traj.n_steps)
        self.invalid_steps.labels(env=env).inc(sum(1 for s in traj.steps if not s.valid))
        self.episode_steps.labels(env=env).observe(traj.n_steps)
        for key, value in traj.scores.items():
            self.episode_score.labels(env=env, score=key).observe(value)
        self._window.append((traj.success, traj.n_steps))
        n = len(self._window)
        self.success_rate.set(sum(ok for ok, _ in self._window) / n)
        self.mean_steps.set(sum(steps for _, steps in self._window) / n)

    def prime(
        self,
        env: str,
        roles: Iterable[tuple[str, str]],
        endpoints: dict[str, int] | None = None,
        policy: str | None = None,
    ) -> None:
        """Create every label set at 0; roles are (model, role) pairs, the first one gets errors."""
        self.run_finished.set(0)
        for status in STATUSES:
            for outcome in OUTCOMES:
                self.episodes.labels(env=env, status=status, outcome=outcome)
        self.agent_steps.labels(env=env)
        self.invalid_steps.labels(env=env)
        self.episode_steps.labels(env=env)
        for i, (model, role) in enumerate(roles):
            self.llm_calls.labels(model=model, role=role)
            for kind in ("prompt", "completion"):
                self.llm_tokens.labels(model=model, role=role, kind=kind)
            self.llm_cost.labels(model=model, role=role)
            self.llm_latency.labels(model=model, role=role)
            self.llm_retries.labels(model=model, role=role)
            for kind in ERROR_KINDS if i == 0 else ():
                self.llm_errors.labels(model=model, role=role, kind=kind)
        if policy is not None:
            self.retrieval_latency.labels(policy=policy)
        for status in ("active", "discarded"):
            self.memory_procedures.labels(status=status)
        for kind in OP_KINDS:
            self.memory_ops.labels(kind=kind)
        for stage in STAGES:
            self.queue_depth.labels(stage=stage)
        for endpoint, limit in (endpoints or {}).items():
            self.concurrency_limit.labels(endpoint=endpoint).set(limit)

    def observe_calls(self, events: Iterable[CallEvent]) -> None:
        for e in events:
            self.observe_call(
                e.role, e.model, e.usage.prompt_tokens, e.usage.completion_tokens,
                e.usage.cost_usd, e.latency_s, e.error, e.retried,
            )  # fmt: skip

    def observe_call(
        self,
        role: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
        latency_s: float,
        error: str | None = None,
        retried: bool = False,
    ) -> None:
        """One call attempt from plain fields (what actors ship back: CallRecorder.rows)."""
        if error is not None:
            self.llm_errors.labels(model=model, role=role, kind=error).inc()
            if retried:
                self.llm_retries.labels(model=model, role=role).inc()
            return
        self.llm_calls.labels(model=model, role=role).inc()
        self.llm_tokens.labels(model=model, role=role, kind="prompt").inc(prompt_tokens)
        self.llm_tokens.labels(model=model, role=role, kind="completion").inc(completion_tokens)
        self.llm_cost.labels(model=model, role=role).inc(cost_usd)
        self.llm_latency.labels(model=model, role=role).observe(latency_s)

    def observe_retrieval(self, policy: str, seconds: float) -> None:
        self.retrieval_latency.labels(policy=policy).observe(seconds)

    def set_memory(self, active: int, discarded: int, version: int) -> None:
        self.memory_procedures.labels(status="active").set(active)
        self.memory_procedures.labels(status="discarded").set(discarded)
        self.memory_version.set(version)

    def ops_applied(self, kind: str, count: int = 1) -> None:
        self.memory_ops.labels(kind=kind).inc(count)

    def set_queue(self, stage: str, depth: int) -> None:
        self.queue_depth.labels(stage=stage).set(depth)


# What crosses a process boundary for one call attempt: plain values, so the receiving process
# (the driver) never imports pipeline.llm to unpickle a CallEvent.
# (role, model, prompt_tokens, completion_tokens, cost_usd, latency_s, error kind or None,
#  retried: a failed attempt that another attempt follows)
CallRow = tuple[str, str, int, int, float, float, str | None, bool]


class CallRecorder:
    """An LLM-call observer that buffers events in a process until they are drained and shipped."""

    def __init__(self, limit: int = 100_000) -> None:
        self._events: deque[CallEvent] = deque(maxlen=limit)

    def __call__(self, event: CallEvent) -> None:
        self._events.append(event)

    def drain(self) -> list[CallEvent]:
        out = list(self._events)
        self._events.clear()
        return out

    def rows(self) -> list[CallRow]:
        """drain() as plain CallRow tuples, ready to piggyback on a result."""
        return [
            (e.role, e.model, e.usage.prompt_tokens, e.usage.completion_tokens, e.usage.cost_usd,
             e.latency_s, e.error, e.retried)
            for e in self.drain()
        ]  # fmt: skip
