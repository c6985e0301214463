"""Typed settings (validated, audited) and reports (JSON, CSV, permissions)."""
from __future__ import annotations

import csv
import io


def test_settings_list_types_defaults_help_and_values(api):
    core = next(p for p in api.get("settings").json["items"] if p["plugin"] == "core")
    by_key = {s["key"]: s for s in core["settings"]}
    assert by_key["prices_include_tax"]["type"] == "bool"
    assert by_key["prices_include_tax"]["value"] is False
    assert by_key["currency"]["choices"][:2] == ["USD", "EUR"]
    assert by_key["shop_name"]["help"]


def test_setting_change_is_validated_stored_and_audited(api):
    r = api.put("settings/core", json={"values": {"prices_include_tax": True, "currency": "EUR"}})
    assert r.status_code == 200
    values = {s["key"]: s["value"] for s in r.json["items"][0]["settings"]}
    assert values["prices_include_tax"] is True and values["currency"] == "EUR"
    entry = api.get("audit?action=settings.changed").json["items"][0]
    assert entry["before"] == {"prices_include_tax": False, "currency": "USD"}
    assert entry["after"] == {"prices_include_tax": True, "currency": "EUR"}


def test_invalid_settings_are_422_and_nothing_is_stored(api):
    r = api.put("settings/core", json={"values": {"currency": "XYZ", "shop_name": "Fine",
                                                  "nonsense": 1, "prices_include_tax": "maybe"}})
    assert r.status_code == 422
    assert set(r.json["error"]["fields"]) == {"currency", "nonsense", "prices_include_tax"}
    core = next(p for p in api.get("settings").json["items"] if p["plugin"] == "core")
    assert {s["key"]: s["value"] for s in core["settings"]}["shop_name"] == "Counterdesk Demo Shop"
    assert api.put("settings/nosuchplugin", json={"values": {}}).status_code == 404


def test_only_settings_editors_may_change_them(api_as):
    assert api_as("manager").put("settings/core", json={"values": {"shop_name": "x"}}).status_code == 403
    assert api_as("owner").put("settings/core", json={"values": {"shop_name": "x"}}).status_code == 200


def test_reports_list_run_json_and_csv(api):
    api.put("settings/core", json={"values": {"shop_name": "A"}})
    listed = {r["name"]: r for r in api.get("reports").json["items"]}
    assert listed["core.audit_activity"]["params"] == ["start", "end"]
    rep = api.get("reports/core.audit_activity").json
    assert [c["key"] for c in rep["columns"]] == ["day", "changes", "sign_in_failures"]
    assert sum(row[1] for row in rep["rows"]) >= 2  # user.created + settings.changed (+ token)
    assert rep["chart"]["kind"] == "bar"
    r = api.get("reports/core.audit_activity?format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["Day", "Audited changes", "Failed sign-ins"]
    assert len(rows) == len(rep["rows"]) + 1


def test_report_parameters_are_validated(api):
    r = api.get("reports/core.audit_activity?start=2026-02-30")
    assert r.status_code == 422 and "start" in r.json["error"]["fields"]
    r = api.get("reports/core.audit_activity?start=2026-05-02&end=2026-05-01")
    assert r.status_code == 422
    assert api.get("reports/nope").status_code == 404


def test_report_needs_its_permission(api_as):
    assert api_as("cashier").get("reports/core.audit_activity").status_code == 403
    reader = api_as("read_only")
    assert all(r["name"] != "core.audit_activity" for r in reader.get("reports").json["items"])
