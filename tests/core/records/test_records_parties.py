"""Customers and vendors: phone normalisation, duplicates, merge, validation, roles."""
import pytest

from core.plugins import hookimpl
from core.records.parties import phone_digits
from core.types import Manifest

FORMATS = ["555 010 2030", "(555) 010-2030", "5550102030", "+1 555 010 2030", "555.010.2030"]


@pytest.mark.parametrize("raw", FORMATS)
def test_phone_digits_normalises_formats(raw):
    assert phone_digits(raw) == "5550102030"


@pytest.mark.parametrize("query", FORMATS + ["010-2030", "2030", "555 010", "55", "0102"])
def test_customer_found_by_phone_in_any_format(api, make_customer, query):
    jane = make_customer("Jane Doe", phone="(555) 010-2030")
    make_customer("John Roe", phone="444 999 1111")
    r = api.get("customers", query_string={"q": query})
    assert r.status_code == 200, r.json
    assert [c["id"] for c in r.json["items"]] == [jane["id"]]
    assert r.json["total"] == 1


def test_customer_found_by_name_word_prefix_and_email(api, make_customer):
    jane = make_customer("Jane Margaret Doe", email="Jane.Doe@Example.com")
    make_customer("John Roe")
    for q in ("jan", "marg", "DOE", "jane do", "jane.doe@example.com"):
        r = api.get("customers", query_string={"q": q})
        assert [c["id"] for c in r.json["items"]] == [jane["id"]], q
    assert api.get("customers", query_string={"q": "ane"}).json["total"] == 0  # not a word prefix
    assert api.get("customers/%d" % jane["id"]).json["email"] == "jane.doe@example.com"


def test_create_customer_reports_possible_duplicates(api, make_customer):
    first = make_customer("Jane Doe", phone="555-010-2030")
    other = make_customer("Someone", email="x@example.com")
    r = api.post("customers", json={"name": "J. Doe", "phone": "+1 (555) 010 2030"})
    assert r.status_code == 201
    assert [d["id"] for d in r.json["possible_duplicates"]] == [first["id"]]
    r = api.post("customers", json={"name": "X", "email": "X@example.com "})
    assert [d["id"] for d in r.json["possible_duplicates"]] == [other["id"]]
    r = api.post("customers", json={"name": "Nobody Alike", "phone": "555 777 8888"})
    assert r.json["possible_duplicates"] == []


def test_contact_channel_defaults_and_validation(api):
    r = api.post("customers", json={"name": "A", "email": "a@example.com", "phone": "555 123 4567"})
    assert r.json["contact_channel"] == "email"
    r = api.post("customers", json={"name": "B", "phone": "555 123 4567"})
    assert r.json["contact_channel"] == "sms"
    r = api.post("customers", json={"name": "C"})
    assert r.json["contact_channel"] == "none"
    r = api.post("customers", json={"name": "D", "contact_channel": "sms"})
    assert r.status_code == 422 and "contact_channel" in r.json["error"]["fields"]
    r = api.post("customers", json={"name": "E", "contact_channel": "pigeon"})
    assert r.status_code == 422


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x", "email": "not-an-email"},
                                  {"name": "x", "unknown": 1}, {"name": 5}])
def test_bad_customer_input_is_422(api, body):
    r = api.post("customers", json=body)
    assert r.status_code == 422, r.json
    assert set(r.json["error"]) == {"code", "message", "fields"}
    assert api.get("customers").json["total"] == 0


def test_update_customer_is_audited_and_reindexed(api, make_customer):
    c = make_customer("Jane Doe", phone="555 010 2030")
    r = api.patch(f"customers/{c['id']}", json={"name": "Janet Smith", "phone": "555 222 3333"})
    assert r.status_code == 200 and r.json["phone_digits"] == "5552223333"
    assert api.get("customers", query_string={"q": "smi"}).json["total"] == 1
    assert api.get("customers", query_string={"q": "doe"}).json["total"] == 0
    assert api.get("customers", query_string={"q": "2030"}).json["total"] == 0
    audit = api.get("audit", query_string={"action": "customer.updated"}).json["items"]
    assert audit[0]["before"]["name"] == "Jane Doe" and audit[0]["after"]["name"] == "Janet Smith"


def test_unknown_customer_is_404(api):
    assert api.get("customers/999999").status_code == 404
    assert api.patch("customers/999999", json={"name": "x"}).status_code == 404


class MergePlugin:
    """Records the ``customer_merged`` calls it sees."""
    manifest = Manifest(name="mergewatch", version="1", title="Merge watcher")
    seen: list = []

    @staticmethod
    @hookimpl
    def customer_merged(session, into, merged, actor):
        MergePlugin.seen.append((into.id, merged.id, merged.merged_into_id, actor.username))


def test_merge_moves_history_and_is_audited(app_factory, make_location):
    from tests.conftest import ApiClient
    from core.auth import create_user, issue_token
    app = app_factory(plugins=(MergePlugin,))
    rt = app.extensions["counterdesk"]
    with rt.unit_of_work() as s:
        user = create_user(s, username="boss", password="correct horse battery", roles=["admin"],
                           actor=None, password_method="pbkdf2:sha256:1000")
        token = issue_token(s, user)[1]
    api = ApiClient(app.test_client(), token)
    MergePlugin.seen.clear()
    keep = api.post("customers", json={"name": "Jane Doe", "phone": "555 010 2030"}).json
    dup = api.post("customers", json={"name": "Jane D.", "email": "jane@example.com",
                                      "notes": "likes blue"}).json
    product = api.post("products", json={"sku": "TV1", "name": "TV", "price": "100.00",
                                         "serialized": True}).json
    unit = api.post("items", json={"product_id": product["id"], "serial": "ABC",
                                   "status": "customer_owned", "owner_id": dup["id"]}).json
    r = api.post(f"customers/{keep['id']}/merge", json={"from_id": dup["id"]})
    assert r.status_code == 200, r.json
    assert r.json["email"] == "jane@example.com" and "likes blue" in r.json["notes"]
    assert api.get(f"items/{unit['id']}").json["owner_id"] == keep["id"]
    merged = api.get(f"customers/{dup['id']}").json
    assert merged["active"] is False and merged["merged_into_id"] == keep["id"]
    assert MergePlugin.seen == [(keep["id"], dup["id"], keep["id"], "boss")]
    assert [c["id"] for c in api.get("customers").json["items"]] == [keep["id"]]
    audit = api.get("audit", query_string={"action": "customer.merged"}).json["items"]
    assert audit[0]["record_id"] == str(keep["id"]) and audit[0]["before"]["merged_id"] == dup["id"]
    assert audit[0]["after"]["items_moved"] == 1
    timeline = api.get(f"customers/{keep['id']}/timeline").json["items"]
    assert any(e["type"] == "unit" and e["extra"]["item_id"] == unit["id"] for e in timeline)
    # merging again, or into itself, or editing the merged one: refused
    assert api.post(f"customers/{keep['id']}/merge", json={"from_id": dup["id"]}).status_code == 409
    assert api.post(f"customers/{keep['id']}/merge", json={"from_id": keep["id"]}).status_code == 422
    assert api.patch(f"customers/{dup['id']}", json={"name": "x"}).status_code == 409


def test_merge_needs_permission(api, api_as, make_customer):
    a, b = make_customer("A"), make_customer("B")
    r = api_as("cashier").post(f"customers/{a['id']}/merge", json={"from_id": b["id"]})
    assert r.status_code == 403


@pytest.mark.parametrize("role,status", [("cashier", 201), ("technician", 201),
                                          ("read_only", 403), ("finance", 403)])
def test_customer_create_by_role(api_as, role, status):
    assert api_as(role).post("customers", json={"name": "X"}).status_code == status


def test_read_only_can_view_customers(api, api_as, make_customer):
    make_customer("X")
    assert api_as("read_only").get("customers").status_code == 200


def test_vendor_crud(api, api_as):
    r = api.post("vendors", json={"name": "Shimano", "kind": "manufacturer", "account_number": "A-1",
                                  "default_lead_time_days": 7, "email": "Orders@Shimano.example"})
    assert r.status_code == 201, r.json
    v = r.json
    assert v["email"] == "orders@shimano.example" and v["default_lead_time_days"] == 7
    assert api.patch(f"vendors/{v['id']}", json={"contact": "Kim"}).json["contact"] == "Kim"
    assert api.get("vendors", query_string={"q": "shim"}).json["total"] == 1
    assert api.get("vendors", query_string={"kind": "supplier"}).json["total"] == 0
    assert api.post("vendors", json={"name": "X", "kind": "friend"}).status_code == 422
    assert api.get("vendors/424242").status_code == 404
    assert api_as("cashier").post("vendors", json={"name": "Y"}).status_code == 403
    assert api_as("cashier").get(f"vendors/{v['id']}").status_code == 200
