"""Small SVG charts drawn on the server, for the HTML and PDF reports (WeasyPrint renders inline SVG; no
browser, no JavaScript, no matplotlib): horizontal bars for shares and counts, columns for a series over
hours or days with an optional target line. Text is escaped; sizes are in SVG user units (px)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

BLUE, GREEN, GREY, RED = "#1f5fa8", "#2e8b57", "#9aa5b1", "#c0392b"
FONT = "font-family='DejaVu Sans, Arial, sans-serif'"


def _fmt_default(value: float) -> str:
    return f"{value:g}"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value`, so axis ticks are round numbers."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * 10**exponent >= value:
            return step * 10**exponent
    return 10.0 ** (exponent + 1)


def bars(items: Sequence[tuple[str, float]], *, width: int = 640, bar: int = 18, label_width: int = 230,
         color: str = BLUE, fmt: Callable[[float], str] = _fmt_default, title: str = "") -> Markup:
    """Horizontal bars, one per (label, value), longest scaled to the width; values written at the end."""
    gap = 6
    top = 22 if title else 4
    height = top + len(items) * (bar + gap) + 4
    peak = max((v for _l, v in items), default=0) or 1
    plot = width - label_width - 70
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title)}' {FONT} font-size='11'>"]
    if title:
        parts.append(f"<text x='0' y='14' font-size='12' font-weight='bold'>{escape(title)}</text>")
    for i, (label, value) in enumerate(items):
        y = top + i * (bar + gap)
        length = max(0.0, value) / peak * plot
        parts.append(f"<text x='{label_width - 6}' y='{y + bar * 0.7:.1f}' text-anchor='end'>{escape(label)}</text>")
        parts.append(f"<rect x='{label_width}' y='{y}' width='{length:.1f}' height='{bar}' fill='{color}'/>")
        parts.append(f"<text x='{label_width + length + 4:.1f}' y='{y + bar * 0.7:.1f}'>{escape(fmt(value))}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], str]], *,
            width: int = 680, height: int = 220, target: float | None = None, y_max: float | None = None,
            fmt: Callable[[float], str] = _fmt_default, title: str = "", label_every: int = 1) -> Markup:
    """Columns per label, one per series side by side (legend on top); a dashed line at `target`."""
    left, right, top, bottom = 44, 8, 34 if title else 20, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _n, vals, _c in series for v in vals if v is not None]
    peak = y_max or nice_ceiling(max([*values, target or 0, 1]))
    slot = plot_w / max(1, len(labels))
    col_w = max(1.0, slot * 0.8 / max(1, len(series)))
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title)}' {FONT} font-size='10'>"]
    if title:
        parts.append(f"<text x='0' y='13' font-size='12' font-weight='bold'>{escape(title)}</text>")
    x_legend = left
    for name, _vals, color in series:
        parts.append(f"<rect x='{x_legend}' y='{top - 14}' width='10' height='10' fill='{color}'/>")
        parts.append(f"<text x='{x_legend + 14}' y='{top - 5}'>{escape(name)}</text>")
        x_legend += 24 + 7 * len(name)
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='#e3e7eb'/>")
        parts.append(f"<text x='{left - 4}' y='{y + 3:.1f}' text-anchor='end'>{escape(fmt(value))}</text>")
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for j, (_name, vals, color) in enumerate(series):
            value = vals[i] if i < len(vals) else None
            if value is None:
                continue
            h = max(0.0, value) / peak * plot_h
            parts.append(f"<rect x='{x0 + j * col_w:.1f}' y='{top + plot_h - h:.1f}' width='{col_w:.1f}' "
                         f"height='{h:.1f}' fill='{color}'/>")
        if i % label_every == 0:
            parts.append(f"<text x='{left + i * slot + slot / 2:.1f}' y='{top + plot_h + 12}' "
                         f"text-anchor='middle'>{escape(label)}</text>")
    if target is not None:
        y = top + plot_h - target / peak * plot_h
        parts.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='{RED}' "
                     "stroke-dasharray='4 3'/>")
    parts.append(f"<line x1='{left}' y1='{top + plot_h}' x2='{width - right}' y2='{top + plot_h}' stroke='#555'/>")
    parts.append("</svg>")
    return Markup("".join(parts))
