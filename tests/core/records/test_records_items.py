"""Serialized units: normalised serials, uniqueness per product, customer-owned units,
history and timeline gathered from plugins."""
import datetime as dt

import pytest

from core.plugins import hookimpl
from core.records.items import normalize_serial
from core.types import Manifest, TimelineEntry


def test_normalize_serial():
    assert normalize_serial("  ab 12\tc-3 ") == "AB12C-3"


def test_serial_stored_as_entered_and_unique_per_product(api, make_product, make_location):
    tv, laptop = make_product(serialized=True), make_product(serialized=True)
    loc = make_location()
    r = api.post("items", json={"product_id": tv["id"], "serial": " sn 123 ab ", "location_id": loc["id"]})
    assert r.status_code == 201, r.json
    assert (r.json["serial"], r.json["serial_norm"], r.json["status"]) == ("sn 123 ab", "SN123AB", "in_stock")
    r = api.post("items", json={"product_id": tv["id"], "serial": "SN123AB", "location_id": loc["id"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "duplicate_serial"
    # the same serial on another product is another unit
    assert api.post("items", json={"product_id": laptop["id"], "serial": "SN123AB",
                                   "location_id": loc["id"]}).status_code == 201
    found = api.get("items", query_string={"serial": "sn123ab"}).json
    assert found["total"] == 2
    found = api.get("items", query_string={"serial": "SN123A"}).json
    assert found["total"] == 0


def test_serial_lookup_tells_the_unit_and_its_product(runtime, api, make_product, make_location,
                                                     make_customer):
    """``items_by_serial`` (a scanned serial): every unit with that serial, as typed in
    any case and spacing, with what the counter shows — product name and SKU, status."""
    from core.records.items import items_by_serial
    tv = make_product(sku="TV-9", name="Sony 55", serialized=True)
    phone = make_product(sku="PH-1", name="Phone", serialized=True)
    loc, owner = make_location(), make_customer()
    in_stock = api.post("items", json={"product_id": tv["id"], "serial": "AB 12",
                                       "location_id": loc["id"]}).json
    owned = api.post("items", json={"product_id": phone["id"], "serial": "ab12",
                                    "status": "customer_owned", "owner_id": owner["id"]}).json
    with runtime.unit_of_work(write=False) as s:
        found = items_by_serial(s, " Ab12 ")
        assert [(u.id, u.product_name, u.product_sku, u.status, u.owner_id, u.location_id)
                for u in found] == [
            (in_stock["id"], "Sony 55", "TV-9", "in_stock", None, loc["id"]),
            (owned["id"], "Phone", "PH-1", "customer_owned", owner["id"], None)]
        assert [u.id for u in items_by_serial(s, "AB12", product_id=phone["id"])] == [owned["id"]]
        assert items_by_serial(s, "AB1") == [] and items_by_serial(s, "  ") == []


def test_customer_owned_unit_is_not_stock(api, make_product, make_customer):
    tv = make_product(serialized=True)
    owner = make_customer()
    r = api.post("items", json={"product_id": tv["id"], "serial": "X1", "status": "customer_owned"})
    assert r.status_code == 422 and "owner_id" in r.json["error"]["fields"]
    r = api.post("items", json={"product_id": tv["id"], "serial": "X1", "status": "customer_owned",
                                "owner_id": owner["id"]})
    assert r.status_code == 201
    assert api.get("stock", query_string={"product_id": tv["id"]}).json["total"] == 0
    assert api.get("stock/moves", query_string={"product_id": tv["id"]}).json["total"] == 0


@pytest.mark.parametrize("body,field", [
    ({"serial": "A"}, "product_id"),
    ({"product_id": 99999, "serial": "A"}, "product_id"),
    ({"serial": "   "}, "serial"),
    ({"serial": "A", "status": "lost"}, "status"),
    ({"serial": "A", "status": "in_stock"}, "location_id"),
    ({"serial": "A", "status": "sold", "owner_id": 99999}, "owner_id"),
])
def test_bad_item_input(api, make_product, body, field):
    p = make_product(serialized=True)
    body = {"product_id": p["id"], **body} if "product_id" not in body and field != "product_id" \
        else body
    r = api.post("items", json=body)
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"]


def test_units_only_for_serialized_products(api, make_product, make_location):
    p = make_product(serialized=False)
    r = api.post("items", json={"product_id": p["id"], "serial": "A", "location_id": make_location()["id"]})
    assert r.status_code == 422


def test_status_change_moves_stock(api, make_product, make_location, make_customer):
    p, loc, cust = make_product(serialized=True), make_location(), make_customer()
    unit = api.post("items", json={"product_id": p["id"], "serial": "U1", "location_id": loc["id"]}).json
    stock = api.get("stock", query_string={"product_id": p["id"]}).json["items"]
    assert stock[0]["on_hand"] == 1
    r = api.patch(f"items/{unit['id']}", json={"status": "sold", "owner_id": cust["id"],
                                               "reason": "sold at counter"})
    assert r.status_code == 200 and r.json["owner_id"] == cust["id"]
    assert api.get("stock", query_string={"product_id": p["id"]}).json["items"][0]["on_hand"] == 0
    r = api.patch(f"items/{unit['id']}", json={"status": "in_stock", "location_id": loc["id"]})
    assert r.status_code == 200 and r.json["owner_id"] is None
    assert api.get("stock", query_string={"product_id": p["id"]}).json["items"][0]["on_hand"] == 1


class HistoryPlugin:
    manifest = Manifest(name="historian", version="1", title="History test plugin")

    @staticmethod
    @hookimpl
    def item_history(session, item, actor):
        return [TimelineEntry(at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), type="sale",
                              title=f"Sold {item.serial}", source="historian"),
                TimelineEntry(at=dt.date(2000, 1, 1), type="ticket", title="Old repair",
                              source="historian")]

    @staticmethod
    @hookimpl
    def customer_timeline(session, customer, actor):
        return [TimelineEntry(at=dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc), type="claim",
                              title=f"Claim by {customer.name}", source="historian",
                              extra={"actor": actor.username})]


def test_history_and_timeline_gather_plugins_newest_first(app_factory):
    from core.auth import create_user, issue_token
    from tests.conftest import ApiClient
    app = app_factory(plugins=(HistoryPlugin,))
    rt = app.extensions["counterdesk"]
    with rt.unit_of_work() as s:
        user = create_user(s, username="hist", password="correct horse battery", roles=["admin"],
                           actor=None, password_method="pbkdf2:sha256:1000")
        token = issue_token(s, user)[1]
    api = ApiClient(app.test_client(), token)
    p = api.post("products", json={"sku": "B", "name": "Bike", "price": "500.00", "serialized": True}).json
    a = api.post("locations", json={"name": "Store"}).json
    b = api.post("locations", json={"name": "Van", "kind": "van"}).json
    cust = api.post("customers", json={"name": "Ann Lee"}).json
    unit = api.post("items", json={"product_id": p["id"], "serial": "FR-1", "location_id": a["id"]}).json
    api.post("stock/moves", json={"product_id": p["id"], "from_location_id": a["id"],
                                  "to_location_id": b["id"], "quantity": 1, "reason": "to van",
                                  "serials": ["fr-1"]})
    api.patch(f"items/{unit['id']}", json={"status": "sold", "owner_id": cust["id"]})
    r = api.get(f"items/{unit['id']}/history")
    assert r.status_code == 200
    entries = r.json["items"]
    titles = [e["title"] for e in entries]
    assert titles[0] == "Sold FR-1" and titles[-1] == "Old repair"
    assert "Moved from Store to Van" in titles and "Into stock at Store" in titles
    assert "Status in_stock → sold" in titles
    ats = [e["at"] for e in entries]
    assert ats == sorted(ats, reverse=True)
    t = api.get(f"customers/{cust['id']}/timeline").json["items"]
    assert t[0]["title"] == "Claim by Ann Lee" and t[0]["extra"]["actor"] == "hist"
    assert any(e["type"] == "unit" for e in t)
    assert api.get("items/99999/history").status_code == 404


def test_history_without_plugins_and_paging(api, make_product, make_location):
    p, loc = make_product(serialized=True), make_location()
    unit = api.post("items", json={"product_id": p["id"], "serial": "Z", "location_id": loc["id"]}).json
    r = api.get(f"items/{unit['id']}/history", query_string={"per_page": 1})
    assert r.json["total"] == 2 and len(r.json["items"]) == 1


def test_item_roles(api, api_as, make_product, make_location):
    p, loc = make_product(serialized=True), make_location()
    assert api_as("technician").post("items", json={"product_id": p["id"], "serial": "T1",
                                                    "location_id": loc["id"]}).status_code == 201
    assert api_as("read_only").post("items", json={"product_id": p["id"], "serial": "T2",
                                                   "location_id": loc["id"]}).status_code == 403
    assert api_as("read_only").get("items").status_code == 200
