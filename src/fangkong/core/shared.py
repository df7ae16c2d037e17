"""What several workers, on one machine or several, share when FANGKONG_REDIS_URL is set.

- **Rate limits**: the token buckets of check-in, the public forms and login count in Redis
  (one Lua script per hit, atomic), so N workers on M machines limit a client as one would.
- **Invalidation**: a revoked API token, a rotated venue code, a changed user are forgotten by every
  worker: `invalidate(channel, value)` runs this process's handlers at once and publishes the event;
  a subscriber thread in every other worker runs its own.
- **Scheduler leadership**: one leader across machines (a key with a time-to-live, renewed by its
  holder), whatever the database.

Without Redis the embedded defaults stay: limits and caches per process, leadership by PostgreSQL's
advisory lock (or the single SQLite process). When Redis stops answering, limits fall back to the
process's own counts (logged once per minute), so the public pages keep working.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("fangkong.shared")
PREFIX = "fangkong:"
CHANNEL = PREFIX + "invalidate"

# KEYS[1] the bucket (a hash of tokens and time); ARGV: capacity, refill per second, "1" to take a token ("0"
# to look without taking, as the login throttle does before a password is checked). Returns "0" when a token
# was there (and taken), else the seconds until one is. Redis's own clock: machines need not agree.
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or capacity
local at = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate)
local wait = '0'
if tokens < 1 then wait = tostring((1 - tokens) / rate) elseif ARGV[3] == '1' then tokens = tokens - 1 end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
end
return wait
"""
# KEYS[1] the leader key; ARGV: this worker's id, time-to-live in ms. 1: this worker leads (now or still).
_LEAD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""


class Bus:
    """This process's link to the others: Redis when configured, else nothing to share."""

    def __init__(self) -> None:
        self.url = ""
        self.client: Any = None
        self.worker = uuid.uuid4().hex
        self._handlers: dict[str, list[Callable[[], Callable[[str], None] | None]]] = defaultdict(list)
        self._scripts: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._warned = 0.0

    # --- set-up ------------------------------------------------------------------------------------

    def configure(self, url: str) -> None:
        """Use Redis at `url` ("" for none); the subscriber starts with `start()` (the app's lifespan)."""
        if url == self.url:
            return
        self.stop()
        self.url, self.client, self._scripts = url, None, {}
        if url:
            import redis

            self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                               decode_responses=True)
            self._scripts = {name: self.client.register_script(body)
                             for name, body in (("bucket", _BUCKET), ("lead", _LEAD))}

    @property
    def shared(self) -> bool:
        return self.client is not None

    def start(self) -> None:
        if self.client is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="fangkong-bus", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None

    # --- invalidation ------------------------------------------------------------------------------

    def on(self, channel: str, handler: Callable[[str], None]) -> None:
        """Run `handler(value)` whenever `channel` is invalidated, here or in another worker (a bound
        method is held weakly: an app that is gone takes its caches with it)."""
        self._handlers[channel].append(weakref.WeakMethod(handler) if inspect.ismethod(handler)
                                       else lambda: handler)

    def invalidate(self, channel: str, value: str = "") -> None:
        """Forget `value` of `channel` here at once, and tell the other workers."""
        self._run(channel, value)
        if self.client is not None:
            try:
                self.client.publish(CHANNEL, f"{self.worker}|{channel}|{value}")
            except Exception as exc:  # Redis down: this worker is right; the others' caches expire by age
                self._warn("publish", exc)

    def _run(self, channel: str, value: str) -> None:
        refs = self._handlers.get(channel, [])
        refs[:] = [ref for ref in refs if ref() is not None]
        for ref in list(refs):
            handler = ref()
            try:
                if handler is not None:
                    handler(value)
            except Exception:
                log.exception("invalidation handler for %s failed", channel)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and isinstance(message.get("data"), str):
                        sender, _, rest = message["data"].partition("|")
                        channel, _, value = rest.partition("|")
                        if sender != self.worker:
                            self._run(channel, value)
                pubsub.close()
            except Exception as exc:  # reconnect; meanwhile caches expire by their age
                self._warn("subscribe", exc)
                self._stop.wait(1.0)

    # --- limits and leadership ------------------------------------------------------------------------

    def bucket_take(self, key: str, capacity: float, per_second: float, take: bool = True) -> float | None:
        """Take a token from a shared bucket (or only look, `take=False`): 0 there, > 0 seconds until one is;
        None: not shared now."""
        return self._seconds("bucket", "tb:" + key, [capacity, per_second, "1" if take else "0"])

    def _seconds(self, script: str, key: str, args: list[object]) -> float | None:
        if self.client is None:
            return None
        try:
            return float(self._scripts[script](keys=[PREFIX + key], args=args))
        except Exception as exc:  # Redis down: the caller counts in this process meanwhile
            self._warn(script, exc)
            return None

    def lead(self, name: str, ttl_seconds: float) -> bool | None:
        """Hold or take the leadership `name` for `ttl_seconds`; None: not shared (use the local rule)."""
        if self.client is None:
            return None
        try:
            return bool(self._scripts["lead"](keys=[PREFIX + "leader:" + name],
                                              args=[self.worker, int(ttl_seconds * 1000)]))
        except Exception as exc:  # Redis down: nobody can prove leadership, so nobody leads meanwhile
            self._warn("leadership", exc)
            return False

    def resign(self, name: str) -> None:
        if self.client is not None:
            try:
                if self.client.get(PREFIX + "leader:" + name) == self.worker:
                    self.client.delete(PREFIX + "leader:" + name)
            except Exception as exc:
                self._warn("resign", exc)

    def _warn(self, what: str, exc: Exception) -> None:
        if time.monotonic() - self._warned > 60:
            self._warned = time.monotonic()
            log.warning("redis unavailable for %s (%s); using this process's own state", what, type(exc).__name__)


BUS = Bus()  # one per process: the app configures it from its settings
