"""core.documents: the receipt as text and HTML (what pos serves even without devices)."""
from __future__ import annotations

import json

import pytest

from core import (ReceiptDocument, ReceiptLine, ReceiptSection, document_from_dict,
                  document_to_dict, render_html, render_text)

from tests.plugins.devices.conftest import sale_document


def test_text_receipt_is_laid_out_in_columns(document: ReceiptDocument) -> None:
    text = render_text(document, columns=42)
    lines = text.splitlines()
    assert max(len(ln) for ln in lines) <= 42
    assert lines[0] == "Vélo Café".center(42).rstrip()
    assert "Trek FX 3 Disc" + " " * (42 - 14 - 6) + "899.00" in lines
    assert "  SN: WTU123456" in lines
    assert any(ln.startswith("2 x Casque été") and ln.endswith("49.98") for ln in lines)
    assert any(ln.startswith("Total") and ln.endswith("€1,024.90") for ln in lines)
    assert "Warranty" in lines and "S-000123".center(42).rstrip() in lines


def test_long_descriptions_wrap_and_keep_the_amount_on_the_last_row() -> None:
    doc = ReceiptDocument(lines=(ReceiptLine("word " * 20, "1", "1234.56"),))
    rows = [r for r in render_text(doc, columns=32).splitlines() if r and not r.startswith("-")]
    assert len(rows) > 1 and all(len(r) <= 32 for r in rows)
    assert rows[-1].endswith("1234.56") and not rows[0].endswith("1234.56")


def test_html_preview_escapes_everything() -> None:
    doc = sale_document(header=("<script>alert(1)</script>",),
                        lines=(ReceiptLine("Bike & <b>bell</b>", "1", "9.99", detail="a\nb"),))
    html = render_html(doc)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Bike &amp; &lt;b&gt;bell&lt;/b&gt;" in html
    assert html.startswith('<div class="receipt">')
    assert 'class="receipt-total"' in html and "S-000123" in html


def test_a_document_survives_json(document: ReceiptDocument) -> None:
    data = json.loads(json.dumps(document_to_dict(document)))
    assert document_from_dict(data) == document


def test_lists_and_plain_values_are_accepted() -> None:
    doc = ReceiptDocument(header=["Shop"], lines=[{"description": "X", "quantity": 2, "amount": "1.00"}],
                          totals=[["Total", "1.00"]], sections=[{"title": "T", "lines": ["a"]}])
    assert doc.lines[0] == ReceiptLine("X", "2", "1.00")
    assert doc.sections[0] == ReceiptSection("T", ("a",))
    assert doc.totals == (("Total", "1.00"),)
    hash(doc)  # frozen all the way down


@pytest.mark.parametrize("data", [{"nope": 1}, {"lines": [{"what": "x"}]}, {"header": "one string"}, []])
def test_bad_documents_are_refused(data: object) -> None:
    with pytest.raises(ValueError):
        document_from_dict(data)  # type: ignore[arg-type]
