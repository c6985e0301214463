"""Configuration: ``COUNTERDESK_*`` environment variables, then ``config.toml`` in the
instance folder, then defaults. Explicit values passed to ``create_app`` win."""
from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "COUNTERDESK_"


@dataclass(frozen=True)
class Config:
    instance_path: str = "instance"
    database_url: str = ""            # default: sqlite:///<instance>/counterdesk.db
    redis_url: str = ""               # empty: jobs run in-process after commit
    plugins: str | None = None        # None: every installed plugin
    secret_key: str = ""              # default: generated once into <instance>/secret_key
    password_method: str = "scrypt:131072:8:1"   # OWASP: scrypt N >= 2^17
    login_max_failures: int = 5       # per username within login_window seconds
    login_max_failures_ip: int = 30   # per client address within login_window seconds
    login_window: int = 900
    token_ttl_days: int = 0           # 0: API tokens do not expire until revoked
    attachments_path: str = ""        # default: <instance>/attachments
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None) -> "Config":
        overrides = dict(overrides or {})
        names = {f.name for f in fields(cls)}
        instance = overrides.get("instance_path") or os.environ.get(ENV_PREFIX + "INSTANCE") or "instance"
        values: dict[str, Any] = {"instance_path": str(Path(instance).resolve())}
        file = Path(values["instance_path"]) / "config.toml"
        if file.exists():
            with file.open("rb") as fh:
                for key, value in tomllib.load(fh).items():
                    if key.lower() in names:
                        values[key.lower()] = value
        for f in fields(cls):
            env = os.environ.get(ENV_PREFIX + f.name.upper())
            if env is not None and f.name not in ("instance_path", "extra"):
                values[f.name] = _coerce(f.type, env)
        extra = overrides.pop("extra", {})
        for key, value in overrides.items():
            if key not in names:
                raise KeyError(f"unknown configuration key {key!r}")
            values[key] = value
        cfg = cls(**values, extra=extra)
        instance_dir = Path(cfg.instance_path)
        if not cfg.database_url:
            cfg = replace(cfg, database_url=f"sqlite:///{instance_dir / 'counterdesk.db'}")
        if not cfg.attachments_path:
            cfg = replace(cfg, attachments_path=str(instance_dir / "attachments"))
        return cfg

    def ensure_instance(self) -> None:
        Path(self.instance_path).mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        self.ensure_instance()
        path = Path(self.instance_path) / "secret_key"
        if not path.exists():
            # Shared by every process on this instance; created once, owner-readable only.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip()


def _coerce(type_name: Any, raw: str) -> Any:
    t = str(type_name)
    if t.startswith("int"):
        return int(raw)
    if t.startswith("bool"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw
