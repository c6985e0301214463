"""Form plumbing shared by the screens: load submitted values through the same
marshmallow schemas the API uses, and describe a schema's fields as HTML inputs."""
from __future__ import annotations

from typing import Any, Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from core.errors import Invalid

# Most specific first: marshmallow's Date is a DateTime, and Email is a String.
_INPUT_TYPES: tuple[tuple[type, str], ...] = (
    (fields.Date, "date"), (fields.DateTime, "datetime-local"), (fields.Boolean, "checkbox"),
    (fields.Integer, "number"), (fields.Decimal, "number"), (fields.Float, "number"),
    (fields.Email, "email"),
)


def load(schema: type[Schema], raw: Mapping[str, Any], *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """``raw`` (a form or query MultiDict) loaded by ``schema``. Blank inputs count as
    not given, so an empty filter box means "no filter"; ``lists`` names the keys that
    repeat (checkbox groups). Raises :class:`Invalid` with
    the schema's field messages."""
    data: dict[str, Any] = {}
    for key in raw:
        given = raw.getlist(key) if hasattr(raw, "getlist") else [raw[key]]
        if key in lists:
            data[key] = [v for v in given if v != ""]
        elif given[-1] != "":
            # The last value wins: a checkbox follows a hidden "false" of the same name.
            data[key] = given[-1]
    try:
        return schema(unknown=EXCLUDE).load(data)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        raise Invalid("Some fields are not valid.",
                      fields=messages if isinstance(messages, dict) else {"_schema": messages}) from exc


def inputs(schema: type[Schema], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One HTML input per field of ``schema``: name, label, type, value, choices."""
    out = []
    for name, field in schema().fields.items():
        if field.dump_only:
            continue
        key = field.data_key or name
        kind = next((t for cls, t in _INPUT_TYPES if isinstance(field, cls)), "text")
        choices = next((list(v.choices) for v in _validators(field) if isinstance(v, validate.OneOf)), [])
        out.append({"name": key, "label": key.replace("_", " ").capitalize(),
                    "type": "select" if choices else kind, "choices": choices,
                    "value": values.get(key, ""), "required": field.required,
                    "step": "any" if kind == "number" and not isinstance(field, fields.Integer) else None})
    return out


def _validators(field: fields.Field) -> list[Any]:
    return list(getattr(field, "validators", ()))
