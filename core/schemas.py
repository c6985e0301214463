"""marshmallow schemas of the kernel's API (they also generate its OpenAPI document)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.rest import PageArgs

NAME = validate.Length(min=1, max=64)


class RoleRefSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)


class UserSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)
    roles = fields.Method("_roles", required=True,
                          metadata={"type": "array", "items": {"type": "string"}})
    created_at = fields.DateTime(required=True)

    def _roles(self, user: object) -> list[str]:
        return user.role_names  # type: ignore[attr-defined]


class MeSchema(Schema):
    user = fields.Nested(UserSchema, required=True)
    roles = fields.List(fields.String(), required=True)
    permissions = fields.List(fields.String(), required=True)


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024),
                             load_only=True)
    name = fields.String(load_default="", validate=validate.Length(max=120))


class TokenIssuedSchema(Schema):
    id = fields.Integer(required=True)
    token = fields.String(required=True, metadata={"description": "Shown once; store it safely."})
    user = fields.Nested(UserSchema, required=True)


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    user_id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True, required=True)
    expires_at = fields.DateTime(allow_none=True, required=True)
    revoked_at = fields.DateTime(allow_none=True, required=True)


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=[NAME, validate.Regexp(
        r"^[A-Za-z0-9_.@-]+$", error="Letters, digits and _ . @ - only.")])
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=1024))
    display_name = fields.String(load_default="", validate=validate.Length(max=120))
    email = fields.Email(load_default=None, allow_none=True)
    roles = fields.List(fields.String(validate=NAME), load_default=list,
                        validate=validate.Length(max=20))


class UserUpdateSchema(Schema):
    display_name = fields.String(validate=validate.Length(max=120))
    email = fields.Email(allow_none=True)
    active = fields.Boolean()
    roles = fields.List(fields.String(validate=NAME), validate=validate.Length(max=20))
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=1024))


class UserListArgs(PageArgs):
    q = fields.String(load_default=None, validate=validate.Length(max=100))


class RoleSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    builtin = fields.Boolean(required=True)
    permissions = fields.List(fields.String(), required=True)


class RoleCreateSchema(Schema):
    name = fields.String(required=True, validate=[NAME, validate.Regexp(
        r"^[a-z][a-z0-9_]*$", error="lower_snake_case only.")])
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    permissions = fields.List(fields.String(validate=validate.Length(max=120)), load_default=list)


class RolePermissionsSchema(Schema):
    permissions = fields.List(fields.String(validate=validate.Length(max=120)), required=True)


class PermissionSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    plugin = fields.String(required=True)
    default_roles = fields.List(fields.String(), required=True)


class PluginSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    requires = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    reason = fields.String(required=True)


class SettingSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(
        ["str", "text", "int", "decimal", "bool", "choice"]))
    help = fields.String(required=True)
    default = fields.Raw(required=True, allow_none=True)
    value = fields.Raw(required=True, allow_none=True)
    choices = fields.List(fields.String(), required=True)
    min = fields.String(allow_none=True, required=True)
    max = fields.String(allow_none=True, required=True)


class PluginSettingsSchema(Schema):
    plugin = fields.String(required=True)
    settings = fields.List(fields.Nested(SettingSchema), required=True)


class SettingsListSchema(Schema):
    items = fields.List(fields.Nested(PluginSettingsSchema), required=True)


class SettingsUpdateSchema(Schema):
    """``{key: value}`` pairs; every key must be one of the plugin's settings."""
    values = fields.Dict(keys=fields.String(validate=validate.Length(max=64)), values=fields.Raw(
        allow_none=False), required=True)


class AuditEntrySchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor_id = fields.Integer(allow_none=True, required=True)
    actor_name = fields.String(required=True)
    action = fields.String(required=True)
    record_type = fields.String(allow_none=True, required=True)
    record_id = fields.String(allow_none=True, required=True)
    before = fields.Dict(allow_none=True, required=True)
    after = fields.Dict(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    ip = fields.String(allow_none=True, required=True)
    hash = fields.String(required=True)


class AuditListArgs(PageArgs):
    action = fields.String(load_default=None, validate=validate.Length(max=120))
    record_type = fields.String(load_default=None, validate=validate.Length(max=64))
    record_id = fields.String(load_default=None, validate=validate.Length(max=64))
    actor_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**62))


class AuditVerifySchema(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    first_bad_id = fields.Integer(allow_none=True, required=True)


class ReportInfoSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    plugin = fields.String(required=True)
    params = fields.List(fields.String(), required=True)


class ReportListSchema(Schema):
    items = fields.List(fields.Nested(ReportInfoSchema), required=True)


class ReportColumnSchema(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    type = fields.String(required=True)


class ChartSchema(Schema):
    kind = fields.String(required=True)
    x = fields.String(required=True)
    y = fields.List(fields.String(), required=True)


class ReportResultSchema(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    params = fields.Dict(required=True)
    columns = fields.List(fields.Nested(ReportColumnSchema), required=True)
    rows = fields.List(fields.List(fields.Raw(allow_none=True)), required=True)
    chart = fields.Nested(ChartSchema, allow_none=True, required=True)


class ReportArgs(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class SearchArgs(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SearchResultSchema(Schema):
    type = fields.String(required=True)
    id = fields.Raw(required=True)
    title = fields.String(required=True)
    subtitle = fields.String(required=True)
    url = fields.String(required=True)
    exact = fields.Boolean(required=True)


class SearchResponseSchema(Schema):
    query = fields.String(required=True)
    results = fields.List(fields.Nested(SearchResultSchema), required=True)


class JobSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kwargs = fields.Dict(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    max_attempts = fields.Integer(required=True)
    run_after = fields.DateTime(required=True)
    created_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)


class JobListArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["pending", "queued", "running", "done", "failed"]))
