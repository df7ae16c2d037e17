"""The platform's presence sources, in one list: each capability that records stays contributes one."""

from __future__ import annotations

from fangkong.checkpoints.presence import passage_presence
from fangkong.tracing.sync import Source

PRESENCE_SOURCES: tuple[Source, ...] = (passage_presence,)
