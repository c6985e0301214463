"""Production serving with gunicorn sync workers (steadier p99 than gthread here)."""
from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, instance: str, options: dict[str, Any]) -> None:
        self.instance = instance
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from core.app import create_app
        return create_app({"instance_path": self.instance})


def serve(instance: str, *, host: str, port: int, workers: int) -> None:
    _Server(instance, {"bind": f"{host}:{port}", "workers": workers, "worker_class": "sync",
                       "accesslog": "-", "timeout": 60, "graceful_timeout": 10}).run()
