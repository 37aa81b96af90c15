"""Inline SVG bar charts, drawn on the server: the dashboard works offline and without JS."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 28
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]
    color: str


def num(value: float) -> str:
    return f"{value:.1f}"


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value, for round axis ticks."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def stacked_bars(title: str, labels: list[str], series: list[Series], summary: str | None = None) -> SafeString:
    """One bar per label, the series stacked bottom up, with a legend and a tooltip per segment.
    The summary (for screen readers) defaults to each series' total."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = nice_ceiling(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    band = plot_w / max(len(labels), 1)
    bar = band * 0.7

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    parts = [axis(top, y)]
    every = math.ceil(len(labels) / MAX_X_LABELS)
    for i, label in enumerate(labels):
        x = LEFT + band * i + (band - bar) / 2
        base = 0
        for s in series:
            value = s.values[i]
            if value:
                parts.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {} {}</title></rect>',
                        num(x),
                        num(y(base + value)),
                        num(bar),
                        num(y(base) - y(base + value)),
                        s.color,
                        label,
                        value,
                        s.label.lower(),
                    )
                )
            base += value
        if i % every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" class="pb-chart-x">{}</text>',
                    num(x + bar / 2),
                    HEIGHT - 8,
                    label,
                )
            )
    legend = format_html_join(
        "",
        '<li><span class="pb-swatch" style="background:{}"></span>{}</li>',
        ((s.color, s.label) for s in series),
    )
    summary = summary or "; ".join(f"{s.label}: {sum(s.values)}" for s in series)
    return format_html(
        '<figure class="pb-chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'preserveAspectRatio="xMidYMid meet">{}</svg><ul class="pb-legend">{}</ul></figure>',
        WIDTH,
        HEIGHT,
        f"{title}. {summary}",
        mark_safe("".join(parts)),  # every part went through format_html
        legend,
    )


def axis(top: int, y) -> SafeString:
    ticks = [0, top // 2, top] if top % 2 == 0 else [0, top]  # whole numbers only: these are counts
    return format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="pb-chart-grid"></line>'
        '<text x="{}" y="{}" text-anchor="end" class="pb-chart-y">{}</text>',
        ((LEFT, WIDTH - RIGHT, num(y(t)), num(y(t)), LEFT - 6, num(y(t) + 5), t) for t in ticks),
    )
