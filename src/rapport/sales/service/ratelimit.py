"""An in-process token bucket per key (form + client address).

It limits one process: with N app servers a client gets up to N times the rate. That is
enough to blunt a spam script against a public form; a shared limit (Redis) can replace it
behind the same function when the deployment has a broker.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass

MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    """``capacity`` requests at once, refilled at ``capacity`` per ``period`` seconds."""

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity = capacity
        self.rate = capacity / period
        self._buckets: dict[Hashable, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: Hashable) -> int | None:
        """Spend one token; None if allowed, else the seconds to wait before retrying."""
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > MAX_KEYS:
                self._buckets.clear()  # a memory bound: forgetting is safer than growing
            bucket = self._buckets.setdefault(key, _Bucket(self.capacity, now))
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def reset(self) -> None:
        """Forget every bucket."""
        with self._lock:
            self._buckets.clear()
