"""Simulated response latency: none, fixed, or lognormal whose mean is mean_s."""

from __future__ import annotations

import math
import random

from pipeline.config import LatencyConfig


def sample_latency(cfg: LatencyConfig, rng: random.Random) -> float:
    """Seconds to wait for one call; lognormal mu is set so that E[X] = mean_s."""
    if cfg.kind == "none" or cfg.mean_s <= 0:
        return 0.0
    if cfg.kind == "fixed" or cfg.sigma <= 0:
        return cfg.mean_s
    mu = math.log(cfg.mean_s) - 0.5 * cfg.sigma * cfg.sigma
    return rng.lognormvariate(mu, cfg.sigma)
