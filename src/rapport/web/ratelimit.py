"""Slowing down password guessing: failed sign-ins are counted per email+IP and per IP.

The counts live in this process's memory: enough for one server, and a restart forgets them.
With several app servers behind a load balancer each keeps its own count, so the real limit is
N times higher; move the counters to the shared database or Redis when that matters.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5  # per email, from one IP address
MAX_FAILURES_PER_IP = 30  # any emails, from one IP address (password spraying)


@dataclass
class LoginThrottle:
    """Sliding-window failure counters; thread-safe (sync routes run in a thread pool)."""

    window: float = WINDOW_SECONDS
    per_account: int = MAX_FAILURES_PER_ACCOUNT
    per_ip: int = MAX_FAILURES_PER_IP
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _keys(email: str, ip: str) -> tuple[str, str]:
        return f"acct:{email.strip().lower()}|{ip}", f"ip:{ip}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def retry_after(self, email: str, ip: str) -> int:
        """Seconds until this email+IP may try again; 0 when it may try now."""
        now = time.monotonic()
        account, address = self._keys(email, ip)
        with self._lock:
            waits = [
                times[0] + self.window - now
                for key, limit in ((account, self.per_account), (address, self.per_ip))
                if len(times := self._recent(key, now)) >= limit
            ]
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, email: str, ip: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 50_000:  # bound memory under a spray of random emails
                for key in list(self._failures):
                    self._recent(key, now)
            for key in self._keys(email, ip):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, email: str, ip: str) -> None:
        """A correct password clears that account's count (not the IP's)."""
        account, _ = self._keys(email, ip)
        with self._lock:
            self._failures.pop(account, None)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()


login_throttle = LoginThrottle()
