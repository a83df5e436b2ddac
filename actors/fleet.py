"""The set of actors one run uses, created together and ready before the first task."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import ray

from actors.distill import distiller_cls
from actors.rollout import rollout_worker_cls
from actors.session import driver_node_affinity
from actors.validate import validator_cls
from actors.writer import memory_writer_cls
from pipeline.config import RunConfig
from pipeline.errors import MempError
from pipeline.runlog import RunDir

SPREAD_CPUS = 0.001  # per rollout worker: a token share (they share the cores) so SPREAD applies


@dataclass
class Fleet:
    workers: list[Any]
    writer: Any | None = None
    validator: Any | None = None
    distillers: list[Any] = field(default_factory=list)
    ready_s: float = 0.0
    _next_distiller: itertools.cycle | None = None

    @classmethod
    def start(cls, cfg: RunConfig, run_dir: RunDir, rebuild_memory: bool = False) -> Fleet:
        """Create every actor (num_cpus=0: they share the machine's cores) and wait for them.

        rebuild_memory: a server-mode collection behind the op log is rebuilt, not refused."""
        started = time.perf_counter()
        conf = cfg.model_dump(mode="json")
        writer = validator = writer_name = None
        distillers: list[Any] = []
        if cfg.memory.enabled:
            # The writer owns the run directory's WAL (and the embedded Qdrant): the driver's node.
            # Others find it by name: an actor handle as a constructor argument would live in the
            # object store and could be gone when Ray restarts the actor that holds it.
            writer_name = f"memp-writer-{uuid.uuid4().hex[:12]}"
            writer = (
                memory_writer_cls()
                .options(name=writer_name, scheduling_strategy=driver_node_affinity())
                .remote(conf, str(run_dir.path.resolve()), rebuild_memory)
            )
            validator = validator_cls().remote(conf)
            distillers = [
                distiller_cls().remote(conf, writer_name) for _ in range(cfg.pipeline.distillers)
            ]
        worker_cls = rollout_worker_cls(cfg)
        # Round-robin over the nodes. Ray ignores "SPREAD" (and soft node affinity) for an actor
        # asking for no resources at all, and picks a random node: a token CPU share makes it count.
        workers = [
            worker_cls.options(scheduling_strategy="SPREAD", num_cpus=SPREAD_CPUS).remote(
                conf, i, writer_name
            )
            for i in range(cfg.pipeline.rollout_workers)
        ]
        pings = [w.ready.remote() for w in workers] + [d.ready.remote() for d in distillers]
        if writer is not None and validator is not None:
            pings += [writer.version.remote(), validator.ready.remote()]
        try:
            ray.get(pings)
        except ray.exceptions.RayTaskError as err:  # e.g. the writer refused the memory store
            if isinstance(err.cause, MempError):
                raise err.cause from None  # one line, not the actor's traceback
            raise
        fleet = cls(workers, writer, validator, distillers, time.perf_counter() - started)
        fleet._next_distiller = itertools.cycle(distillers) if distillers else None
        return fleet

    def distiller(self) -> Any:
        assert self._next_distiller is not None
        return next(self._next_distiller)

    def close(self) -> None:
        """Release the store (the local Qdrant lock and files) before the actors go away."""
        if self.writer is not None:
            ray.get(self.writer.close.remote())
        for actor in [*self.workers, *self.distillers, self.validator, self.writer]:
            if actor is not None:
                ray.kill(actor)
