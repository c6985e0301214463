"""Demonstration records: a bike and electronics shop with a service desk.

``counterdesk demo`` calls :func:`load_demo_records` through core's ``load_demo_data``
hook. Everything goes through the records services (so the ledger, the stock levels,
the units and the audit log agree exactly as they would after real work) and comes
from one seeded random generator, so two fresh databases get the same shop. Running
it again adds nothing: the catalog's first SKU marks a loaded shop.

Phone numbers are fictional (555-01xx lines) in the formats people really type;
e-mail addresses use the reserved example.com/.net/.org domains; barcodes are
GS1-valid UPC-A and EAN-13 codes made up for the demo.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core import audit
from core.records import items, parties, stock
from core.records.catalog import Product, create_product, gs1_check_digit
from core.records.parties import Customer
from core.records.stock import Location

SEED = 1907          # the year the shop's first bicycle was sold, as the story goes
CUSTOMERS = 320      # plus the two people entered twice (likely duplicates)
SOLD = 30            # units sold to customers
OWN_UNITS = 18       # customers' own units in for repair
MARKER_SKU = "BK-TRK-FX2D-M"
TAX = Decimal("8.25")

LOCATIONS = (("Store", "store"), ("Back room", "warehouse"), ("Service van", "van"))

# name, kind, contact, phone, account, lead time (days)
VENDORS = (
    ("Trek Bicycle Corporation", "manufacturer", "Dana Whitfield", "(920) 555-0110", "TRK-448120", 10),
    ("Specialized Bicycle Components", "manufacturer", "Marco Ruiz", "(408) 555-0117", "SBC-20931", 14),
    ("Giant Bicycle Inc.", "manufacturer", "Wei-Lin Chou", "(310) 555-0123", "GNT-77102", 21),
    ("Quality Bicycle Products", "supplier", "Order desk", "(952) 555-0131", "QBP-119204", 3),
    ("Shimano North America", "supplier", "Kenji Arai", "(949) 555-0145", "SNA-5521", 7),
    ("Samsung Electronics America", "manufacturer", "Retail partner desk", "(201) 555-0152", "SEA-RP-30871", 7),
    ("LG Electronics USA", "manufacturer", "Grace Kim", "(201) 555-0166", "LGE-400293", 7),
    ("Sony Electronics", "manufacturer", "Tom Becker", "(858) 555-0171", "SONY-88213", 10),
    ("Ingram Micro", "supplier", "Inside sales", "(714) 555-0183", "IM-2208817", 2),
    ("D&H Distributing", "supplier", "Shelly Novak", "(717) 555-0188", "DH-551902", 2),
    ("TD SYNNEX", "supplier", "Parts desk", "(864) 555-0194", "TDS-903311", 4),
    ("Riverside Electronics Repair", "service", "Sam Okafor", "(773) 555-0139", "RER-017", 5),
    ("Spoke & Wrench Wheelworks", "service", "Ines Duarte", "(773) 555-0176", "SWW-112", 3),
)


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    kind: str           # goods, part, service
    price: str
    cost: str
    vendor: str | None
    serialized: bool = False
    barcode: str = ""   # "upc" (US GS1 prefix), an EAN-13 prefix such as "4524667", or ""
    serial: str = ""    # the serial pattern of its brand (see _serial)
    description: str = ""
    min_stock: int = 0
    reorder_qty: int = 0


P = DemoProduct
PRODUCTS = (
    # bikes
    P(MARKER_SKU, "Trek FX 2 Disc hybrid, M", "goods", "849.99", "552.00", "Trek Bicycle Corporation", True, "upc", "trek", "Aluminium hybrid, hydraulic discs, 2x9", 2, 3),
    P("BK-TRK-MRL7-L", "Trek Marlin 7 mountain bike, L", "goods", "1199.99", "780.00", "Trek Bicycle Corporation", True, "upc", "trek", "29er hardtail, 1x10, RockShox fork", 1, 2),
    P("BK-TRK-DOM2-56", "Trek Domane AL 2 road bike, 56 cm", "goods", "1099.99", "715.00", "Trek Bicycle Corporation", True, "upc", "trek", "Endurance road, Claris 2x8", 1, 2),
    P("BK-SPZ-RHS-M", "Specialized Rockhopper Sport 29, M", "goods", "849.99", "548.00", "Specialized Bicycle Components", True, "upc", "specialized", "", 1, 2),
    P("BK-SPZ-SRX2-L", "Specialized Sirrus X 2.0, L", "goods", "899.99", "585.00", "Specialized Bicycle Components", True, "upc", "specialized", "Fitness hybrid with suspension seatpost", 1, 2),
    P("BK-SPZ-VADO3-M", "Specialized Turbo Vado 3.0 e-bike, M", "goods", "3249.99", "2275.00", "Specialized Bicycle Components", True, "upc", "specialized", "Class 3 commuter e-bike, 530 Wh battery", 1, 1),
    P("BK-GNT-ESC3-M", "Giant Escape 3 Disc, M", "goods", "529.99", "338.00", "Giant Bicycle Inc.", True, "4719", "giant", "", 2, 4),
    P("BK-GNT-TAL2-L", "Giant Talon 2 29, L", "goods", "899.99", "576.00", "Giant Bicycle Inc.", True, "4719", "giant", "", 1, 2),
    P("BK-GNT-EXPE2-M", "Giant Explore E+ 2 e-bike, M", "goods", "2899.99", "2030.00", "Giant Bicycle Inc.", True, "4719", "giant", "Trekking e-bike, SyncDrive Sport motor", 1, 1),
    # TVs
    P("TV-SAM-QN55Q60C", "Samsung 55\" QLED 4K Q60C", "goods", "649.99", "497.00", "Samsung Electronics America", True, "upc", "samsung", "", 2, 4),
    P("TV-SAM-UN65CU7000", "Samsung 65\" Crystal UHD CU7000", "goods", "479.99", "372.00", "Samsung Electronics America", True, "upc", "samsung", "", 2, 4),
    P("TV-LG-OLED55C3", "LG 55\" OLED evo C3", "goods", "1499.99", "1160.00", "LG Electronics USA", True, "upc", "lg", "", 1, 2),
    P("TV-LG-65UQ7570", "LG 65\" UHD UQ75", "goods", "529.99", "409.00", "LG Electronics USA", True, "upc", "lg", "", 1, 3),
    P("TV-SNY-KD65X85K", "Sony Bravia 65\" X85K", "goods", "999.99", "771.00", "Sony Electronics", True, "4548736", "sony", "", 1, 2),
    P("TV-SNY-XR55A80L", "Sony Bravia XR 55\" A80L OLED", "goods", "1599.99", "1238.00", "Sony Electronics", True, "4548736", "sony", "", 1, 1),
    # laptops
    P("LT-LEN-E14G5-I5", "Lenovo ThinkPad E14 Gen 5, i5/16/512", "goods", "899.00", "702.00", "Ingram Micro", True, "upc", "lenovo", "", 2, 3),
    P("LT-LEN-SLIM5-R7", "Lenovo IdeaPad Slim 5, Ryzen 7/16/1T", "goods", "749.00", "583.00", "Ingram Micro", True, "upc", "lenovo", "", 2, 3),
    P("LT-DEL-INS3520", "Dell Inspiron 15 3520, i5/8/512", "goods", "599.00", "468.00", "D&H Distributing", True, "upc", "dell", "", 2, 4),
    P("LT-DEL-XPS9315", "Dell XPS 13 9315, i7/16/512", "goods", "1099.00", "861.00", "D&H Distributing", True, "upc", "dell", "", 1, 2),
    P("LT-DEL-LAT5440", "Dell Latitude 5440, i5/16/256", "goods", "1249.00", "975.00", "D&H Distributing", True, "upc", "dell", "", 1, 2),
    # bike parts
    P("PT-TUBE-700X32", "Inner tube 700x28-32c, Presta 48 mm", "part", "8.99", "3.10", "Quality Bicycle Products", False, "upc", "", "", 20, 50),
    P("PT-TUBE-29X22", "Inner tube 29x2.0-2.4, Schrader", "part", "10.99", "3.85", "Quality Bicycle Products", False, "upc", "", "", 15, 40),
    P("PT-TUBE-26X21", "Inner tube 26x1.9-2.125, Schrader", "part", "9.49", "3.20", "Quality Bicycle Products", False, "upc", "", "", 10, 30),
    P("PT-SHI-B01S", "Shimano B01S resin disc brake pads", "part", "14.99", "6.40", "Shimano North America", False, "4524667", "", "", 10, 25),
    P("PT-SHI-L03A", "Shimano L03A resin disc brake pads (fin)", "part", "24.99", "11.20", "Shimano North America", False, "4524667", "", "", 6, 12),
    P("PT-KMC-X11", "KMC X11 chain, 11-speed, 118 links", "part", "34.99", "17.50", "Quality Bicycle Products", False, "4715575", "", "", 6, 12),
    P("PT-SHI-HG601", "Shimano CN-HG601 chain, 11-speed", "part", "37.99", "19.00", "Shimano North America", False, "4524667", "", "", 4, 10),
    P("PT-SHI-HG50-1134", "Shimano CS-HG50 cassette 11-34, 8-speed", "part", "44.99", "22.80", "Shimano North America", False, "4524667", "", "", 3, 6),
    P("PT-CAB-BRK", "Brake cable and housing kit", "part", "12.99", "4.90", "Quality Bicycle Products", False, "upc", "", "", 8, 20),
    P("PT-CAB-SHIFT", "Shift cable and housing kit", "part", "14.99", "5.60", "Quality Bicycle Products", False, "upc", "", "", 8, 20),
    P("PT-TIRE-GP5K-28", "Continental Grand Prix 5000 700x28c", "part", "69.99", "38.00", "Quality Bicycle Products", False, "4019238", "", "", 4, 8),
    # electronics parts
    P("PT-DEL-BAT41", "Dell 3-cell 41 Wh battery (Inspiron 15 3000)", "part", "79.99", "41.00", "TD SYNNEX", False, "upc", "", "", 2, 5),
    P("PT-LEN-BAT57", "Lenovo ThinkPad 57 Wh battery", "part", "99.99", "55.00", "TD SYNNEX", False, "upc", "", "", 2, 4),
    P("PT-USBC-65W", "USB-C 65 W laptop charger", "part", "39.99", "17.00", "D&H Distributing", False, "upc", "", "", 4, 10),
    P("PT-KBD-E14", "ThinkPad E14 replacement keyboard, US", "part", "49.99", "23.00", "TD SYNNEX", False, "upc", "", "", 1, 3),
    P("PT-SAM-HDMIBD", "Samsung TV HDMI/main board (BN94 series)", "part", "89.99", "48.00", "Samsung Electronics America", False, "upc", "", "", 1, 2),
    P("PT-LG-MAINBD", "LG TV main board (EBT series)", "part", "119.99", "66.00", "LG Electronics USA", False, "upc", "", "", 1, 2),
    P("PT-TV-PSU55", "TV power supply board, 55\"", "part", "74.99", "39.00", "TD SYNNEX", False, "upc", "", "", 1, 3),
    P("PT-TV-TCON", "TV T-Con board", "part", "59.99", "27.00", "TD SYNNEX", False, "upc", "", "", 1, 3),
    P("PT-HDMI-2M", "HDMI 2.1 cable, 2 m", "part", "12.99", "3.40", "D&H Distributing", False, "upc", "", "", 10, 30),
    P("PT-CR2032", "CR2032 coin cell (CMOS battery)", "part", "2.99", "0.45", "D&H Distributing", False, "upc", "", "", 10, 40),
    P("PT-THERMAL", "Thermal paste, 4 g", "part", "7.99", "2.10", "D&H Distributing", False, "upc", "", "", 3, 10),
    # services
    P("SV-BIKE-TUNE", "Bike tune-up, standard", "service", "79.00", "0.00", None, description="Adjust gears and brakes, true wheels, check bearings"),
    P("SV-BIKE-OVERHAUL", "Bike overhaul, full strip and rebuild", "service", "179.00", "0.00", None),
    P("SV-BIKE-FLAT", "Flat repair, labour", "service", "15.00", "0.00", None),
    P("SV-BIKE-BLEED", "Hydraulic brake bleed, per wheel", "service", "45.00", "0.00", None),
    P("SV-EBIKE-DIAG", "E-bike motor and battery diagnostic", "service", "89.00", "0.00", None),
    P("SV-TV-DIAG", "TV diagnosis", "service", "69.00", "0.00", None, description="Credited against the repair if it goes ahead"),
    P("SV-LT-DIAG", "Laptop diagnosis", "service", "59.00", "0.00", None),
    P("SV-LT-DATA", "Data backup and transfer", "service", "49.00", "0.00", None),
    P("SV-BOARD-SWAP", "Board replacement, labour", "service", "120.00", "0.00", None),
)

FIRST = ("Maria", "James", "Aisha", "Wei", "Olivia", "Mateo", "Priya", "Liam", "Chloé", "Tomasz",
         "Fatima", "Noah", "Mei", "Diego", "Emma", "Kwame", "Sofia", "Hiroshi", "Ava", "Omar",
         "Isabella", "Ethan", "Zoë", "Rahul", "Grace", "Luca", "Amara", "Benjamin", "Yuki", "Elena",
         "Jamal", "Hannah", "Santiago", "Ngozi", "Lucas", "Anaya", "Daniel", "Ingrid", "Mohammed",
         "Charlotte", "José", "Leah", "Arjun", "Renée", "Samuel", "Linh", "Gabriel", "Nadia",
         "Henry", "Camila", "Søren", "Abigail", "Kofi", "Valentina", "Jack", "Mariam", "Owen",
         "Ximena", "Dmitri", "Ruth", "Tariq", "Evelyn", "Marcus", "Ji-woo", "Frances", "Andrés",
         "Łukasz", "Beatriz", "Connor", "Thandiwe")
LAST = ("Gonzalez", "Smith", "Nguyen", "Johnson", "Patel", "Kowalski", "Okafor", "Chen", "Garcia",
        "Williams", "Kim", "Brown", "Rodriguez", "Hassan", "Murphy", "Tanaka", "Silva", "Müller",
        "O'Brien", "Novak", "Davis", "Martinez", "Ivanova", "Lee", "Wilson", "Hernández", "Anderson",
        "Singh", "Taylor", "Lopez", "Mensah", "Thomas", "Rossi", "Jackson", "White", "Nakamura",
        "Harris", "Petrov", "Clark", "Ramírez", "Lewis", "Walker", "Dubois", "Young", "Allen",
        "Sánchez", "Wright", "Khan", "Scott", "Torres", "Green", "Adeyemi", "Baker", "Larsen",
        "Nelson", "Hill", "Ortiz", "Campbell", "Mitchell", "Schmidt", "Van der Berg", "Roberts",
        "Carter", "Phillips", "Evans", "Turner", "Flores", "Kaur", "Parker", "Collins", "Edwards")
STREETS = ("W Belmont Ave", "N Clark St", "N Milwaukee Ave", "S Halsted St", "W Armitage Ave",
           "N Lincoln Ave", "W Division St", "N Damen Ave", "W Irving Park Rd", "N Broadway",
           "W Fullerton Ave", "S Michigan Ave", "N Sheridan Rd", "W Chicago Ave")
TOWNS = (("Chicago", "IL", "606"), ("Evanston", "IL", "602"), ("Oak Park", "IL", "603"),
         ("Skokie", "IL", "600"))
AREA_CODES = ("312", "773", "872", "847", "708", "630")
PHONE_FORMATS = ("({a}) {x}-{l}", "{a}-{x}-{l}", "{a}.{x}.{l}", "+1 {a} {x} {l}", "{a}{x}{l}",
                 "{a} {x} {l}", "1-{a}-{x}-{l}")
DOMAINS = ("example.com", "example.net", "example.org")
NOTES = ("Prefers a text after 5 pm.", "Commuter; rides daily, all year.",
         "Business account: Lakeview Dental (two laptops).", "Asks for old parts back.",
         "Hard of hearing: speak up, or write it down.", "Member of the Tuesday group ride.",
         "Pays by card only.", "Call the landline, not the mobile.")
FAULTS = {
    "tv": ("No picture, sound works; standby LED blinks 5 times.", "Vertical lines across the panel.",
           "HDMI 2 no signal after a storm.", "Turns off after ten minutes."),
    "laptop": ("Won't charge; battery 0 %.", "Spilled coffee on the keyboard.",
               "Very slow, fans loud, wants a clean-up and a backup.", "Cracked hinge, screen flickers."),
    "bike": ("Rear brake squeals and rubs.", "Gears skip under load.", "E-bike shows error 503.",
             "Wheel out of true after a pothole."),
}


def load_demo_records(session: Session, actor: Any) -> None:
    """Add the demo shop's records through the services, unless they are already there."""
    if session.scalar(select(Product.id).where(Product.sku == MARKER_SKU)) is not None:
        return
    rng = random.Random(SEED)
    locations = _locations(session, actor)
    vendors = _vendors(session, actor)
    products = _products(session, actor, rng, vendors)
    customers = _customers(session, actor, rng)
    serialized = [sku for sku, (_p, d) in products.items() if d.serialized]
    sales = [(buyer, rng.choice(serialized)) for buyer in rng.sample(customers[:CUSTOMERS], SOLD)]
    serials, for_sale = _stock(session, actor, rng, products, locations,
                               Counter(sku for _b, sku in sales))
    _sold_units(session, actor, sales, for_sale)
    _customer_owned_units(session, actor, rng, products, locations, customers, serials)


# ------------------------------------------------------------------ pieces

def _locations(session: Session, actor: Any) -> dict[str, Location]:
    out = {}
    for name, kind in LOCATIONS:
        loc = session.scalar(select(Location).where(Location.name == name))
        out[name] = loc or stock.create_location(session, actor, {"name": name, "kind": kind})
    return out


def _vendors(session: Session, actor: Any) -> dict[str, Any]:
    out = {}
    for name, kind, contact, phone, account, lead in VENDORS:
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:14]
        out[name] = parties.create_vendor(session, actor, {
            "name": name, "kind": kind, "contact": contact, "phone": phone,
            "email": f"orders@{slug}.example.com", "account_number": account,
            "default_lead_time_days": lead,
            "notes": "Local repair partner: board-level work we send out." if kind == "service" else ""})
    return out


def gtin(rng: random.Random, prefix: str, length: int) -> str:
    """A GS1-valid code of ``length`` digits starting with ``prefix``."""
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - 1 - len(prefix)))
    return body + str(gs1_check_digit(body))


def _barcode(rng: random.Random, kind: str, used: set[str]) -> str | None:
    if not kind:
        return None
    while True:
        # UPC-A with a US company prefix (0, 1, 6, 7, 8), or an EAN-13 under the given prefix
        code = gtin(rng, rng.choice("01678"), 12) if kind == "upc" else gtin(rng, kind, 13)
        if code not in used:
            used.add(code)
            return code


def _products(session: Session, actor: Any, rng: random.Random,
              vendors: dict[str, Any]) -> dict[str, tuple[Product, DemoProduct]]:
    used: set[str] = set()
    out = {}
    for d in PRODUCTS:
        product = create_product(session, actor, {
            "sku": d.sku, "barcode": _barcode(rng, d.barcode, used), "name": d.name,
            "description": d.description, "kind": d.kind, "price": Decimal(d.price),
            "cost": Decimal(d.cost), "tax_rate": Decimal("0") if d.kind == "service" else TAX,
            "serialized": d.serialized, "min_stock": d.min_stock, "reorder_qty": d.reorder_qty,
            "vendor_id": vendors[d.vendor].id if d.vendor else None})
        out[d.sku] = (product, d)
    return out


def _phone(rng: random.Random, area: str, line: int) -> str:
    fmt = rng.choice(PHONE_FORMATS)
    return fmt.format(a=area, x="555", l=f"01{line:02d}")


def _email(rng: random.Random, first: str, last: str) -> str:
    plain = lambda s: "".join(ch for ch in s.lower().replace("ł", "l").replace("ø", "o")  # noqa: E731
                              if ch.isascii() and ch.isalnum())
    style = rng.randrange(4)
    local = (f"{plain(first)}.{plain(last)}", f"{plain(first)[0]}{plain(last)}",
             f"{plain(first)}{rng.randrange(10, 99)}", f"{plain(last)}.{plain(first)}")[style]
    return f"{local}@{rng.choice(DOMAINS)}"


def _customers(session: Session, actor: Any, rng: random.Random) -> list[Any]:
    numbers = [(a, n) for a in AREA_CODES for n in range(100)]
    rng.shuffle(numbers)
    rows: list[dict[str, Any]] = []
    for i in range(CUSTOMERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        area, line = numbers[i]
        roll = rng.random()
        phone = _phone(rng, area, line) if roll < 0.9 else None
        email = _email(rng, first, last) if roll < 0.55 or roll >= 0.8 else None
        channel = ("email" if email else "sms") if rng.random() > 0.04 else "none"
        data = {"name": f"{first} {last}", "phone": phone, "email": email,
                "contact_channel": channel if (phone or email) else "none",
                "marketing_opt_out": rng.random() < 0.15,
                "notes": rng.choice(NOTES) if rng.random() < 0.12 else "", "address": ""}
        if rng.random() < 0.6:
            town, state, zip3 = rng.choice(TOWNS)
            data["address"] = (f"{rng.randrange(100, 5999)} {rng.choice(STREETS)}\n"
                               f"{town}, {state} {zip3}{rng.randrange(10, 99)}")
        rows.append(data)
    # A few hundred rows in one statement (one per customer through the service, each
    # audited, is most of the demo's time); the search indexes follow by trigger.
    for row in rows:
        row.update(phone_digits=parties.phone_digits(row["phone"]),
                   email=parties.normalize_email(row["email"]))
    out = list(session.scalars(insert(Customer).returning(Customer), rows))
    audit.record(session, "customer.demo_loaded", actor=actor, record_type="customer",
                 after={"count": len(out), "first_id": out[0].id, "last_id": out[-1].id})
    # Two people entered twice at the counter (through the service): the same number,
    # typed another way — the customer screen points them out as likely duplicates.
    for original in (out[3], out[17]):
        if original.phone:
            twin = {"name": original.name.upper() if rng.random() < 0.5 else original.name,
                    "phone": original.phone_digits, "notes": "Entered at the counter in a hurry."}
            out.append(parties.create_customer(session, actor, twin))
    return out


_SERIAL_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _serial(rng: random.Random, brand: str) -> str:
    """A serial shaped like the brand's own."""
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    a = lambda n: "".join(rng.choice(_SERIAL_ALPHABET) for _ in range(n))  # noqa: E731
    return {
        "trek": lambda: f"WTU{d(3)}C{d(4)}{a(1)}",
        "specialized": lambda: f"WSBC{d(7)}{a(1)}",
        "giant": lambda: f"GS{d(2)}{a(1)}{d(5)}",
        "samsung": lambda: f"0{a(1)}{d(1)}{a(2)}3{a(2)}{d(6)}{a(1)}",
        "lg": lambda: f"{d(3)}{a(4)}{d(5)}",
        "sony": lambda: f"{d(7)}",
        "lenovo": lambda: f"PF{a(1)}{d(1)}{a(2)}{d(2)}",
        "dell": lambda: f"{d(1)}{a(2)}{d(1)}{a(1)}{d(2)}",
    }[brand]()


def _new_serials(rng: random.Random, brand: str, n: int, used: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        s = _serial(rng, brand)
        if s not in used:
            used.add(s)
            out.append(s)
    return out


def _stock(session: Session, actor: Any, rng: random.Random,
           products: dict[str, tuple[Product, DemoProduct]], locations: dict[str, Location],
           to_sell: Counter[str]) -> tuple[dict[int, set[str]], dict[str, list[int]]]:
    """Opening stock (``to_sell[sku]`` more units of a serialized product at the store,
    for the sales that follow), a few transfers and a write-off. Returns the serials
    used by product id, and the ids of the units put aside for sale by SKU."""
    store, back, van = locations["Store"], locations["Back room"], locations["Service van"]
    serials: dict[int, set[str]] = {}
    for_sale: dict[str, list[int]] = {}
    for sku, (product, d) in products.items():
        if d.kind == "service":
            continue
        if d.serialized:
            used = serials.setdefault(product.id, set())
            extra = to_sell[sku]
            for loc, n in ((store, rng.randint(1, 3) + extra), (back, rng.randint(1, 4))):
                moves = stock.move_stock(session, actor, product_id=product.id,
                                         from_location_id=None, to_location_id=loc.id, quantity=n,
                                         serials=_new_serials(rng, d.serial, n, used),
                                         reason="opening stock",
                                         reference=f"PO-{rng.randrange(10000, 99999)}")
                if loc is store and extra:
                    for_sale[sku] = [m.item_id for m in moves[-extra:]]
        else:
            back_qty = d.reorder_qty + rng.randint(0, d.reorder_qty)
            stock.move_stock(session, actor, product_id=product.id, from_location_id=None,
                             to_location_id=back.id, quantity=back_qty, reason="opening stock",
                             reference=f"PO-{rng.randrange(10000, 99999)}")
            shelf = rng.randint(1, max(1, back_qty // 3))
            stock.move_stock(session, actor, product_id=product.id, from_location_id=back.id,
                             to_location_id=store.id, quantity=shelf, reason="restock the shelf")
            if sku.startswith(("PT-TUBE", "PT-SHI-B01S", "PT-CAB", "PT-HDMI")):
                stock.move_stock(session, actor, product_id=product.id, from_location_id=back.id,
                                 to_location_id=van.id, quantity=min(4, back_qty - shelf),
                                 reason="load the service van")
    tubes = products["PT-TUBE-700X32"][0]
    stock.move_stock(session, actor, product_id=tubes.id, from_location_id=store.id,
                     to_location_id=None, quantity=1, reason="damaged: valve torn off (write-off)")
    return serials, for_sale


def _sold_units(session: Session, actor: Any, sales: list[tuple[Any, str]],
                for_sale: dict[str, list[int]]) -> None:
    """Units the shop sold: received into stock at the store, then sold to a customer
    (who owns it now; the ledger shows it in and out)."""
    for buyer, sku in sales:
        unit = items.get_item(session, for_sale[sku].pop())
        items.update_item(session, actor, unit, {"status": "sold", "owner_id": buyer.id,
                                                 "location_id": None,
                                                 "reason": f"sold to {buyer.name}"})


def _customer_owned_units(session: Session, actor: Any, rng: random.Random,
                          products: dict[str, tuple[Product, DemoProduct]],
                          locations: dict[str, Location], customers: list[Any],
                          serials: dict[int, set[str]]) -> None:
    """Customers' own units in for repair: in the shop's custody, never in its stock."""
    back = locations["Back room"]
    families = {"tv": [v for k, v in products.items() if k.startswith("TV-")],
                "laptop": [v for k, v in products.items() if k.startswith("LT-")],
                "bike": [v for k, v in products.items() if k.startswith("BK-")]}
    owners = rng.sample(customers[:CUSTOMERS], OWN_UNITS)
    for n, owner in enumerate(owners):
        family = ("tv", "laptop", "bike")[n % 3]
        product, d = rng.choice(families[family])
        serial = _new_serials(rng, d.serial, 1, serials.setdefault(product.id, set()))[0]
        items.create_item(session, actor, {
            "product_id": product.id, "serial": serial, "status": "customer_owned",
            "owner_id": owner.id, "location_id": back.id,
            "notes": "In for repair: " + rng.choice(FAULTS[family])})
