"""A report's chart as inline SVG, drawn on the server: no JavaScript, prints well,
and reads the same in every browser. Bar charts group one bar per series at each x;
line charts draw one polyline per series."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

from markupsafe import Markup, escape

from core.types import Chart, Column, ReportResult

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 56
PALETTE = ("#0b62a4", "#d9822b", "#1f7a3a", "#a3261a", "#6f42c1", "#5b6670")
MAX_X_LABELS = 12
TICKS = 5          # gridlines above the baseline; round maxima divide into fifths evenly
MAX_BAR = 40.0


def _number(value: Any) -> float:
    """A cell as a plotting coordinate (drawing only; the table keeps exact values)."""
    if value is None or isinstance(value, bool):
        return 0.0
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0


def _nice_max(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _label(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _series(result: ReportResult, chart: Chart) -> tuple[list[str], list[tuple[Column, list[float]]]]:
    index = {c.key: i for i, c in enumerate(result.columns)}
    missing = [k for k in (chart.x, *chart.y) if k not in index]
    if missing:
        raise ValueError(f"chart names columns the report lacks: {', '.join(missing)}")
    xs = ["" if row[index[chart.x]] is None else str(row[index[chart.x]]) for row in result.rows]
    series = [(result.columns[index[key]], [_number(row[index[key]]) for row in result.rows])
              for key in chart.y]
    return xs, series


def svg_chart(chart: Chart, result: ReportResult, title: str = "") -> Markup:
    """The chart of ``result`` as an accessible inline ``<svg>`` element."""
    xs, series = _series(result, chart)
    label = escape(title or ", ".join(c.title for c, _ in series))
    parts: list[str] = [
        f'<svg class="chart chart-{escape(chart.kind)}" role="img" aria-label="{label}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{label}</title>",
    ]
    if not xs:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                     'class="chart-empty">No data for these parameters</text></svg>')
        return Markup("".join(parts))
    top = _nice_max(max((v for _, values in series for v in values), default=0.0))
    if all(c.type == "int" for c, _ in series):
        top = max(top, float(TICKS))   # whole numbers on the axis for counts
    bottom = min(0.0, min(v for _, values in series for v in values))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(v: float) -> float:
        return TOP + plot_h * (top - v) / (top - bottom)

    parts.extend(_axes(top, bottom, y_of))
    slot = plot_w / len(xs)
    if chart.kind == "bar":
        parts.extend(_bars(series, xs, slot, y_of))
    else:
        parts.extend(_lines(series, xs, slot, y_of))
    parts.extend(_x_labels(xs, slot))
    parts.extend(_legend(series))
    parts.append("</svg>")
    return Markup("".join(parts))


def _axes(top: float, bottom: float, y_of: Any) -> list[str]:
    out = []
    for i in range(TICKS + 1):
        v = bottom + (top - bottom) * i / TICKS
        y = y_of(v)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}" stroke="#d6dce1" stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="#5b6670">{escape(_label(v))}</text>')
    return out


def _bars(series: Sequence[tuple[Column, list[float]]], xs: list[str], slot: float,
          y_of: Any) -> list[str]:
    out = []
    width = min(slot * 0.8 / len(series), MAX_BAR)
    inset = (slot - width * len(series)) / 2   # the group of bars centred on its x
    zero = y_of(0.0)
    for s, (column, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        for i, v in enumerate(values):
            x = LEFT + slot * i + inset + width * s
            y = min(y_of(v), zero)
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(width, 1):.1f}" '
                       f'height="{abs(zero - y_of(v)):.1f}" fill="{colour}">'
                       f"<title>{escape(xs[i])}: {escape(column.title)} {escape(_label(v))}</title></rect>")
    return out


def _lines(series: Sequence[tuple[Column, list[float]]], xs: list[str], slot: float,
           y_of: Any) -> list[str]:
    out = []
    for s, (column, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{LEFT + slot * (i + 0.5):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        out.append(f'<polyline class="line" fill="none" stroke="{colour}" stroke-width="2" '
                   f'points="{points}"><title>{escape(column.title)}</title></polyline>')
        for i, v in enumerate(values):
            out.append(f'<circle cx="{LEFT + slot * (i + 0.5):.1f}" cy="{y_of(v):.1f}" r="3" '
                       f'fill="{colour}"><title>{escape(xs[i])}: {escape(column.title)} '
                       f"{escape(_label(v))}</title></circle>")
    return out


def _x_labels(xs: list[str], slot: float) -> list[str]:
    every = max(1, -(-len(xs) // MAX_X_LABELS))
    return [f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle" font-size="11" fill="#1d2329">{escape(x)}</text>'
            for i, x in enumerate(xs) if i % every == 0]


def _legend(series: Sequence[tuple[Column, list[float]]]) -> list[str]:
    out = []
    x = LEFT
    for s, (column, _) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{HEIGHT - 18}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{x + 14}" y="{HEIGHT - 9}" font-size="12" fill="#1d2329">'
                   f"{escape(column.title)}</text>")
        x += 24 + 7 * len(column.title)
    return out
