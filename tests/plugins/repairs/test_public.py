"""The customer's view through the secret link: only the ticket's progress, a wrong
token is a 404 like an unknown number, guessing is throttled (429, in the database),
and the estimate can be approved or declined with the token."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

ALLOWED = {"number", "status", "label", "description", "updated", "promised_for", "notes",
           "estimate"}


def _link(ticket: dict) -> tuple[str, str]:
    url = urlparse(ticket["status_url"])
    return url.path.rsplit("/", 1)[-1], parse_qs(url.query)["t"][0]


def test_public_view_shows_progress_and_nothing_personal(desk: Any, client: Any) -> None:
    c = desk.customer("Private Person", "555 999 0000", email="private@example.com")
    t = desk.intake(c["id"], promised_for="2026-12-24", problem="Secret problem words")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/notes",
                          json={"body": "Parts ordered, back Friday", "visibility": "customer"}), 201)
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/notes",
                          json={"body": "customer was rude", "visibility": "internal"}), 201)
    number, token = _link(t)
    r = client.get(f"/api/v1/public/tickets/{number}", query_string={"t": token})
    assert r.status_code == 200, r.json
    body = r.json
    assert set(body) == ALLOWED
    assert body["status"] == "received" and body["promised_for"] == "2026-12-24"
    assert [n["body"] for n in body["notes"]] == ["Parts ordered, back Friday"]
    # the timestamps' digits aside (their microseconds may well hold a "555")
    text = re.sub(r'"\d{4}-\d\d-\d\dT[^"]*"', '""', r.get_data(as_text=True))
    for secret in ("Private Person", "555", "private@example.com", "rude", "Secret problem"):
        assert secret not in text
    # the HTML page says the same in plain words
    page = client.get(f"/repairs/status/{number}", query_string={"t": token})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Parts ordered, back Friday" in html and "waiting for a technician" in html
    for secret in ("Private Person", "private@example.com", "rude", "Secret problem"):
        assert secret not in html


def test_wrong_token_or_number_is_404(desk: Any, client: Any) -> None:
    t = desk.intake()
    number, token = _link(t)
    for path, tok in ((number, token[:-1] + ("A" if token[-1] != "A" else "B")), (number, ""),
                      ("R-999999", token), ("nonsense", token)):
        r = client.get(f"/api/v1/public/tickets/{path}", query_string={"t": tok})
        assert r.status_code == 404, (path, tok)
        assert r.json["error"]["code"] == "ticket_not_found"
    assert client.get(f"/repairs/status/{number}", query_string={"t": "bad"}).status_code == 404


def test_guessing_is_throttled(desk: Any, client: Any) -> None:
    t = desk.intake()
    number, token = _link(t)
    codes = [client.get(f"/api/v1/public/tickets/{number}", query_string={"t": f"guess{i}"}).status_code
             for i in range(12)]
    assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]
    # even the right token waits now: the number is being guessed
    r = client.get(f"/api/v1/public/tickets/{number}", query_string={"t": token})
    assert r.status_code == 429 and r.headers.get("Retry-After")
    # attempts live in the database (every process sees them)
    from sqlalchemy import func, select
    from core.runtime import current
    from plugins.repairs.models import PublicAttempt
    with current().unit_of_work(write=False) as s:
        assert s.scalar(select(func.count()).select_from(PublicAttempt)) == 10


def test_wrong_token_on_the_decision_is_recorded_too(desk: Any, client: Any) -> None:
    t = desk.intake()
    number, _token = _link(t)
    for _ in range(10):
        r = client.post(f"/api/v1/public/tickets/{number}/decision",
                        json={"t": "nope", "decision": "approve"})
        assert r.status_code == 404
    r = client.post(f"/api/v1/public/tickets/{number}/decision", json={"t": "nope", "decision": "approve"})
    assert r.status_code == 429


def test_customer_approves_through_the_link(desk: Any, client: Any) -> None:
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json={"amount": "80.00",
                                                                       "note": "New screen"}), 201)
    number, token = _link(t)
    view = client.get(f"/api/v1/public/tickets/{number}", query_string={"t": token}).json
    assert view["status"] == "awaiting_approval" and view["estimate"]["amount"] == "80.00"
    r = client.post(f"/api/v1/public/tickets/{number}/decision", json={"t": token, "decision": "approve"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "in_repair" and r.json["estimate"] is None
    est = desk.ticket(t["id"])["estimates"][-1]
    assert est["status"] == "approved" and est["decided_via"] == "status_link"
    # twice: nothing left to approve
    r = client.post(f"/api/v1/public/tickets/{number}/decision", json={"t": token, "decision": "approve"})
    assert r.status_code == 409


def test_customer_declines_through_the_html_form(desk: Any, client: Any) -> None:
    t = desk.intake()
    desk.move(t["id"], "diagnosing")
    desk.ok(desk.api.post(f"repairs/tickets/{t['id']}/estimate", json={"amount": "80.00"}), 201)
    number, token = _link(t)
    page = client.get(f"/repairs/status/{number}", query_string={"t": token})
    html = page.get_data(as_text=True)
    assert 'name="decision" value="decline"' in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post(f"/repairs/status/{number}/decision",
                    data={"t": token, "decision": "decline", "csrf_token": csrf})
    assert r.status_code in (302, 303)
    assert desk.ticket(t["id"])["status"] == "on_hold"
    # the form without the status token does nothing
    r = client.post(f"/repairs/status/{number}/decision",
                    data={"t": "wrong", "decision": "approve", "csrf_token": csrf})
    assert r.status_code == 404
