"""A receipt document as the bytes an ESC/POS printer understands.

Everything is built into a python-escpos ``Dummy`` printer (no I/O); the print job
sends the result in one go. The layout comes from ``core.documents.layout``, the
same rows the plain-text receipt shows.

Text is printed in one code page per printer, chosen explicitly (``ESC t n`` right
after ``ESC @``): python-escpos's automatic encoder would switch pages per character,
silently print ``?`` for what it cannot encode and send any CJK text as GB18030.
Characters the page lacks are transliterated (``€`` → ``EUR`` in CP437, ``é`` → ``e``
where there is no ``é``) and control characters are dropped, so a customer's name
can never smuggle printer commands in.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from core import ReceiptDocument, document_from_dict, document_to_dict
from core.documents import Row, has_content, layout

from plugins.devices import escpos_lib

#: Code pages a printer may be set to, with the Python codec of each. ``auto`` picks
#: CP858 (CP850 with €) when the profile has it, else CP437, which every profile has.
CODEPAGES: dict[str, str] = {
    "CP437": "cp437", "CP850": "cp850", "CP858": "cp858", "CP1252": "cp1252",
    "ISO_8859-15": "iso8859_15",
}
AUTO_ORDER = ("CP858", "CP437")
ENCODINGS = ("auto", *CODEPAGES)

_TRANSLITERATIONS = {
    "€": "EUR", "£": "GBP", "¥": "JPY", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
    "‘": "'", "’": "'", "‚": "'", "–": "-", "—": "-", "−": "-", "…": "...", "•": "*",
    "·": ".", "×": "x", "™": "TM", "©": "(C)", "®": "(R)", "°": "o", "ß": "ss", "Æ": "AE",
    "æ": "ae", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe", "Ł": "L", "ł": "l", "Đ": "D",
    "đ": "d", "\u00a0": " ", "\t": " ",
}

QR_DOT_SIZE = 6
BARCODE_MODULE = 2
BARCODE_HEIGHT = 64
RASTER_IMPLS = ("bitImageRaster", "graphics", "bitImageColumn")


class PrinterSetupError(ValueError):
    """A profile or code page this printer cannot have."""


def profile_names() -> list[str]:
    """Every capability profile python-escpos knows (``default``, ``TM-T88V``...)."""
    return sorted(escpos_lib.capabilities.CAPABILITIES["profiles"])


def load_profile(name: str) -> Any:
    if name not in escpos_lib.capabilities.CAPABILITIES["profiles"]:
        raise PrinterSetupError(f"unknown printer profile {name!r}")
    return escpos_lib.capabilities.get_profile(name)


def profile_columns(name: str) -> int:
    """Characters per line in the profile's standard font (font A)."""
    return int(load_profile(name).get_columns("a"))


@dataclass(frozen=True)
class Codepage:
    name: str        # as python-escpos and the profile name it, e.g. "CP858"
    number: int      # n of ESC t n on this profile
    codec: str       # Python codec


def resolve_codepage(profile_name: str, encoding: str = "auto") -> Codepage:
    """The code page a printer with this profile prints text in."""
    pages = load_profile(profile_name).get_code_pages()
    if encoding == "auto":
        candidates = [name for name in AUTO_ORDER if name in pages]
        if not candidates:
            candidates = [name for name in CODEPAGES if name in pages]
        if not candidates:
            raise PrinterSetupError(f"profile {profile_name!r} has no code page Counterdesk can print in")
        encoding = candidates[0]
    if encoding not in CODEPAGES:
        raise PrinterSetupError(f"unknown code page {encoding!r} (choose one of {', '.join(ENCODINGS)})")
    if encoding not in pages:
        raise PrinterSetupError(f"profile {profile_name!r} has no code page {encoding}")
    return Codepage(encoding, int(pages[encoding]), CODEPAGES[encoding])


def printable(text: str, codec: str) -> str:
    """``text`` with every character the code page can print: others transliterated
    or replaced by ``?``; control characters (ESC, GS...) removed."""
    if text.isascii() and text.isprintable():
        return text   # the common case: every code page here extends ASCII
    if text.isprintable() and _encodable(text, codec):
        return text   # checked at once rather than per character
    out: list[str] = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
            continue
        control = unicodedata.category(ch).startswith("C")
        if not control and _encodable(ch, codec):
            out.append(ch)                  # the page has it (é, and € in CP858)
        elif ch in _TRANSLITERATIONS:
            out.append(_TRANSLITERATIONS[ch])
        elif control:
            continue  # control, format, unassigned: never sent to the printer
        else:
            out.append(_fallback(ch, codec))
    return "".join(out)


def _fallback(ch: str, codec: str) -> str:
    """A letter without its accent when the page has that (``ź`` → ``z``), else ``?``."""
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and base != ch and _encodable(base, codec) else "?"


def _encodable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _printable_data(data: dict[str, Any], codec: str) -> dict[str, Any]:
    """A stored document's data with its text made printable before the layout, so a
    transliteration (``€`` → ``EUR``) cannot push the columns out of line. Barcode
    and QR data keep their own rules."""
    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return printable(value, codec)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value
    return {k: v if k in ("barcode", "qr") else clean(v) for k, v in data.items()}


def _barcode_data_ok(data: str) -> bool:
    return 0 < len(data) <= 200 and all(32 <= ord(c) < 127 for c in data)


_ENCODERS: dict[str, Any] = {}   # profile name -> python-escpos Encoder


class _Receipt:
    """One receipt being built on a Dummy printer, with the style it has set."""

    def __init__(self, profile_name: str, codepage: Codepage, width: int) -> None:
        # python-escpos builds a character table per code page in its encoder, which
        # belongs to the printer object: one encoder per profile, kept across
        # receipts, builds it once (receipts are built one at a time, in ``quiet``).
        encoder = _ENCODERS.get(profile_name)
        self.p = escpos_lib.printer.Dummy(
            profile=profile_name, magic_encode_args={"encoder": encoder} if encoder else None)
        _ENCODERS.setdefault(profile_name, self.p.magic.encoder)
        self.profile = self.p.profile
        self.codepage = codepage
        self.width = width
        self.align = "left"
        self.bold = False

    def start(self) -> None:
        self.p.hw("INIT")                 # printer state carries over between jobs
        self.p.charcode(self.codepage.name)  # ESC t n, and no per-character switching

    def style(self, align: str, bold: bool) -> None:
        if align != self.align:
            self.p.set(align=align)
            self.align = align
        if bold != self.bold:
            self.p.set(bold=bold)
            self.bold = bold

    def text(self, text: str) -> None:
        # The same bytes ``textln`` would send: its encoder, with the code page fixed
        # by ``start``, maps each character through the Python codec of that page
        # (python-escpos builds its table by decoding bytes 128-255 with it), and
        # ``printable`` leaves only characters the page has. Encoding the line at
        # once spares a Python call per character (a third of a receipt's rendering).
        self.p._raw(printable(text, self.codepage.codec).encode(self.codepage.codec) + b"\n")

    def row(self, row: Row) -> None:
        self.style(row.align, row.bold)
        if row.kind == "rule":
            self.text("-" * self.width)
        elif row.kind == "blank":
            self.p.ln()
        elif row.kind == "barcode":
            self.barcode(row.text)
        elif row.kind == "qr":
            self.qr(row.text)
        else:
            self.text(row.text)

    def _raster_impl(self) -> str | None:
        return next((impl for impl in RASTER_IMPLS if self.profile.supports(impl)), None)

    def barcode(self, data: str) -> None:
        impl = self._raster_impl()
        if not _barcode_data_ok(data):
            self.text(data)
        elif self.profile.supports("barcodeB"):
            # CODE128 needs its code set named in the data ({B: printable ASCII).
            self.p.barcode("{B" + data, "CODE128", height=BARCODE_HEIGHT, width=BARCODE_MODULE,
                           pos="BELOW", font="A", align_ct=False, function_type="B")
        elif impl is not None:
            self.p.barcode(data, "CODE128", height=BARCODE_HEIGHT, width=BARCODE_MODULE,
                           align_ct=False, force_software=impl)
        else:
            self.text(data)
        self._reset_align()

    def qr(self, data: str) -> None:
        impl = self._raster_impl()
        if self.profile.supports("qrCode"):
            self.p.qr(data, size=QR_DOT_SIZE, native=True)  # ~2 KB less than an image
            self.p.ln()
        elif impl is not None:
            self.p.qr(data, size=4, native=False, image_arguments={"impl": impl, "center": False})
        else:
            self.text(data)
        self._reset_align()

    def _reset_align(self) -> None:
        # barcode(align_ct=True) and images leave centring on for what follows.
        self.p.set(align="left")
        self.align = "left"

    def finish(self, cut: bool, open_drawer: bool) -> bytes:
        self.style("left", False)
        if cut:
            self.p.cut()
        if open_drawer:
            self.p.cashdraw(2)
        return self.p.output


def render_escpos(doc: ReceiptDocument, *, profile: str = "default", columns: int | None = None,
                  encoding: str = "auto") -> bytes:
    """``doc`` as ESC/POS bytes for a printer with this profile, width and code page:
    ``ESC @``, ``ESC t n``, the rows, a feed and cut (when there is anything to print),
    then the drawer pulse (``ESC p``) when ``doc.open_drawer``."""
    return render_stored(document_to_dict(doc), profile=profile, columns=columns,
                         encoding=encoding)


def render_stored(data: dict[str, Any], *, profile: str = "default", columns: int | None = None,
                  encoding: str = "auto") -> bytes:
    """:func:`render_escpos` for a document stored with ``document_to_dict`` (a print
    job's): cleaned for the code page as data and rebuilt once."""
    if not isinstance(data, dict):
        raise ValueError("a receipt document is a JSON object")
    codepage = resolve_codepage(profile, encoding)
    width = columns or profile_columns(profile)
    doc = document_from_dict(_printable_data(data, codepage.codec))
    with escpos_lib.quiet():
        receipt = _Receipt(profile, codepage, width)
        receipt.start()
        content = has_content(doc)
        if content:
            for row in layout(doc, width):
                receipt.row(row)
        return receipt.finish(cut=content, open_drawer=doc.open_drawer)


def profile_summaries() -> list[dict[str, Any]]:
    """Every profile with its width, what it supports and the code pages Counterdesk
    can print in on it."""
    out = []
    for name in profile_names():
        profile = load_profile(name)
        pages = profile.get_code_pages()
        out.append({"name": name, "title": str(profile.profile_data.get("name", name)),
                    "columns": int(profile.get_columns("a")),
                    "features": {k: bool(v) for k, v in profile.features.items()},
                    "codepages": [c for c in CODEPAGES if c in pages]})
    return out
