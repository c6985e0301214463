"""Repair tickets at scale: ``python -m bench.repairs --backend sqlite|postgresql``.

Issue 5, point 10. Builds a shop through the real migrations (repairs enabled),
bulk-loads ``--tickets`` tickets (default 1,000,000) opened over three years — with
their units (60 % a serialized unit registered as customer-owned, the rest a free
description), customers and the technician roll-up — then measures, in fresh read
sessions as a request gets them:

* ticket search      ``plugins.repairs.services.search_tickets`` over a mix of ticket
                     numbers, customer phones, serials, customer-name and problem
                     words (mostly hits, some misses) — target p99 < 10 ms
* technician report  ``plugins.repairs.reports.technician_performance`` for the last
                     twelve months (target < 0.2 s) and the whole history (< 0.5 s)

PostgreSQL without ``--url`` starts a throwaway cluster (as the tests do). The
search indexes are dropped while loading and rebuilt afterwards (FTS5 'rebuild' /
CREATE INDEX), then ANALYZE. ``--instance DIR`` keeps the shop (and the cluster) for
``--reuse``, which measures it again without reloading. Exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from typing import Any, Callable, Iterator

TARGETS = {"ticket search p99 (ms)": 10.0, "technician report, last 12 months (s)": 0.2,
           "technician report, whole history (s)": 0.5}
FIRST = ["Ada", "Grace", "Alan", "Rosa", "Mary", "John", "Linus", "Joan", "Kim", "Omar", "Lea",
         "Ines", "Tomas", "Ana", "Li", "Sven", "Maya", "Noah", "Emma", "Luca"]
LAST = ["Lovelace", "Hopper", "Turing", "Parks", "Curie", "Smith", "Nakamura", "Garcia", "Novak",
        "Okafor", "Silva", "Berg", "Moreau", "Kowalski", "Jensen", "Rossi", "Haddad", "Kim"]
PROBLEMS = ["no power", "cracked screen", "battery swells", "fan noise", "wifi drops",
            "keyboard spill", "hinge broken", "overheats", "no sound", "flickering display",
            "chain skips", "brake squeal", "string buzz", "pickup hum", "remote pairing",
            "door seal leak", "drum noise", "won't boot", "charging port loose", "dead pixels"]
CHUNK = 20_000


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _chunks(rows: Iterator[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def build_runtime(url: str, instance: str) -> Any:
    from core import migrate
    from core.auth import seed_roles
    from core.config import Config
    from core.runtime import Runtime, set_current
    rt = Runtime(Config.load({"instance_path": instance, "database_url": url,
                              "plugins": "repairs"}))
    set_current(rt)
    migrate.upgrade(rt)
    with rt.unit_of_work() as s:
        seed_roles(s, rt.registry.permissions.values())
    return rt


def load(rt: Any, *, tickets: int, customers: int, technicians: int, seed: int) -> dict[str, Any]:
    """Bulk-load the shop; returns what the queries are drawn from."""
    from sqlalchemy import insert, text

    from core import Model
    from core import normalize_serial, phone_digits
    rng = random.Random(seed)
    t = Model.metadata.tables
    engine = rt.db.engine
    sqlite = engine.dialect.name == "sqlite"
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = now - dt.timedelta(days=3 * 365)
    span = int((now - start).total_seconds())
    t0 = time.perf_counter()
    with engine.begin() as conn:
        if sqlite:
            for suffix in ("ai", "ad", "au"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS repairs_ticket_fts_{suffix}")
        else:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_migration('rp0003_search_lexemes').PG_INDEX}")
        users = [{"username": f"tech{i}", "password_hash": "!", "display_name": f"Tech {i}",
                  "active": True, "session_version": 1, "created_at": now, "updated_at": now}
                 for i in range(technicians)]
        ucols = set(t["users"].c.keys())
        users = [{k: v for k, v in u.items() if k in ucols} for u in users]
        conn.execute(insert(t["users"]), users)
        tech_ids = [r[0] for r in conn.execute(text("SELECT id FROM users WHERE username LIKE 'tech%' ORDER BY id"))]
        conn.execute(insert(t["products"]), [
            {"id": i, "sku": f"BENCH-{i}", "barcode": None, "name": f"{rng.choice(['Laptop', 'TV', 'Bike', 'Guitar', 'Washer'])} model {i}",
             "description": "", "kind": "goods", "price": Decimal("499.00"), "cost": Decimal("300.00"),
             "tax_rate": Decimal("0"), "serialized": True, "min_stock": 0, "reorder_qty": 0,
             "vendor_id": None, "active": True, "created_at": now, "updated_at": now}
            for i in range(1, 501)])
        phones = []
        rows = []
        for i in range(1, customers + 1):
            phone = f"555{rng.randrange(10**7):07d}"
            phones.append(phone)
            rows.append({"id": i, "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                         "phone": f"({phone[:3]}) {phone[3:6]}-{phone[6:]}", "phone_digits": phone_digits(phone),
                         "email": None, "address": "", "notes": "", "contact_channel": "sms",
                         "marketing_opt_out": False, "active": True, "merged_into_id": None,
                         "created_at": now, "updated_at": now})
        for batch in _chunks(iter(rows)):
            conn.execute(insert(t["customers"]), batch)
        names = {r["id"]: r["name"] for r in rows}
        _say(f"  customers: {customers:,} ({time.perf_counter() - t0:.0f} s)")

        serials: list[str] = []
        rollup: dict[tuple[int, str, str], list] = {}
        item_id = 0

        def ticket_rows() -> Iterator[tuple[dict, dict, dict | None]]:
            nonlocal item_id
            for tid in range(1, tickets + 1):
                opened = start + dt.timedelta(seconds=int(span * tid / tickets))
                cust = rng.randrange(1, customers + 1)
                tech = rng.choice(tech_ids)
                age = (now - opened).days
                status = "collected" if age > 30 or rng.random() < 0.5 else rng.choice(
                    ["received", "diagnosing", "in_repair", "awaiting_parts", "ready"])
                problem = f"{rng.choice(PROBLEMS)}, {rng.choice(PROBLEMS)}"
                item = None
                product = rng.randrange(1, 501)
                if rng.random() < 0.6:
                    item_id += 1
                    serial = f"SN{tid:08d}{rng.choice('ABCDEFGH')}"
                    if rng.random() < 0.001:
                        serials.append(serial)
                    item = {"id": item_id, "product_id": product, "serial": serial,
                            "serial_norm": normalize_serial(serial), "status": "customer_owned",
                            "owner_id": cust, "location_id": None, "notes": "",
                            "created_at": opened, "updated_at": opened}
                    desc = f"Product {product}"
                else:
                    desc = f"{rng.choice(['Black', 'Silver', 'Red'])} {rng.choice(['laptop', 'bike', 'amp', 'tv'])}"
                done = opened + dt.timedelta(hours=rng.randrange(2, 24 * 14)) if status in ("ready", "collected") else None
                ticket = {"id": tid, "number": f"R-{tid:06d}", "customer_id": cust, "status": status,
                          "hold_reason": None, "problem": problem, "instructions": "",
                          "accessories": "", "condition": "", "rush": rng.random() < 0.05,
                          "priority": 0, "promised_for": None, "technician_id": tech,
                          "status_token": f"tok{tid}", "deposit": Decimal("0.00"),
                          "deposit_method": "", "deposit_reference": "", "deposit_sale_id": None,
                          "comeback_of_id": None, "customer_name": names[cust],
                          "units_text": f"{desc} {item['serial'] if item else ''}".strip(),
                          "product_kind": "goods", "opened_at": opened,
                          "opened_month": f"{opened:%Y-%m}", "status_changed_at": done or opened,
                          "ready_at": done, "collected_at": done if status == "collected" else None,
                          "completed_month": f"{done:%Y-%m}" if done else None,
                          "created_by_id": None, "created_at": opened, "updated_at": opened}
                unit = {"id": tid, "ticket_id": tid, "item_id": item["id"] if item else None,
                        "product_id": product if item else None,
                        "serial": item["serial"] if item else "", "description": desc,
                        "coverage": "", "coverage_note": "",
                        "released_at": ticket["collected_at"], "pickup_id": None}
                if done:
                    key = (tech, ticket["completed_month"], "goods")
                    acc = rollup.setdefault(key, [0, 0, 0, 0, 0, Decimal(0), Decimal(0)])
                    minutes = rng.randrange(15, 240)
                    acc[0] += 1
                    acc[1] += minutes
                    acc[2] += minutes + rng.randrange(-10, 30)
                    acc[3] += int((done - opened).total_seconds())
                    acc[4] += rng.random() < 0.03
                    acc[5] += Decimal(minutes)
                    acc[6] += Decimal(rng.randrange(0, 200))
                yield ticket, unit, item

        batch_t: list[dict] = []
        batch_u: list[dict] = []
        batch_i: list[dict] = []

        def flush() -> None:
            if batch_i:
                conn.execute(insert(t["items"]), batch_i)
            conn.execute(insert(t["repairs_ticket"]), batch_t)
            conn.execute(insert(t["repairs_ticket_unit"]), batch_u)
            batch_t.clear(), batch_u.clear(), batch_i.clear()

        for n, (ticket, unit, item) in enumerate(ticket_rows(), 1):
            batch_t.append(ticket)
            batch_u.append(unit)
            if item:
                batch_i.append(item)
            if len(batch_t) >= CHUNK:
                flush()
            if n % 200_000 == 0:
                _say(f"  tickets: {n:,} ({time.perf_counter() - t0:.0f} s)")
        if batch_t:
            flush()
        conn.execute(insert(t["repairs_tech_month"]), [
            {"technician_id": k[0], "month": k[1], "product_kind": k[2], "completed": v[0],
             "labor_minutes": v[1], "estimated_minutes": v[2], "turnaround_seconds": v[3],
             "comebacks": v[4], "labor_revenue": v[5], "parts_revenue": v[6]}
            for k, v in rollup.items()])
    _say(f"  loaded in {time.perf_counter() - t0:.0f} s; rebuilding search indexes…")
    t1 = time.perf_counter()
    with engine.begin() as conn:
        if sqlite:
            conn.exec_driver_sql("INSERT INTO repairs_ticket_fts(repairs_ticket_fts) VALUES ('rebuild')")
            conn.exec_driver_sql("INSERT INTO repairs_ticket_fts(repairs_ticket_fts) VALUES ('optimize')")
            _restore_sqlite_triggers(conn)
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            conn.exec_driver_sql(_migration("rp0003_search_lexemes").CREATE_INDEX)
    if not sqlite:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    _say(f"  indexes and statistics in {time.perf_counter() - t1:.0f} s")
    return {"tickets": tickets, "phones": phones, "serials": serials, "names": list(names.values())}


def _migration(name: str) -> Any:
    """A repairs migration module, for the exact DDL of what the load drops and rebuilds."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "plugins", "repairs", "migrations",
                        "versions", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"{name}_ddl", path)
    mod = importlib.util.module_from_spec(spec)   # type: ignore[arg-type]
    spec.loader.exec_module(mod)   # type: ignore[union-attr]
    return mod


def _restore_sqlite_triggers(conn: Any) -> None:
    mod = _migration("rp0001_repairs")
    cols = ", ".join(mod.FTS_COLUMNS)
    new = ", ".join(f"new.{c}" for c in mod.FTS_COLUMNS)
    old = ", ".join(f"old.{c}" for c in mod.FTS_COLUMNS)
    fts = mod.FTS
    conn.exec_driver_sql(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON repairs_ticket BEGIN "
                         f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END")
    conn.exec_driver_sql(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON repairs_ticket BEGIN "
                         f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END")
    conn.exec_driver_sql(f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON repairs_ticket BEGIN "
                         f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
                         f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END")


# What ``queries`` draws, in turn (the i-th query is of kind ``KINDS[i % 6]``).
KINDS = ("ticket number", "customer phone", "serial (lower case)", "surname prefix",
         "problem word", "miss")


def _p99(times: list[float]) -> float:
    """Nearest-rank 99th percentile."""
    ordered = sorted(times)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def queries(shop: dict[str, Any], n: int, seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    out = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            out.append(f"R-{rng.randrange(1, shop['tickets'] + 1):06d}")
        elif kind == 1:
            p = rng.choice(shop["phones"])
            out.append(f"({p[:3]}) {p[3:6]}-{p[6:]}")
        elif kind == 2:
            out.append(rng.choice(shop["serials"]).lower() if shop["serials"] else "SN00000001A")
        elif kind == 3:
            out.append(rng.choice(shop["names"]).split()[-1][:4])   # a surname prefix
        elif kind == 4:
            out.append(rng.choice(PROBLEMS).split()[0])
        else:
            out.append(rng.choice(["zzqx", "R-999999999", "SN-NOPE-1", "555 000 0000"]))
    return out


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(rt: Any, shop: dict[str, Any], *, n: int, seed: int) -> dict[str, float]:
    from core.db import bind_session
    from plugins.repairs import reports, services
    qs = queries(shop, n + 200, seed)
    times = []
    by_kind: dict[str, list[float]] = {k: [] for k in KINDS}
    for i, q in enumerate(qs):
        session = rt.db.session(write=False)
        try:
            with bind_session(session):
                dt_ = timed(lambda: services.search_tickets(session, q, 20))
        finally:
            session.close()
        if i >= 200:
            times.append(dt_)
            by_kind[KINDS[i % len(KINDS)]].append(dt_)
    out = {"ticket search p50 (ms)": statistics.median(times) * 1000,
           "ticket search p99 (ms)": _p99(times) * 1000}
    for kind, ts in by_kind.items():   # information: which kind of query is the slow one
        out[f"  p50 / p99, {kind} (ms)"] = f"{statistics.median(ts) * 1000:.3f} / {_p99(ts) * 1000:.3f}"
    for label, params in (("technician report, last 12 months (s)", {"all": False, "by": "technician"}),
                          ("technician report, whole history (s)", {"all": True, "by": "technician"}),
                          ("technician report by month, whole history (s)", {"all": True, "by": "month"}),
                          ("open tickets by status and age (s)", None)):
        runs = []
        for _ in range(7):
            session = rt.db.session(write=False)
            try:
                with bind_session(session):
                    if params is None:
                        runs.append(timed(lambda: reports.open_tickets(session, {})))
                    else:
                        runs.append(timed(lambda: reports.technician_performance(session, params)))
            finally:
                session.close()
        out[label] = max(runs[1:])   # worst warm run
    return out


class KeptCluster:
    """A PostgreSQL cluster in ``DIR/pg`` that outlives the run (``--instance``): created
    like the tests' throwaway one on the first run, started again on ``--reuse``, and
    stopped, not removed, at the end."""

    def __init__(self, directory: str) -> None:
        import os
        import pwd
        import shutil

        from tests.services.common import free_port
        from tests.services.postgres import PostgresServer, _bindir, _run_as
        self._run_as = _run_as
        self.bindir = _bindir()
        self.dir = os.path.join(directory, "pg")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.user = None
        if not os.path.exists(self.data):
            server = PostgresServer()          # initdb in a temp dir, then move it here
            _run_as(server.user, [os.path.join(server.bindir, "pg_ctl"), "-D", server.data,
                                  "-m", "fast", "stop"])
            shutil.move(server.dir, self.dir)
        st = os.stat(self.data)
        if os.geteuid() == 0 and st.st_uid != 0:
            self.user = pwd.getpwuid(st.st_uid).pw_name
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c TimeZone=UTC")
        _run_as(self.user, [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-o", opts,
                            "-w", "-l", os.path.join(self.dir, "log"), "start"])
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=counterdesk dbname=postgres",
                             autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_repairs'").fetchone() is None:
                conn.execute('CREATE DATABASE "bench_repairs"')

    def url(self) -> str:
        return f"postgresql+psycopg://counterdesk@127.0.0.1:{self.port}/bench_repairs"

    def stop(self) -> None:
        import os
        self._run_as(self.user, [os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                                 "-m", "fast", "stop"])


def _shop_file(instance: str) -> str:
    import os
    return os.path.join(instance, "shop.json")


def _saved_shop(instance: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The shop a previous run with the same options loaded into ``instance``, if any."""
    import os
    path = _shop_file(instance)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        saved = json.load(fh)
    return saved["shop"] if saved.get("key") == key else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.repairs", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--url", default=None, help="a database URL (default: a temp SQLite file or a "
                                               "throwaway PostgreSQL cluster)")
    p.add_argument("--instance", default=None,
                   help="keep the database here (SQLite file, or a PostgreSQL cluster in DIR/pg) "
                        "and the drawn shop in DIR/shop.json (default: a temp dir, removed)")
    p.add_argument("--reuse", action="store_true",
                   help="with --instance: measure the shop a previous run loaded there with the "
                        "same --backend/--tickets/--customers/--technicians/--seed (the "
                        "migrations still run, so a new one is applied to it)")
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--customers", type=int, default=200_000)
    p.add_argument("--technicians", type=int, default=25)
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", default=None, help="write the figures here")
    args = p.parse_args(argv)
    if args.reuse and not args.instance:
        p.error("--reuse needs --instance")
    import os
    import shutil
    instance = args.instance or tempfile.mkdtemp(prefix="counterdesk-bench-repairs-")
    os.makedirs(instance, exist_ok=True)
    key = {"backend": args.backend, "url": args.url, "tickets": args.tickets,
           "customers": args.customers, "technicians": args.technicians, "seed": args.seed}
    shop = _saved_shop(instance, key) if args.reuse else None
    if args.instance and shop is None and os.path.exists(_shop_file(instance)):
        os.remove(_shop_file(instance))     # whatever was loaded there is replaced
    server: Any = None
    url = args.url
    if url is None and args.backend == "sqlite":
        url = f"sqlite:///{instance}/bench.db"
        if shop is None and os.path.exists(f"{instance}/bench.db"):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(f"{instance}/bench.db{suffix}"):
                    os.remove(f"{instance}/bench.db{suffix}")
    elif url is None and args.instance:
        if shop is None and os.path.exists(os.path.join(instance, "pg")):
            shutil.rmtree(os.path.join(instance, "pg"))
        server = KeptCluster(instance)
        url = server.url()
    elif url is None:
        from tests.services.postgres import PostgresServer
        server = PostgresServer()
        url = server.url(server.create_database(name="bench_repairs"))
    try:
        if shop is None:
            _say(f"Building {args.tickets:,} tickets on {args.backend}…")
            rt = build_runtime(url, instance)
            shop = load(rt, tickets=args.tickets, customers=args.customers,
                        technicians=args.technicians, seed=args.seed)
            if args.instance:
                with open(_shop_file(instance), "w") as fh:
                    json.dump({"key": key, "shop": shop}, fh)
        else:
            _say(f"Reusing the {args.tickets:,} tickets in {instance} ({args.backend})…")
            rt = build_runtime(url, instance)
        load_before = os.getloadavg()
        figures = measure(rt, shop, n=args.queries, seed=args.seed)
        load_after = os.getloadavg()
        rt.close()
    finally:
        if server is not None:
            server.stop()
        if not args.instance:
            shutil.rmtree(instance, ignore_errors=True)
    missed = []
    print(f"\n{args.backend}, {args.tickets:,} tickets "
          f"(load average before {load_before[0]:.2f}, after {load_after[0]:.2f})")
    for label, value in figures.items():
        target = TARGETS.get(label)
        flag = "" if target is None else ("  ok" if value < target else f"  MISSED (target {target})")
        if target is not None and value >= target:
            missed.append(label)
        shown = value if isinstance(value, str) else f"{value:10.3f}"
        print(f"  {label:<50} {shown:>10}{flag}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"backend": args.backend, "tickets": args.tickets,
                       "load_average": [load_before[0], load_after[0]], **figures}, fh, indent=2)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
