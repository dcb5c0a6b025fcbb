"""Charts drawn on the server as SVG, so that a dashboard and its PDF show the same picture.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says what it
shows in words (the figures themselves are in the table beside it, the accessible alternative);
text uses an explicit font family (WeasyPrint needs one). Values are formatted the French way.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

FONT = "DejaVu Sans, Verdana, sans-serif"
INK = "#1b1b1b"
GRID = "#d0d4da"
COLOURS = ("#003b80", "#c8402c", "#2f7d32", "#8a4b00", "#5b3b8c", "#00707a")
_ids = itertools.count(1)


def french_number(value: float, *, decimals: int = 0) -> str:
    """``12345.6`` → ``12 345,6`` (narrow no-break space between thousands)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def french_percent(share: float, *, decimals: int = 1) -> str:
    return f"{french_number(share * 100, decimals=decimals)}\u00a0%"


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]


def _nice_ceiling(value: float) -> float:
    """A round top for the axis: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _svg(width: int, height: int, title: str, desc: str, body: str) -> SafeString:
    number = next(_ids)
    return mark_safe(  # noqa: S308 - every text below is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="chart-{number}-title chart-{number}-desc">'
        f'<title id="chart-{number}-title">{escape(title)}</title>'
        f'<desc id="chart-{number}-desc">{escape(desc)}</desc>'
        f'<g font-family="{FONT}" font-size="11" fill="{INK}">{body}</g></svg>'
    )


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    width: int = 640,
    height: int = 260,
) -> SafeString:
    """One line per series over ``labels`` (dates, in order), with a legend."""
    left, right, top, bottom = 56, 16, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_ceiling(max((max(s.values, default=0) for s in series), default=0))
    count = max(len(labels), 1)
    step_x = plot_w / max(count - 1, 1)
    parts: list[str] = []
    # Four steps: a top of 10 reads 2,5 and 7,5, not rounded ticks.
    decimals = 0 if (top_value / 4).is_integer() else 1
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(french_number(value, decimals=decimals))}</text>"
        )
    every = max(1, count // 8)
    for index, label in enumerate(labels):
        if index % every and index != count - 1:
            continue
        x = left + step_x * index
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    for number, item in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        points = " ".join(
            f"{left + step_x * index:.1f},{top + plot_h - plot_h * value / top_value:.1f}"
            for index, value in enumerate(item.values)
        )
        if len(item.values) == 1:
            cx, cy = points.split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
        elif item.values:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        legend_x = left + number * 200
        parts.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="{height - 9}">{escape(item.label)}</text>'
        )
    if unit:
        parts.append(f'<text x="{left}" y="{top - 10}">{escape(unit)}</text>')
    desc = "; ".join(
        _("%(label)s : de %(first)s à %(last)s, au plus %(most)s")
        % {
            "label": item.label,
            "first": french_number(item.values[0]),
            "last": french_number(item.values[-1]),
            "most": french_number(max(item.values)),
        }
        for item in series
        if item.values
    )
    kind = (
        _("Courbe du %(first)s au %(last)s.") % {"first": labels[0], "last": labels[-1]}
        if labels
        else _("Courbe.")
    )
    return _svg(width, height, title, f"{kind} {desc}." if desc else title, "".join(parts))


def bar_chart(
    *,
    title: str,
    items: Sequence[tuple[str, float]],
    value_label: str = "",
    as_share: bool = False,
    width: int = 640,
) -> SafeString:
    """Horizontal bars, largest first as given; ``as_share`` values are 0..1 shown as %."""
    row_h, left, right, top = 24, 230, 70, 20
    height = top + row_h * max(len(items), 1) + 12
    plot_w = width - left - right
    top_value = 1.0 if as_share else _nice_ceiling(max((value for _, value in items), default=0))
    parts: list[str] = []
    for index, (label, value) in enumerate(items):
        y = top + row_h * index
        bar_w = plot_w * (value / top_value) if top_value else 0
        shown = french_percent(value) if as_share else french_number(value)
        name = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{bar_w:.1f}" height="{row_h - 8}" '
            f'fill="{COLOURS[0]}"/>'
            f'<text x="{left + bar_w + 6:.1f}" y="{y + 15}">{escape(shown)}</text>'
        )
    if value_label:
        parts.append(f'<text x="{left}" y="{top - 6}">{escape(value_label)}</text>')
    desc = "; ".join(
        f"{label} : {french_percent(value) if as_share else french_number(value)}"
        for label, value in items
    )
    return _svg(width, height, title, f"{_('Barres.')} {desc}." if desc else title, "".join(parts))
