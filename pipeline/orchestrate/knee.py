"""Episodes in flight that follow throughput's knee, for runs that leave max_in_flight unset.

Past the CPU knee more episodes in flight carry no more steps per second (each costs CPU of its
own), and a call limit on model calls cannot shed them. So the cap climbs while steps/s grows
with it in proportion; when a step brings less, it settles on whichever of the two levels ran
more steps/s (the upper one only by a clear margin: noise must not ratchet it up a plateau).
Every few windows it probes one level up again: the knee moves with the model's latency and the
machine's load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    cap: int
    steps_per_s: float


class KneeCap:
    """Hill-climbs the in-flight cap on measured agent steps/s; pure: the caller owns clocks.

    A window counts only if the cap was reached throughout it (no shortage of tasks, no memory
    barrier): a rate below a cap nobody filled says nothing about the cap."""

    def __init__(
        self,
        ceiling: int,
        *,
        start: int = 256,
        grow: float = 1.25,
        gain: float = 0.5,
        margin: float = 0.03,
        window_s: float = 10.0,
        probe_every: int = 6,
    ) -> None:
        self.ceiling = ceiling
        self.grow = grow
        self.gain = gain  # of a proportional gain a step up must bring to keep climbing
        self.margin = margin  # what a step that stops the climb must gain to be kept
        self.window_s = window_s
        self.probe_every = probe_every  # held windows between probes one level up
        self.cap = min(ceiling, start)
        self.climbing = self.cap < ceiling
        self.below: Level | None = None  # the last measured level under the current cap
        self.held = 0
        self.history: list[Level] = []  # every counted window, for the run's record
        self._opened: tuple[float, int] | None = None
        self._full = True
        self._ramping = False  # the cap just changed: let episodes ramp before counting
        self._ramped_at = -math.inf

    def observe(self, now: float, steps: int, full: bool, latency_s: float = 0.0) -> int:
        """Feed the cumulative agent steps and whether in-flight episodes fill the cap now.

        latency_s: the model's mean latency so far; a window spans at least five of them, and
        opens two of them (at least 2 s) after a change of cap, once episodes ramped."""
        if self._opened is None:
            if self._ramping:
                self._ramping, self._ramped_at = False, now + max(2.0, 2 * latency_s)
            if now >= self._ramped_at:
                self._opened, self._full = (now, steps), full
            return self.cap
        self._full = self._full and full
        began, base = self._opened
        span = max(self.window_s, 5 * latency_s)
        if now - began < span:
            return self.cap
        self._opened, counted, self._full = (now, steps), self._full, full
        if counted:
            self._step(Level(self.cap, (steps - base) / (now - began)))
        return self.cap

    def _step(self, level: Level) -> None:
        self.history.append(level)
        below = self.below
        if self.climbing:
            if below is not None and not self._paid_off(below, level):
                # Past the knee: keep the faster of the two; the upper one needs a clear gain.
                kept = (
                    level if level.steps_per_s >= below.steps_per_s * (1 + self.margin) else below
                )
                self._set(kept.cap, climbing=False)
                return
            self.below = level
            if level.cap < self.ceiling:
                self._set(min(self.ceiling, math.ceil(level.cap * self.grow)), climbing=True)
            else:
                self.climbing = False
            return
        self.held += 1
        if self.held >= self.probe_every and self.cap < self.ceiling:
            self.below = level
            self._set(min(self.ceiling, math.ceil(level.cap * self.grow)), climbing=True)

    def _paid_off(self, below: Level, level: Level) -> bool:
        wanted = self.gain * (level.cap / below.cap - 1)
        return level.steps_per_s >= below.steps_per_s * (1 + wanted)

    def _set(self, cap: int, climbing: bool) -> None:
        changed = cap != self.cap
        self.cap, self.climbing, self.held = cap, climbing, 0
        if changed:
            self._opened, self._ramping = None, True
