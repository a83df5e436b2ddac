"""What `memp envs` prints: each registered env with its splits, sizes and sim policy."""

from __future__ import annotations

from pydantic import Field

from pipeline.config import EnvConfig
from pipeline.types import Record


class EnvInfo(Record):
    name: str
    suite: str = ""  # the suite class, as "module:Class"
    splits: dict[str, int | None] = Field(default_factory=dict)  # None: endless or unknown
    sim_policy: str | None = None
    settings: list[str] = Field(default_factory=list)  # keys of its `env.<name>` subsection
    error: str | None = None  # the env could not be loaded


def describe(name: str) -> EnvInfo:
    """One env's row; an env that fails to import is reported, not raised."""
    from pipeline.envs import get_suite, suite_class

    try:
        cls = suite_class(name)
        suite = get_suite(EnvConfig(name=name))
        splits = {s: suite.split_size(s) for s in suite.splits()}
    except Exception as err:  # a broken plug-in must not hide the others
        return EnvInfo(name=name, error=f"{type(err).__name__}: {err}"[:300])
    model = getattr(cls, "settings_model", None)
    return EnvInfo(
        name=name,
        suite=f"{cls.__module__}:{cls.__qualname__}",
        splits=splits,
        sim_policy=getattr(suite, "sim_policy", None),
        settings=sorted(model.model_fields) if model is not None else [],
    )


def describe_all(extra: list[str] | tuple[str, ...] = ()) -> list[EnvInfo]:
    """Every registered env, then any "pkg.mod:Class" targets asked for."""
    from pipeline.envs import registered

    return [describe(name) for name in [*registered(), *extra]]
