"""Policy registries: build, retrieve and update policies register by name, with their roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from pipeline.config import ConfigError

P = TypeVar("P", bound=type)


class Registry(Generic[P]):
    """Name -> policy class for one config key (e.g. `memory.retrieve`); each class has a `name`
    and `roles`, the LLM roles it calls (so callers know which models a config needs)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._classes: dict[str, P] = {}

    def register(self, cls: P) -> P:
        """Class decorator: the class answers to its `name` in the config."""
        name = cls.name  # type: ignore[attr-defined]
        if name in self._classes:
            raise ValueError(f"{self.key}: {name!r} is registered twice")
        self._classes[name] = cls
        return cls

    def names(self) -> tuple[str, ...]:
        return tuple(self._classes)

    def get(self, name: str) -> P:
        """The class registered as `name`; ConfigError (one line) naming the choices otherwise."""
        cls = self._classes.get(name)
        if cls is None:
            raise ConfigError(
                f"bad value for {self.key!r}: no policy {name!r}; use one of {', '.join(self)}"
            )
        return cls

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __contains__(self, name: object) -> bool:
        return name in self._classes
