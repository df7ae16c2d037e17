"""A case's contact chain as graph data for ECharts (issue 22): laid out here, drawn as is.

A force layout of 10,000 nodes freezes the browser and flings nodes out of the frame. The layout is
computed once, here: the case in the middle, its close contacts on a ring (those of one place side by
side), and each close contact's secondary contacts in a fan outside it, the fan as wide as it has
contacts. ECharts fits the drawing's bounding box into the chart's frame, so it always fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fangkong.core.i18n import gettext
from fangkong.tracing.cases import ContactView

GAP = 14.0  # distance between neighbouring nodes, in layout units
LABELS_UP_TO = 60  # nodes: above this, names show on hover only
CATEGORIES = ("Case", "Close contact", "Secondary contact")  # msgids


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    category: int
    x: float
    y: float


def _rings(count: int, arc: float) -> int:
    """Return how many interleaved rings keep `count` nodes GAP apart along an arc of length `arc`."""
    return max(1, math.ceil(GAP * count / arc)) if count and arc > 0 else 1


def layout(index: tuple[str, str], close: Sequence[tuple[str, str]],
           secondary: Sequence[tuple[str, str, str | None]]) -> list[Node]:
    """Return positioned nodes: `index` and `close` as (key, name) (close in the order to lay them round the
    circle: those of one place side by side), `secondary` as (key, name, the close contact it came through,
    or None).

    Each close contact gets a sector of the circle, wider when it has more secondary contacts (half the
    circle is shared evenly, half by secondary contacts); it sits in the middle of its sector, and its
    secondary contacts fan out beyond it. Nodes too many for one ring alternate between concentric
    rings GAP apart, so neighbours never sit on each other.
    """
    nodes = [Node(index[0], index[1], 0, 0.0, 0.0)]
    fans: dict[str | None, list[tuple[str, str]]] = {key: [] for key, _name in close}
    for key, name, via in secondary:
        fans.setdefault(via if via in fans else None, []).append((key, name))
    n1, n2 = len(close), len(secondary)
    weights = [1.0 + (len(fans[key]) * n1 / n2 if n2 else 0.0) for key, _name in close]
    total = sum(weights) or 1.0
    r1 = max(80.0, math.sqrt(n1) * GAP * 1.2)
    # the narrowest sector at r1 holds its node once the close contacts alternate between k1 rings
    k1 = _rings(1, r1 * 2 * math.pi * min(weights, default=1.0) / total)
    r2 = r1 + (k1 + 3) * GAP
    k2 = max(1, math.ceil(GAP * n2 / (math.pi * r2))) if n2 else 1
    angle = 0.0
    for i, ((key, name), weight) in enumerate(zip(close, weights, strict=True)):
        width = 2 * math.pi * weight / total
        middle, r = angle + width / 2, r1 + (i % k1) * GAP
        nodes.append(Node(key, name, 1, r * math.cos(middle), r * math.sin(middle)))
        fan = fans[key]
        for j, (skey, sname) in enumerate(fan):
            a = angle + width * (j + 0.5) / len(fan)
            r = r2 + (j % k2) * GAP
            nodes.append(Node(skey, sname, 2, r * math.cos(a), r * math.sin(a)))
        angle += width
    orphans = fans.get(None, [])  # through a contact not shown (filtered out, or struck)
    for j, (skey, sname) in enumerate(orphans):
        a = 2 * math.pi * (j + 0.5) / len(orphans)
        r = r2 + (k2 + 1 + j % k2) * GAP
        nodes.append(Node(skey, sname, 2, r * math.cos(a), r * math.sin(a)))
    return nodes


def graph_data(index: tuple[str, str], close: Sequence[ContactView], secondary: Sequence[ContactView],
               names: dict[str, str]) -> dict[str, Any]:
    """Return the graph as JSON-ready data: nodes with positions, links, and translated categories."""
    shown = {c.exposure.contact_key for c in close}
    nodes = layout(index, [(c.exposure.contact_key, c.name) for c in close],
                   [(c.exposure.contact_key, c.name, next((v for v in c.via if v in shown), None))
                    for c in secondary])
    links = [[index[0], c.exposure.contact_key] for c in close]
    links += [[v, c.exposure.contact_key] for c in secondary for v in c.via if v in shown]
    big = len(nodes) > LABELS_UP_TO
    return {
        "categories": [gettext(c) for c in CATEGORIES],
        "labels": not big,
        "sizes": [16, 5, 3] if len(nodes) > 2000 else [20, 9, 6] if big else [24, 14, 10],
        "nodes": [[n.id, n.name or names.get(n.id, n.id), n.category, round(n.x, 1), round(n.y, 1)] for n in nodes],
        "links": links,
    }
