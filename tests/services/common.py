"""Helpers for fixtures that start real services on 127.0.0.1."""
from __future__ import annotations

import os
import shutil
import socket

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip with ``reason`` — except under CI=true, where a missing service fails."""
    if in_ci():
        pytest.fail(f"CI=true and a real-service test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def need_binary(name: str, *candidates: str) -> str:
    for path in (*candidates, shutil.which(name)):
        if path and os.path.exists(path):
            return path
    unavailable(f"{name} is not installed (apt-get install the package that provides it)")
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
