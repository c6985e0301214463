"""Factories for the devices tests: printers made through the API, a TCP "printer"
on 127.0.0.1 that records what it receives, and a way to wait for print jobs."""
from __future__ import annotations

import socket
import threading
from typing import Any, Callable, Iterator

import pytest

from core import ReceiptDocument, ReceiptLine, ReceiptSection


class PrinterListener:
    """A network printer stand-in: accepts connections on 127.0.0.1 and keeps the
    bytes of each one (a print job is one connection)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                chunks = []
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            with self._cond:
                self.received.append(b"".join(chunks))
                self._cond.notify_all()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.received) >= count, timeout), \
                f"the printer received {len(self.received)} job(s), expected {count}"
            return list(self.received)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def printer_listener() -> Iterator[PrinterListener]:
    listener = PrinterListener()
    yield listener
    listener.close()


@pytest.fixture
def refused_uri() -> str:
    """A tcp:// URI nobody listens on: connecting is refused."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"tcp://127.0.0.1:{port}"


@pytest.fixture
def wait_jobs(runtime: Any) -> Callable[[], None]:
    """Wait until the in-process runner has run every job handed over so far."""
    from core.jobs import in_process_runner

    def wait() -> None:
        assert in_process_runner(runtime).wait_idle(30)
    return wait


@pytest.fixture
def make_printer(api: Any) -> Callable[..., dict]:
    """``make_printer(uri, **fields)`` → the created printer as the API returns it."""
    counter = {"n": 0}

    def make(uri: str = "dummy:", **fields: Any) -> dict:
        counter["n"] += 1
        body = {"name": f"Printer {counter['n']}", "uri": uri, **fields}
        resp = api.post("devices/printers", json=body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()
    return make


def sale_document(**overrides: Any) -> ReceiptDocument:
    """A receipt like the pos plugin will print: accents, a serial, a barcode."""
    values: dict[str, Any] = dict(
        header=("Vélo Café", "12 Rue de la Paix"),
        title="Sale S-000123",
        info=(("Sale", "S-000123"), ("Customer", "José Müller-Peña")),
        lines=(ReceiptLine("Trek FX 3 Disc", "1", "899.00", detail="SN: WTU123456"),
               ReceiptLine("Casque été", "2", "49.98")),
        totals=(("Subtotal", "948.98"), ("Tax", "75.92"), ("Total", "€1,024.90"),
                ("Cash", "1100.00"), ("Change", "75.10")),
        sections=(ReceiptSection("Warranty", ("Trek FX 3: covered until 2027-11-23",)),),
        barcode="S-000123",
        footer=("Merci — à bientôt!",),
    )
    values.update(overrides)
    return ReceiptDocument(**values)


@pytest.fixture
def document() -> ReceiptDocument:
    return sale_document()
