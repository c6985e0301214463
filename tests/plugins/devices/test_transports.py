"""Printer URIs, where a file printer may write, and the demo printer."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plugins.devices.transports import (InvalidUri, Target, _write_file, file_location, file_path,
                                        parse_uri, send)


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
    "file:receipts/\ud800.bin",
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


# ------------------------------------------------- file printers stay in the instance

@pytest.fixture
def instance(tmp_path: Path) -> Path:
    """An instance folder, a folder outside it, and links from one to the other."""
    inside = tmp_path / "instance"
    (inside / "receipts").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (inside / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    (inside / "cron").symlink_to(tmp_path / "outside" / "x")        # dangling, points out
    (inside / "ok").symlink_to(inside / "receipts", target_is_directory=True)
    (tmp_path / "elsewhere").symlink_to(inside, target_is_directory=True)
    return inside


def _location(uri: str, base: Path) -> Path:
    return file_location(parse_uri(uri), str(base))


@pytest.mark.parametrize("uri,expected", [
    ("file:receipts/", "receipts"),
    ("file:receipts/till1.bin", "receipts/till1.bin"),
    ("file:new/folder/till1.bin", "new/folder/till1.bin"),    # made on the first write
    ("file:{base}/receipts/till1.bin", "receipts/till1.bin"),
    ("file://{base}/receipts/", "receipts"),
    ("file:{base}/", ""),                                      # one file per job, in the folder
    ("file:{tmp}/elsewhere/receipts/x.bin", "receipts/x.bin"),  # a link into the folder
    ("file:ok/till1.bin", "receipts/till1.bin"),               # a link inside it
])
def test_file_printers_inside_the_instance_folder(instance: Path, uri: str, expected: str) -> None:
    uri = uri.format(base=instance, tmp=instance.parent)
    assert _location(uri, instance) == (instance / expected).resolve()


@pytest.mark.parametrize("uri,why", [
    ("file:/etc/cron.d/x", "outside the instance folder"),
    ("file:{tmp}/outside/x.bin", "outside the instance folder"),
    ("file:{tmp}/instance-evil/x.bin", "outside the instance folder"),  # a shared prefix is not in
    ("file:{base}", "the instance folder itself"),             # a folder is not a file
    ("file:out/x.bin", "symbolic link"),
    ("file:out/", "symbolic link"),
    ("file:cron", "symbolic link"),                            # dangling: the write would follow it
    ("file:{base}/out/x.bin", "symbolic link"),
])
def test_file_printers_outside_the_instance_folder_are_refused(instance: Path, uri: str,
                                                               why: str) -> None:
    with pytest.raises(InvalidUri) as exc:
        _location(uri.format(base=instance, tmp=instance.parent), instance)
    assert why in str(exc.value)


def test_sending_to_a_file_outside_writes_nothing(instance: Path) -> None:
    outside = instance.parent / "outside"
    for uri in (f"file:{outside}/x.bin", "file:out/x.bin", "file:out/", "file:cron"):
        with pytest.raises(InvalidUri):
            send(parse_uri(uri), b"\x1b@hello", job_id=7, base_dir=str(instance))
    assert list(outside.iterdir()) == []
    send(parse_uri("file:receipts/"), b"\x1b@hello", job_id=7, base_dir=str(instance))
    assert (instance / "receipts" / "job-000007.bin").read_bytes() == b"\x1b@hello"


def test_a_job_file_that_links_out_of_a_folder_printer_is_refused(instance: Path) -> None:
    target = parse_uri("file:receipts/")
    (instance / "receipts" / "job-000008.bin").symlink_to(instance.parent / "outside" / "y")
    with pytest.raises(InvalidUri):
        send(target, b"data", job_id=8, base_dir=str(instance))
    assert not (instance.parent / "outside" / "y").exists()


def test_a_link_made_after_the_check_is_not_followed(instance: Path) -> None:
    path = file_path(parse_uri("file:receipts/till1.bin"), str(instance), 1)
    path.symlink_to(instance.parent / "outside" / "z")       # swapped in before the write
    with pytest.raises(OSError):
        _write_file(path, b"data", replace=False)
    assert not (instance.parent / "outside" / "z").exists()
