"""Factories for the pos tests: a shop (a location, a register with an open session, a
serialized bike with units in stock, accessories with stock, a customer) made through
the kernel's services, and helpers to ring up through the services or the API.

Tests here run on SQLite and PostgreSQL (``backend``), like tests/core; modules that
gain nothing from PostgreSQL (browser, pure money properties) pin ``backend`` to
sqlite with a module-level fixture.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterator

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@dataclass
class Shop:
    location_id: int
    other_location_id: int
    register_id: int
    register2_id: int
    session_id: int
    session2_id: int
    bike_id: int
    bike_serials: list[str]
    helmet_id: int
    light_id: int
    service_id: int
    customer_id: int
    admin_id: int


@pytest.fixture
def shop(runtime: Any, make_user: Callable[..., Any]) -> Shop:
    from core.auth import create_user
    from core.records.catalog import create_product
    from core.records.items import create_item
    from core.records.parties import create_customer
    from core.records.stock import create_location, move_stock
    from plugins.pos import services
    from tests.conftest import TEST_PASSWORD_METHOD
    with runtime.unit_of_work() as s:
        admin = create_user(s, username="shopkeeper", password="correct horse battery",
                            roles=["admin"], actor=None, password_method=TEST_PASSWORD_METHOD)
        store = create_location(s, admin, {"name": "Main store", "kind": "store"})
        other = create_location(s, admin, {"name": "Warehouse", "kind": "warehouse"})
        reg = services.create_register(s, admin, {"name": "Till 1", "location_id": store.id})
        reg2 = services.create_register(s, admin, {"name": "Till 2", "location_id": store.id})
        bike = create_product(s, admin, {"sku": "BIKE-1", "barcode": "4006381333931",
                                         "name": "Trail bike", "price": Decimal("1000.00"),
                                         "cost": Decimal("600.00"), "tax_rate": Decimal("8.25"),
                                         "serialized": True})
        serials = ["WTU123", "WTU124", "WTU125"]
        for serial in serials:
            create_item(s, admin, {"product_id": bike.id, "serial": serial, "location_id": store.id})
        create_item(s, admin, {"product_id": bike.id, "serial": "FAR001", "location_id": other.id})
        helmet = create_product(s, admin, {"sku": "HELMET", "barcode": "036000291452",
                                           "name": "Helmet", "price": Decimal("49.99"),
                                           "tax_rate": Decimal("8.25")})
        light = create_product(s, admin, {"sku": "LIGHT", "name": "Lamp set",
                                          "price": Decimal("19.95"), "tax_rate": Decimal("20")})
        service = create_product(s, admin, {"sku": "TUNE", "name": "Tune-up", "kind": "service",
                                            "price": Decimal("45.00"), "tax_rate": Decimal("0")})
        for p in (helmet, light):
            move_stock(s, admin, product_id=p.id, from_location_id=None, to_location_id=store.id,
                       quantity=20, reason="opening stock")
        cust = create_customer(s, admin, {"name": "Ada Rider", "phone": "+1 555 0100",
                                          "email": "ada@example.com"})
        sh1 = services.open_shift(s, admin, reg.id, Decimal("100.00"))
        sh2 = services.open_shift(s, admin, reg2.id, Decimal("50.00"))
        return Shop(store.id, other.id, reg.id, reg2.id, sh1.id, sh2.id, bike.id, serials,
                    helmet.id, light.id, service.id, cust.id, admin.id)


@pytest.fixture
def uow(runtime: Any) -> Callable[..., Any]:
    """``with uow() as (session, admin):`` a unit of work acting as the shop's admin."""
    import contextlib

    from core.models import User

    @contextlib.contextmanager
    def make() -> Iterator[tuple[Any, Any]]:
        with runtime.unit_of_work() as s:
            from sqlalchemy import select
            admin = s.scalar(select(User).where(User.username == "shopkeeper"))
            yield s, admin
    return make


def bike_sale(shop: Shop, serial: str | None = None, **extra: Any) -> dict[str, Any]:
    """A sale body: a bike (serialized) and a helmet, paid card + cash."""
    body = {"session_id": shop.session_id, "customer_id": shop.customer_id,
            "lines": [{"product_id": shop.bike_id, "serial": serial or shop.bike_serials[0]},
                      {"code": "036000291452", "quantity": "2"}],
            "payments": [{"method": "card", "amount": "1000.00"},
                         {"method": "cash", "amount": "200.00"}]}
    body.update(extra)
    return body
