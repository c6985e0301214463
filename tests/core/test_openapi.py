"""The OpenAPI document at /api/v1/openapi.json: valid, complete, and true to what the
API really answers (schemathesis fuzzes every operation in-process)."""
from __future__ import annotations

import re
import shutil
from typing import Any, Callable, Iterator

import pytest
import schemathesis
from flask import Blueprint
from hypothesis import HealthCheck, given, settings
from marshmallow import Schema, fields
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from core import Manifest, endpoint, hookimpl

SKIPPED = {"HEAD", "OPTIONS"}


def openapi_path(rule: str) -> str:
    """``/users/<int:user_id>`` → ``/users/{user_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_document_is_valid_openapi(client: Any) -> None:
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    validate(resp.json)


def test_every_api_route_is_described(app: Any, client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        described = paths.get(openapi_path(rule.rule), {})
        missing += [f"{m} {rule.rule}" for m in sorted(rule.methods - SKIPPED)
                    if m.lower() not in described]
    assert missing == []


def test_operations_carry_security_errors_and_ids(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json
    ops = {op["operationId"]: op for item in doc["paths"].values()
           for key, op in item.items() if key != "parameters"}
    assert len(ops) == sum(len([k for k in item if k != "parameters"])
                           for item in doc["paths"].values())
    assert ops["api.create_token"]["security"] == []
    assert ops["api.list_users"]["security"] == [{"bearer": []}]
    assert ops["api.list_users"]["x-permission"] == "core.users.view"
    assert set(ops["api.list_users"]["responses"]) == {"200", "400", "401", "403", "422"}
    page = ops["api.list_users"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/UserPage"}
    assert set(doc["components"]["schemas"]["UserPage"]["properties"]) == {
        "items", "total", "page", "per_page"}
    assert ops["api.list_roles"]["responses"]["200"]["content"]["application/json"]["schema"][
        "type"] == "array"
    assert "text/csv" in ops["api.run_report"]["responses"]["200"]["content"]
    assert ops["api.get_user"]["responses"]["404"] == {"$ref": "#/components/responses/NotFound"}
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_path_parameters_follow_the_converters(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    [user_id] = paths["/api/v1/users/{user_id}"]["parameters"]
    assert user_id["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
    [role] = paths["/api/v1/roles/{name}/permissions"]["parameters"]
    assert role["schema"]["type"] == "string"


def test_path_ids_beyond_64_bits_are_not_found(api: Any) -> None:
    for resp in (api.get(f"users/{2**64}"), api.patch(f"users/{2**64}", json={})):
        assert resp.status_code == 404   # PATCH too: not a 405 because GET would match
        assert resp.json["error"]["code"] == "not_found"


def test_lone_surrogates_in_a_body_are_a_bad_request(api: Any) -> None:
    resp = api.client.post("/api/v1/roles", data='{"name": "x", "title": "\\ud800"}',
                           content_type="application/json", headers=api._headers(None))
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "bad_request"


def test_signing_in_while_sending_a_token(api: Any) -> None:
    """A client that always sends its (maybe stale) token can still sign in."""
    resp = api.post("auth/tokens", json={"username": "root", "password": "correct horse battery"})
    assert resp.status_code == 201


def test_document_is_built_once_per_app(app: Any, client: Any) -> None:
    first = client.get("/api/v1/openapi.json").json
    cached = app.extensions["counterdesk.openapi"]
    assert client.get("/api/v1/openapi.json").json == first
    assert app.extensions["counterdesk.openapi"] is cached


class GadgetSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(required=True)


def gadget_plugin() -> Any:
    bp = Blueprint("gadgets", __name__, url_prefix="/api/v1/gadgets")

    @bp.get("/<int:gadget_id>")
    @endpoint(permission="gadgets.gadget.view", response=GadgetSchema, tags=["gadgets"])
    def get_gadget(gadget_id: int) -> Any:
        """One gadget."""
        return {"id": gadget_id, "label": "g"}

    class Gadgets:
        manifest = Manifest(name="gadgets", version="1.0.0", title="Gadgets")

        @hookimpl
        def register_blueprints(self) -> list[Blueprint]:
            return [bp]

        @hookimpl
        def register_permissions(self) -> list[Any]:
            from core import Permission
            return [Permission("gadgets.gadget.view", "See gadgets")]
    return Gadgets()


def test_plugin_endpoints_appear(app_factory: Callable[..., Any]) -> None:
    app = app_factory(plugins=(gadget_plugin(),))
    doc = app.test_client().get("/api/v1/openapi.json").json
    validate(doc)
    op = doc["paths"]["/api/v1/gadgets/{gadget_id}"]["get"]
    assert op["operationId"] == "gadgets.get_gadget"
    assert op["summary"] == "One gadget."
    assert op["x-permission"] == "gadgets.gadget.view"
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Gadget"}


# ------------------------------------------------------------------ schemathesis
#
# One app for the whole fuzz run (SQLite only: the document is the same on both
# backends, and the run is the slow part), signed in as an admin so that every
# operation is reachable.
#
# The fuzzer legitimately calls DELETE /auth/tokens/{id} and
# POST /users/{id}/revoke-sessions, and those may hit the admin's own token. Rather
# than exclude them, the admin's token is re-minted (directly, not through the API)
# after either succeeds, so they are fuzzed like everything else and a revocation
# never turns the rest of the run into 401s.

REVOKING = {"api.revoke_token", "api.revoke_sessions"}


class AdminTokens:
    """The fuzzing admin's bearer token, re-minted after a revocation."""

    def __init__(self, runtime: Any, user_id: int) -> None:
        self.runtime, self.user_id = runtime, user_id
        self.current = self.mint()

    def mint(self) -> str:
        from core.auth import issue_token
        from core.models import User
        with self.runtime.unit_of_work() as s:
            return issue_token(s, s.get(User, self.user_id), name="fuzz")[1]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.current}"}

    def after(self, operation_id: str, status: int) -> None:
        if operation_id in REVOKING and status < 300:
            self.current = self.mint()


@pytest.fixture(scope="module")
def fuzz_app(sqlite_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from core.app import create_app
    from core.runtime import set_current
    from tests.conftest import TEST_PASSWORD_METHOD
    d = tmp_path_factory.mktemp("openapi-fuzz")
    shutil.copyfile(sqlite_template, d / "fuzz.db")
    app = create_app({"instance_path": str(d / "instance"), "database_url": f"sqlite:///{d / 'fuzz.db'}",
                      "password_method": TEST_PASSWORD_METHOD, "testing": True})
    yield app
    app.extensions["counterdesk"].close()
    set_current(None)


@pytest.fixture(scope="module")
def fuzz_admin(fuzz_app: Any) -> AdminTokens:
    from core.auth import create_user
    from tests.conftest import PASSWORD, TEST_PASSWORD_METHOD
    rt = fuzz_app.extensions["counterdesk"]
    with rt.unit_of_work() as s:
        admin_id = create_user(s, username="fuzz_admin", password=PASSWORD, roles=["admin"],
                               actor=None, password_method=TEST_PASSWORD_METHOD).id
    return AdminTokens(rt, admin_id)


def known_path_parameters(operation: Any) -> dict[str, Any]:
    """Path arguments naming records that exist (``1``: the first of each kind, made by
    the fuzzer's own POSTs or the admin itself; a role and a plugin by name), so
    operations on one record are exercised past their 404."""
    by_name = {"name": "cashier", "plugin": "core"}
    out = {}
    for param in operation.path_parameters:
        out[param.name] = by_name.get(param.name, 1 if param.definition["schema"].get(
            "type") == "integer" else "x")
    return out


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# (pass, generation mode, examples): positive and negative data everywhere, then
# positive data against records that exist.
PASSES = [("positive", GenerationMode.POSITIVE, 12), ("negative", GenerationMode.NEGATIVE, 6),
          ("existing records", GenerationMode.POSITIVE, 6)]


def test_api_conforms_to_its_document(fuzz_app: Any, fuzz_admin: AdminTokens,
                                      subtests: Any) -> None:
    """Valid and invalid data for every operation: never a 5xx, and every answer's
    status, content type and body are the ones the document declares.

    Driven through hypothesis directly, one subtest per operation and pass, because
    schemathesis' own pytest integration does not run under pytest 9."""
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 20
    for label, mode, examples in PASSES:
        for operation in operations:
            fixed = known_path_parameters(operation) if label == "existing records" else None
            if label == "existing records" and not fixed:
                continue
            op_id = operation.definition.raw["operationId"]
            with subtests.test(msg=f"{operation.label} ({label})"):
                @settings(max_examples=examples, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
                def fuzz(case: Any) -> None:
                    response = case.call_and_validate(headers=fuzz_admin.headers(), checks=CHECKS)
                    fuzz_admin.after(op_id, response.status_code)
                fuzz()
