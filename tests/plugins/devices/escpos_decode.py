"""A small ESC/POS reader for the tests: turns the bytes a printer receives back
into events, so a test can read a receipt as the printer would.

Understands what Counterdesk sends: ESC @ (init), ESC t (code page), ESC E (bold),
ESC a (alignment), ESC d (feed), ESC p (drawer pulse), ESC ! / ESC - / ESC M
(text modes), GS h / GS w / GS f / GS H (barcode settings), GS k (barcode),
GS ( k (QR code), GS v 0 (raster image), GS V (cut), and text in the selected code
page. Anything else raises, so an unexpected command fails the test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ESC, GS = 0x1B, 0x1D
#: ESC t n → Python codec (Epson numbering, as in python-escpos's default profile)
CODEPAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858", 40: "iso8859_15"}


@dataclass
class Event:
    kind: str
    value: Any = None
    data: bytes = b""


@dataclass
class Decoded:
    events: list[Event] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    @property
    def text(self) -> str:
        return "".join(e.value for e in self.events if e.kind == "text")

    def lines(self) -> list[str]:
        return self.text.split("\n")

    def qr_data(self) -> list[bytes]:
        """Contents stored for native QR codes (GS ( k, function 80)."""
        return [e.data for e in self.events if e.kind == "qr_store"]

    def barcodes(self) -> list[tuple[int, bytes]]:
        return [(e.value, e.data) for e in self.events if e.kind == "barcode"]

    def rasters(self) -> list[Event]:
        return self.of("raster")


def decode(raw: bytes, codepages: dict[int, str] | None = None) -> Decoded:
    """``codepages`` maps ESC t numbers to codecs for printers that number their
    pages differently from Epson (default: ``CODEPAGES``)."""
    pages = CODEPAGES if codepages is None else codepages
    out = Decoded()
    codec = "cp437"  # the power-on code page
    i, n = 0, len(raw)
    text: list[int] = []

    def flush_text() -> None:
        if text:
            out.events.append(Event("text", bytes(text).decode(codec)))
            text.clear()

    def need(count: int) -> bytes:
        if i + count > n:
            raise ValueError(f"truncated command at byte {i}: need {count} more")
        return raw[i:i + count]

    while i < n:
        b = raw[i]
        if b not in (ESC, GS):
            if b < 0x20 and b != 0x0A:
                raise ValueError(f"unexpected control byte 0x{b:02x} at {i}")
            text.append(b)
            i += 1
            continue
        flush_text()
        cmd = need(2)[1]
        i += 2
        if b == ESC:
            if cmd == ord("@"):
                out.events.append(Event("init"))
                codec = "cp437"
            elif cmd == ord("t"):
                page = need(1)[0]
                i += 1
                if page not in pages:
                    raise ValueError(f"code page {page} unknown to the test decoder")
                codec = pages[page]
                out.events.append(Event("codepage", page))
            elif cmd == ord("E"):
                out.events.append(Event("bold", bool(need(1)[0])))
                i += 1
            elif cmd == ord("a"):
                out.events.append(Event("align", {0: "left", 1: "center", 2: "right"}[need(1)[0] % 48]))
                i += 1
            elif cmd == ord("d"):
                out.events.append(Event("feed", need(1)[0]))
                i += 1
            elif cmd == ord("p"):
                m, t1, t2 = need(3)
                i += 3
                out.events.append(Event("pulse", (m % 48, t1, t2)))
            elif cmd in (ord("!"), ord("-"), ord("M")):
                out.events.append(Event("mode", (chr(cmd), need(1)[0])))
                i += 1
            else:
                raise ValueError(f"unknown command ESC 0x{cmd:02x} at {i - 2}")
            continue
        # GS
        if cmd in (ord("h"), ord("w"), ord("f"), ord("H"), ord("!")):
            out.events.append(Event("barcode_setting", (chr(cmd), need(1)[0])))
            i += 1
        elif cmd == ord("k"):
            m = need(1)[0]
            i += 1
            if m >= 65:      # function B: length byte, then data
                length = need(1)[0]
                i += 1
                data = need(length)
                i += length
            else:            # function A: NUL-terminated
                end = raw.index(0, i)
                data = raw[i:end]
                i = end + 1
            out.events.append(Event("barcode", m, data))
        elif cmd == ord("(") and need(1) == b"k":
            i += 1
            pl, ph = need(2)
            i += 2
            size = pl + ph * 256
            body = need(size)
            i += size
            cn, fn, rest = body[0], body[1], body[2:]
            if cn != 0x31:
                raise ValueError(f"GS ( k for symbol {cn} is not a QR code")
            if fn == 80:
                out.events.append(Event("qr_store", None, rest[1:]))  # after m = '0'
            elif fn == 81:
                out.events.append(Event("qr_print"))
            else:
                out.events.append(Event("qr_setting", (fn, rest)))
        elif cmd == ord("v") and need(1) == b"0":
            i += 1
            m, xl, xh, yl, yh = need(5)
            i += 5
            width_bytes, height = xl + xh * 256, yl + yh * 256
            data = need(width_bytes * height)
            i += width_bytes * height
            out.events.append(Event("raster", (width_bytes, height), data))
        elif cmd == ord("V"):
            m = need(1)[0]
            i += 1
            if m in (65, 66):
                i += 1
            out.events.append(Event("cut", m))
        else:
            raise ValueError(f"unknown command GS 0x{cmd:02x} at {i - 2}")
    flush_text()
    return out


def raster_image(event: Event, border: int = 16) -> Any:
    """A GS v 0 raster as a PIL image (black on white, with a quiet zone added)."""
    from PIL import Image
    width_bytes, height = event.value
    width = width_bytes * 8
    img = Image.new("L", (width + 2 * border, height + 2 * border), 255)
    pixels = img.load()
    for y in range(height):
        row = event.data[y * width_bytes:(y + 1) * width_bytes]
        for x in range(width):
            if row[x // 8] & (0x80 >> (x % 8)):
                pixels[x + border, y + border] = 0
    return img
