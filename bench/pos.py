"""Till speed: ``python -m bench.pos [--backend sqlite|postgresql|both]`` (issue 4, point 7).

Per backend, from scratch:

* a fresh instance (a SQLite file, or a database in a throwaway PostgreSQL cluster
  started and stopped here, as the tests do), migrated by ``counterdesk init``;
* a catalog of ``--products`` products (default 100,000) bulk-loaded with SQLAlchemy
  Core (rows made by ``bench.generate.Shop``, the issue-3 generator), then a few
  thousand serialized products with enough ``in_stock`` units at the store for every
  sale of the run, and a few thousand non-serialized products with opening stock —
  each unit with its ``unit_added`` ledger row, each stocked product with its
  ``opening stock`` adjustment, and ``stock_levels`` the sum of those moves (the
  rules of core/records/stock.py; checked by ``verify_levels`` after the run);
* ``counterdesk run --workers W`` (gunicorn sync workers), jobs in-process (no Redis);
  through the API: the pos setting ``print_receipt`` on, a ``dummy:`` printer, a
  register at the store with that printer, an open shift; a cashier's token;
* the raw ceiling: a throwaway plugin (``benchceiling``, written into a temp dir with
  a ``*.dist-info`` entry point on the server's PYTHONPATH) adds
  ``POST /api/v1/benchceiling/rows``: one bare ORM insert in the request's unit of work
  (same token authentication, same server);
* ``--clients`` client processes (default 8), each on ``http.client``: first the
  ceiling endpoint, then complete sales (3 lines: a serialized unit — the serials are
  partitioned among clients — and two non-serialized products; card + cash; an
  ``Idempotency-Key`` each; the receipt job queued) for ``--seconds`` after a warm-up;
* barcode lookup at the till in-process: ``plugins.pos.services.till_product`` (what
  ``GET /api/v1/pos/lookup?code=`` calls), each in a fresh read session.

Prints a table (backend, metric, value, target, pass/miss) and the load average before
and after. Exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import math
import multiprocessing
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from bench import records
from bench.generate import Shop

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "benchceiling"
PLUGIN_PACKAGE = "cd_bench_ceiling"
TARGETS = {  # metric -> (kind, sqlite, postgresql)
    "sales/s ÷ ceiling": (">=", 0.5, 0.5),
    "checkout p99 ms": ("<", 30.0, 45.0),
    "barcode lookup p99 ms": ("<", 5.0, 5.0),
}
SERIALIZED_PRODUCTS = 3000
STOCKED_PRODUCTS = 3000
OPENING_STOCK = 1_000_000


def _say(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------- the ceiling plugin

_PLUGIN_FILES = {
    "__init__.py": '''
        from core.types import Manifest

        manifest = Manifest(name="benchceiling", version="0.1.0", title="Benchmark ceiling",
                            requires=("pos",),
                            description="bench/pos.py: one bare ORM insert per request.")
    ''',
    "hooks.py": '''
        """POST /api/v1/benchceiling/rows: one row inserted through the ORM in the
        request's unit of work — the raw ceiling of a write request."""
        from __future__ import annotations

        import os
        from typing import Any

        from flask import Blueprint, g
        from marshmallow import Schema, fields
        from sqlalchemy import String
        from sqlalchemy.orm import Mapped, mapped_column

        from core import MigrationBranch, endpoint, hookimpl
        from core.db import IdMixin, Model, TimestampMixin


        class BenchRow(IdMixin, TimestampMixin, Model):
            __tablename__ = "benchceiling_row"
            note: Mapped[str] = mapped_column(String(100))


        class RowIn(Schema):
            note = fields.String(required=True)


        class RowOut(Schema):
            id = fields.Integer(required=True)
            note = fields.String(required=True)


        bp = Blueprint("benchceiling", __name__, url_prefix="/api/v1/benchceiling")


        @bp.post("/rows")
        @endpoint(permission="pos.sale.create", body=RowIn, response=RowOut, status=201)
        def create_row(data: dict[str, Any]) -> Any:
            """Insert one row (benchmark ceiling)."""
            row = BenchRow(note=data["note"][:100])
            g.session.add(row)
            g.session.flush()
            return row


        @hookimpl
        def register_models() -> list[type]:
            return [BenchRow]


        @hookimpl
        def register_migrations() -> MigrationBranch:
            return MigrationBranch("benchceiling",
                                   os.path.join(os.path.dirname(__file__), "versions"))


        @hookimpl
        def register_blueprints() -> list[Blueprint]:
            return [bp]
    ''',
    "versions/bc0001_rows.py": '''
        """benchceiling: rows

        Revision ID: bc0001
        Revises:
        """
        import sqlalchemy as sa
        from alembic import op

        import core.db

        revision = "bc0001"
        down_revision = None
        branch_labels = ("benchceiling",)
        depends_on = "0001_core"


        def upgrade() -> None:
            op.create_table(
                "benchceiling_row",
                sa.Column("note", sa.String(length=100), nullable=False),
                sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                          nullable=False),
                sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
                sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
                sa.PrimaryKeyConstraint("id", name=op.f("pk_benchceiling_row")),
            )


        def downgrade() -> None:
            op.drop_table("benchceiling_row")
    ''',
}


def write_plugin(directory: Path) -> Path:
    """The ceiling plugin as a package plus a ``*.dist-info`` with its entry point in
    ``directory`` (put it on PYTHONPATH); returns ``directory``."""
    pkg = directory / PLUGIN_PACKAGE
    for name, text in _PLUGIN_FILES.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    info = directory / f"counterdesk_{PLUGIN}-0.1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: counterdesk-{PLUGIN}\n"
                                   "Version: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[counterdesk.plugins]\n{PLUGIN} = {PLUGIN_PACKAGE}\n")
    return directory


# ------------------------------------------------------------------ the shop

@dataclass
class Catalog:
    store_id: int
    barcodes: list[str]
    skus: list[str]
    # (product id, price, [serials]) of serialized products with units at the store
    serialized: list[tuple[int, Decimal, list[str]]]
    stocked: list[tuple[int, Decimal]]          # non-serialized, opening stock at the store
    units: int
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)


def _when(cache: dict[str, dt.datetime], ts: str) -> dt.datetime:
    d = cache.get(ts)
    if d is None:
        d = cache[ts] = dt.datetime.fromisoformat(ts).replace(tzinfo=dt.timezone.utc)
    return d


def _batches(rows: Any, size: int = 10_000) -> Any:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def load_catalog(rt: Any, *, products: int, units: int, seed: int = 1) -> Catalog:
    """Bulk-load locations, vendors, ``products`` products, ``units`` serialized units
    in stock at the store and opening stock of non-serialized products, with their
    ledger rows and stock levels, in one transaction (SQLAlchemy Core)."""
    from sqlalchemy import insert, text

    from core.db import Model
    from core.records.items import normalize_serial
    t = Model.metadata.tables
    engine = rt.db.engine
    pg = engine.dialect.name == "postgresql"
    shop = Shop(seed, 0, products, 0)
    cache: dict[str, dt.datetime] = {}
    now = dt.datetime.now(dt.timezone.utc)
    steps: dict[str, float] = {}
    t_all = time.perf_counter()
    kept: list[tuple[int, str | None, str, bool, str, bool, Decimal]] = []

    def rows(cols: tuple[str, ...], make: Any, convert: Any) -> Any:
        for r in make():
            yield convert(dict(zip(cols, r)))

    def conv_common(d: dict[str, Any]) -> dict[str, Any]:
        for k in ("created_at", "updated_at", "at"):
            if isinstance(d.get(k), str):
                d[k] = _when(cache, d[k])
        if "active" in d:
            d["active"] = bool(d["active"])
        return d

    def conv_product(d: dict[str, Any]) -> dict[str, Any]:
        conv_common(d)
        d["serialized"] = bool(d["serialized"])
        d["price"], d["cost"], d["tax_rate"] = (Decimal(d["price"]), Decimal(d["cost"]),
                                                Decimal(d["tax_rate"]))
        kept.append((d["id"], d["barcode"], d["sku"], d["serialized"], d["kind"], d["active"],
                     d["price"]))
        return d

    with engine.begin() as conn:
        for table, cols, make, convert in (
                ("locations", Shop.LOCATION_COLS, shop.locations, conv_common),
                ("vendors", Shop.VENDOR_COLS, shop.vendor_rows, conv_common),
                ("products", Shop.PRODUCT_COLS, shop.product_rows, conv_product)):
            t0 = time.perf_counter()
            n = 0
            for chunk in _batches(rows(cols, make, convert)):
                conn.execute(insert(t[table]), chunk)
                n += len(chunk)
            steps[f"insert {table} ({n:,} rows)"] = time.perf_counter() - t0
        store = shop.location_ids["store"]
        serialized = [k for k in kept if k[3] and k[5] and k[4] != "service"][:SERIALIZED_PRODUCTS]
        stocked = [k for k in kept if not k[3] and k[5] and k[4] in ("goods", "part")
                   ][:STOCKED_PRODUCTS]
        if not serialized or len(stocked) < 2:
            raise SystemExit("the catalog is too small for the benchmark (--products)")
        per = max(1, math.ceil(units / len(serialized)))
        item_rows, move_rows, level_rows = [], [], []
        sale_serialized = []
        item_id = move_id = 0
        for pid, _bc, _sku, _s, _k, _a, price in serialized:
            serials = []
            for k in range(per):
                item_id += 1
                move_id += 1
                serial = f"BP{pid:06d}-{k:05d}"
                serials.append(serial)
                item_rows.append({"id": item_id, "product_id": pid, "serial": serial,
                                  "serial_norm": normalize_serial(serial), "status": "in_stock",
                                  "owner_id": None, "location_id": store, "notes": "",
                                  "created_at": now, "updated_at": now})
                move_rows.append({"id": move_id, "at": now, "product_id": pid,
                                  "from_location_id": None, "to_location_id": store,
                                  "quantity": 1, "kind": "unit_added", "reason": "unit added",
                                  "item_id": item_id, "actor_id": None, "reference": None})
            level_rows.append({"product_id": pid, "location_id": store, "on_hand": per,
                               "reserved": 0})
            sale_serialized.append((pid, price, serials))
        for pid, _bc, _sku, _s, _k, _a, _price in stocked:
            move_id += 1
            move_rows.append({"id": move_id, "at": now, "product_id": pid,
                              "from_location_id": None, "to_location_id": store,
                              "quantity": OPENING_STOCK, "kind": "adjustment",
                              "reason": "opening stock", "item_id": None, "actor_id": None,
                              "reference": None})
            level_rows.append({"product_id": pid, "location_id": store,
                               "on_hand": OPENING_STOCK, "reserved": 0})
        level_rows.sort(key=lambda r: (r["product_id"], r["location_id"]))
        for table, data in (("items", item_rows), ("stock_moves", move_rows),
                            ("stock_levels", level_rows)):
            t0 = time.perf_counter()
            for chunk in _batches(data):
                conn.execute(insert(t[table]), chunk)
            steps[f"insert {table} ({len(data):,} rows)"] = time.perf_counter() - t0
        if pg:   # explicit ids: move the sequences past them
            for table in ("locations", "vendors", "products", "items", "stock_moves"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    t0 = time.perf_counter()
    with engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    steps["ANALYZE"] = time.perf_counter() - t0
    return Catalog(store_id=store, barcodes=[k[1] for k in kept if k[1] and k[5]],
                   skus=[k[2] for k in kept if k[5]], serialized=sale_serialized,
                   stocked=[(k[0], k[6]) for k in stocked], units=item_id,
                   seconds=time.perf_counter() - t_all, steps=steps)


# ------------------------------------------------------------------- server

class Server(records.Server):
    """``counterdesk run`` with the benchmark's environment (``records.Server`` takes
    the process environment)."""

    def __init__(self, instance: str, workers: int, env: dict[str, str]) -> None:
        super().__init__(instance, workers)
        self.env = env

    def __enter__(self) -> "Server":
        saved = os.environ.copy()
        os.environ.clear()
        os.environ.update(self.env)
        try:
            return super().__enter__()
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _call(port: int, method: str, path: str, body: Any = None, token: str | None = None,
          expect: int = 200) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status != expect:
        raise SystemExit(f"{method} {path}: {resp.status} {data[:400]!r}")
    return json.loads(data) if data else None


# ------------------------------------------------------------------- clients

@dataclass
class LoadResult:
    ok: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    ran_out: int = 0
    total_ok: int = 0          # including the warm-up

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        return records.percentile(sorted(self.latencies_ms), p)


def _sale_bodies(idx: int, session_id: int, units: list[tuple[int, Decimal, str]],
                 stocked: list[tuple[int, Decimal]], seed: int) -> Any:
    rng = random.Random(seed * 1000 + idx)
    cent = Decimal("0.01")
    for pid, price, serial in units:
        (a, pa), (b, pb) = rng.sample(stocked, 2)
        subtotal = price + pa + pb * 2
        card = (subtotal * Decimal("0.4")).quantize(cent, ROUND_FLOOR)
        cash = (subtotal * Decimal("1.25")).quantize(cent, ROUND_CEILING) - card
        yield {"session_id": session_id,
               "lines": [{"product_id": pid, "quantity": 1, "serial": serial},
                         {"product_id": a, "quantity": 1},
                         {"product_id": b, "quantity": 2}],
               "payments": [{"method": "card", "amount": str(card)},
                            {"method": "cash", "amount": str(cash)}]}


def _client(kind: str, idx: int, port: int, token: str, t_start: float, t_end: float,
            work: dict[str, Any], out: Any) -> None:
    res = LoadResult()
    try:
        if kind == "sale":
            bodies = _sale_bodies(idx, work["session_id"], work["units"], work["stocked"],
                                  work["seed"])
            path = "/api/v1/pos/sales"
        else:
            bodies = itertools.repeat({"note": f"client {idx}"})
            path = "/api/v1/benchceiling/rows"
        base = {"Accept": "application/json", "Content-Type": "application/json",
                "Authorization": f"Bearer {token}"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        run = uuid.uuid4().hex[:12]
        n = 0
        while time.time() < t_end:
            body = next(bodies, None)
            if body is None:
                res.ran_out = 1
                break
            n += 1
            headers = dict(base)
            if kind == "sale":
                headers["Idempotency-Key"] = f"bench-{run}-{idx}-{n}"
            payload = json.dumps(body)
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                res.errors[type(exc).__name__] += 1
                if len(res.samples) < 3:
                    res.samples.append(repr(exc))
                continue
            elapsed = time.perf_counter() - t0
            done = time.time()
            if resp.status != 201:
                res.errors[str(resp.status)] += 1
                if len(res.samples) < 3:
                    res.samples.append(f"{resp.status} {data[:300]!r}")
                continue
            res.total_ok += 1
            if t_start <= done <= t_end:
                res.ok += 1
                res.latencies_ms.append(elapsed * 1000)
        conn.close()
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        res.errors["client crashed"] += 1
        res.samples.append(repr(exc))
    out.put(res)


def drive(kind: str, port: int, token: str, clients: int, warmup: float, seconds: float,
          work: list[dict[str, Any]]) -> LoadResult:
    """``clients`` processes POSTing for ``warmup`` + ``seconds``; completions and
    latencies counted over the last ``seconds``."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    t_start = time.time() + 0.5 + warmup
    t_end = t_start + seconds
    procs = [ctx.Process(target=_client, args=(kind, i, port, token, t_start, t_end, work[i], out),
                         daemon=True) for i in range(clients)]
    for p in procs:
        p.start()
    total = LoadResult(seconds=seconds)
    for _ in procs:
        r = out.get(timeout=warmup + seconds + 180)
        total.ok += r.ok
        total.total_ok += r.total_ok
        total.latencies_ms += r.latencies_ms
        total.errors.update(r.errors)
        total.samples += r.samples
        total.ran_out += r.ran_out
    for p in procs:
        p.join(timeout=30)
    return total


# ------------------------------------------------------------------ lookups

def bench_lookup(rt: Any, catalog: Catalog, n: int, seed: int) -> LoadResult:
    """``till_product`` (GET /pos/lookup) over ``n`` scanned barcodes (some typed SKUs)."""
    import gc

    from plugins.pos.services import till_product
    rng = random.Random(seed)
    codes = [rng.choice(catalog.barcodes) if rng.random() < 0.9 else rng.choice(catalog.skus)
             for _ in range(n + 200)]
    run = records._timed_in_session(rt, lambda s, q: till_product(s, q)["id"])
    for q in codes[:200]:
        run(q)
    gc.collect()
    res = LoadResult()
    for q in codes[200:]:
        elapsed, _cpu, found = run(q)
        res.latencies_ms.append(elapsed * 1000)
        res.ok += found
    return res


# ------------------------------------------------------------------- budget

@dataclass
class Budget:
    """Where a sale's CPU goes, measured in-process (Flask test client, no HTTP server,
    one request at a time) on the run's own database, next to a ceiling request."""
    ceiling_ms: float = 0.0              # thread CPU of one ceiling request
    ceiling_statements: float = 0.0
    sale_ms: float = 0.0                 # thread CPU of one sale request
    sale_statements: float = 0.0
    sale_sql_ms: float = 0.0             # of which in Connection.execute (SQLAlchemy + driver)
    background_ms: float = 0.0           # job runner (the receipt) and checkpoints, per sale
    background_statements: float = 0.0
    load_ms: float = 0.0                 # marshmallow: the sale body loaded (SaleCreateSchema)
    dump_ms: float = 0.0                 # marshmallow: the sale answered (SaleSchema) + JSON
    render_ms: float = 0.0               # python-escpos: a stored receipt rendered to bytes
    threads: dict[str, float] = field(default_factory=dict)   # background CPU by thread


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each live thread of this process, by thread name."""
    import threading
    out: dict[str, float] = {}
    for t in threading.enumerate():
        try:
            cpu = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        except (OSError, TypeError):   # ended meanwhile
            continue
        out[t.name] = out.get(t.name, 0.0) + cpu
    return out


class _StatementClock:
    """Per thread: statements sent, and thread CPU spent inside ``Connection.execute``
    (SQLAlchemy's statement path and the driver), from SQLAlchemy's engine events."""

    def __init__(self, engine: Any) -> None:
        import threading

        from sqlalchemy import event
        self.engine, self.local = engine, threading.local()
        self.count: Counter[int] = Counter()
        self.cpu: Counter[int] = Counter()
        self._events = (("before_execute", self._before), ("after_execute", self._after),
                        ("before_cursor_execute", self._sent))
        for name, fn in self._events:
            event.listen(engine, name, fn)

    def _before(self, *_a: Any) -> None:
        self.local.t = time.thread_time()

    def _after(self, *_a: Any) -> None:
        import threading
        self.cpu[threading.get_ident()] += time.thread_time() - self.local.t

    def _sent(self, *_a: Any) -> None:
        import threading
        self.count[threading.get_ident()] += 1

    def reset(self) -> None:
        self.count.clear()
        self.cpu.clear()

    def close(self) -> None:
        from sqlalchemy import event
        for name, fn in self._events:
            event.remove(self.engine, name, fn)


def bench_budget(instance: str, url: str, selection: str | None, plugin_dir: Path,
                 password: str, session_id: int, n: int, seed: int) -> Budget:
    """``n`` sales and ``n`` ceiling requests through the Flask test client with jobs
    in-process; each sale's request thread CPU and its statements, the job thread's
    CPU until the receipts are printed, and the parts the stack mandates timed alone."""
    import gc
    import threading

    from sqlalchemy import text

    from core.app import create_app
    from core.config import Config
    from core.runtime import set_current
    from plugins.devices.render import render_stored
    from plugins.pos.schemas import SaleCreateSchema, SaleSchema
    from plugins.pos.services import get_sale

    if str(plugin_dir) not in sys.path:
        sys.path.insert(0, str(plugin_dir))
    app = create_app(Config.load({"instance_path": instance, "database_url": url,
                                  "plugins": selection, "redis_url": ""}))
    rt = app.extensions["counterdesk"]
    out = Budget()
    client = app.test_client()
    token = client.post("/api/v1/auth/tokens", json={"username": "benchcashier",
                                                      "password": password,
                                                      "name": "budget"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with rt.unit_of_work(write=False) as s:
        units = [(pid, Decimal(price), serial) for pid, price, serial in s.execute(text(
            "SELECT i.product_id, p.price, i.serial FROM items i JOIN products p "
            "ON p.id = i.product_id JOIN pos_shift sh ON sh.id = :sh JOIN pos_register r "
            "ON r.id = sh.register_id WHERE i.status = 'in_stock' AND i.location_id = "
            "r.location_id ORDER BY i.id DESC LIMIT :n"), {"sh": session_id, "n": n + 20})]
        stocked = [(pid, Decimal(price)) for pid, price in s.execute(text(
            "SELECT p.id, p.price FROM products p JOIN stock_levels l ON l.product_id = p.id "
            "WHERE p.serialized = false AND l.on_hand > 1000 ORDER BY p.id LIMIT 200"))]
    bodies = list(_sale_bodies(0, session_id, units, stocked, seed))
    clock = _StatementClock(rt.db.engine)
    main = threading.get_ident()

    def timed_posts(path: str, payloads: list[Any]) -> tuple[float, int]:
        cpu = 0.0
        for body in payloads:
            c0 = time.thread_time()
            resp = client.post(path, json=body,
                               headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
            cpu += time.thread_time() - c0
            if resp.status_code != 201:
                raise SystemExit(f"budget: {path} answered {resp.status_code}: "
                                 f"{resp.get_data(as_text=True)[:300]}")
        return cpu, len(payloads)

    def jobs_pending() -> int:
        with rt.unit_of_work(write=False) as s:
            return int(s.execute(text("SELECT count(*) FROM job_outbox "
                                      "WHERE status NOT IN ('done', 'dead')")).scalar())

    try:
        timed_posts("/api/v1/benchceiling/rows", [{"note": "warm"}] * 20)
        timed_posts("/api/v1/pos/sales", bodies[:20])
        while jobs_pending():
            time.sleep(0.02)
        gc.collect()
        clock.reset()
        cpu, k = timed_posts("/api/v1/benchceiling/rows", [{"note": "budget"}] * n)
        out.ceiling_ms, out.ceiling_statements = cpu / k * 1000, clock.count[main] / k
        clock.reset()
        threads0 = _thread_cpu()
        proc0, main0 = time.process_time(), time.thread_time()
        cpu, k = timed_posts("/api/v1/pos/sales", bodies[20:20 + n])
        out.sale_ms, out.sale_statements = cpu / k * 1000, clock.count[main] / k
        out.sale_sql_ms = clock.cpu[main] / k * 1000
        while jobs_pending():      # the receipts, printed by the job thread
            time.sleep(0.005)
        others = time.process_time() - proc0 - (time.thread_time() - main0)
        out.background_ms = others / k * 1000
        out.threads = {name: (cpu - threads0.get(name, 0.0)) / k * 1000
                       for name, cpu in _thread_cpu().items() if name != "MainThread"}
        out.background_statements = (sum(clock.count.values()) - clock.count[main]) / k
        # the mandated parts alone, on this run's sales and receipts
        with rt.unit_of_work(write=False) as s:
            sale_ids = [r[0] for r in s.execute(text(
                "SELECT id FROM pos_sale ORDER BY id DESC LIMIT :n"), {"n": n})]
            sales = [get_sale(s, i) for i in sale_ids]
            for sale in sales:
                _ = (sale.lines, sale.payments)
            receipts = list(s.execute(text(
                "SELECT j.document, p.profile, p.columns, p.encoding FROM devices_print_job j "
                "JOIN devices_printer p ON p.id = j.printer_id ORDER BY j.id DESC LIMIT :n"),
                {"n": n}))
        loader, dumper = SaleCreateSchema(), SaleSchema()
        raw = [json.dumps(b) for b in bodies[20:20 + n]]
        c0 = time.thread_time()
        for r in raw:
            loader.load(json.loads(r))
        out.load_ms = (time.thread_time() - c0) / len(raw) * 1000
        c0 = time.thread_time()
        for sale in sales:
            json.dumps(dumper.dump(sale), default=str)
        out.dump_ms = (time.thread_time() - c0) / max(len(sales), 1) * 1000
        c0 = time.thread_time()
        for doc, profile, columns, encoding in receipts:
            render_stored(doc if isinstance(doc, dict) else json.loads(doc), profile=profile,
                          columns=columns, encoding=encoding)
        out.render_ms = (time.thread_time() - c0) / max(len(receipts), 1) * 1000
    finally:
        clock.close()
        rt.close()
        set_current(None)
    return out


# ------------------------------------------------------------------- driver

@dataclass
class Row:
    backend: str
    metric: str
    value: str
    target: str = "-"
    result: str = "info"


def _target(backend: str, metric: str, value: float) -> tuple[str, str]:
    if metric not in TARGETS:
        return "-", "info"
    kind, lite, pg = TARGETS[metric]
    limit = lite if backend == "sqlite" else pg
    ok = value >= limit if kind == ">=" else value < limit
    return f"{kind} {limit:g}", "PASS" if ok else "MISS"


def _env(instance: str, url: str, plugins: str, plugin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERDESK_")}
    env.update(COUNTERDESK_INSTANCE=instance, COUNTERDESK_DATABASE_URL=url,
               PYTHONPATH=os.pathsep.join([str(ROOT), str(plugin_dir)]))
    if plugins.strip().lower() not in ("", "all", "*"):
        env["COUNTERDESK_PLUGINS"] = f"{plugins},{PLUGIN}"
    return env        # unset: every installed plugin, the ceiling plugin included


def run_backend(backend: str, args: argparse.Namespace) -> list[Row]:
    from core.auth import create_user
    from core.config import Config
    from core.records.stock import verify_levels
    from core.runtime import Runtime, set_current

    _say(f"\n=== {backend} ===")
    instance = tempfile.mkdtemp(prefix=f"counterdesk-bench-pos-{backend}-")
    pg_server = None
    rt = None
    rows: list[Row] = []
    add = lambda metric, value, shown: rows.append(Row(backend, metric, shown,  # noqa: E731
                                                       *_target(backend, metric, value)))
    try:
        plugin_dir = write_plugin(Path(instance) / "plugin")
        if backend == "sqlite":
            url = f"sqlite:///{instance}/counterdesk.db"
        else:
            from tests.services.postgres import PostgresServer
            pg_server = PostgresServer()
            url = pg_server.url(pg_server.create_database(name="bench_pos"))
            _say(f"PostgreSQL cluster on port {pg_server.port} ({pg_server.bindir})")
        env = _env(instance, url, args.plugins, plugin_dir)
        t0 = time.perf_counter()
        done = subprocess.run([*records._counterdesk_command(), "init"], env=env,
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"counterdesk init failed:\n{done.stdout}\n{done.stderr}")
        _say(done.stdout.strip() + f" ({time.perf_counter() - t0:.1f} s)")

        selection = None if args.plugins.strip().lower() in ("", "all", "*") else args.plugins
        rt = Runtime(Config.load({"instance_path": instance, "database_url": url,
                                  "plugins": selection, "redis_url": ""}))
        set_current(rt)
        units = args.units or max(10_000, math.ceil((args.seconds + args.warmup + 2) *
                                                    args.max_rate / 1000) * 1000)
        catalog = load_catalog(rt, products=args.products, units=units, seed=args.seed)
        for step, secs in catalog.steps.items():
            _say(f"  {step}: {secs:.2f} s")
        _say(f"catalog loaded in {catalog.seconds:.1f} s: {args.products:,} products, "
             f"{len(catalog.serialized):,} serialized with {catalog.units:,} units in stock at "
             f"the store, {len(catalog.stocked):,} stocked non-serialized products")
        passwords = {"bench": secrets.token_urlsafe(12), "benchcashier": secrets.token_urlsafe(12)}
        with rt.unit_of_work() as s:
            create_user(s, username="bench", password=passwords["bench"], roles=["admin"],
                        display_name="Benchmark admin", actor=None,
                        password_method=rt.config.password_method)
            create_user(s, username="benchcashier", password=passwords["benchcashier"],
                        roles=["cashier"], display_name="Benchmark cashier", actor=None,
                        password_method=rt.config.password_method)

        with Server(instance, args.workers, env) as server:
            port = server.port
            tokens = {u: _call(port, "POST", "/api/v1/auth/tokens",
                               {"username": u, "password": p, "name": "bench"}, expect=201)["token"]
                      for u, p in passwords.items()}
            admin, cashier = tokens["bench"], tokens["benchcashier"]
            enabled = [p["name"] for p in _call(port, "GET", "/api/v1/plugins", token=admin)
                       if p.get("enabled", True)]
            _call(port, "PUT", "/api/v1/settings/pos", {"values": {"print_receipt": True}},
                  token=admin)
            printer = _call(port, "POST", "/api/v1/devices/printers",
                            {"name": "Bench receipt printer", "uri": "dummy:"}, token=admin,
                            expect=201)
            register = _call(port, "POST", "/api/v1/pos/registers",
                             {"name": "Bench till", "location_id": catalog.store_id,
                              "printer_id": printer["id"]}, token=admin, expect=201)
            shift = _call(port, "POST", f"/api/v1/pos/registers/{register['id']}/sessions",
                          {"opening_cash": "200.00"}, token=cashier, expect=201)
            _say(f"server: counterdesk run --workers {args.workers} (gunicorn sync) on port "
                 f"{port}; plugins: {', '.join(enabled)}; printer {printer['id']} (dummy:), "
                 f"register {register['id']}, session {shift['id']}")

            # the ceiling: one bare ORM insert per request
            _say(f"ceiling: {args.clients} clients, {args.warmup:g} s warm-up + "
                 f"{args.seconds:g} s…")
            cpu0 = server.worker_cpu()
            ceiling = drive("ceiling", port, cashier, args.clients, args.warmup, args.seconds,
                            [{} for _ in range(args.clients)])
            ceiling_cpu = (server.worker_cpu() - cpu0) / max(ceiling.total_ok, 1) * 1000
            _say(f"  {ceiling.rate:,.0f} requests/s, p50 {ceiling.pct(50):.1f} ms, "
                 f"p99 {ceiling.pct(99):.1f} ms, errors {dict(ceiling.errors) or 0}")

            # sales: the serialized units partitioned among the clients
            all_units = [(pid, price, serial) for pid, price, serials in catalog.serialized
                         for serial in serials]
            random.Random(args.seed).shuffle(all_units)
            work = [{"session_id": shift["id"], "units": all_units[i::args.clients],
                     "stocked": catalog.stocked, "seed": args.seed}
                    for i in range(args.clients)]
            _say(f"sales: {args.clients} clients, {args.warmup:g} s warm-up + "
                 f"{args.seconds:g} s…")
            cpu0 = server.worker_cpu()
            sales = drive("sale", port, cashier, args.clients, args.warmup, args.seconds, work)
            sale_cpu = (server.worker_cpu() - cpu0) / max(sales.total_ok, 1) * 1000
            _say(f"  {sales.rate:,.1f} sales/s, p50 {sales.pct(50):.1f} ms, "
                 f"p99 {sales.pct(99):.1f} ms, errors {dict(sales.errors) or 0}")
            for sample in (ceiling.samples + sales.samples)[:5]:
                _say(f"  error sample: {sample}")
            time.sleep(2)   # let the in-process job runner finish the receipts

        # the run's effects, checked
        from sqlalchemy import text
        with rt.unit_of_work(write=False) as s:
            sold = s.execute(text("SELECT count(*) FROM items WHERE status = 'sold'")).scalar()
            n_sales = s.execute(text("SELECT count(*) FROM pos_sale")).scalar()
            jobs = dict(s.execute(text("SELECT status, count(*) FROM devices_print_job "
                                       "GROUP BY status")).all())
            problems = verify_levels(s)
        _say(f"after the run: {sold:,} units sold, {n_sales} sales recorded, "
             f"{sales.total_ok:,} sales answered 201 (with the warm-up); print jobs {jobs}; "
             f"stock levels agree with the ledger: {'yes' if not problems else problems[:3]}")

        lookup = bench_lookup(rt, catalog, args.lookups, args.seed)
        _say(f"barcode lookup: p50 {lookup.pct(50):.3f} ms, p99 {lookup.pct(99):.3f} ms over "
             f"{len(lookup.latencies_ms):,} lookups ({lookup.ok:,} found)")

        budget = None
        if args.budget_sales:
            budget = bench_budget(instance, url, selection, plugin_dir,
                                  passwords["benchcashier"], shift["id"], args.budget_sales,
                                  args.seed)
            _say(f"in-process, {args.budget_sales} of each: ceiling request "
                 f"{budget.ceiling_ms:.2f} ms CPU; sale request {budget.sale_ms:.2f} ms "
                 f"({budget.sale_statements:.0f} statements, {budget.sale_sql_ms:.2f} ms in "
                 f"them) + {budget.background_ms:.2f} ms in the job thread "
                 f"({budget.background_statements:.0f} statements); background CPU ms per "
                 "sale by thread: " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                 sorted(budget.threads.items()) if v >= 0.005))

        ratio = sales.rate / ceiling.rate if ceiling.rate else 0.0
        add("server workers (gunicorn sync)", 0, str(args.workers))
        add("ceiling requests/s (bare ORM insert)", ceiling.rate, f"{ceiling.rate:,.0f}")
        add("ceiling p50 / p99 ms", 0, f"{ceiling.pct(50):.1f} / {ceiling.pct(99):.1f}")
        add("ceiling server CPU ms / request", 0, f"{ceiling_cpu:.2f}")
        add("sales/s (3 lines, 2 tenders, receipt job)", sales.rate, f"{sales.rate:,.1f}")
        add("sales/s ÷ ceiling", ratio, f"{ratio:.2f}")
        add("checkout p50 ms", sales.pct(50), f"{sales.pct(50):.1f}")
        add("checkout p99 ms", sales.pct(99), f"{sales.pct(99):.1f}")
        add("checkout server CPU ms / sale", 0, f"{sale_cpu:.2f}")
        add("errors (ceiling / sales)", 0,
            f"{sum(ceiling.errors.values())} / {sum(sales.errors.values())}"
            + (" (a client ran out of units)" if sales.ran_out else ""))
        add("barcode lookup p50 ms", lookup.pct(50), f"{lookup.pct(50):.3f}")
        add("barcode lookup p99 ms", lookup.pct(99), f"{lookup.pct(99):.3f}")
        add("stock levels = ledger after the run", 0, "yes" if not problems else "NO")
        if budget is not None:
            b = budget
            add("in-process CPU ms: ceiling request (statements)", 0,
                f"{b.ceiling_ms:.2f} ({b.ceiling_statements:.0f})")
            add("in-process CPU ms: sale request (statements)", 0,
                f"{b.sale_ms:.2f} ({b.sale_statements:.0f})")
            add("  of which executing statements", 0, f"{b.sale_sql_ms:.2f}")
            add("  of which marshmallow load / dump + JSON", 0,
                f"{b.load_ms:.2f} / {b.dump_ms:.2f}")
            add("in-process CPU ms: receipt job etc. per sale (statements)", 0,
                f"{b.background_ms:.2f} ({b.background_statements:.0f})")
            add("  of which python-escpos render", 0, f"{b.render_ms:.2f}")
            add("in-process CPU: sale and its job ÷ ceiling request", 0,
                f"{(b.sale_ms + b.background_ms) / b.ceiling_ms:.1f}" if b.ceiling_ms else "-")
        if sales.errors or ceiling.errors or problems:
            rows[-1].result = "MISS" if problems else rows[-1].result
    finally:
        if rt is not None:
            rt.close()
            set_current(None)
        if pg_server is not None:
            pg_server.stop()
        if args.keep:
            _say(f"instance kept at {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)
    return rows


def print_table(rows: list[Row], title: str) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
        table = Table(title=title)
        for col in ("backend", "metric", "value", "target", "result"):
            table.add_column(col, justify="right" if col in ("value", "target") else "left")
        for r in rows:
            table.add_row(r.backend, r.metric, r.value, r.target, r.result,
                          style={"PASS": "green", "MISS": "bold red"}.get(r.result))
        Console(width=120).print(table)
    except ImportError:  # pragma: no cover
        print(title)
        for r in rows:
            print(f"{r.backend:<11} {r.metric:<45} {r.value:>14} {r.target:>8} {r.result}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pos", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--products", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=20.0, help="measured window per phase")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds before the window")
    p.add_argument("--workers", type=int, default=max(2, 2 * (os.cpu_count() or 1)),
                   help="gunicorn sync workers (default: 2 per CPU, as counterdesk run)")
    p.add_argument("--units", type=int, default=0,
                   help="serialized units in stock (default: enough for --max-rate sales/s)")
    p.add_argument("--max-rate", type=int, default=1500,
                   help="sales/s the default unit count allows for")
    p.add_argument("--lookups", type=int, default=2000)
    p.add_argument("--budget-sales", type=int, default=300,
                   help="sales (and ceiling requests) measured in-process for the CPU budget "
                        "table; 0 skips it")
    p.add_argument("--plugins", default="all",
                   help="COUNTERDESK_PLUGINS for the shop (default: every installed plugin); "
                        "the ceiling plugin is always added")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the instance folder(s)")
    p.add_argument("--json", default=None, help="also write the figures here")
    args = p.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    load_before = os.getloadavg()
    _say(f"CPUs: {os.cpu_count()}; load average at start: "
         + " ".join(f"{x:.2f}" for x in load_before))
    rows: list[Row] = []
    for backend in backends:
        rows += run_backend(backend, args)
    load_after = os.getloadavg()
    print_table(rows, f"Counterdesk till speed ({args.products:,} products, {args.clients} "
                      f"clients, {args.seconds:g} s per phase)")
    print("load average at start: " + " ".join(f"{x:.2f}" for x in load_before)
          + "; at end: " + " ".join(f"{x:.2f}" for x in load_after)
          + f" on {os.cpu_count()} CPUs (clients, server and other work share them)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"load": [load_before, load_after],
                                               "rows": [r.__dict__ for r in rows]}, indent=2))
    return 1 if any(r.result == "MISS" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
