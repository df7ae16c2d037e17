"""Text contrast (issue 20): every text colour of the stylesheets against the surfaces it is shown on reaches
WCAG 2.x AA, 4.5:1 (the orange "今日需检测" was 3.9–4.2:1). Computed from the CSS itself, so a palette change
that breaks it fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "fangkong" / "core" / "web" / "static"
AA = 4.5


def luminance(colour: str) -> float:
    """Return the WCAG relative luminance of #rgb or #rrggbb."""
    h = colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def variables(css: str) -> dict[str, str]:
    root = re.search(r":root\s*\{([^}]*)\}", css)
    return dict(re.findall(r"--([\w-]+)\s*:\s*(#[0-9a-fA-F]{3,6})", root.group(1))) if root else {}


def resolve(value: str, names: dict[str, str]) -> str | None:
    value = value.strip().split()[0] if value.strip() else ""
    found = re.fullmatch(r"var\(--([\w-]+)\)", value)
    if found:
        return names.get(found.group(1))
    return value if re.fullmatch(r"#[0-9a-fA-F]{3,6}", value) else None


def rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        props = dict((k.strip(), v.strip()) for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body))
        out.append((selector.strip(), props))
    return out


def test_the_formula_matches_the_known_extremes() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#777", "#fff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("sheet", ["app.css", "public.css"])
def test_rules_that_set_both_text_and_background_reach_aa(sheet: str) -> None:
    css = (STATIC / sheet).read_text(encoding="utf-8")
    names = variables(css)
    checked = 0
    for selector, props in rules(css):
        fg = resolve(props.get("color", ""), names)
        bg = resolve(props.get("background", props.get("background-color", "")), names)
        if fg and bg:
            checked += 1
            assert contrast(fg, bg) >= AA, f"{sheet} {selector}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"
    assert checked >= 2  # the sweep found the rules it is meant for


# The text colours the pages use, on every surface they appear on (cards, the page, the overdue card,
# table heads, badges and alerts).
TEXT = ("fg", "muted", "primary", "ok", "warn", "bad", "brand")
SURFACES = ("#ffffff", "bg", "#fff7f6", "#fafbfc")


@pytest.mark.parametrize("text", TEXT)
@pytest.mark.parametrize("surface", SURFACES)
def test_palette_text_on_every_surface_reaches_aa(text: str, surface: str) -> None:
    names = variables((STATIC / "app.css").read_text(encoding="utf-8"))
    fg = names[text]
    bg = names.get(surface, surface)
    assert contrast(fg, bg) >= AA, f"--{text} {fg} on {bg}: {contrast(fg, bg):.2f}:1"


def test_the_orange_of_test_due_today_is_readable() -> None:
    names = variables((STATIC / "app.css").read_text(encoding="utf-8"))
    assert contrast(names["warn"], "#ffffff") >= AA
    assert not re.search(r"\.warn\s*\{[^}]*color:\s*#(?!8a5300)", (STATIC / "app.css").read_text())
