"""ESC/POS rendering, read back with the test decoder (no app, no I/O)."""
from __future__ import annotations

import logging

import pytest

from core import ReceiptDocument, ReceiptLine

from plugins.devices.render import (CODEPAGES, _Receipt, load_profile, printable, profile_names,
                                    render_escpos, resolve_codepage)
from tests.plugins.devices.conftest import sale_document
from tests.plugins.devices.escpos_decode import decode, raster_image


def test_a_receipt_starts_with_init_and_an_explicit_code_page(document: ReceiptDocument) -> None:
    out = decode(render_escpos(document, profile="TM-T88V"))
    assert out.kinds()[:2] == ["init", "codepage"]
    assert out.events[1].value == 19          # CP858 on Epson: ESC t 19
    assert len(out.of("codepage")) == 1       # one page for the whole receipt


def test_accented_letters_arrive_in_the_code_page(document: ReceiptDocument) -> None:
    raw = render_escpos(document, profile="TM-T88V")
    for ch in "éüñ€":
        assert ch.encode("cp858") in raw
    text = decode(raw).text
    assert "José Müller-Peña" in text and "Vélo Café" in text and "Casque été" in text
    assert "Merci - à bientôt!" in text        # the dash has no CP858 glyph


def test_cp437_printer_spells_the_euro_and_keeps_accents() -> None:
    doc = ReceiptDocument(lines=(ReceiptLine("Crème", "1", "€5.00"),), footer=("señor ü",))
    raw = render_escpos(doc, profile="TM-T88V", encoding="CP437")
    out = decode(raw)
    assert out.of("codepage")[0].value == 0
    assert "Crème" in out.text and "señor ü" in out.text
    assert "EUR5.00" in out.text and "€" not in out.text
    assert b"\x8a" in raw                       # è in CP437


def test_columns_stay_aligned_after_transliteration() -> None:
    doc = ReceiptDocument(totals=(("Total €", "10.00"), ("Cash", "20.00")))
    lines = [ln for ln in decode(render_escpos(doc, encoding="CP437", columns=32)).lines() if ln.strip()]
    assert all(len(ln) == 32 for ln in lines), lines
    assert lines[1].startswith("Total EUR") and lines[1].endswith("10.00")


def test_cjk_never_switches_to_gb18030_and_control_bytes_are_dropped() -> None:
    doc = ReceiptDocument(header=("谢谢 Danke",), lines=(ReceiptLine("Evil\x1b@\x1dV\x00name", "1", "1.00"),))
    raw = render_escpos(doc)
    assert "谢".encode("gb18030") not in raw
    out = decode(raw)                            # raises on any stray control byte
    assert "?? Danke" in out.text
    assert "Evil@Vname" in out.text
    assert out.kinds().count("init") == 1 and out.kinds().count("cut") == 1


def test_barcode_is_code128_set_b_and_centring_does_not_leak(document: ReceiptDocument) -> None:
    out = decode(render_escpos(document, profile="TM-T88V"))
    assert out.barcodes() == [(73, b"{BS-000123")]   # GS k 73: CODE128
    kinds = out.kinds()
    after = kinds[kinds.index("barcode") + 1:]
    assert after[0] == "align" and out.events[kinds.index("barcode") + 1].value == "left"
    footer_align = [e.value for e in out.events[kinds.index("barcode"):] if e.kind == "align"]
    assert footer_align[0] == "left"


def test_native_qr_where_the_profile_supports_it() -> None:
    doc = sale_document(barcode=None, qr="https://shop.example/r/S-000123?t=é")
    out = decode(render_escpos(doc, profile="TM-T20II"))
    assert out.qr_data() == ["https://shop.example/r/S-000123?t=é".encode()]
    assert "qr_print" in out.kinds() and not out.rasters()


def test_cut_then_drawer_pulse_when_asked(document: ReceiptDocument) -> None:
    kinds = decode(render_escpos(document)).kinds()
    assert "cut" in kinds and "pulse" not in kinds
    out = decode(render_escpos(sale_document(open_drawer=True)))
    kinds = out.kinds()
    assert kinds.index("cut") < kinds.index("pulse") == len(kinds) - 1
    assert out.of("pulse")[0].value == (0, 50, 50)   # ESC p 0: drawer pin 2


def test_a_bare_drawer_kick_prints_nothing() -> None:
    out = decode(render_escpos(ReceiptDocument(open_drawer=True)))
    assert out.kinds() == ["init", "codepage", "pulse"]


def test_rows_fit_the_printer_width(document: ReceiptDocument) -> None:
    for profile, width in (("TM-T88V", 42), ("TM-T20II", 48), ("POS-5890", 32)):
        page = resolve_codepage(profile)
        lines = decode(render_escpos(document, profile=profile), {page.number: page.codec}).lines()
        assert max(len(ln) for ln in lines) == width


def test_printers_without_native_codes_get_images_a_scanner_reads() -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    doc = sale_document(qr="https://shop.example/r/S-000123")
    out = decode(render_escpos(doc, profile="simple"))      # no barcodeB, no qrCode
    assert not out.barcodes() and not out.qr_data()
    found = {}
    for event in out.rasters():
        for result in zxingcpp.read_barcodes(raster_image(event)):
            found[result.format.name] = result.text
    assert found.get("Code128") == "S-000123"
    assert found.get("QRCode") == "https://shop.example/r/S-000123"


def test_rendering_keeps_stdout_and_logging_clean(capsys: pytest.CaptureFixture, document: ReceiptDocument) -> None:
    render_escpos(document, profile="simple")
    render_escpos(document, profile="TM-T88V")
    assert capsys.readouterr().out == ""
    assert not any(type(h) is logging.StreamHandler for h in logging.getLogger().handlers)


def test_code_page_choice_follows_the_profile() -> None:
    assert resolve_codepage("default").name == "CP858"
    assert resolve_codepage("simple").name == "CP437"          # the only page it has
    assert resolve_codepage("POS-5890").number == 53            # its own numbering
    with pytest.raises(ValueError):
        resolve_codepage("simple", "CP858")


@pytest.mark.parametrize("text,codec,expected", [
    ("é ü ñ €", "cp858", "é ü ñ €"),
    ("é ü ñ €", "cp437", "é ü ñ EUR"),
    ("Łódź", "cp437", "Lódz"),      # ó is in CP437; Ł and ź are not
    ("“quoted” – ok…", "cp858", '"quoted" - ok...'),
    ("tab\there\x07", "cp858", "tab here"),
])
def test_printable(text: str, codec: str, expected: str) -> None:
    assert printable(text, codec) == expected


@pytest.mark.parametrize("page", sorted(CODEPAGES))
def test_text_lines_are_the_bytes_python_escpos_would_send(page: str) -> None:
    """Lines are encoded at once, not through python-escpos's per-character encoder:
    the bytes must be the ones its ``textln`` sends with the page fixed."""
    from plugins.devices import escpos_lib
    profile = next(p for p in profile_names() if page in load_profile(p).get_code_pages())
    codepage = resolve_codepage(profile, page)
    texts = ["Plain ASCII 0123 ~!@#", "Vélo Café — José Müller-Peña", "€ £ ¥ ß Æ ø Œ Łódź",
             "tab\there\x1b@ and \x07 bell", "ÀÉÎÕÜ àéîõü çÇ ñÑ ¿¡ ½ ° ±", ""]
    ours = _Receipt(profile, codepage, 42)
    theirs = escpos_lib.printer.Dummy(profile=profile)
    with escpos_lib.quiet():
        ours.start()
        theirs.hw("INIT")
        theirs.charcode(page)
        for text in texts:
            ours.text(text)
            theirs.textln(printable(text, codepage.codec))
    assert ours.p.output == theirs.output


def test_receipts_for_different_profiles_do_not_share_state(document: ReceiptDocument) -> None:
    """Each profile keeps its own python-escpos encoder across receipts."""
    first = {p: render_escpos(document, profile=p) for p in ("TM-T88V", "POS-5890", "simple")}
    again = {p: render_escpos(document, profile=p) for p in ("simple", "POS-5890", "TM-T88V")}
    assert first == again
    assert decode(first["POS-5890"], {53: resolve_codepage("POS-5890").codec}).text.count("José") == 1
