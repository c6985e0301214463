"""Where a printer is: its URI, checked when the printer is saved, and the one call
that sends a rendered receipt there.

``dummy:``                      keeps the bytes on the print job (tests, demos)
``file:receipts/till1.bin``     appends to a file; ``file:dir/`` writes one file per
                                job into a folder (the embedded default is
                                ``file:receipts/``). Only inside the instance folder:
                                a relative path is resolved under it, an absolute one
                                (``file:/srv/counterdesk/instance/receipts/``) must lie
                                in it
``tcp://host[:9100]``           a network printer (raw port 9100)
``usb://04b8:0202[?in_ep=0x82&out_ep=0x01]``   vendor:product in hex
``serial:/dev/ttyS0[?baudrate=19200]``

A ``file:`` printer never writes outside the instance folder, so neither a mistyped
URI nor a stolen admin account turns printing into writing any file the server may
(``file:/etc/cron.d/x``): ``parse_uri`` refuses ``..``, and :func:`file_location`
refuses a path that lies outside the folder or leads out of it through a symbolic
link — when the printer is saved and again before every write (a row saved before
the rule, or a link made since). The write itself opens the resolved path without
following a link.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

SCHEMES = ("dummy", "file", "tcp", "usb", "serial")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
CONNECT_TIMEOUT = 10.0  # seconds: a printer that does not answer fails the attempt


class InvalidUri(ValueError):
    """The printer URI cannot be used; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    path: str = ""            # file, serial
    host: str = ""            # tcp
    port: int = 9100          # tcp
    vendor: int = 0           # usb
    product: int = 0          # usb
    in_ep: int = 0x82         # usb
    out_ep: int = 0x01        # usb
    baudrate: int = 9600      # serial

    @property
    def folder(self) -> bool:
        """A ``file:`` target ending in ``/``: one file per print job."""
        return self.scheme == "file" and self.path.endswith("/")


_HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_HEX4_RE = re.compile(r"^(?:0x)?[0-9a-fA-F]{1,4}$")


def _query(text: str, allowed: dict[str, type]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key not in allowed:
            raise InvalidUri(f"unknown option {key!r} (allowed: {', '.join(allowed) or 'none'})")
        try:
            out[key] = int(value, 0)
        except ValueError:
            raise InvalidUri(f"option {key} must be a number, not {value!r}") from None
    return out


def parse_uri(uri: str) -> Target:
    """The printer a URI names. Raises :class:`InvalidUri` with a message for the user."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidUri("a printer URI is required, e.g. tcp://192.168.1.50:9100")
    uri = uri.strip()
    if any(ord(c) < 32 for c in uri):
        raise InvalidUri("the URI contains control characters")
    try:
        uri.encode("utf-8")   # a lone surrogate names no path or host
    except UnicodeEncodeError:
        raise InvalidUri("the URI contains characters that are not valid Unicode") from None
    scheme, sep, rest = uri.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise InvalidUri(f"unknown printer URI {uri!r}: it must start with one of "
                         + ", ".join(f"{s}:" for s in SCHEMES))
    if scheme == "dummy":
        if rest not in ("", "//"):
            raise InvalidUri("a dummy printer URI is just 'dummy:'")
        return Target("dummy")
    if scheme == "file":
        path = rest[2:] if rest.startswith("///") else rest
        if rest.startswith("//") and not rest.startswith("///"):
            raise InvalidUri("file URIs name a local path: file:/path or file:///path")
        if not path or path in ("/", "."):
            raise InvalidUri("a file printer needs a path inside the instance folder, "
                             "e.g. file:receipts/ or file:receipts/till1.bin")
        if "\x00" in path or ".." in Path(path).parts:
            raise InvalidUri("the file path may not contain '..'")
        return Target("file", path=path)
    if scheme == "tcp":
        if not rest.startswith("//"):
            raise InvalidUri("a network printer URI looks like tcp://192.168.1.50:9100")
        netloc, _, tail = rest[2:].partition("/")
        if tail or "?" in netloc or "@" in netloc:
            raise InvalidUri("a network printer URI is tcp://host:port, nothing more")
        host, _, port_text = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
        if not host or not _HOST_RE.match(host):
            raise InvalidUri(f"{host or '(empty)'!r} is not a host name or IPv4 address")
        port = 9100
        if port_text:
            if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
                raise InvalidUri(f"port {port_text!r} is not a number from 1 to 65535")
            port = int(port_text)
        return Target("tcp", host=host, port=port)
    if scheme == "usb":
        if not rest.startswith("//"):
            raise InvalidUri("a USB printer URI looks like usb://04b8:0202 (vendor:product in hex)")
        ids, _, query = rest[2:].partition("?")
        vendor, _, product = ids.partition(":")
        if not _HEX4_RE.match(vendor) or not _HEX4_RE.match(product):
            raise InvalidUri("a USB printer URI looks like usb://04b8:0202 (vendor:product in hex)")
        opts = _query(query, {"in_ep": int, "out_ep": int})
        if any(not 0 <= v <= 0xFF for v in opts.values()):
            raise InvalidUri("USB end points are numbers from 0x00 to 0xFF")
        return Target("usb", vendor=int(vendor, 16), product=int(product, 16),
                      in_ep=opts.get("in_ep", 0x82), out_ep=opts.get("out_ep", 0x01))
    # serial
    path, _, query = rest.partition("?")
    if not path.startswith("/dev/") or len(path) <= len("/dev/"):
        raise InvalidUri("a serial printer URI looks like serial:/dev/ttyS0?baudrate=19200")
    opts = _query(query, {"baudrate": int})
    baudrate = opts.get("baudrate", 9600)
    if baudrate not in BAUDRATES:
        raise InvalidUri(f"baudrate {baudrate} is not one of {', '.join(map(str, BAUDRATES))}")
    return Target("serial", path=path, baudrate=baudrate)


def file_location(target: Target, base_dir: str) -> Path:
    """The real path of a ``file:`` target (its folder when it writes one file per
    job): a relative path resolved under ``base_dir`` (the instance folder), symbolic
    links followed. Raises :class:`InvalidUri` unless it lies inside ``base_dir`` (a
    folder target may be ``base_dir`` itself)."""
    base = Path(os.path.realpath(base_dir))
    path = Path(target.path)
    return _inside(path if path.is_absolute() else base / path, base, target.path,
                   may_be_base=target.folder)


def file_path(target: Target, base_dir: str, job_id: int) -> Path:
    """The real path a ``file:`` target writes job ``job_id`` to, checked like
    :func:`file_location` (in a folder target, a job file that is a link out of the
    instance folder is refused too)."""
    location = file_location(target, base_dir)
    if not target.folder:
        return location
    return _inside(location / f"job-{job_id:06d}.bin", Path(os.path.realpath(base_dir)),
                   target.path, may_be_base=False)


def _inside(path: Path, base: Path, shown: str, *, may_be_base: bool) -> Path:
    """``path`` with its links resolved, if that lies in the real folder ``base``;
    else :class:`InvalidUri` naming ``shown`` (the path as the URI gave it)."""
    real = Path(os.path.realpath(path))
    if real.is_relative_to(base) and (may_be_base or real != base):
        return real
    if real == base:
        raise InvalidUri(f"{shown!r} is the instance folder itself: name a file inside it, or "
                         "end the path with / for one file per job")
    if Path(os.path.abspath(path)).is_relative_to(base):
        raise InvalidUri(f"{shown!r} leads outside the instance folder ({base}) through a "
                         "symbolic link; file printers write only inside it")
    raise InvalidUri(f"{shown!r} is outside the instance folder ({base}); file printers write "
                     "only inside it: give a path relative to it, e.g. file:receipts/")


def send(target: Target, data: bytes, *, job_id: int, base_dir: str,
         timeout: float = CONNECT_TIMEOUT) -> None:
    """Deliver ``data`` to the printer in one go. Raises on any failure (the print
    job records it and is retried), :class:`InvalidUri` for a ``file:`` target
    outside ``base_dir`` (nothing is written). A ``dummy:`` printer takes the bytes
    and does nothing with them."""
    if target.scheme == "dummy":
        return
    if target.scheme == "file":
        _write_file(file_path(target, base_dir, job_id), data, replace=target.folder)
        return
    from plugins.devices import escpos_lib
    printer_cls = escpos_lib.printer
    if target.scheme == "tcp":
        device = printer_cls.Network(target.host, target.port, timeout=timeout)
    elif target.scheme == "usb":
        device = printer_cls.Usb(target.vendor, target.product, timeout=int(timeout * 1000),
                                 in_ep=target.in_ep, out_ep=target.out_ep)
    else:
        device = printer_cls.Serial(devfile=target.path, baudrate=target.baudrate, timeout=timeout)
    try:
        with escpos_lib.quiet():
            device.open()  # raises DeviceNotFoundError: construction never fails
        device._raw(data)  # the one write python-escpos offers for ready-made bytes
    finally:
        device.close()


def _write_file(path: Path, data: bytes, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # ``path`` is resolved and checked: a link put in its place since is not followed.
    flags = (os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
             | (os.O_TRUNC if replace else os.O_APPEND))
    fd = os.open(path, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
