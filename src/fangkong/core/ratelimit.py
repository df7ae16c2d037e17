"""Rate limits, one algorithm: per-key token buckets behind a lock, used by public check-in, the public forms
(registration, passes) and login.

A bucket holds `capacity` tokens (the burst a key may send at once) and refills at `per_second`; each request
takes one, and a key with no token left waits for the next. "N per window" limits are buckets of N refilled
over the window (`TokenBucket.per_window`): the same long-run rate and burst as a sliding window of N, with
two numbers of state per key instead of one timestamp per hit.

With FANGKONG_REDIS_URL set the buckets live in Redis (`core.shared`, one Lua script), so N workers on M
machines limit a client as one process would; without it (or while Redis does not answer) each process
counts for itself, which still bounds a single client. Local memory is bounded: past `max_keys` keys the full
(idle) buckets go first, then the oldest half.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import Request

from fangkong.core.errors import TooManyAttempts
from fangkong.core.i18n import N_
from fangkong.core.shared import BUS

SLOW_DOWN = N_("Too many forms from this network. Please wait {minutes} minutes and try again.")
SLOW_LOGIN = N_("Too many login attempts from this network. Try again in {minutes} minutes.")
LOGIN_LOCKED = N_("Too many wrong passwords. Try again in {minutes} minutes.")


class TokenBucket:
    """Per-key token buckets: `capacity` requests at once, refilled at `per_second`.

    `take` and `peek` accept a `scale` that widens one key's bucket (capacity and refill together): forms
    many people send from one network (wedding guests on the venue's Wi-Fi) get `scale` times the limit.
    """

    def __init__(self, capacity: float, per_second: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic, name: str = "bucket") -> None:
        if capacity < 1 or per_second <= 0:
            raise ValueError("a bucket needs a capacity of at least 1 and a positive refill rate")
        self.capacity, self.per_second, self.max_keys, self.clock = float(capacity), per_second, max_keys, clock
        self.name = name
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    @classmethod
    def per_window(cls, limit: int, window_seconds: float, **kwargs: object) -> TokenBucket:
        """Return buckets allowing `limit` requests at once and `limit` per `window_seconds` in the long run."""
        return cls(limit, limit / window_seconds, **kwargs)  # type: ignore[arg-type]

    def take(self, key: str, scale: float = 1.0) -> float:
        """Take one token for `key`: 0 when taken, else the seconds until one is there (nothing taken)."""
        return self._draw(key, scale, take=True)

    def peek(self, key: str, scale: float = 1.0) -> float:
        """Return 0 if `key` has a token now, else the seconds until it has one (takes nothing)."""
        return self._draw(key, scale, take=False)

    def allow(self, key: str) -> bool:
        return self.take(key) == 0.0

    def _draw(self, key: str, scale: float, take: bool) -> float:
        capacity, rate = self.capacity * scale, self.per_second * scale
        shared = BUS.bucket_take(f"{self.name}:{key}", capacity, rate, take=take)
        if shared is not None:
            return shared
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / rate
            if not take:
                return 0.0
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                self._prune(now)
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0

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


class LoginThrottle:
    """Login throttling by source (issue 17): all attempts per IP address, and wrong passwords per username
    and IP address. Whether the username exists makes no difference to either, so neither tells anyone
    which accounts exist; and an attacker's failures lock the username for the attacker's address only,
    so nobody can lock someone else out with five requests from afar.

    The failures bucket holds `login_max_failures` tokens and regains one per `login_lockout_minutes`:
    the wrong password that empties it locks the source out for the lockout period, and each wrong one
    after that for another period."""

    def __init__(self, per_ip: TokenBucket, failures: TokenBucket) -> None:
        self.per_ip, self.failures = per_ip, failures

    def check(self, username: str, ip: str) -> None:
        """Raise TooManyAttempts before any password is checked, when this source must wait."""
        wait = self.per_ip.take(f"login|{ip}")
        if wait > 0:
            raise TooManyAttempts(SLOW_LOGIN, retry_after=int(wait) + 1, minutes=_minutes(wait))
        wait = self.failures.peek(_failure_key(username, ip))
        if wait > 0:
            raise TooManyAttempts(LOGIN_LOCKED, retry_after=int(wait) + 1, minutes=_minutes(wait))

    def failed(self, username: str, ip: str) -> None:
        self.failures.take(_failure_key(username, ip))


def _failure_key(username: str, ip: str) -> str:
    return f"fail|{username.strip().lower()}|{ip}"


def _minutes(wait: float) -> int:
    return max(1, int(wait // 60) + 1)


def login_throttle(request: Request) -> LoginThrottle:
    """Return the app's login throttle, made on first use from the settings."""
    state = request.app.state
    found: LoginThrottle | None = getattr(state, "login_throttle", None)
    if found is None:
        s = state.settings
        found = LoginThrottle(
            TokenBucket.per_window(s.login_ip_limit, s.login_ip_window_seconds, name="login-ip"),
            TokenBucket(s.login_max_failures, 1 / (s.login_lockout_minutes * 60), name="login-fail"))
        state.login_throttle = found
    return found


def limiter(request: Request) -> TokenBucket:
    """Return the app's public-form buckets, made on first use from the settings."""
    state = request.app.state
    found: TokenBucket | None = getattr(state, "registration_limiter", None)
    if found is None:
        settings = state.settings
        found = TokenBucket.per_window(settings.registration_rate_limit, settings.registration_rate_window_seconds,
                                       name="forms")
        state.registration_limiter = found
    return found


def check_rate(request: Request, form: str, factor: int = 1) -> None:
    """Raise TooManyAttempts when this client IP has sent too many public forms of this kind.

    `factor` widens the limit for forms many people send from one network (guests of a wedding on
    the venue's Wi-Fi share one address).
    """
    ip = request.client.host if request.client else "-"
    wait = limiter(request).take(f"{form}|{ip}", factor)
    if wait > 0:
        raise TooManyAttempts(SLOW_DOWN, retry_after=int(wait) + 1, minutes=_minutes(wait))
