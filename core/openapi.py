"""The OpenAPI document at ``/api/v1/openapi.json``, generated from the declarations
that :func:`core.rest.endpoint` stores on each API view (``_cd_endpoint``) and from
their marshmallow schemas.

Plugins' API views use the same decorator, so their operations appear without any
registration. A view under ``/api/v1`` without a declaration is still listed (with
what can be known from its permission and docstring), so the document always covers
every endpoint that exists.
"""
from __future__ import annotations

import importlib.metadata
import inspect
import re
from typing import Any, Callable, Iterator

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app
from marshmallow import Schema, fields, validate
from werkzeug.routing import converters as routing
from werkzeug.routing import Rule

from core.auth import PUBLIC, SIGNED_IN, declared_permission
from core.rest import EndpointSpec, ErrorSchema, page_schema

API_PREFIX = "/api/v1"
OPENAPI_VERSION = "3.0.3"
CACHE_KEY = "counterdesk.openapi"
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})
SECURITY_SCHEME = "bearer"

ERROR_DESCRIPTIONS = {
    400: "The request could not be understood (for example, a body that is not JSON or "
         "is nested too deeply, or a NUL character anywhere in it).",
    401: "No valid bearer token (or, when signing in, wrong credentials).",
    403: "The token's user lacks the permission this operation needs.",
    404: "No such record.",
    409: "Conflicts with the current state of a record.",
    413: "The request (an uploaded file) is larger than allowed; the message says the limit.",
    415: "The uploaded content is not of an accepted type; the message says why.",
    422: "Some fields are not valid; `error.fields` says which and why.",
    429: "Too many attempts; wait as long as `Retry-After` says.",
}

# Each error status is one shared response component (all share the error shape).
ERROR_RESPONSES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                   409: "Conflict", 413: "TooLarge", 415: "UnsupportedType", 422: "Invalid",
                   429: "TooManyRequests"}

_RULE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def document(runtime: Any) -> dict[str, Any]:
    """The OpenAPI document of the current app, built once per app (it is static:
    routes and schemas are fixed when the app is created)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    doc = app.extensions.get(CACHE_KEY)
    if doc is None:
        doc = app.extensions[CACHE_KEY] = build(app, runtime)
    return doc


def build(app: Flask, runtime: Any) -> dict[str, Any]:
    """Walk the app's URL map and describe every rule under ``/api/v1``."""
    spec = APISpec(
        title="Counterdesk API",
        version=_version(),
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin(schema_name_resolver=SchemaNames())],
        info={"description": _info_description(runtime)},
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme(SECURITY_SCHEME, {"type": "http", "scheme": "bearer"})
    for status, name in ERROR_RESPONSES.items():
        spec.components.response(name, {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": ErrorSchema}}})
    tags: set[str] = set()
    operation_ids: set[str] = set()
    for rule in sorted(api_rules(app), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions[rule.endpoint]
        operations = {}
        for method in sorted(rule.methods - SKIPPED_METHODS):  # type: ignore[operator]
            op = operation(rule, view, method, _unique(rule.endpoint, method, operation_ids))
            tags.update(op["tags"])
            operations[method.lower()] = op
        spec.path(path=openapi_path(rule), operations=operations,
                  parameters=path_parameters(rule))
    for tag in sorted(tags):
        spec.tag({"name": tag})
    return spec.to_dict()


def api_rules(app: Flask) -> Iterator[Rule]:
    for rule in app.url_map.iter_rules():
        if rule.rule == API_PREFIX or rule.rule.startswith(API_PREFIX + "/"):
            yield rule


def openapi_path(rule: Rule) -> str:
    """``/api/v1/users/<int:user_id>`` → ``/api/v1/users/{user_id}``."""
    return _RULE_ARG.sub(lambda m: "{" + m.group(1) + "}", rule.rule)


# ------------------------------------------------------------------ operations

def operation(rule: Rule, view: Callable[..., Any], method: str, op_id: str) -> dict[str, Any]:
    """One operation object; ``view`` may or may not carry an :class:`EndpointSpec`."""
    spec: EndpointSpec | None = getattr(view, "_cd_endpoint", None)
    permission = spec.permission if spec else declared_permission(view)
    summary, description = _doc(view, spec)
    if permission not in (PUBLIC, SIGNED_IN, None):
        description = (description + "\n\n" if description else "") + \
            f"Needs the permission `{permission}`."
    op: dict[str, Any] = {"operationId": op_id, "summary": summary}
    if description:
        op["description"] = description
    op["tags"] = list(spec.tags) if spec and spec.tags else [rule.endpoint.split(".")[0]]
    op["security"] = [] if permission == PUBLIC else [{SECURITY_SCHEME: []}]
    if permission not in (PUBLIC, SIGNED_IN, None):
        op["x-permission"] = permission
    parameters: list[dict[str, Any]] = []
    if spec and spec.query is not None:
        parameters.append({"in": "query", "schema": spec.query})
    if spec and spec.idempotent:
        parameters.append({"in": "header", "name": "Idempotency-Key", "required": False,
                           "description": "Replaying a key with the same body returns the "
                                          "first response; with another body, 409.",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
    if parameters:
        op["parameters"] = parameters
    if spec and spec.body is not None:
        media = "multipart/form-data" if spec.multipart else "application/json"
        op["requestBody"] = {"required": True, "content": {media: {"schema": spec.body}}}
    op["responses"] = {str(spec.status if spec else 200): success_response(spec)}
    for status in error_statuses(rule, spec, permission):
        op["responses"][str(status)] = ERROR_RESPONSES.get(status) or {
            "description": "An error.", "content": {"application/json": {"schema": ErrorSchema}}}
    return op


def success_response(spec: EndpointSpec | None) -> dict[str, Any]:
    if spec is None:
        return {"description": "Success."}
    if spec.status == 204:
        return {"description": "Done; no content."}
    content: dict[str, Any] = {}
    if spec.content_type == "application/json":
        content["application/json"] = {"schema": _response_schema(spec)}
    else:  # one media type, or several separated by commas (a download of any of them)
        for media in spec.content_type.split(","):
            content[media.strip()] = {"schema": {"type": "string"}}
    if _offers_csv(spec):
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"description": "Success.", "content": content}


def _response_schema(spec: EndpointSpec) -> Any:
    if spec.response is None:
        return {"type": "object"}
    if spec.paginated:
        return page_schema(spec.response)
    return spec.response(many=True) if spec.many else spec.response


def _offers_csv(spec: EndpointSpec) -> bool:
    """A ``format`` query parameter that accepts ``csv`` (reports) answers CSV too."""
    if spec.query is None:
        return False
    field = spec.query._declared_fields.get("format")
    if not isinstance(field, fields.String):
        return False
    return any(isinstance(v, validate.OneOf) and "csv" in v.choices for v in field.validators)


def error_statuses(rule: Rule, spec: EndpointSpec | None, permission: str | None) -> list[int]:
    # 400 anywhere: a NUL character in the path, the query or a header (core.app)
    statuses = set(spec.errors if spec else ()) | {400}
    if permission != PUBLIC:
        statuses |= {401, 403}
    if rule.arguments:
        statuses.add(404)   # no such record, or a path argument the converter refuses
    if spec and spec.body is not None:
        statuses |= {400, 422}
    if spec and spec.query is not None:
        statuses.add(422)
    if spec and spec.idempotent:
        statuses |= {400, 409}
    return sorted(statuses)


def path_parameters(rule: Rule) -> list[dict[str, Any]]:
    converters = getattr(rule, "_converters", {})
    return [{"in": "path", "name": name, "required": True,
             "schema": converter_schema(converters.get(name))}
            for name in _RULE_ARG.findall(rule.rule)]


def converter_schema(converter: Any) -> dict[str, Any]:
    """The JSON schema of what a werkzeug converter accepts."""
    if isinstance(converter, routing.NumberConverter):
        integer = isinstance(converter, routing.IntegerConverter)
        schema: dict[str, Any] = {"type": "integer" if integer else "number"}
        if converter.min is not None:
            schema["minimum"] = converter.min
        elif not converter.signed:
            schema["minimum"] = 0
        maximum = converter.max if converter.max is not None else getattr(converter, "limit", None)
        if maximum is not None:
            schema["maximum"] = maximum
        return schema
    if isinstance(converter, routing.UUIDConverter):
        return {"type": "string", "format": "uuid"}
    if isinstance(converter, routing.AnyConverter):
        return {"type": "string", "enum": sorted(converter.items)}
    schema = {"type": "string", "minLength": getattr(converter, "minlength", 1) or 1}
    if getattr(converter, "maxlength", None):
        schema["maxLength"] = converter.maxlength
    if not isinstance(converter, routing.PathConverter):
        schema["pattern"] = "^[^/]+$"
    return schema


# --------------------------------------------------------------------- helpers

class SchemaNames:
    """Component names for marshmallow schemas: the class name less ``Schema``,
    qualified by the owning plugin when two classes would share a name."""

    def __init__(self) -> None:
        self.by_class: dict[type, str] = {}
        self.taken: dict[str, type] = {}

    def __call__(self, schema: Any) -> str:
        cls = schema if isinstance(schema, type) else type(schema)
        if cls in self.by_class:
            return self.by_class[cls]
        base = cls.__name__.removesuffix("Schema") or cls.__name__
        name = base
        if name in self.taken:
            owner = cls.__module__.split(".")[1 if cls.__module__.startswith("plugins.") else 0]
            name = f"{owner}_{base}"
            n = 2
            while name in self.taken:
                name, n = f"{owner}_{base}{n}", n + 1
        self.by_class[cls], self.taken[name] = name, cls
        return name


def _doc(view: Callable[..., Any], spec: EndpointSpec | None) -> tuple[str, str]:
    """Summary (the docstring's first paragraph, or the declared summary) and the rest."""
    doc = inspect.cleandoc(view.__doc__ or "")
    first, _, rest = doc.partition("\n\n")
    summary = " ".join(first.split())
    if spec and spec.summary and spec.summary != first.split("\n")[0].strip():
        summary = spec.summary   # declared explicitly with endpoint(summary=...)
    return summary or view.__name__.replace("_", " "), rest.strip()


def _unique(endpoint: str, method: str, used: set[str]) -> str:
    op_id = endpoint
    if op_id in used:
        op_id = f"{endpoint}.{method.lower()}"
    used.add(op_id)
    return op_id


def _version() -> str:
    try:
        return importlib.metadata.version("counterdesk")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "0"


def _info_description(runtime: Any) -> str:
    names = ", ".join(sorted(runtime.plugins.manifests)) if runtime is not None else ""
    return ("Counterdesk's JSON API. Errors are `{\"error\": {code, message, fields}}`; "
            "lists are `{items, total, page, per_page}`; money is a string with two "
            "decimals. Enabled plugins: " + (names or "none") + ".")
