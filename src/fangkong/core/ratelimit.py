"""Rate limits: a sliding window for the public forms (registration, passes: at most N hits per key
within a window) and token buckets for the check-in hot path.

With FANGKONG_REDIS_URL set both count in Redis (`core.shared`), so N workers on M machines limit a
client as one process would; without it (or while Redis does not answer) each process counts for
itself, which still bounds a single client. Local memory is bounded: past `max_keys` the oldest go.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import Request

from fangkong.core.errors import TooManyAttempts
from fangkong.core.i18n import N_
from fangkong.core.shared import BUS

SLOW_DOWN = N_("Too many forms from this network. Please wait {minutes} minutes and try again.")


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic, name: str = "forms") -> None:
        self.limit, self.window, self.max_keys, self.clock = limit, window_seconds, max_keys, clock
        self.name = name
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int | None = None) -> float:
        """Count one hit for `key` (at most `limit`, default the limiter's); return 0 if allowed, else the
        seconds until the next one is."""
        limit = limit or self.limit
        shared = BUS.window_hit(f"{self.name}:{key}", limit, self.window)
        if shared is not None:
            return shared
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._hits[key] = hits  # most recently used last
            if len(hits) >= limit:
                return hits[0] + self.window - now
            hits.append(now)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return 0.0

    def peek(self, key: str, limit: int | None = None) -> float:
        """Return 0 if one more hit for `key` would be allowed, else the seconds until it is (counts nothing)."""
        limit = limit or self.limit
        shared = BUS.window_hit(f"{self.name}:{key}", limit, self.window, count=False)
        if shared is not None:
            return shared
        now = self.clock()
        with self._lock:
            hits = [t for t in self._hits.get(key, ()) if t > now - self.window]
            return hits[0] + self.window - now if len(hits) >= limit else 0.0

    # hit and peek are the whole interface: with FANGKONG_REDIS_URL a sorted set per key stands in.


SLOW_LOGIN = N_("Too many login attempts from this network. Try again in {minutes} minutes.")
LOGIN_LOCKED = N_("Too many wrong passwords. Try again in {minutes} minutes.")


class LoginThrottle:
    """Login throttling by source (issue 17): all attempts per IP address, and wrong passwords per username
    and IP address. Whether the username exists makes no difference to either, so neither tells anyone
    which accounts exist; and an attacker's failures lock the username for the attacker's address only,
    so nobody can lock someone else out with five requests from afar."""

    def __init__(self, per_ip: RateLimiter, failures: RateLimiter, max_failures: int) -> None:
        self.per_ip, self.failures, self.max_failures = per_ip, failures, max_failures

    def check(self, username: str, ip: str) -> None:
        """Raise TooManyAttempts before any password is checked, when this source must wait."""
        wait = self.per_ip.hit(f"login|{ip}")
        if wait > 0:
            raise TooManyAttempts(SLOW_LOGIN, retry_after=int(wait) + 1, minutes=_minutes(wait))
        wait = self.failures.peek(f"fail|{username.strip().lower()}|{ip}", self.max_failures)
        if wait > 0:
            raise TooManyAttempts(LOGIN_LOCKED, retry_after=int(wait) + 1, minutes=_minutes(wait))

    def failed(self, username: str, ip: str) -> None:
        self.failures.hit(f"fail|{username.strip().lower()}|{ip}", 1_000_000)


def _minutes(wait: float) -> int:
    return max(1, int(wait // 60) + 1)


def login_throttle(request: Request) -> LoginThrottle:
    """Return the app's login throttle, made on first use from the settings."""
    state = request.app.state
    found: LoginThrottle | None = getattr(state, "login_throttle", None)
    if found is None:
        s = state.settings
        found = LoginThrottle(RateLimiter(s.login_ip_limit, s.login_ip_window_seconds, name="login-ip"),
                              RateLimiter(s.login_max_failures, s.login_lockout_minutes * 60, name="login-fail"),
                              s.login_max_failures)
        state.login_throttle = found
    return found


def limiter(request: Request) -> RateLimiter:
    """Return the app's public-form limiter, made on first use from the settings."""
    state = request.app.state
    found: RateLimiter | None = getattr(state, "registration_limiter", None)
    if found is None:
        settings = state.settings
        found = RateLimiter(settings.registration_rate_limit, settings.registration_rate_window_seconds)
        state.registration_limiter = found
    return found


def check_rate(request: Request, form: str, factor: int = 1) -> None:
    """Raise TooManyAttempts when this client IP has sent too many public forms of this kind.

    `factor` widens the limit for forms many people send from one network (guests of a wedding on
    the venue's Wi-Fi share one address).
    """
    ip = request.client.host if request.client else "-"
    found = limiter(request)
    wait = found.hit(f"{form}|{ip}", found.limit * factor)
    if wait > 0:
        minutes = max(1, int(wait // 60) + 1)
        raise TooManyAttempts(SLOW_DOWN, retry_after=int(wait) + 1, minutes=minutes)


class TokenBucket:
    """Per-key token buckets: `capacity` requests at once, refilled at `per_second` (the check-in guards).

    Shared through Redis when configured; locally, memory is bounded: past `max_keys` keys the full
    (idle) buckets are dropped first, then the oldest.
    """

    def __init__(self, capacity: float, per_second: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic, name: str = "bucket") -> None:
        self.capacity, self.per_second, self.max_keys, self.clock = float(capacity), per_second, max_keys, clock
        self.name = name
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for `key`: 0 when taken, else the seconds until one is there (nothing taken)."""
        shared = BUS.bucket_take(f"{self.name}:{key}", self.capacity, self.per_second)
        if shared is not None:
            return shared
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.per_second)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.per_second
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                self._prune(now)
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0

    def allow(self, key: str) -> bool:
        return self.take(key) == 0.0

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self.per_second >= self.capacity]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # all busy: forget the oldest half
            for key in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: self.max_keys // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
