"""A small in-memory rate limiter for the public forms (registration, passes): at most N hits per key within a
sliding window.

One per app (kept on app.state), per process: with several workers each counts for itself, which
still bounds a single client. Memory is bounded: past `max_keys` the oldest keys are dropped.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import Request

from fangkong.core.errors import TooManyAttempts
from fangkong.core.i18n import N_

SLOW_DOWN = N_("Too many forms from this network. Please wait {minutes} minutes and try again.")


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_keys, self.clock = limit, window_seconds, max_keys, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int | None = None) -> float:
        """Count one hit for `key` (at most `limit`, default the limiter's); return 0 if allowed, else the
        seconds until the next one is."""
        limit = limit or self.limit
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
        now = self.clock()
        with self._lock:
            hits = [t for t in self._hits.get(key, ()) if t > now - self.window]
            return hits[0] + self.window - now if len(hits) >= limit else 0.0

    # hit and peek are the whole interface: a shared store (Redis: a sorted set per key) can stand in.


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
        found = LoginThrottle(RateLimiter(s.login_ip_limit, s.login_ip_window_seconds),
                              RateLimiter(s.login_max_failures, s.login_lockout_minutes * 60), s.login_max_failures)
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
