"""Small, dependency-free SVG charts for self-contained reports.

Reports are single HTML files that must open anywhere, offline, years later: no JavaScript, no
plotting library at run time, no external assets. An SVG string inlines into HTML as it is, can be
saved as a ``.svg`` file beside a Markdown table, and diffs as text. What is drawn here is what the
reports need and no more: lines through ``(x, y)`` points, named in a legend, over labelled axes with
round-number ticks, and optional reference lines (a decision threshold, the chance diagonal of a ROC
curve).

Typical use::

    from noisetrace.report.svg import line_chart

    svg = line_chart(
        {"XceptionNet": [(0, 0.51), (10, 0.62)], "SRM + LSTM": [(0, 0.55), (10, 0.71)]},
        x_label="sequence length L",
        y_label="accuracy",
        y_range=(0.5, 1.0),
    )

A ``y`` of ``None`` or NaN breaks a line into separate pieces, so a gap in the data (frames without a
face, a missing grid cell) stays visible instead of being bridged by a straight segment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["PALETTE", "line_chart", "nice_ticks"]

#: Okabe & Ito's colour-blind-safe palette (black omitted); series take the colours in order.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")

Point = tuple[float, float | None]

_MARGIN_LEFT = 58
_MARGIN_RIGHT = 16
_MARGIN_BOTTOM = 44
_LEGEND_ROW = 18


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2 or 5 × 10^k) covering ``[low, high]``.

    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(0, 117, 4)
    [0.0, 50.0, 100.0]
    """
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low or count < 1:
        raise ValueError(f"nice_ticks needs finite low < high and count >= 1, got {low}, {high}, {count}")
    raw_step = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    # Multiplying integers by the step (rather than summing steps) keeps 0.6 from becoming 0.6000000001.
    return [float(round(k * step, 12)) for k in range(first, last + 1)]


def _format_tick(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:.{decimals}f}"


def _data_range(values: list[float], given: tuple[float, float] | None) -> tuple[float, float]:
    if given is not None:
        low, high = float(given[0]), float(given[1])
        if not high > low:
            raise ValueError(f"an axis range must have low < high, got {given}")
        return low, high
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if high == low:  # one value: centre it in a unit-wide window
        return low - 0.5, high + 0.5
    return low, high


def _pieces(points: Sequence[Point]) -> list[list[tuple[float, float]]]:
    """Split a series at missing values (``None`` or NaN), dropping them."""
    pieces: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None or not math.isfinite(y) or not math.isfinite(x):
            if pieces[-1]:
                pieces.append([])
            continue
        pieces[-1].append((float(x), float(y)))
    return [piece for piece in pieces if piece]


def _legend_layout(names: Sequence[str], left: int, right: int) -> list[tuple[int, int, int]]:
    """``(x, row, width)`` of each legend entry, wrapping to a new row where a name would not fit."""
    layout, x, row = [], left, 0
    for name in names:
        entry = 22 + 7 * len(name) + 18  # swatch, gap, ~7 px per character of 12 px Helvetica, spacing
        if x > left and x + entry - 18 > right:
            x, row = left, row + 1
        layout.append((x, row, entry))
        x += entry
    return layout


def line_chart(
    series: Mapping[str, Sequence[Point]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    threshold: float | None = None,
    threshold_label: str = "threshold",
    diagonal: bool = False,
    markers: bool = False,
    width: int = 640,
    height: int = 280,
    tick_count: int = 5,
) -> str:
    """A line chart as a standalone ``<svg>`` element of fixed size ``width`` × ``height`` pixels.

    Args:
        series: legend name → ``(x, y)`` points, drawn in the given order with :data:`PALETTE`
            colours. A ``y`` of ``None``/NaN breaks the line; a piece of one point is drawn as a dot.
        title, x_label, y_label: text above the plot and along the axes (escaped, so any text is safe).
        x_range, y_range: fixed axis limits; by default the data's extent (and a threshold's value).
            Points outside a fixed range are clipped at the plot's edge, not dropped.
        threshold: a dashed horizontal line at this ``y`` with ``threshold_label`` beside it (a
            decision threshold on a score timeline, the paper's number on an accuracy plot).
        diagonal: a dotted ``y = x`` line from corner to corner of the data window (a ROC curve's
            chance level when both ranges are ``(0, 1)``).
        markers: a dot on every point (for sparse series such as a few sequence lengths).
        width, height: the SVG's size in pixels; text stays 12 px whatever the size.
        tick_count: about how many ticks per axis (:func:`nice_ticks`).

    Returns:
        SVG markup, ready to inline into HTML or to write to a ``.svg`` file.
    """
    if width < 160 or height < 120:
        raise ValueError(f"a chart needs at least 160 × 120 pixels, got {width} × {height}")
    names = list(series)
    xs = [float(x) for points in series.values() for x, y in points if y is not None and math.isfinite(y)]
    ys = [float(y) for points in series.values() for _, y in points if y is not None and math.isfinite(y)]
    if threshold is not None:
        ys.append(float(threshold))
    x_low, x_high = _data_range(xs, x_range)
    y_low, y_high = _data_range(ys, y_range)

    legend = _legend_layout(names, _MARGIN_LEFT, width - _MARGIN_RIGHT)
    legend_rows = 1 + max((row for _, row, _ in legend), default=-1)
    top = 12 + (22 if title else 0) + _LEGEND_ROW * legend_rows
    left, right, bottom = _MARGIN_LEFT, width - _MARGIN_RIGHT, height - _MARGIN_BOTTOM
    plot_w, plot_h = right - left, bottom - top

    def px(x: float) -> float:
        return left + (min(max(x, x_low), x_high) - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return bottom - (min(max(y, y_low), y_high) - y_low) / (y_high - y_low) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title or y_label or "chart")}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
    ]
    if title:
        parts.append(f'<text x="{left}" y="24" font-size="14" font-weight="bold">{escape(title)}</text>')

    # Grid and ticks first, so data lines are drawn over them.
    x_ticks = nice_ticks(x_low, x_high, tick_count)
    y_ticks = nice_ticks(y_low, y_high, tick_count)
    x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else x_high - x_low
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else y_high - y_low
    for value in x_ticks:
        x = px(value)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{_format_tick(value, x_step)}</text>')
    for value in y_ticks:
        y = py(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_format_tick(value, y_step)}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>')
    if x_label:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(x_label)}</text>'
        )
    if y_label:
        cy = top + plot_h / 2
        parts.append(
            f'<text x="14" y="{cy:.1f}" text-anchor="middle" transform="rotate(-90 14 {cy:.1f})">'
            f"{escape(y_label)}</text>"
        )

    if diagonal:
        parts.append(
            f'<line x1="{px(x_low):.1f}" y1="{py(y_low):.1f}" x2="{px(x_high):.1f}" y2="{py(y_high):.1f}" '
            'stroke="#888" stroke-dasharray="2 3"/>'
        )
    if threshold is not None:
        y = py(float(threshold))
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#444" stroke-dasharray="6 4"/>')
        parts.append(
            f'<text x="{right - 4}" y="{y - 4:.1f}" text-anchor="end" fill="#444">'
            f"{escape(threshold_label)} {threshold:g}</text>"
        )

    for number, name in enumerate(names):
        colour = PALETTE[number % len(PALETTE)]
        for piece in _pieces(series[name]):
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in piece)
            if len(piece) > 1:
                parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
            if markers or len(piece) == 1:
                parts.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in piece)

    # Legend: above the plot, a colour swatch before each name, as many rows as the names need.
    first_row_y = top - 8 - _LEGEND_ROW * (legend_rows - 1)
    for number, (name, (x, row, _)) in enumerate(zip(names, legend, strict=True)):
        colour = PALETTE[number % len(PALETTE)]
        y = first_row_y + _LEGEND_ROW * row
        parts.append(
            f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" stroke="{colour}" stroke-width="3"/>'
        )
        parts.append(f'<text x="{x + 22}" y="{y}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
