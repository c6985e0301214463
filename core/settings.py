"""Plugin settings: declared with types and defaults, stored per plugin, validated on
every change, and audited."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.errors import Invalid, NotFound
from core.models import SettingValue, User
from core.types import Setting


def coerce(setting: Setting, raw: Any) -> Any:
    """The typed value of ``raw`` for ``setting``, or ValueError saying why not."""
    t = setting.type
    if t in ("str", "text"):
        if not isinstance(raw, str):
            raise ValueError("Must be text.")
        value: Any = raw.strip()
        if t == "str" and len(value) > 255:
            raise ValueError("At most 255 characters.")
        if len(value) > 10_000:
            raise ValueError("At most 10,000 characters.")
    elif t == "bool":
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and raw.lower() in ("true", "false", "on", "off", "1", "0", "yes", "no"):
            value = raw.lower() in ("true", "on", "1", "yes")
        else:
            raise ValueError("Must be true or false.")
    elif t == "int":
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise ValueError("Must be a whole number.")
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("Must be a whole number.") from None
    elif t == "decimal":
        if isinstance(raw, (bool, float)) or not isinstance(raw, (int, str, Decimal)):
            raise ValueError("Must be a number written as a string, such as \"12.50\".")
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError("Must be a number.") from None
        if not value.is_finite():
            raise ValueError("Must be a number.")
    elif t == "choice":
        if raw not in setting.choices:
            raise ValueError(f"Must be one of: {', '.join(setting.choices)}.")
        value = raw
    else:  # pragma: no cover - Setting validates its type
        raise ValueError(f"unknown type {t}")
    if t in ("int", "decimal"):
        if setting.min is not None and value < setting.min:
            raise ValueError(f"At least {setting.min}.")
        if setting.max is not None and value > setting.max:
            raise ValueError(f"At most {setting.max}.")
    return value


def to_json(setting: Setting, value: Any) -> Any:
    return str(value) if setting.type == "decimal" else value


def from_json(setting: Setting, raw: Any) -> Any:
    if raw is None:
        return setting.default
    return Decimal(raw) if setting.type == "decimal" else raw


def values(session: Session, declared: dict[str, dict[str, Setting]], plugin: str) -> dict[str, Any]:
    if plugin not in declared:
        raise NotFound(f"No settings for plugin {plugin!r}.")
    stored = {row.key: row.value for row in session.scalars(
        select(SettingValue).where(SettingValue.plugin == plugin))}
    return {key: from_json(s, stored.get(key)) for key, s in declared[plugin].items()}


def describe(session: Session, declared: dict[str, dict[str, Setting]]) -> list[dict[str, Any]]:
    """Every enabled plugin's settings with type, default, help and current value."""
    out = []
    for plugin in sorted(declared, key=lambda p: (p != "core", p)):
        current = values(session, declared, plugin)
        out.append({"plugin": plugin, "settings": [
            {"key": s.key, "label": s.label, "type": s.type, "help": s.help,
             "default": to_json(s, s.default), "value": to_json(s, current[s.key]),
             "choices": list(s.choices),
             "min": None if s.min is None else str(s.min),
             "max": None if s.max is None else str(s.max)}
            for s in declared[plugin].values()]})
    return out


def update(session: Session, declared: dict[str, dict[str, Setting]], plugin: str,
           changes: dict[str, Any], actor: User, hook: Any = None) -> dict[str, Any]:
    """Validate every change first, then store them all and audit them together."""
    if plugin not in declared:
        raise NotFound(f"No settings for plugin {plugin!r}.")
    specs = declared[plugin]
    errors: dict[str, list[str]] = {}
    typed: dict[str, Any] = {}
    for key, raw in changes.items():
        if key not in specs:
            errors[key] = ["Unknown setting."]
            continue
        try:
            typed[key] = coerce(specs[key], raw)
        except ValueError as exc:
            errors[key] = [str(exc)]
    if errors:
        raise Invalid("Some settings are not valid.", fields=errors)
    current = values(session, declared, plugin)
    before = {k: to_json(specs[k], current[k]) for k, v in typed.items() if current[k] != v}
    after = {k: to_json(specs[k], typed[k]) for k in before}
    for key in before:
        row = session.get(SettingValue, (plugin, key))
        if row is None:
            session.add(SettingValue(plugin=plugin, key=key, value=after[key], updated_by=actor.id))
        else:
            row.value = after[key]
            row.updated_by = actor.id
    session.flush()
    session.info.pop(_CACHE, None)
    if before:
        audit.record(session, "settings.changed", actor=actor, record_type="settings",
                     record_id=plugin, before=before, after=after)
        if hook is not None:
            hook.settings_changed(session=session, plugin=plugin, before=before, after=after,
                                  actor=actor)
    return values(session, declared, plugin)


_CACHE = "counterdesk_settings"
_ALL_VALUES = select(SettingValue.__table__.c.plugin, SettingValue.__table__.c.key,
                    SettingValue.__table__.c.value)


def get_setting(plugin: str, key: str, session: Session | None = None) -> Any:
    """The current value of a setting (its default when never set), read in the
    current unit of work."""
    from core.db import current_session
    from core.runtime import current
    declared = current().registry.settings
    if plugin not in declared or key not in declared[plugin]:
        raise KeyError(f"no setting {plugin}.{key}")
    s = session or current_session()
    # One query per unit of work for every plugin's stored values (only values changed
    # from their defaults have a row: a few dozen): a sale reads the settings of three
    # plugins, most of them still at their defaults, which would otherwise each cost a query.
    cache = s.info.get(_CACHE)
    if cache is None:
        cache = s.info[_CACHE] = {}
        for row_plugin, row_key, value in s.connection().execute(_ALL_VALUES):
            cache.setdefault(row_plugin, {})[row_key] = value
    return from_json(declared[plugin][key], cache.get(plugin, {}).get(key))
