"""KneeCap: the in-flight cap climbs while steps/s grows with it and holds at the knee."""

from __future__ import annotations

from pipeline.orchestrate.knee import KneeCap


def _machine(knee: int, latency_s: float = 1.0, overload: float = 0.3):
    """Steps/s for `cap` episodes in flight: linear to the knee, then falling past it."""

    def rate(cap: int) -> float:
        if cap <= knee:
            return cap / latency_s
        return knee / latency_s * max(0.1, 1 - overload * (cap / knee - 1))

    return rate


def _drive(cap: KneeCap, rate, seconds: float, full=lambda t: True, dt: float = 0.5) -> list[int]:
    """Run the controller against a machine: every dt it reports the steps taken since."""
    t, steps, caps = 0.0, 0.0, []
    while t < seconds:
        steps += rate(cap.cap) * dt
        t += dt
        caps.append(cap.observe(t, int(steps), full(t)))
    return caps


def test_climbs_to_the_knee_and_holds_there_not_at_the_ceiling() -> None:
    knee = KneeCap(8192, start=256)
    caps = _drive(knee, _machine(2000), 900)
    # 256 x 1.25 per level, rounded up: 1,912 is the last level under the knee, 2,390 the next.
    assert max(caps) == 2390
    settled = caps[-200:]  # the last 100 s: held, with probes one level up that do not pay
    assert min(settled) == 1912 and sum(c == 1912 for c in settled) > len(settled) / 2


def test_a_ceiling_under_the_knee_is_reached_and_kept() -> None:
    knee = KneeCap(600, start=256)
    caps = _drive(knee, _machine(2000), 300)
    assert caps[-1] == 600 and not knee.climbing


def test_a_start_at_the_ceiling_never_moves() -> None:
    knee = KneeCap(64, start=256)
    assert knee.cap == 64
    assert set(_drive(knee, _machine(2000), 120)) == {64}


def test_windows_with_the_cap_unfilled_do_not_count() -> None:
    # No shortage ever ends: the rate of a half-empty cap must not stop the climb or start it.
    knee = KneeCap(8192, start=256)
    caps = _drive(knee, _machine(2000), 300, full=lambda t: False)
    assert set(caps) == {256} and knee.history == []


def test_when_the_knee_moves_up_a_probe_finds_it() -> None:
    knee = KneeCap(8192, start=256, probe_every=3)
    moved = {"knee": 1000}

    def rate(cap: int) -> float:
        return _machine(moved["knee"])(cap)

    _drive(knee, rate, 400)
    assert knee.cap < 1300
    moved["knee"] = 4000  # the model got slower per call or the machine quieter
    caps = _drive(knee, rate, 900)
    assert caps[-1] >= 3000


def test_windows_span_five_model_latencies() -> None:
    knee = KneeCap(8192, start=256, window_s=10)
    assert knee.observe(0.0, 0, True, latency_s=4.0) == 256
    assert knee.observe(15.0, 3000, True, latency_s=4.0) == 256  # 15 s < 5 x 4 s
    assert knee.observe(20.0, 4000, True, latency_s=4.0) == 320
    assert knee.history[0].steps_per_s == 200.0


def test_a_step_that_gains_less_than_proportional_but_clearly_is_kept() -> None:
    # A soft knee: past 800 each extra episode adds 0.4 of a step; the peak is at 1,200.
    def rate(cap: int) -> float:
        if cap <= 800:
            return float(cap)
        return 800 + 0.4 * (min(cap, 1200) - 800) - 0.5 * max(0, cap - 1200)

    knee = KneeCap(8192, start=256, probe_every=3)
    caps = _drive(knee, rate, 240)
    # 782 -> 978 brings 11 % for 25 % more: the climb stops, but at the faster level.
    assert 978 in caps and not knee.climbing and knee.cap >= 978
    # Probes find 1,223 faster again (by more than the margin), 1,529 slower: it stays at 1,223.
    caps = _drive(knee, rate, 900)
    assert caps[-1] == 1223 and max(caps) == 1529


def test_a_plateau_within_the_margin_goes_back_down() -> None:
    # Flat past 1,000 with 1 % more per level: noise-sized gains must not ratchet the cap up.
    def rate(cap: int) -> float:
        return float(cap) if cap <= 1000 else 1000 * (1 + 0.01 * (cap / 1000 - 1))

    knee = KneeCap(8192, start=256)
    caps = _drive(knee, rate, 900)
    assert max(caps) == 1223 and caps[-1] == 978
