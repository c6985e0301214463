"""The drop-off receipt (text, HTML, what it carries), intake photos as attachments,
and the reports (table, CSV, chart data) read from the technician roll-up."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select


def test_drop_off_receipt_text_and_html(desk: Any) -> None:
    desk.ok(desk.api.put("settings/repairs", json={"values": {
        "status_base_url": "https://shop.example", "receipt_terms": "Collect within 90 days."}}))
    c = desk.customer("Ada Lovelace", "555 123 4567")
    laptop = desk.laptop()
    t = desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial="SN-RCPT-1",
                    problem="Fan noise", accessories="charger", condition="dent on corner",
                    deposit={"amount": "30.00", "method": "cash"})
    r = desk.api.get(f"repairs/tickets/{t['id']}/receipt")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    for expected in (t["number"], "Ada Lovelace", "SN-RCPT-1", "Fan noise", "charger",
                     "dent on corner", "30.00", "Collect within 90 days.",
                     "https://shop.example/repairs/status/"):
        assert expected in text, expected
    assert t["status_url"].split("?t=")[1] in text.replace("\n", "")
    html = desk.api.get(f"repairs/tickets/{t['id']}/receipt?format=html")
    assert html.mimetype == "text/html" and "SN-RCPT-1" in html.get_data(as_text=True)
    assert desk.api.get("repairs/tickets/99999/receipt").status_code == 404


def test_receipt_document_carries_the_qr(desk: Any, runtime: Any) -> None:
    from plugins.repairs import services
    t = desk.intake()
    with runtime.unit_of_work(write=False) as s:
        doc = services.receipt_document(s, services.get_ticket(s, t["id"]))
    assert doc.qr == t["status_url"] and doc.barcode == t["number"]
    # without a printer (devices has none configured) nothing prints
    r = desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/print", json={}), 202)
    assert r["printed"] is False


def test_intake_photo_attaches_to_the_ticket(desk: Any) -> None:
    import io
    t = desk.intake()
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buf, "PNG")
    png = buf.getvalue()
    r = desk.api.post("attachments", data={"file": (io.BytesIO(png), "scratch.png"),
                                           "record_type": "ticket", "record_id": str(t["id"])},
                      content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    listed = desk.ok(desk.api.get(f"attachments?record_type=ticket&record_id={t['id']}"))
    items = listed["items"] if isinstance(listed, dict) else listed
    assert len(items) == 1
    r = desk.api.post("attachments", data={"file": (io.BytesIO(png), "x.png"),
                                           "record_type": "ticket", "record_id": "99999"},
                      content_type="multipart/form-data")
    assert r.status_code == 404


def _complete(desk: Any, tech: int, minutes: int, serial: str | None = None, c: int | None = None) -> dict:
    kw = {}
    if serial:
        kw = {"item_description": None, "product_id": desk.laptop_id, "serial": serial}
    t = desk.intake(c, technician_id=tech, **kw)
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/labor",
                          json={"minutes": minutes, "description": "work", "technician_id": tech}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json={}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/approval", json={"approved": True, "via": "phone"}))
    desk.move(t["id"], "ready")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/checkout", json={}), 201)
    return t


def test_technician_performance_report(desk: Any, make_user: Any) -> None:
    alice, _ = make_user("technician", username="alice")
    bob, _ = make_user("technician", username="bob")
    desk.laptop_id = desk.laptop()["id"]
    c = desk.customer()["id"]
    _complete(desk, alice, 60, serial="PERF-1", c=c)
    _complete(desk, alice, 30)
    _complete(desk, bob, 90)
    # a comeback counts against alice's first job
    desk.intake(c, item_description=None, product_id=desk.laptop_id, serial="PERF-1")
    r = desk.ok(desk.api.get("reports/repairs.technician_performance"))
    cols = [col["key"] for col in r["columns"]]
    rows = {row[0]: dict(zip(cols, row)) for row in r["rows"]}
    a, b = rows["alice"], rows["bob"]
    assert a["completed"] == 2 and a["comebacks"] == 1 and b["comebacks"] == 0
    assert str(a["hours"]) in ("1.50", "1.5") and str(a["estimated_hours"]) in ("1.50", "1.5")
    assert str(a["labor_revenue"]) in ("90.00", "90.0") and str(b["labor_revenue"]) in ("90.00", "90.0")
    assert a["avg_turnaround_days"] is not None
    by_month = desk.ok(desk.api.get("reports/repairs.technician_performance?by=month&all=true"))
    assert [c["key"] for c in by_month["columns"]][:2] == ["technician", "month"]
    csv = desk.api.get("reports/repairs.technician_performance?format=csv")
    assert csv.status_code == 200 and "alice" in csv.get_data(as_text=True)
    assert desk.api.get("reports/repairs.technician_performance?start=2026-13").status_code == 422


def test_open_tickets_by_status_and_age(desk: Any, runtime: Any) -> None:
    import datetime as dt
    from plugins.repairs.models import Ticket
    old = desk.intake()
    desk.intake()
    desk.move(desk.intake()["id"], "diagnosing")
    with runtime.unit_of_work() as s:
        s.get(Ticket, old["id"]).opened_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    r = desk.ok(desk.api.get("reports/repairs.open_tickets"))
    cols = [c["key"] for c in r["columns"]]
    rows = {row[0]: dict(zip(cols, row)) for row in r["rows"]}
    assert rows["received"]["open"] == 2 and rows["received"]["age_over_30"] == 1
    assert rows["received"]["age_0_2"] == 1 and rows["diagnosing"]["open"] == 1


def test_permissions_by_role(api_as: Any, desk: Any) -> None:
    t = desk.intake()
    cashier, tech, ro = api_as("cashier"), api_as("technician"), api_as("read_only")
    assert ro.get(f"repairs/tickets/{t['id']}").status_code == 200
    assert ro.post("repairs/tickets", json={"customer_id": t["customer_id"], "problem": "x",
                                            "item_description": "y"}).status_code == 403
    assert cashier.post("repairs/tickets", json={"customer_id": t["customer_id"], "problem": "x",
                                                 "item_description": "y"}).status_code == 201
    assert cashier.post(f"repairs/tickets/{t['id']}/labor",
                        json={"minutes": 5, "description": "x"}).status_code == 403
    assert tech.post(f"repairs/tickets/{t['id']}/labor",
                     json={"minutes": 5, "description": "x"}).status_code == 201
    assert tech.post(f"repairs/tickets/{t['id']}/checkout", json={}).status_code == 403
    assert tech.get("reports/repairs.technician_performance").status_code == 403
