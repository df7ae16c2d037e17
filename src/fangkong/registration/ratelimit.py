"""The public forms' rate limiter moved to `fangkong.core.ratelimit` (passes uses it too); kept here so
existing imports go on working."""

from fangkong.core.ratelimit import SLOW_DOWN, RateLimiter, check_rate, limiter

__all__ = ["SLOW_DOWN", "RateLimiter", "check_rate", "limiter"]
