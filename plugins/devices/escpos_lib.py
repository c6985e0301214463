"""python-escpos, imported politely.

Importing it also parses its 1 MB capability database with a pure-Python YAML
parser (3-4 s) unless it finds the pickle it caches in
``ESCPOS_CAPABILITIES_PICKLE_DIR`` -- by default a fresh temporary folder per
process, so never. We point that at one folder per user and write the pickle there
ourselves (the file is JSON: ``json`` reads it in 10 ms), atomically, so workers
starting together never read half a file.

The library calls ``logging.basicConfig()`` when it is imported (every log line would
then be printed twice by an app that configures its own logging) and prints chatter
("Using hardware barcode renderer") to stdout. This module is the only place that
imports it: it takes back the root handler the import added, and ``quiet()`` keeps
the chatter out of stdout while a receipt is built.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import pickle
import platform
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator


def _prepare_capabilities_cache() -> None:
    if "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ or "ESCPOS_CAPABILITIES_FILE" in os.environ:
        return
    spec = importlib.util.find_spec("escpos")
    if spec is None or not spec.submodule_search_locations:
        return
    source = Path(list(spec.submodule_search_locations)[0]) / "capabilities.json"
    folder = Path(tempfile.gettempdir()) / f"counterdesk-escpos-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    target = folder / f"{platform.python_version()}.capabilities.pickle"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            data = json.loads(source.read_text(encoding="utf-8"))
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(data, fh, protocol=2)
            os.replace(tmp, target)
    except (OSError, ValueError):
        return  # python-escpos falls back to its own (slow) loading
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(folder)


def _import_escpos() -> tuple[Any, Any, Any]:
    _prepare_capabilities_cache()
    root = logging.getLogger()
    before = list(root.handlers)
    from escpos import capabilities, exceptions, printer  # noqa: PLC0415 - see module doc
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
    return capabilities, exceptions, printer


capabilities, exceptions, printer = _import_escpos()

_stdout_lock = threading.Lock()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what python-escpos prints while building a receipt (stdout is
    process-wide, so builders take turns)."""
    with _stdout_lock, contextlib.redirect_stdout(io.StringIO()):
        yield
