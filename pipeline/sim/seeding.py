"""Stable per-call randomness for the sim: a hash of the run seed, a salt and the messages."""

from __future__ import annotations

import hashlib
import random


def digest(seed: int, parts: list[dict[str, str]], salt: bytes) -> bytes:
    """16 bytes that change with the seed, the salt, and every message's role and content."""
    h = hashlib.blake2b(salt + seed.to_bytes(8, "little", signed=True), digest_size=16)
    for m in parts:
        h.update(str(m.get("role", "")).encode())
        h.update(b"\x1e")
        h.update(str(m.get("content") or "").encode())
        h.update(b"\x1f")
    return h.digest()


def rng_of(key: bytes) -> random.Random:
    """A generator seeded by a digest."""
    return random.Random(int.from_bytes(key, "little"))


def call_rng(seed: int, messages: list[dict[str, str]], salt: bytes = b"call") -> random.Random:
    """Per-call noise: a stable hash of the seed and every message."""
    return rng_of(digest(seed, messages, salt))
