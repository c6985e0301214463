"""The ticket search box on SQLite and PostgreSQL: what the counter types finds the
ticket — a phone in any layout or its first digits, a serial in another case, a
prefix of any word of the customer's name, the unit or the problem (short, long,
longer than the index's prefixes) — newest first across the whole history, an
existing ticket number alone, first, and a customer renamed or merged away by the
name they have now, never the old one."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import pytest
from sqlalchemy import insert, select

from plugins.repairs import services
from plugins.repairs.models import Ticket


def _box(desk: Any, q: str) -> list[dict]:
    """The tickets the unified search box shows for ``q``, in order."""
    res = desk.ok(desk.api.get("search", query_string={"q": q}))["results"]
    return [r for r in res if r["type"] == "ticket"]


def _ids(desk: Any, q: str) -> list[int]:
    return [r["id"] for r in _box(desk, q)]


@pytest.fixture
def hopper(desk: Any) -> dict:
    """Grace Hopper's laptop, serial ZX-991, with a flickering display."""
    c = desk.customer("Grace Hopper", "(555) 777-0101")
    laptop = desk.laptop()
    return desk.intake(c["id"], item_description=None, product_id=laptop["id"], serial="ZX-991",
                       problem="Flickering display, keyboard_light intermittently dead")


def test_a_phone_in_another_layout_or_its_first_digits_finds_the_ticket(desk: Any, hopper: dict) -> None:
    other = desk.customer("Alan Turing", "555 888 0202")
    desk.intake(other["id"], problem="Battery swells")
    for typed in ("555-777-0101", "+1 (555) 777 0101", "5557770101", "555 777", "(555) 777-01"):
        assert _ids(desk, typed) == [hopper["id"]], typed


def test_a_serial_typed_in_another_case_or_padded_finds_the_ticket(desk: Any, hopper: dict) -> None:
    for typed in ("zx-991", " ZX-991 ", "Zx-991"):
        assert _ids(desk, typed) == [hopper["id"]], typed
    assert _ids(desk, "zx-992") == []


def test_a_prefix_of_any_word_finds_the_ticket(desk: Any, hopper: dict) -> None:
    desk.intake(desk.customer("Alan Turing", "555 888 0202")["id"], problem="Battery swells",
                item_description="Red bike")
    for typed in ("grace", "g", "Hopp", "thinkbook", "lapt", "flick", "Flickeri",  # 8 letters
                  "flickering", "intermittent", "intermittentl",   # 12, and 13 letters
                  "intermittently", "keyboard_light", "keyboard light", "DISPLAY",
                  "grace flick", "g h"):
        assert _ids(desk, typed) == [hopper["id"]], typed
    for typed in ("flickeringly", "intermittentlyx", "grace battery", "race", "zzqx"):
        assert _ids(desk, typed) == [], typed


def test_a_ticket_number_is_found_alone_and_exact(desk: Any, hopper: dict) -> None:
    # another ticket that mentions the number's digits in its problem
    desk.intake(desk.customer("Alan Turing", "555 888 0202")["id"],
                problem=f"Same fault as {hopper['number']}")
    for typed in (hopper["number"], hopper["number"].lower(), str(hopper["id"])):
        found = _box(desk, typed)
        assert [r["id"] for r in found] == [hopper["id"]] and found[0]["exact"], typed


def test_the_newest_tickets_come_first(desk: Any) -> None:
    c = desk.customer("Ada Lovelace", "555 123 4567")
    ids = [desk.intake(c["id"], problem=f"Fan noise, case {n}")["id"] for n in range(4)]
    assert _ids(desk, "fan")[:4] == sorted(ids, reverse=True)
    assert _ids(desk, "lovelace")[:4] == sorted(ids, reverse=True)


@pytest.fixture
def spread(uow: Callable[..., Any], desk: Any) -> Callable[[dict[int, str]], None]:
    """Tickets with the given ids and problems, as if opened over years of work (ids far
    apart, as a million tickets have them)."""
    customer = desk.customer("Omar Haddad", "555 321 0000")

    def make(problems: dict[int, str]) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        with uow() as s:
            s.execute(insert(Ticket), [
                {"id": i, "number": services.format_number(i), "customer_id": customer["id"],
                 "status": "received", "problem": p, "status_token": f"t{i}",
                 "customer_name": "Omar Haddad", "units_text": "Silver amp",
                 "opened_at": now, "opened_month": f"{now:%Y-%m}", "status_changed_at": now}
                for i, p in problems.items()])
    return make


def _search(uow: Callable[..., Any], q: str, limit: int) -> list[int]:
    with uow(write=False) as s:
        return [row.id for row, _exact in services.search_tickets(s, q, limit)]


def test_the_newest_matches_of_the_whole_history_come_first(
        spread: Callable[[dict[int, str]], None], uow: Callable[..., Any]) -> None:
    # a common word in the newest tickets, a rarer one only in older ones (PostgreSQL
    # looks among the newest ~1,000 tickets, then ~16,000, then all)
    spread({100: "hum", 5_000: "hum, crackle", 17_000: "crackle", 30_000: "hum",
            39_990: "hum", 40_000: "hum, crackle", 40_001: "hum"})
    assert _search(uow, "hum", 3) == [40_001, 40_000, 39_990]
    assert _search(uow, "hum", 20) == [40_001, 40_000, 39_990, 30_000, 5_000, 100]
    assert _search(uow, "crackle", 2) == [40_000, 17_000]
    assert _search(uow, "crackle", 20) == [40_000, 17_000, 5_000]
    assert _search(uow, "cr hum", 20) == [40_000, 5_000]
    assert _search(uow, "hiss", 20) == []


def test_the_ticket_list_filters_by_the_same_words(desk: Any, hopper: dict) -> None:
    def ids(q: str) -> list[int]:
        return [x["id"] for x in desk.ok(desk.api.get("repairs/tickets", query_string={"q": q}))["items"]]

    assert ids("flickeri") == [hopper["id"]]
    assert ids("keyboard_light") == [hopper["id"]]
    assert ids("intermittently") == [hopper["id"]]
    assert ids("grace battery") == []


def test_a_changed_problem_is_searched_by_its_new_words(desk: Any, hopper: dict,
                                                        uow: Callable[..., Any]) -> None:
    with uow() as s:
        s.get(Ticket, hopper["id"]).problem = "Hinge creaks"
    assert _ids(desk, "creak") == [hopper["id"]]
    assert _ids(desk, "flick") == []
    with uow(write=False) as s:
        assert s.scalar(select(Ticket.problem).where(Ticket.id == hopper["id"])) == "Hinge creaks"


def _listed(desk: Any, q: str) -> list[int]:
    return [x["id"] for x in desk.ok(desk.api.get("repairs/tickets", query_string={"q": q}))["items"]]


def test_a_renamed_customer_is_found_by_the_new_name_and_not_the_old(desk: Any,
                                                                     hopper: dict) -> None:
    turing = desk.intake(desk.customer("Alan Turing", "555 888 0202")["id"], problem="Battery swells")
    second = desk.intake(hopper["customer_id"], problem="Dead pixel")
    desk.ok(desk.api.patch(f"customers/{hopper['customer_id']}",
                           json={"name": "Grace Murray", "phone": "555 444 0909"}))
    mine = [second["id"], hopper["id"]]
    assert _ids(desk, "murray") == mine and _ids(desk, "Grace Murr") == mine
    assert _ids(desk, "grace murray flick") == [hopper["id"]]
    assert _ids(desk, "hopper") == [] and _ids(desk, "grace hopper") == []
    assert _listed(desk, "murray") == mine and _listed(desk, "hopper") == []
    # the box shows the new name; the phone is searched where it lives, so it follows too
    assert _box(desk, "murray")[0]["title"] == f"{second['number']} · Grace Murray"
    assert _ids(desk, "555 444 0909") == mine and _ids(desk, "555 777 0101") == []
    assert _ids(desk, "alan turing") == [turing["id"]]          # nobody else's ticket moved
    assert desk.ticket(hopper["id"])["customer_name"] == "Grace Murray"


def test_a_merged_customers_tickets_are_found_by_the_surviving_name(desk: Any,
                                                                   hopper: dict) -> None:
    dup = desk.customer("Amazing Grace", "555 600 1234")
    theirs = desk.intake(dup["id"], problem="Cracked hinge")
    desk.ok(desk.api.post(f"customers/{hopper['customer_id']}/merge", json={"from_id": dup["id"]}))
    assert _ids(desk, "hopper") == [theirs["id"], hopper["id"]]
    assert _ids(desk, "amazing") == [] and _listed(desk, "amazing") == []
    assert desk.ticket(theirs["id"])["customer_id"] == hopper["customer_id"]
    # and a rename afterwards reaches the merged tickets too
    desk.ok(desk.api.patch(f"customers/{hopper['customer_id']}", json={"name": "Grace Murray"}))
    assert _ids(desk, "murray") == [theirs["id"], hopper["id"]] and _ids(desk, "hopper") == []
