"""The one RunConfig tree: YAML files or preset names, `--set a.b=c` overrides, one-line errors."""

from __future__ import annotations

import re
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.errors import MempError
from pipeline.prices import ModelPrice, register_prices

M = TypeVar("M", bound=BaseModel)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RunSection(Section):
    name: str = "household-sim"
    seed: int = 0
    run_dir: str | None = None  # default: runs/<name>-<timestamp>


class EnvConfig(Section):
    """Generic env keys plus one subsection named after the env (e.g. `env.household.grammar`),
    checked by build_config against the env suite's own settings_model."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    name: str = "household"  # a registered env, or "package.module:SuiteClass"
    split: str = "valid_unseen"  # one of the env's splits (household: train | valid_* | endless)
    step_limit: int = Field(50, ge=1, le=1000)
    max_tasks: int | None = Field(None, ge=1)  # truncate the split (None: all of it)
    tasks_file: str | None = None  # JSONL of Task records, overrides split

    def settings(self, model: type[M], key: str | None = None) -> M:
        """The env subsection validated by `model` (defaults when the config has none)."""
        extra = self.model_extra or {}
        raw = extra.get(key) if key is not None else next(iter(extra.values()), None)
        return raw if isinstance(raw, model) else model.model_validate(raw or {})


class LatencyConfig(Section):
    kind: Literal["none", "fixed", "lognormal"] = "none"
    mean_s: float = Field(0.0, ge=0.0)
    sigma: float = Field(0.5, ge=0.0)  # lognormal shape


class SimConfig(Section):
    """Knobs of the offline scripted model (a stand-in for an LLM, not evidence about one).

    Generic knobs and the household policy's live here; another policy's knobs go in a
    subsection `sim.<policy>` validated by that policy's settings model (see build_config)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    skill: float = Field(0.5, ge=0.0, le=1.0)  # chance it knows the right appliance
    skip_rate: float = Field(0.25, ge=0.0, le=1.0)  # chance it forgets the transformation
    invalid_rate: float = Field(0.03, ge=0.0, le=1.0)  # malformed commands
    format_error_rate: float = Field(0.02, ge=0.0, le=1.0)  # answers without an Action line
    memory_trust: float = Field(0.9, ge=0.0, le=1.0)  # chance it follows retrieved procedures
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    price_in_per_mtok: float = Field(0.15, ge=0.0)  # USD per million prompt tokens
    price_out_per_mtok: float = Field(0.60, ge=0.0)

    def settings(self, model: type[M], policy: str) -> M:
        """The `sim.<policy>` subsection validated by `model` (defaults when absent)."""
        raw = (self.model_extra or {}).get(policy)
        return raw if isinstance(raw, model) else model.model_validate(raw or {})


class ModelConfig(Section):
    model: str = "sim/household"
    api_base: str | None = None
    api_key_env: str | None = None  # name of the env var holding the key; never the key itself
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(256, ge=1)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(5, ge=0)
    concurrency: int = Field(64, ge=1)  # per-endpoint limit on in-flight calls

    @property
    def endpoint(self) -> str:
        """The server called: api_base, else the provider; its clients share one limiter."""
        return self.api_base or self.model.split("/", 1)[0]


# Fields of an endpoint that a memory model copies from the agent when the user left them unset.
ENDPOINT_FIELDS = ("api_base", "api_key_env")


class AgentConfig(ModelConfig):
    one_shot: bool = True  # include a worked example of the task type
    history_steps: int = Field(0, ge=0)  # 0: whole interaction in the prompt; else last N steps
    episode_timeout_s: float = Field(600.0, gt=0)
    # Structured answers: json_schema asks the endpoint for {"thought", "action"} constrained to
    # the env's action schema (e.g. the admissible commands); auto does so where the model's
    # provider supports response_format; off parses free text (the ReAct default).
    constrained: Literal["off", "json_schema", "auto"] = "off"


class QdrantConfig(Section):
    url: str | None = None  # None: embedded local mode inside the run directory
    api_key_env: str | None = None
    collection_prefix: str = "memp"


class DiscardConfig(Section):
    enabled: bool = True
    min_retrieved: int = Field(3, ge=1)
    min_success_ratio: float = Field(0.5, ge=0.0, le=1.0)


# Credit of an outcome: every retrieved procedure (all) or only the best-ranked one (top1).
Credit = Literal["top1", "all"]


class MemoryConfig(Section):
    enabled: bool = False
    # Collections of one memory base; in a RunConfig, unset means the env's name.
    namespace: str = "default"
    # Policy names, checked against the registries in pipeline/memory (see plugin_config).
    build: str = "proceduralization"
    retrieve: str = "query"
    update: str = "adjustment"
    top_k: int = Field(1, ge=1, le=50)
    score_threshold: float | None = None
    embedder: str = "hash"  # hash | litellm:<model>
    embedder_api_base: str | None = None  # OpenAI-compatible server of a litellm embedder
    embedder_api_key_env: str | None = None  # env var holding its key; never the key itself
    embed_dim: int = Field(512, ge=8)
    update_every: int = Field(1, ge=1)  # async mode: trajectories per memory commit
    dedup_threshold: float = Field(0.97, ge=0.0, le=1.0)
    capacity: int | None = Field(None, ge=1)
    discard: DiscardConfig = Field(default_factory=DiscardConfig)
    builder: ModelConfig | None = None  # None: same model as the agent; unset endpoint: agent's
    credit: Credit = "all"
    # A failure revises a procedure of another task type only when the task texts' word overlap
    # (Jaccard) reaches this; None: same task type only.
    adjust_similarity: float | None = Field(None, ge=0.0, le=1.0)
    # Regexes (case-insensitive) of instruction-like text; a procedure matching one is quarantined.
    # None: the built-in list (pipeline/memory/quarantine.py); [] turns the detector off.
    quarantine_patterns: list[str] | None = None
    seed_pack: str | None = None  # JSONL memory pack imported at start
    qdrant: QdrantConfig = Field(default_factory=QdrantConfig)


class PipelineConfig(Section):
    mode: Literal["sync", "async"] = "sync"
    group_size: int = Field(20, ge=1)  # t: tasks per group in sync mode
    max_version_lag: int = Field(4, ge=0)  # async mode staleness bound
    rollout_workers: int = Field(2, ge=1)
    episodes_per_worker: int = Field(32, ge=1)
    distillers: int = Field(1, ge=1)
    max_in_flight: int | None = Field(None, ge=1)  # unset: knee-following, workers x epw ceiling
    # A run in which more than this share of episodes errored (or timed out) exits with code 3.
    max_error_ratio: float = Field(0.5, ge=0.0, le=1.0)
    # Memory work that still fails after its retries exits with code 4 unless this is true.
    allow_memory_failures: bool = False
    progress_every_s: float = Field(10.0, gt=0.0)  # progress lines when stdout is not a terminal


class MetricsConfig(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)  # 0: pick a free port
    # After the summary: when the exporter was scraped during the run, wait at most this long for
    # one more scrape (the one carrying the final totals); 0 never waits.
    final_scrape_s: float = Field(60.0, ge=0.0, le=3600.0)
    # Then keep serving this much longer (a dashboard left open, a slow second scraper).
    linger_s: float = Field(0.0, ge=0.0, le=3600.0)


class RunConfig(Section):
    run: RunSection = Field(default_factory=RunSection)
    env: EnvConfig = Field(default_factory=EnvConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)  # model string -> USD per Mtok

    @model_validator(mode="after")
    def _env_namespace(self) -> RunConfig:
        # Memory of one env stays apart from another's unless the user names a namespace.
        if "namespace" not in self.memory.model_fields_set:
            self.memory.namespace = re.sub(r"[^a-z0-9_]+", "_", self.env.name.lower()).strip("_")
        return self

    @model_validator(mode="after")
    def _inherit_endpoint(self) -> RunConfig:
        # A builder on the agent's server needs only its model name: the endpoint fields the
        # user did not set come from the agent (an explicit `api_base: null` opts out).
        builder = self.memory.builder
        if builder is not None:
            unset = {f: getattr(self.agent, f) for f in ENDPOINT_FIELDS}
            unset = {f: v for f, v in unset.items() if f not in builder.model_fields_set}
            if unset:
                self.memory.builder = builder.model_copy(update=unset)
        return self

    @model_validator(mode="after")
    def _register_prices(self) -> RunConfig:
        # Every process (driver, each Ray actor) validates its RunConfig once, so registering
        # here prices the calls of every process without a hook in each actor.
        register_prices(self.prices)
        return self


class ConfigError(MempError, ValueError):
    """A user-facing configuration problem; the message is one line."""


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
