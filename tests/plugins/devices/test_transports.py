"""Printer URIs and the demo printer."""
from __future__ import annotations

from typing import Any

import pytest

from plugins.devices.transports import InvalidUri, Target, parse_uri


@pytest.mark.parametrize("uri,target", [
    ("dummy:", Target("dummy")),
    ("file:receipts/", Target("file", path="receipts/")),
    ("file:/var/spool/receipts.bin", Target("file", path="/var/spool/receipts.bin")),
    ("file:///var/spool/receipts.bin", Target("file", path="/var/spool/receipts.bin")),
    ("tcp://192.168.1.50:9100", Target("tcp", host="192.168.1.50", port=9100)),
    ("tcp://printer.local", Target("tcp", host="printer.local", port=9100)),
    ("usb://04b8:0202", Target("usb", vendor=0x04B8, product=0x0202)),
    ("usb://04b8:0e15?out_ep=0x02", Target("usb", vendor=0x04B8, product=0x0E15, out_ep=2)),
    ("serial:/dev/ttyUSB0", Target("serial", path="/dev/ttyUSB0")),
    ("serial:/dev/ttyS0?baudrate=19200", Target("serial", path="/dev/ttyS0", baudrate=19200)),
])
def test_good_uris(uri: str, target: Target) -> None:
    assert parse_uri(uri) == target


@pytest.mark.parametrize("uri", [
    "", "printer", "http://x", "dummy:x", "file:", "file://host/x", "file:a/../../b",
    "tcp:host", "tcp://", "tcp://host:0", "tcp://host:9100/path", "tcp://user@host",
    "usb://", "usb://1:zz", "usb://04b8:0202?in_ep=999", "usb://04b8:0202?speed=1",
    "serial:ttyS0", "serial:/dev/", "serial:/dev/ttyS0?baudrate=fast", "tcp://host\n:9100",
])
def test_bad_uris(uri: str) -> None:
    with pytest.raises(InvalidUri) as exc:
        parse_uri(uri)
    assert str(exc.value)


def test_demo_data_adds_a_file_printer_once(runtime: Any) -> None:
    from sqlalchemy import select

    from plugins.devices.models import Printer
    devices = runtime.plugins.modules["devices"]   # only this plugin's part of `demo`
    for _ in range(2):
        with runtime.unit_of_work() as s:
            devices.load_demo_data(session=s, actor=None)
    with runtime.unit_of_work(write=False) as s:
        printers = s.scalars(select(Printer)).all()
    assert [(p.name, p.uri) for p in printers] == [("Counter printer", "file:receipts/")]
