"""Products: barcodes by check digit, money as strings, uniqueness, audited prices."""
import pytest

from core.records.catalog import barcode_problem

VALID = {"UPC-A": "036000291452", "EAN-13": "4006381333931", "EAN-8": "73513537"}
BAD_CHECK = {"UPC-A": "036000291453", "EAN-13": "4006381333932", "EAN-8": "73513538"}


@pytest.mark.parametrize("kind", VALID)
def test_valid_barcodes(api, kind):
    r = api.post("products", json={"sku": kind, "name": "x", "price": "1.00", "barcode": VALID[kind]})
    assert r.status_code == 201, r.json
    assert r.json["barcode"] == VALID[kind]


@pytest.mark.parametrize("kind", BAD_CHECK)
def test_bad_check_digit_is_422_saying_so(api, kind):
    r = api.post("products", json={"sku": kind, "name": "x", "price": "1.00",
                                   "barcode": BAD_CHECK[kind]})
    assert r.status_code == 422
    assert "check digit" in r.json["error"]["message"] and kind in r.json["error"]["message"]
    assert "barcode" in r.json["error"]["fields"]
    assert api.get("products").json["total"] == 0


@pytest.mark.parametrize("code", ["12345", "03600029145X", "036000291452000"])
def test_malformed_barcodes(code):
    assert barcode_problem(code)


def test_upc_and_its_ean13_spelling_are_one_product(api):
    assert api.post("products", json={"sku": "A", "name": "a", "price": "1.00",
                                      "barcode": "036000291452"}).status_code == 201
    r = api.post("products", json={"sku": "B", "name": "b", "price": "1.00",
                                   "barcode": "0036000291452"})
    assert r.status_code == 409 and r.json["error"]["code"] == "duplicate_barcode"


def test_money_is_strings_with_two_decimals(api):
    r = api.post("products", json={"sku": "M", "name": "m", "price": "19.9", "cost": 12,
                                   "tax_rate": "8.25"})
    assert r.status_code == 201, r.json
    assert (r.json["price"], r.json["cost"], r.json["tax_rate"]) == ("19.90", "12.00", "8.250")
    for bad in ("19.999", "-1.00", "abc", "NaN", True, [1]):
        r = api.post("products", json={"sku": "N", "name": "n", "price": bad})
        assert r.status_code == 422, bad
        assert "price" in r.json["error"]["fields"]
    assert api.post("products", json={"sku": "T", "name": "t", "price": "1.00",
                                      "tax_rate": "101"}).status_code == 422


def test_duplicate_sku_is_409(api, make_product):
    make_product(sku="BIKE-1")
    r = api.post("products", json={"sku": "BIKE-1", "name": "again", "price": "1.00"})
    assert r.status_code == 409 and r.json["error"]["fields"]["sku"]


def test_price_change_is_audited(api, make_product):
    p = make_product(price="100.00", cost="60.00")
    r = api.patch(f"products/{p['id']}", json={"price": "89.99", "name": "Renamed"})
    assert r.status_code == 200 and r.json["price"] == "89.99"
    entries = api.get("audit", query_string={"action": "product.price_changed"}).json["items"]
    assert len(entries) == 1
    assert entries[0]["record_id"] == str(p["id"])
    assert entries[0]["before"] == {"price": "100.00"} and entries[0]["after"] == {"price": "89.99"}
    r = api.patch(f"products/{p['id']}", json={"cost": "55.5"})
    entries = api.get("audit", query_string={"action": "product.price_changed"}).json["items"]
    assert entries[0]["before"] == {"cost": "60.00"} and entries[0]["after"] == {"cost": "55.50"}
    assert api.get("audit/verify").json["ok"] is True


def test_product_rules(api, make_product):
    assert api.post("products", json={"sku": "S", "name": "s", "price": "1.00", "kind": "service",
                                      "serialized": True}).status_code == 422
    assert api.post("products", json={"sku": "V", "name": "v", "price": "1.00",
                                      "vendor_id": 9999}).status_code == 422
    assert api.get("products/9999").status_code == 404
    v = api.post("vendors", json={"name": "Trek"}).json
    p = make_product(vendor_id=v["id"])
    assert api.get("products", query_string={"vendor_id": v["id"]}).json["total"] == 1
    assert api.patch(f"products/{p['id']}", json={"barcode": "123"}).status_code == 422


def test_serialized_flag_is_frozen_once_units_exist(api, make_product, make_location):
    p = make_product(serialized=True)
    loc = make_location()
    assert api.post("items", json={"product_id": p["id"], "serial": "S1",
                                   "location_id": loc["id"]}).status_code == 201
    assert api.patch(f"products/{p['id']}", json={"serialized": False}).status_code == 409


@pytest.mark.parametrize("role,status", [("manager", 200), ("cashier", 403), ("technician", 403)])
def test_price_edit_needs_permission(api, api_as, make_product, role, status):
    p = make_product()
    assert api_as(role).patch(f"products/{p['id']}", json={"price": "1.00"}).status_code == status
    assert api_as(role).get(f"products/{p['id']}").status_code == 200


def test_products_search_by_words_sku_barcode(api, make_product):
    bike = make_product(sku="BK-TREK-FX2", name="Trek FX 2 Disc", description="Hybrid bike, aluminium",
                        barcode="036000291452")
    make_product(sku="TV-LG-55", name="LG OLED 55", description="Television")
    for q in ("trek", "hybr", "alum", "fx 2", "BK-TREK-FX2", "036000291452", "0036000291452"):
        r = api.get("products", query_string={"q": q})
        assert [p["id"] for p in r.json["items"]] == [bike["id"]], q
