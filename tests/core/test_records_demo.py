"""The demo shop (core's ``load_demo_data``): believable counts and variety, valid
barcodes, stock that agrees with the ledger and with ``GET /stock``, customer-owned
units kept out of stock, idempotent, and quick."""
from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select


def load_demo(runtime: Any) -> float:
    """Run every enabled plugin's ``load_demo_data`` as ``counterdesk demo`` does, as
    the admin, and commit; the CPU seconds it took (reported, not asserted)."""
    from core.cli import load_demo_data
    from core.models import User
    started = time.process_time()
    with runtime.unit_of_work() as s:
        admin = s.scalar(select(User).where(User.username == "root"))
        load_demo_data(runtime, s, admin)
    return time.process_time() - started


@pytest.fixture
def demo(runtime: Any, api: Any) -> float:
    """The demo loaded once on this test's fresh database (``api`` made user root)."""
    return load_demo(runtime)


def table_counts(runtime: Any) -> dict[str, int]:
    from core.models import AuditEntry
    from core.records.models import RECORD_MODELS
    with runtime.unit_of_work(write=False) as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (*RECORD_MODELS, AuditEntry)}


def test_the_demo_is_a_believable_bike_and_electronics_shop(demo, runtime):
    from core.records.catalog import Product, barcode_problem
    from core.records.items import Item
    from core.records.parties import Customer, Vendor
    from core.records.stock import Location, StockMove, verify_levels
    with runtime.unit_of_work(write=False) as s:
        customers = s.scalars(select(Customer)).all()
        assert 300 <= len(customers) <= 400
        assert len({c.name for c in customers}) > 200                  # varied names
        shapes = Counter(re.sub(r"\d", "9", c.phone) for c in customers if c.phone)
        assert len(shapes) >= 5                                        # typed every which way
        assert sum(1 for c in customers if c.contact_channel == "sms" and not c.email) >= 30
        assert sum(1 for c in customers if c.email) >= 150
        assert all(c.email.endswith((".example.com", "@example.com", "@example.net",
                                     "@example.org")) for c in customers if c.email)

        vendors = s.scalars(select(Vendor)).all()
        assert len(vendors) >= 10 and {v.kind for v in vendors} == {"supplier", "manufacturer",
                                                                    "service"}
        products = s.scalars(select(Product)).all()
        by_family = Counter(p.sku[:3] for p in products if p.serialized)
        assert by_family["BK-"] >= 5 and by_family["TV-"] >= 4 and by_family["LT-"] >= 4
        parts = [p for p in products if p.kind == "part"]
        services = [p for p in products if p.kind == "service"]
        assert len(parts) >= 15 and len(services) >= 5
        assert not any(p.serialized or p.barcode for p in services)
        for words in ("tube", "brake pads", "chain", "battery", "HDMI"):
            assert any(words.lower() in p.name.lower() for p in parts), words
        codes = [p.barcode for p in products if p.barcode]
        assert len(codes) == len(products) - len(services)
        assert [c for c in codes if barcode_problem(c)] == []         # every check digit right
        assert {len(c) for c in codes} == {12, 13}                     # UPC-A and EAN-13
        for p in products:
            if p.kind != "service":
                assert p.price > p.cost > 0, p.sku

        assert {loc.kind for loc in s.scalars(select(Location))} == {"store", "warehouse", "van"}
        units = s.scalars(select(Item)).all()
        status = Counter(u.status for u in units)
        assert status["in_stock"] >= 40 and status["sold"] >= 20 and status["customer_owned"] >= 10
        assert all(u.owner_id for u in units if u.status in ("sold", "customer_owned"))
        owned = [u.id for u in units if u.status == "customer_owned"]
        assert s.scalar(select(func.count()).select_from(StockMove)
                        .where(StockMove.item_id.in_(owned))) == 0   # never in the shop's stock
        assert verify_levels(s) == []                                  # levels == ledger


def test_every_unit_in_stock_shows_in_get_stock_for_its_location(demo, runtime, api):
    from core.records.items import Item
    from core.records.stock import StockMove
    with runtime.unit_of_work(write=False) as s:
        in_stock = s.scalars(select(Item).where(Item.status == "in_stock")).all()
        where = Counter((u.product_id, u.location_id) for u in in_stock)
        for u in in_stock:        # the unit's own ledger rows put it where it is
            last = s.scalars(select(StockMove).where(StockMove.item_id == u.id)
                             .order_by(StockMove.id.desc())).first()
            assert last is not None and last.to_location_id == u.location_id, u.serial
    for (product_id, location_id), n in where.items():
        resp = api.get("stock", query_string={"product_id": product_id, "location_id": location_id})
        assert resp.status_code == 200
        [level] = resp.get_json()["items"]
        assert level["on_hand"] == n and level["available"] == n
    serialized_levels = api.get("stock", query_string={"per_page": 200}).get_json()
    assert serialized_levels["total"] >= len(where)


def test_running_the_demo_twice_adds_nothing(demo, runtime):
    first = table_counts(runtime)
    load_demo(runtime)
    assert table_counts(runtime) == first


def test_demo_customers_are_found_by_search_and_duplicates_are_pointed_out(demo, runtime, api):
    from core.records.parties import Customer, possible_duplicates
    with runtime.unit_of_work(write=False) as s:
        twins = s.scalars(select(Customer).where(
            Customer.notes == "Entered at the counter in a hurry.")).all()
        assert len(twins) == 2
        assert all(possible_duplicates(s, t) for t in twins)
        someone = s.scalar(select(Customer).where(Customer.phone.like("(%")).limit(1))
        digits = someone.phone_digits
    found = api.get("customers", query_string={"q": f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"})
    assert someone.id in [c["id"] for c in found.get_json()["items"]]
