"""Receipt documents (:class:`core.types.ReceiptDocument`) laid out for a fixed-width
printer and rendered as plain text or an HTML preview.

``layout`` is the one place that decides what goes on which row; the plain-text
rendering here and the devices plugin's ESC/POS rendering both walk its rows, so a
receipt reads the same on paper, in an email and on the screen.
"""
from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass
from typing import Any, Iterator

from jinja2 import Environment

from core.types import ReceiptDocument, ReceiptLine

DEFAULT_COLUMNS = 42


@dataclass(frozen=True)
class Row:
    """One printed row. ``kind`` is ``text`` (``text`` fits the width), ``rule`` (a
    separator), ``blank``, ``barcode`` or ``qr`` (``text`` is the data to encode)."""
    kind: str
    text: str = ""
    align: str = "left"   # left, center
    bold: bool = False


def wrap(text: str, width: int) -> list[str]:
    """``text`` cut into rows of at most ``width`` characters (long words are split;
    an empty text is one empty row)."""
    rows: list[str] = []
    for paragraph in text.split("\n"):
        rows += textwrap.wrap(paragraph, width, break_long_words=True,
                              break_on_hyphens=False) or [""]
    return rows


def columns_row(left: str, right: str, width: int) -> list[str]:
    """``left`` then ``right`` flush right on the last row; ``left`` wraps to leave
    room for ``right`` (which is never cut)."""
    right = right.strip()
    if len(right) >= width:
        return wrap(left, width) + [right.rjust(width)]
    room = width - len(right) - 1 if right else width
    rows = wrap(left, max(room, 1))
    last = rows[-1]
    if right:
        rows[-1] = last + " " * (width - len(last) - len(right)) + right
    return rows


def _line_rows(line: ReceiptLine, width: int) -> Iterator[Row]:
    quantity = line.quantity.strip()
    what = line.description if quantity in ("", "1") else f"{quantity} x {line.description}"
    for text in columns_row(what, line.amount, width):
        yield Row("text", text)
    if line.detail:
        for text in wrap(line.detail, width - 2):
            yield Row("text", "  " + text)


def layout(doc: ReceiptDocument, columns: int = DEFAULT_COLUMNS) -> list[Row]:
    """The rows of ``doc`` for a ``columns``-wide printer, top to bottom."""
    width = max(int(columns), 8)
    rows: list[Row] = []
    for i, text in enumerate(doc.header):
        rows += [Row("text", t, "center", bold=i == 0) for t in wrap(text, width)]
    if doc.title:
        if rows:
            rows.append(Row("blank"))
        rows += [Row("text", t, "center", bold=True) for t in wrap(doc.title, width)]
    if doc.info:
        rows.append(Row("blank"))
        for label, value in doc.info:
            rows += [Row("text", t) for t in columns_row(label, value, width)]
    if doc.lines:
        rows.append(Row("rule"))
        for line in doc.lines:
            rows += _line_rows(line, width)
    if doc.totals:
        rows.append(Row("rule"))
        for label, value in doc.totals:
            bold = label.strip().lower() == "total"
            rows += [Row("text", t, bold=bold) for t in columns_row(label, value, width)]
    for section in doc.sections:
        rows.append(Row("blank"))
        if section.title:
            rows += [Row("text", t, bold=True) for t in wrap(section.title, width)]
        for line in section.lines:
            rows += [Row("text", t) for t in wrap(line, width)]
    if doc.barcode:
        rows += [Row("blank"), Row("barcode", doc.barcode, "center")]
    if doc.qr:
        rows += [Row("blank"), Row("qr", doc.qr, "center")]
    if doc.footer:
        rows.append(Row("blank"))
        for text in doc.footer:
            rows += [Row("text", t, "center") for t in wrap(text, width)]
    return rows


def has_content(doc: ReceiptDocument) -> bool:
    """Whether ``doc`` prints anything (a bare drawer kick prints nothing)."""
    return bool(doc.header or doc.title or doc.info or doc.lines or doc.totals or doc.sections
                or doc.barcode or doc.qr or doc.footer)


def render_text(doc: ReceiptDocument, columns: int = DEFAULT_COLUMNS) -> str:
    """``doc`` as plain text, ``columns`` wide (a barcode or QR code shows its data)."""
    width = max(int(columns), 8)
    out: list[str] = []
    for row in layout(doc, width):
        if row.kind == "rule":
            out.append("-" * width)
        elif row.kind == "blank":
            out.append("")
        elif row.kind in ("barcode", "qr"):
            out += [t.center(width).rstrip() for t in wrap(row.text, width)]
        elif row.align == "center":
            out.append(row.text.center(width).rstrip())
        else:
            out.append(row.text.rstrip())
    return "\n".join(out) + "\n"


_html = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_RECEIPT_HTML = _html.from_string("""\
<div class="receipt">
{% if doc.header %}
  <header class="receipt-header">
  {% for text in doc.header %}
    <div{% if loop.first %} class="receipt-shop"{% endif %}>{{ text }}</div>
  {% endfor %}
  </header>
{% endif %}
{% if doc.title %}
  <h2 class="receipt-title">{{ doc.title }}</h2>
{% endif %}
{% if doc.info %}
  <dl class="receipt-info">
  {% for label, value in doc.info %}
    <dt>{{ label }}</dt><dd>{{ value }}</dd>
  {% endfor %}
  </dl>
{% endif %}
{% if doc.lines %}
  <table class="receipt-lines">
    <thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Amount</th></tr></thead>
    <tbody>
    {% for line in doc.lines %}
      <tr>
        <td>{{ line.description }}{% if line.detail %}
          {% for text in line.detail.split("\\n") %}<div class="receipt-detail">{{ text }}</div>{% endfor %}
          {% endif %}</td>
        <td class="num">{{ line.quantity }}</td>
        <td class="num">{{ line.amount }}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
{% endif %}
{% if doc.totals %}
  <table class="receipt-totals">
  {% for label, value in doc.totals %}
    <tr{% if label.strip().lower() == "total" %} class="receipt-total"{% endif %}><th>{{ label }}</th><td class="num">{{ value }}</td></tr>
  {% endfor %}
  </table>
{% endif %}
{% for section in doc.sections %}
  <section class="receipt-section">
    {% if section.title %}<h3>{{ section.title }}</h3>{% endif %}
    {% for text in section.lines %}<p>{{ text }}</p>{% endfor %}
  </section>
{% endfor %}
{% if doc.barcode %}
  <div class="receipt-code receipt-barcode" data-symbology="code128">{{ doc.barcode }}</div>
{% endif %}
{% if doc.qr %}
  <div class="receipt-code receipt-qr" data-symbology="qr">{{ doc.qr }}</div>
{% endif %}
{% if doc.footer %}
  <footer class="receipt-footer">
  {% for text in doc.footer %}
    <div>{{ text }}</div>
  {% endfor %}
  </footer>
{% endif %}
</div>
""")


def render_html(doc: ReceiptDocument) -> str:
    """``doc`` as an HTML fragment (``<div class="receipt">``) for a screen preview;
    every value is escaped."""
    return _RECEIPT_HTML.render(doc=doc)


def document_to_dict(doc: ReceiptDocument) -> dict[str, Any]:
    """``doc`` as JSON-ready data (lists and dicts); ``document_from_dict`` reverses it."""
    return dataclasses.asdict(doc)


def document_from_dict(data: dict[str, Any]) -> ReceiptDocument:
    """Rebuild a document stored with ``document_to_dict``. Raises ``ValueError`` on
    data that is not a receipt document."""
    if not isinstance(data, dict):
        raise ValueError("a receipt document is a JSON object")
    known = {f.name for f in dataclasses.fields(ReceiptDocument)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown receipt document fields: {', '.join(unknown)}")
    try:
        return ReceiptDocument(**data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a receipt document: {exc}") from exc
