"""Build a large shop on SQLite, fast: ``python -m bench.generate --instance DIR``.

The database is created by the real migrations (``core.migrate.upgrade`` on a
:class:`~core.runtime.Runtime` for ``DIR``), roles are seeded and a ``bench`` admin
user is created through the services (its password goes to
``DIR/bench-credentials.txt``). Then the records are bulk-loaded with the plain
``sqlite3`` module:

* ``PRAGMA journal_mode=OFF, synchronous=OFF`` and one exclusive lock while loading
  (the database goes back to WAL at the end); CHECK constraints are verified by one scan
  per table after loading rather than per row (per row they cost more than the
  insert itself); NOT NULL, UNIQUE and PRIMARY KEY are enforced while loading and
  foreign keys by ``PRAGMA foreign_key_check`` at the end;
* the secondary indexes and the triggers of the loaded tables are dropped first and
  re-created from their exact SQL afterwards (an index built by one sort is much
  faster than five million random B-tree inserts); the unique constraints stay and
  rows are inserted in their order (units sorted by product then normalised serial);
* the FTS5 search tables are external-content tables kept by those triggers, so they
  are filled by one ``'rebuild'`` from their content tables, then ``'optimize'``d; the
  phone-fragment table ``customers_phone_suffixes`` (also kept by triggers) by one
  ``INSERT … SELECT`` in key order;
* ``ANALYZE`` at the end;
* the big tables' rows are made in a forked child process while this one inserts
  (``--serial``: all in one process; the database is the same either way).

Every searchable column is written by the records module's own functions —
``parties.phone_digits``, ``parties.normalize_email``, ``items.normalize_serial``,
``catalog.gs1_check_digit`` / ``normalize_barcode`` — so the app finds generated rows
exactly as it finds rows created through the services (tests/test_bench_smoke.py
checks that). Not generated: audit entries for these rows (they were never "created"
by anyone), reservations, and sale/repair history (no plugin tables yet).

Stock agrees with the ledger: each ``in_stock`` unit has its ``unit_added`` move,
some non-serialized products have an opening-stock adjustment, and ``stock_levels``
is the sum of those moves.
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import multiprocessing
import os
import random
import re
import resource
import secrets
import sqlite3
import sys
import time
import traceback
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, Callable, Iterable, Iterator

from bench import data

BENCH_USER = "bench"
CREDENTIALS_FILE = "bench-credentials.txt"
LOADED_TABLES = ("locations", "vendors", "customers", "products", "items", "stock_moves",
                 "stock_levels")
CHUNK = 250_000

# Unit statuses and their share of the units (in_stock gets a ledger row each).
UNIT_STATUSES = (("in_stock", 0.12), ("sold", 0.70), ("customer_owned", 0.10),
                 ("in_service", 0.04), ("at_vendor", 0.02), ("returned", 0.01),
                 ("scrapped", 0.01))


# ------------------------------------------------------------------ reporting

def cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the row makers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Step:
    name: str
    rows: int
    seconds: float
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class Stats:
    path: str = ""
    steps: list[Step] = field(default_factory=list)
    total_seconds: float = 0.0
    total_cpu: float = 0.0
    unit_seconds: float = 0.0   # items insert + its index builds
    unit_cpu: float = 0.0

    def add(self, name: str, rows: int, seconds: float, cpu: float = 0.0) -> Step:
        step = Step(name, rows, seconds, cpu)
        self.steps.append(step)
        return step

    def seconds_of(self, prefix: str) -> float:
        return sum(s.seconds for s in self.steps if s.name.startswith(prefix))

    def cpu_of(self, prefix: str) -> float:
        return sum(s.cpu for s in self.steps if s.name.startswith(prefix))


def _say(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------- helpers

def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def _b36(n: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(digits[r])
    return "".join(reversed(out)).rjust(width, "0")


def _timestamps(rng: random.Random, n: int = 1 << 16, years: float = 5.0) -> list[str]:
    """``n`` ascending timestamps over the last ``years``, formatted as SQLAlchemy
    stores ``UTCDateTime`` on SQLite (UTC, naive, always six fraction digits)."""
    end = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    start = end - dt.timedelta(days=365.25 * years)
    span = (end - start).total_seconds()
    secs = sorted(rng.random() * span for _ in range(n))
    return [(start + dt.timedelta(seconds=s)).strftime("%Y-%m-%d %H:%M:%S.%f") for s in secs]


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    it = iter(rows)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


def _insert(con: sqlite3.Connection, stats: Stats, table: str, columns: tuple[str, ...],
            chunks: Iterable[list[tuple]], expected: int) -> Step:
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    t0, c0 = time.perf_counter(), cpu_seconds()
    done = 0
    next_report = CHUNK
    con.execute("BEGIN")
    for chunk in chunks:
        con.executemany(sql, chunk)
        done += len(chunk)
        if expected >= 2 * CHUNK and done >= next_report:
            next_report += CHUNK
            el = time.perf_counter() - t0
            _say(f"  {table}: {done:,}/{expected:,} rows, {done / el:,.0f} rows/s")
    con.execute("COMMIT")
    if hasattr(chunks, "close"):
        chunks.close()   # joins the row maker, so its CPU time is counted
    step = stats.add(f"insert {table}", done, time.perf_counter() - t0, cpu_seconds() - c0)
    _say(f"{table}: {done:,} rows in {step.seconds:.2f} s ({step.rate:,.0f} rows/s; "
         f"{step.cpu:.2f} s CPU)")
    return step


@dataclass
class _Done:
    value: Any = None
    error: str | None = None


PIPE_CHUNK = 50_000


def produced(make_rows: Callable[[], Iterable[tuple]], *, parallel: bool,
             finish: Callable[[], Any] = lambda: None,
             on_done: Callable[[Any], None] = lambda _v: None) -> Iterator[list[tuple]]:
    """Chunks of the rows ``make_rows()`` yields. With ``parallel`` they are made in a
    forked child process while this one inserts (generating a row costs about as much
    as inserting it); ``finish()`` runs in the child after the last row and its value
    (state the generator built up) is handed to ``on_done`` here."""
    if not parallel:
        yield from _chunks(make_rows(), PIPE_CHUNK)
        on_done(finish())
        return
    ctx = multiprocessing.get_context("fork")
    queue: Any = ctx.Queue(maxsize=4)

    def produce() -> None:
        try:
            for chunk in _chunks(make_rows(), PIPE_CHUNK):
                queue.put(chunk)
            queue.put(_Done(finish()))
        except BaseException:  # noqa: BLE001 - reported by the parent
            queue.put(_Done(error=traceback.format_exc()))

    proc = ctx.Process(target=produce, daemon=True)
    proc.start()
    try:
        while True:
            try:
                item = queue.get(timeout=5)
            except Empty:
                if not proc.is_alive():
                    raise SystemExit(f"the row generator died (exit code {proc.exitcode})")
                continue
            if isinstance(item, _Done):
                if item.error:
                    raise SystemExit("the row generator failed:\n" + item.error)
                on_done(item.value)
                break
            yield item
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()


# ----------------------------------------------------------- instance / schema

def prepare_instance(instance: str, *, force: bool = False,
                     overrides: dict[str, Any] | None = None) -> tuple[str, str]:
    """Create the database through the real migrations, seed roles and create the
    ``bench`` admin user. Returns (database path, bench password)."""
    from core import migrate
    from core.auth import create_user, seed_roles
    from core.config import Config
    from core.runtime import Runtime, set_current

    cfg = Config.load({"instance_path": instance, **(overrides or {})})
    if not cfg.database_url.startswith("sqlite:///"):
        raise SystemExit("The generator loads SQLite databases only (COUNTERDESK_DATABASE_URL "
                         f"is {cfg.database_url.split(':', 1)[0]}).")
    path = cfg.database_url[len("sqlite:///"):]
    if os.path.exists(path):
        if not force:
            raise SystemExit(f"{path} exists; pass --force to replace it.")
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    cfg.ensure_instance()
    rt = Runtime(cfg)
    set_current(rt)
    password = secrets.token_urlsafe(12)
    try:
        migrate.upgrade(rt)
        with rt.unit_of_work() as s:
            seed_roles(s, rt.registry.permissions.values())
            create_user(s, username=BENCH_USER, password=password, roles=["admin"],
                        display_name="Benchmark", actor=None,
                        password_method=cfg.password_method)
    finally:
        rt.close()
        set_current(None)
    cred = Path(cfg.instance_path) / CREDENTIALS_FILE
    fd = os.open(cred, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{BENCH_USER} {password}\n")
    return path, password


def read_credentials(instance: str) -> tuple[str, str]:
    user, password = (Path(instance) / CREDENTIALS_FILE).read_text().split()
    return user, password


@dataclass
class Suspended:
    indexes: list[tuple[str, str, str]]     # (table, name, sql)
    triggers: list[tuple[str, str, str]]
    fts: list[tuple[str, str]]              # (fts table, content table)


_FTS_CONTENT = re.compile(r"content\s*=\s*'([^']+)'", re.I)


def suspend_indexes_and_triggers(con: sqlite3.Connection, tables: Iterable[str]) -> Suspended:
    """Drop the secondary indexes and triggers of ``tables`` (their SQL is kept).
    Indexes behind UNIQUE/PRIMARY KEY constraints (no SQL) stay."""
    tables = tuple(tables)
    marks = ",".join("?" * len(tables))
    idx = con.execute(f"SELECT tbl_name, name, sql FROM sqlite_master WHERE type='index' "
                      f"AND sql IS NOT NULL AND tbl_name IN ({marks}) ORDER BY name",
                      tables).fetchall()
    trg = con.execute(f"SELECT tbl_name, name, sql FROM sqlite_master WHERE type='trigger' "
                      f"AND tbl_name IN ({marks}) ORDER BY name", tables).fetchall()
    fts = []
    for name, sql in con.execute("SELECT name, sql FROM sqlite_master WHERE type='table' "
                                 "AND sql LIKE 'CREATE VIRTUAL TABLE%USING fts5%'"):
        m = _FTS_CONTENT.search(sql)
        if m and m.group(1) in tables:
            fts.append((name, m.group(1)))
    for _t, name, _s in trg:
        con.execute(f'DROP TRIGGER "{name}"')
    for _t, name, _s in idx:
        con.execute(f'DROP INDEX "{name}"')
    return Suspended(idx, trg, fts)


def restore_indexes_and_triggers(con: sqlite3.Connection, saved: Suspended, stats: Stats) -> None:
    per_table: Counter[str] = Counter()
    for table, name, sql in saved.indexes:
        t0, c0 = time.perf_counter(), cpu_seconds()
        con.execute(sql)
        el = time.perf_counter() - t0
        per_table[table] += 1
        rows = con.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
        stats.add(f"index {table}.{name}", rows, el, cpu_seconds() - c0)
        _say(f"index {name}: {el:.2f} s")
    for fts, content in saved.fts:
        t0, c0 = time.perf_counter(), cpu_seconds()
        con.execute("BEGIN")
        con.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        con.execute(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")
        con.execute("COMMIT")
        el = time.perf_counter() - t0
        rows = con.execute(f"SELECT count(*) FROM {content}").fetchone()[0]
        stats.add(f"fts {fts}", rows, el, cpu_seconds() - c0)
        _say(f"search table {fts}: rebuilt from {content} ({rows:,} rows) in {el:.2f} s")
    fill_phone_suffixes(con, stats)
    for _t, _name, sql in saved.triggers:
        con.execute(sql)


def fill_phone_suffixes(con: sqlite3.Connection, stats: Stats) -> None:
    """The phone-fragment table (every suffix of a phone's digits, kept by triggers on
    ``customers`` in normal use), filled by one sorted ``INSERT … SELECT``."""
    from core.records.search import PHONE_SUFFIXES, PHONE_SUFFIXES_FILL
    if not con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (PHONE_SUFFIXES,)).fetchone():
        return
    t0, c0 = time.perf_counter(), cpu_seconds()
    con.execute("BEGIN")
    con.execute(f"DELETE FROM {PHONE_SUFFIXES}")
    rows = con.execute(PHONE_SUFFIXES_FILL).rowcount
    con.execute("COMMIT")
    el = time.perf_counter() - t0
    stats.add(f"search table {PHONE_SUFFIXES}", rows, el, cpu_seconds() - c0)
    _say(f"search table {PHONE_SUFFIXES}: {rows:,} phone suffixes in {el:.2f} s")


def check_constraints(table_sql: str) -> list[str]:
    """The expressions of the CHECK constraints in a ``CREATE TABLE`` statement."""
    out = []
    upper = table_sql.upper()
    i = 0
    while (j := upper.find(" CHECK", i)) >= 0:
        start = table_sql.index("(", j)
        depth = 0
        for end in range(start, len(table_sql)):
            depth += {"(": 1, ")": -1}.get(table_sql[end], 0)
            if depth == 0:
                break
        out.append(table_sql[start:end + 1])
        i = end + 1
    return out


def verify_checks(con: sqlite3.Connection, tables: Iterable[str]) -> None:
    """One scan per table for rows that break a CHECK constraint (they were not
    evaluated per row while loading); any such row aborts the generation."""
    for table in tables:
        sql = con.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?",
                          (table,)).fetchone()[0]
        exprs = check_constraints(sql)
        if not exprs:
            continue
        where = " OR ".join(f"NOT {e}" for e in exprs)
        bad = con.execute(f"SELECT rowid FROM {table} WHERE {where} LIMIT 5").fetchall()
        if bad:
            raise SystemExit(f"rows of {table} break a CHECK constraint: rowids {bad}")


# ----------------------------------------------------------------- the shop

class Shop:
    """Generates rows; every list it keeps (vendors, products) is small."""

    def __init__(self, seed: int, customers: int, products: int, units: int) -> None:
        from core.records import catalog, items, parties
        self.catalog, self.items, self.parties = catalog, items, parties
        self.seed = seed
        self.n_customers, self.n_products, self.n_units = customers, products, units
        self.rng = random.Random(seed)
        self.times = _timestamps(random.Random(seed + 7))
        self.vendors: list[tuple] = []
        self.vendor_by_brand: dict[str, int] = {}
        self.location_ids: dict[str, int] = {}
        self.serialized: list[tuple[int, str]] = []      # (product id, serial prefix)
        self.stocked: list[int] = []                     # non-serialized stocked products
        self.in_stock_units: list[tuple[int, int, int, str]] = []   # item, product, loc, at
        self.levels: Counter[tuple[int, int]] = Counter()

    # -------------------------------------------------------------- locations

    LOCATION_COLS = ("id", "name", "kind", "active", "created_at", "updated_at")

    def locations(self) -> Iterator[tuple]:
        ts = self.times[0]
        for i, (name, kind) in enumerate(data.LOCATIONS, start=1):
            self.location_ids[kind] = i
            yield (i, name, kind, 1, ts, ts)

    # ---------------------------------------------------------------- vendors

    VENDOR_COLS = ("id", "name", "kind", "contact", "phone", "email", "account_number",
                   "default_lead_time_days", "notes", "active", "created_at", "updated_at")

    def vendor_rows(self) -> Iterator[tuple]:
        rng = random.Random(self.seed + 1)
        names = [(n, "manufacturer" if i < 38 else "supplier")
                 for i, n in enumerate(data.VENDOR_NAMES)]
        names += [(n, "service") for n in data.SERVICE_VENDORS]
        for vid, (name, kind) in enumerate(names, start=1):
            brand = name.split()[0]
            self.vendor_by_brand.setdefault(brand, vid)
            first, last = rng.choice(data.FIRST_NAMES), rng.choice(data.LAST_NAMES)
            phone = f"({rng.choice(data.AREA_CODES)}) 555-{rng.randrange(10000):04d}"
            email = self.parties.normalize_email(
                f"orders@{_ascii(_NOT_ALNUM.sub('', name))}.example.com")
            ts = self.times[rng.randrange(len(self.times) // 10)]
            row = (vid, name, kind, f"{first} {last}", phone, email,
                   f"ACCT-{rng.randrange(10**6):06d}", rng.choice((2, 3, 5, 7, 10, 14, 21)),
                   "", 1, ts, ts)
            self.vendors.append(row)
            yield row

    # -------------------------------------------------------------- customers

    CUSTOMER_COLS = ("id", "name", "phone", "phone_digits", "email", "address", "notes",
                     "contact_channel", "marketing_opt_out", "active", "merged_into_id",
                     "created_at", "updated_at")

    def customer_rows(self) -> Iterator[tuple]:
        rng = random.Random(self.seed + 2)
        rand, choice, randrange = rng.random, rng.choice, rng.randrange
        firsts, lasts = data.FIRST_NAMES, data.LAST_NAMES
        ascii_first = {n: _ascii(_NOT_ALNUM.sub("", n)) for n in firsts}
        ascii_last = {n: _ascii(_NOT_ALNUM.sub("", n)) for n in lasts}
        formats, areas = data.PHONE_FORMATS, data.AREA_CODES
        streets, cities, domains = data.STREETS, data.CITIES, data.EMAIL_DOMAINS
        phone_digits, normalize_email = self.parties.phone_digits, self.parties.normalize_email
        default_channel = _default_channel(self.parties)
        times, nt, n = self.times, len(self.times), self.n_customers
        for cid in range(1, n + 1):
            first, last = choice(firsts), choice(lasts)
            r = rand()
            name = f"{first} {chr(65 + randrange(26))}. {last}" if r < 0.05 else f"{first} {last}"
            phone = None
            if rand() < 0.93:
                phone = choice(formats).format(a=choice(areas), e=randrange(200, 1000),
                                               n=f"{randrange(10000):04d}")
            email = None
            if rand() < 0.65:
                email = normalize_email(f"{ascii_first[first]}.{ascii_last[last]}"
                                        f"{randrange(1000)}@{choice(domains)}")
            address = f"{randrange(1, 9999)} {choice(streets)}, {choice(cities)}"
            ts = times[cid * nt // (n + 1)]
            yield (cid, name, phone, phone_digits(phone), email, address, "",
                   default_channel(email, phone), 1 if rand() < 0.15 else 0, 1, None, ts, ts)

    # --------------------------------------------------------------- products

    PRODUCT_COLS = ("id", "sku", "barcode", "name", "description", "kind", "price", "cost",
                    "tax_rate", "serialized", "min_stock", "reorder_qty", "vendor_id", "active",
                    "created_at", "updated_at")

    def product_rows(self) -> Iterator[tuple]:
        rng = random.Random(self.seed + 3)
        gs1 = self.catalog.gs1_check_digit
        normalize_barcode = self.catalog.normalize_barcode
        families = data.FAMILIES
        weights = list(itertools.accumulate(data.FAMILY_WEIGHTS))
        seen_codes: set[str] = set()
        ean_prefixes = ("400", "401", "440", "500", "501", "690", "693", "761", "800", "840",
                        "871", "880", "890", "930", "978")
        n_vendors = len(self.vendors) or 1
        n = self.n_products
        for pid in range(1, n + 1):
            fam = rng.choices(families, cum_weights=weights)[0]
            code, kind, serialized, brands, models, types, sizes, (lo, hi) = fam
            if pid == 1 and self.n_units:
                fam = families[0]   # at least one serialized product, whatever the seed
                code, kind, serialized, brands, models, types, sizes, (lo, hi) = fam
            brand, model, ptype, size = (rng.choice(brands), rng.choice(models),
                                         rng.choice(types), rng.choice(sizes))
            gen = rng.randrange(1, 10)
            name = f"{brand} {model} {gen} {ptype} {size}" if kind != "service" \
                else f"{ptype} ({model}, {size})"
            sku = f"{code}-{_NOT_ALNUM.sub('', brand)[:3].upper()}-{pid:06d}"
            words = rng.sample(data.DESCRIPTION_WORDS, rng.randrange(6, 12))
            description = f"{ptype} by {brand}: " + " ".join(words) + "."
            barcode = None
            if kind != "service" and rng.random() < 0.92:
                while True:
                    if rng.random() < 0.75:   # EAN-13 (never starting with 0)
                        body = rng.choice(ean_prefixes) + f"{rng.randrange(10**9):09d}"
                        code13 = body + str(gs1(body))
                        barcode, canonical = code13, code13
                    else:                     # UPC-A; its EAN-13 spelling is 0 + UPC
                        body = rng.choice("0678") + f"{rng.randrange(10**10):010d}"
                        barcode = body + str(gs1(body))
                        canonical = "0" + barcode
                    if canonical not in seen_codes:
                        seen_codes.add(canonical)
                        break
                barcode = normalize_barcode(barcode)   # validates, as the service does
            price = rng.uniform(lo, hi)
            price_s = f"{price:.2f}" if price < 100 else f"{round(price) - 0.01:.2f}"
            cost_s = f"{float(price_s) * rng.uniform(0.5, 0.75):.2f}"
            tax = "0" if kind == "service" and rng.random() < 0.5 else rng.choice(
                ("8.25", "7.5", "6", "9.5", "10"))
            stock_params = (rng.randrange(0, 10), rng.randrange(0, 25)) if kind == "part" \
                else (rng.randrange(0, 3), rng.randrange(0, 5))
            vendor_id = self.vendor_by_brand.get(brand.split()[0]) or rng.randrange(1, n_vendors + 1)
            ts = self.times[rng.randrange(len(self.times))]
            if serialized:
                prefix = f"{code[0]}{_NOT_ALNUM.sub('', brand)[:2].upper()}{_b36(pid, 4)}"
                self.serialized.append((pid, prefix))
            elif kind != "service" and rng.random() < 0.6:
                self.stocked.append(pid)
            yield (pid, sku, barcode, name, description, kind, price_s, cost_s, tax,
                   1 if serialized else 0, *stock_params, vendor_id,
                   1 if rng.random() < 0.97 else 0, ts, ts)

    # ------------------------------------------------------------------ units

    ITEM_COLS = ("id", "product_id", "serial", "serial_norm", "status", "owner_id",
                 "location_id", "notes", "created_at", "updated_at")

    def unit_counts(self) -> list[int]:
        """Units per serialized product: heavy-tailed, summing to ``n_units`` exactly."""
        rng = random.Random(self.seed + 4)
        n, total = len(self.serialized), self.n_units
        if not n or not total:
            return [0] * n
        weights = [min(rng.paretovariate(1.2), 200.0) for _ in range(n)]
        scale = total / sum(weights)
        counts = [int(w * scale) for w in weights]
        short = total - sum(counts)
        order = sorted(range(n), key=lambda i: weights[i] * scale - counts[i], reverse=True)
        for k in range(short):
            counts[order[k % n]] += 1
        return counts

    def item_rows(self) -> Iterator[tuple]:
        rng = random.Random(self.seed + 5)
        rand, randrange = rng.random, rng.randrange
        normalize = self.items.normalize_serial
        times, nt = self.times, len(self.times)
        n_customers = max(self.n_customers, 1)
        store, wh, van, vendor = (self.location_ids[k] for k in ("store", "warehouse", "van", "vendor"))
        cum = list(itertools.accumulate(share for _s, share in UNIT_STATUSES))
        t_stock, t_sold, t_owned, t_service, t_vendor, t_returned = cum[:6]
        in_stock, levels = self.in_stock_units, self.levels
        has_customers = self.n_customers > 0
        item_id = 0
        for (pid, prefix), count in zip(self.serialized, self.unit_counts()):
            seq = randrange(1000, 100000)
            for _ in range(count):
                seq += 1 + int(rand() * rand() * 12)
                r = rand()
                if r < 0.85:
                    serial = f"{prefix}{seq:07d}"
                elif r < 0.93:
                    serial = f"{prefix}{seq:07d}".lower()
                else:
                    serial = f"{prefix} {seq:07d}"
                item_id += 1
                ts = times[randrange(nt)]
                r = rand()
                owner = location = None
                if r < t_stock or not has_customers:
                    status = "in_stock"
                    x = rand()
                    location = store if x < 0.6 else wh if x < 0.95 else van
                    in_stock.append((item_id, pid, location, ts))
                    levels[(pid, location)] += 1
                elif r < t_sold:
                    status, owner = "sold", randrange(1, n_customers + 1)
                elif r < t_owned:
                    status, owner = "customer_owned", randrange(1, n_customers + 1)
                elif r < t_service:
                    status, owner, location = "in_service", randrange(1, n_customers + 1), store
                elif r < t_vendor:
                    status, location = "at_vendor", vendor
                elif r < t_returned:
                    status, location = "returned", store
                else:
                    status = "scrapped"
                yield (item_id, pid, serial, normalize(serial), status, owner, location, "", ts, ts)

    # ------------------------------------------------------------------ stock

    MOVE_COLS = ("id", "at", "product_id", "from_location_id", "to_location_id", "quantity",
                 "kind", "reason", "item_id", "actor_id", "reference")

    def move_rows(self) -> Iterator[tuple]:
        move_id = 0
        for item_id, pid, location, ts in self.in_stock_units:
            move_id += 1
            yield (move_id, ts, pid, None, location, 1, "unit_added", "unit added", item_id,
                   None, None)
        rng = random.Random(self.seed + 6)
        wh, store = self.location_ids["warehouse"], self.location_ids["store"]
        for pid in self.stocked:
            move_id += 1
            location = wh if rng.random() < 0.7 else store
            qty = rng.randrange(1, 40)
            self.levels[(pid, location)] += qty
            yield (move_id, self.times[rng.randrange(len(self.times))], pid, None, location, qty,
                   "adjustment", "opening stock", None, None, None)

    def expected_moves(self) -> int:
        return len(self.in_stock_units) + len(self.stocked)

    LEVEL_COLS = ("product_id", "location_id", "on_hand", "reserved")

    def level_rows(self) -> Iterator[tuple]:
        for (pid, loc), qty in sorted(self.levels.items()):
            yield (pid, loc, qty, 0)


def _default_channel(parties: Any) -> Callable[[str | None, str | None], str]:
    """The contact channel the service picks when none is given."""
    fn = getattr(parties, "_default_channel", None)
    if fn is not None:
        return fn
    return lambda email, phone: "email" if email else "sms" if phone else "none"


# ------------------------------------------------------------------- driver

def generate(instance: str, *, customers: int = 1_000_000, products: int = 100_000,
             units: int = 5_000_000, seed: int = 1, force: bool = False,
             overrides: dict[str, Any] | None = None, parallel: bool = True) -> Stats:
    stats = Stats()
    t_all, c_all = time.perf_counter(), cpu_seconds()
    t0 = time.perf_counter()
    path, _password = prepare_instance(instance, force=force, overrides=overrides)
    stats.path = path
    _say(f"database {path}: migrated and seeded in {time.perf_counter() - t0:.2f} s")

    con = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE",
                       "temp_store=MEMORY", "cache_size=-1048576", "foreign_keys=OFF",
                       # checked once per table after loading (quick_check), not per row
                       "ignore_check_constraints=ON",
                       f"threads={min(4, os.cpu_count() or 1)}"):
            con.execute(f"PRAGMA {pragma}")
        for table in LOADED_TABLES:
            if con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                raise SystemExit(f"table {table} is not empty")
        saved = suspend_indexes_and_triggers(con, LOADED_TABLES)
        shop = Shop(seed, customers, products, units)

        big = parallel and (os.cpu_count() or 1) > 1

        def set_catalog(v: Any) -> None:
            shop.serialized, shop.stocked = v

        def set_stock(v: Any) -> None:
            shop.in_stock_units, shop.levels = v

        _insert(con, stats, "locations", Shop.LOCATION_COLS,
                produced(shop.locations, parallel=False), len(data.LOCATIONS))
        _insert(con, stats, "vendors", Shop.VENDOR_COLS, produced(shop.vendor_rows, parallel=False), 0)
        _insert(con, stats, "customers", Shop.CUSTOMER_COLS,
                produced(shop.customer_rows, parallel=big and customers >= 100_000), customers)
        _insert(con, stats, "products", Shop.PRODUCT_COLS,
                produced(shop.product_rows, parallel=big and products >= 20_000,
                         finish=lambda: (shop.serialized, shop.stocked), on_done=set_catalog),
                products)
        _insert(con, stats, "items", Shop.ITEM_COLS,
                produced(shop.item_rows, parallel=big and units >= 100_000,
                         finish=lambda: (shop.in_stock_units, shop.levels), on_done=set_stock),
                units)
        _insert(con, stats, "stock_moves", Shop.MOVE_COLS, produced(shop.move_rows, parallel=False),
                shop.expected_moves())
        _insert(con, stats, "stock_levels", Shop.LEVEL_COLS,
                produced(shop.level_rows, parallel=False), 0)

        restore_indexes_and_triggers(con, saved, stats)
        t0, c0 = time.perf_counter(), cpu_seconds()
        con.execute("ANALYZE")
        stats.add("analyze", 0, time.perf_counter() - t0, cpu_seconds() - c0)
        _say(f"ANALYZE: {time.perf_counter() - t0:.2f} s")
        t0, c0 = time.perf_counter(), cpu_seconds()
        con.execute("PRAGMA ignore_check_constraints=OFF")
        verify_checks(con, LOADED_TABLES)
        stats.add("CHECK constraints verified", 0, time.perf_counter() - t0, cpu_seconds() - c0)
        _say(f"CHECK constraints verified: {time.perf_counter() - t0:.2f} s")
        con.execute("PRAGMA locking_mode=NORMAL")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        problems = con.execute("PRAGMA foreign_key_check").fetchmany(5)
        if problems:
            raise SystemExit(f"foreign key problems after loading: {problems}")
    finally:
        con.close()
    stats.total_seconds = time.perf_counter() - t_all
    stats.total_cpu = cpu_seconds() - c_all
    stats.unit_seconds = stats.seconds_of("insert items") + stats.seconds_of("index items.")
    stats.unit_cpu = stats.cpu_of("insert items") + stats.cpu_of("index items.")
    return stats


def print_report(stats: Stats) -> None:
    rows = [(s.name, f"{s.rows:,}", f"{s.seconds:.2f}", f"{s.cpu:.2f}",
             f"{s.rate:,.0f}" if s.rows and s.name.startswith(("insert", "fts", "search")) else "")
            for s in stats.steps if s.seconds >= 0.005 or s.name.startswith("insert")]
    loaded = sum(s.rows for s in stats.steps if s.name.startswith("insert"))
    rows.append(("total (all steps, incl. migrations)", f"{loaded:,}",
                 f"{stats.total_seconds:.2f}", f"{stats.total_cpu:.2f}",
                 f"{loaded / stats.total_seconds:,.0f}"))
    units = next((s.rows for s in stats.steps if s.name == "insert items"), 0)
    rows.append(("units: insert + their indexes", f"{units:,}", f"{stats.unit_seconds:.2f}",
                 f"{stats.unit_cpu:.2f}",
                 f"{units / stats.unit_seconds:,.0f}" if stats.unit_seconds else ""))
    try:
        from rich.console import Console
        from rich.table import Table
        table = Table(title=f"Generated {stats.path}")
        for col in ("step", "rows", "seconds", "CPU s", "rows/s"):
            table.add_column(col, justify="left" if col == "step" else "right")
        for r in rows:
            table.add_row(*r)
        Console(width=120).print(table)
    except ImportError:  # pragma: no cover
        for r in rows:
            print(f"{r[0]:<50} {r[1]:>12} {r[2]:>9} {r[3]:>9} {r[4]:>12}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average now: {load} on {os.cpu_count()} CPUs (CPU s: this process and its "
          "row maker; on a busy machine seconds exceed CPU s)")
    verdict = "PASS" if stats.unit_seconds < 120 else "MISS"
    print(f"5M-unit target (< 120 s for the units): {stats.unit_seconds:.1f} s "
          f"({stats.unit_cpu:.1f} s CPU) for {units:,} units -> "
          f"{verdict if units >= 5_000_000 else 'n/a at this scale'}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n")[0])
    p.add_argument("--instance", required=True, help="instance folder to create the shop in")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--products", type=int, default=100_000)
    p.add_argument("--units", type=int, default=5_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--force", action="store_true", help="replace an existing database")
    p.add_argument("--serial", action="store_true",
                   help="make rows in this process (default: a forked child makes them while "
                        "this one inserts)")
    args = p.parse_args(argv)
    stats = generate(args.instance, customers=args.customers, products=args.products,
                     units=args.units, seed=args.seed, force=args.force,
                     parallel=not args.serial)
    print_report(stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
