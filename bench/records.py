"""Look-up and search speed on a generated shop: ``python -m bench.records --instance DIR``.

Two parts, each over ``--queries`` queries per operation (at least 1,000), drawn
from the shop's own rows with a fixed seed (mostly hits, some misses), after a
warm-up:

In-process, through the service layer — the functions the API and the search box
call, each query in a fresh read session (as a request gets one); the time is the
service call, including the session's first connection check-out and ``BEGIN``:

* serial lookup      ``core.records.items.items_by_serial``
* barcode lookup     ``core.records.catalog.find_product_by_code``
* customer by phone  ``core.records.search.search_customers`` with a 4–7 digit fragment
                     of a real phone, typed in several layouts
* customer by name   ``search_customers`` with a 2–5 letter prefix of a name word, a
                     full name, or a first name and a last-name prefix
* unified search     ``core.search.unified_search(runtime, session, q, admin)`` over a
                     mix of serials, barcodes, SKUs, phones, names, e-mails, product
                     words and misses

Over HTTP, against the real server (``counterdesk run --workers 1``, gunicorn sync
worker) with one client (``http.client``; a sync worker closes the connection after
each response, so each request includes its TCP connect):

* ``GET /api/v1/items?serial=…``, ``GET /api/v1/products?q=<barcode>``,
  ``GET /api/v1/search?q=…`` and, for information (no target),
  ``GET /api/v1/customers?q=…`` (a counted, paginated list).
"""
from __future__ import annotations

import argparse
import gc
import http.client
import json
import math
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from bench.generate import BENCH_USER, read_credentials

# (operation, target p99 in ms or None)
TARGETS = {
    "calibration: bare sqlite3 serial lookup": None,
    "serial lookup": 1.0,
    "barcode lookup": 1.0,
    "customer search: phone fragment": 3.0,
    "customer search: name": 3.0,
    "unified search": 10.0,
    "HTTP serial lookup (GET /items?serial=)": 5.0,
    "HTTP barcode lookup (GET /products?q=)": 5.0,
    "HTTP unified search (GET /search?q=)": 10.0,
    "HTTP customer list search (GET /customers?q=)": None,
}


INFO_QUERIES = 500   # queries for the information-only HTTP customer list


@dataclass
class Result:
    operation: str
    n: int
    p50: float
    p99: float
    max: float
    hits: int
    target: float | None
    cpu_p50: float | None = None    # in-process: CPU time of the calling thread
    cpu_p99: float | None = None
    cpu_mean: float | None = None   # HTTP: the server worker's CPU per request (mean)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        return "PASS" if self.p99 < self.target else "MISS"


def percentile(sorted_ms: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return float("nan")
    k = max(0, math.ceil(p / 100 * len(sorted_ms)) - 1)
    return sorted_ms[k]


def summarize(operation: str, times_s: list[float], hits: int,
              cpu_s: list[float] | None = None) -> Result:
    ms = sorted(t * 1000 for t in times_s)
    res = Result(operation, len(ms), percentile(ms, 50), percentile(ms, 99), ms[-1], hits,
                 TARGETS.get(operation))
    if cpu_s:
        cpu = sorted(t * 1000 for t in cpu_s)
        res.cpu_p50, res.cpu_p99 = percentile(cpu, 50), percentile(cpu, 99)
    return res


# ------------------------------------------------------------------ queries

@dataclass
class Queries:
    serials: list[str]
    barcodes: list[str]
    phones: list[str]
    names: list[str]
    unified: list[str]
    customer_list: list[str]


def _typed_serial(rng: random.Random, serial: str) -> str:
    r = rng.random()
    if r < 0.6:
        return serial
    if r < 0.8:
        return serial.lower()
    if r < 0.9:
        return f" {serial} "
    return serial[:4] + " " + serial[4:]


def _phone_fragment(rng: random.Random, digits: str) -> str:
    n = rng.randrange(4, 8)
    start = rng.randrange(0, len(digits) - n + 1)
    frag = digits[start:start + n]
    r = rng.random()
    if r < 0.4:
        return frag
    if r < 0.6 and n > 4:
        return f"{frag[:3]}-{frag[3:]}"
    if r < 0.8 and n > 4:
        return f"{frag[:3]} {frag[3:]}"
    if start == 0 and n >= 6:
        return f"({frag[:3]}) {frag[3:]}"
    return frag


def _name_query(rng: random.Random, name: str) -> str:
    import re
    words = [w for w in re.findall(r"\w+", name) if len(w) >= 2] or [name]
    r = rng.random()
    if r < 0.55:        # a word prefix while typing, 2-5 letters
        w = rng.choice(words)
        q = w[:rng.randrange(2, 6)]
    elif r < 0.75:      # a full word
        q = rng.choice(words)
    elif r < 0.9:       # first name and a last-name prefix
        q = f"{words[0]} {words[-1][:rng.randrange(1, 5)]}"
    else:               # the full name
        q = name
    return q.lower() if rng.random() < 0.5 else q


def build_queries(db_path: str, n: int, seed: int) -> Queries:
    """``n`` queries per operation from the shop's rows (about 10 % misses)."""
    from core.records.catalog import gs1_check_digit
    rng = random.Random(seed)
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        max_c = con.execute("SELECT max(id) FROM customers").fetchone()[0] or 0
        max_p = con.execute("SELECT max(id) FROM products").fetchone()[0] or 0
        max_i = con.execute("SELECT max(id) FROM items").fetchone()[0] or 0

        def rows(sql: str, upper: int, want: int, pred: Callable[[tuple], bool] = bool) -> list[tuple]:
            out: list[tuple] = []
            tries = 0
            while len(out) < want and tries < want * 50 and upper:
                tries += 1
                row = con.execute(sql, (rng.randrange(1, upper + 1),)).fetchone()
                if row and pred(row):
                    out.append(row)
            return out

        item_rows = rows("SELECT serial FROM items WHERE id = ?", max_i, n)
        serials = [_typed_serial(rng, r[0]) for r in item_rows]
        prod_rows = rows("SELECT barcode, sku, name FROM products WHERE id = ?", max_p, n)
        barcodes = []
        for (bc,) in rows("SELECT barcode FROM products WHERE id = ?", max_p, n,
                          lambda r: r[0] is not None):
            barcodes.append("0" + bc if len(bc) == 12 and rng.random() < 0.3 else bc)
        cust_rows = rows("SELECT name, phone_digits, email FROM customers WHERE id = ?", max_c,
                         2 * n)
        phones = [_phone_fragment(rng, r[1]) for r in cust_rows if r[1]][:n]
        names = [_name_query(rng, r[0]) for r in cust_rows[:n]]
    finally:
        con.close()

    def misses(k: int) -> dict[str, list[str]]:
        def ean() -> str:
            body = "20" + f"{rng.randrange(10**10):010d}"   # in-store prefix: never generated
            return body + str(gs1_check_digit(body))
        return {
            "serial": [f"NOPE{rng.randrange(10**8):08d}" for _ in range(k)],
            "barcode": [ean() for _ in range(k)],
            "phone": [f"{rng.randrange(10**7):07d}"[:rng.randrange(5, 8)] for _ in range(k)],
            "name": [rng.choice(("zzq", "qxv", "Xylophon", "Zebedee Quux", "wqz")) for _ in range(k)],
        }

    k = max(1, n // 10)
    miss = misses(k)
    serials = (serials[:n - k] + miss["serial"])
    barcodes = (barcodes[:n - k] + miss["barcode"])
    phones = (phones[:n - k] + miss["phone"])
    names = (names[:n - k] + miss["name"])
    for lst in (serials, barcodes, phones, names):
        rng.shuffle(lst)

    unified: list[str] = []
    emails = [r[2] for r in cust_rows if r[2]]
    skus = [r[1] for r in prod_rows]
    words = [" ".join(r[2].split()[:2]) for r in prod_rows]
    pools = ((serials, 25), (barcodes, 15), (skus, 5), (phones, 15), (names, 25),
             (emails, 5), (words, 10))
    cum = []
    total = 0
    for _pool, w in pools:
        total += w
        cum.append(total)
    for _ in range(n):
        x = rng.random() * total
        pool = next(p for (p, _w), c in zip(pools, cum) if x < c)
        unified.append(rng.choice(pool) if pool else "zzq")
    customer_list = [rng.choice(phones) if rng.random() < 0.4 else rng.choice(names)
                     for _ in range(n)]
    return Queries(serials, barcodes, phones, names, unified, customer_list)


# --------------------------------------------------------------- in-process

Timed = Callable[[str], tuple[float, float | None, bool]]   # (wall s, cpu s, found)


def _timed_in_session(rt: Any, call: Callable[[Any, str], Any]) -> Timed:
    from core.db import bind_session
    clock, cpu_clock = time.perf_counter, time.thread_time

    def run(q: str) -> tuple[float, float | None, bool]:
        session = rt.db.session(write=False)
        try:
            with bind_session(session):
                c0 = cpu_clock()
                t0 = clock()
                found = call(session, q)
                elapsed = clock() - t0
                cpu = cpu_clock() - c0
            session.commit()
        finally:
            session.close()
        return elapsed, cpu, bool(found)
    return run


def _bare_lookup(db_path: str) -> Timed:
    """The floor: one prepared, indexed SELECT on a plain sqlite3 connection (the
    issue's "about 0.02 ms" reference), to tell a slow machine from slow code."""
    from core.records.items import normalize_serial
    con = sqlite3.connect(db_path, check_same_thread=False)
    sql = "SELECT id, product_id, serial, status FROM items WHERE serial_norm = ?"
    clock, cpu_clock = time.perf_counter, time.thread_time

    def run(q: str) -> tuple[float, float | None, bool]:
        c0 = cpu_clock()
        t0 = clock()
        rows = con.execute(sql, (normalize_serial(q),)).fetchall()
        elapsed = clock() - t0
        return elapsed, cpu_clock() - c0, bool(rows)
    return run


def _measure(operation: str, run: Timed, queries: list[str], warmup: int,
             cpu_of_batch: Callable[[], float] | None = None) -> Result:
    for q in queries[:warmup]:
        run(q)
    gc.collect()
    times: list[float] = []
    cpus: list[float] = []
    hits = 0
    before = cpu_of_batch() if cpu_of_batch else 0.0
    for q in queries:
        elapsed, cpu, found = run(q)
        times.append(elapsed)
        if cpu is not None:
            cpus.append(cpu)
        hits += found
    res = summarize(operation, times, hits, cpus)
    if cpu_of_batch:
        res.cpu_mean = (cpu_of_batch() - before) * 1000 / len(queries)
    _say_result(res)
    return res


def _say_result(r: Result) -> None:
    target = f"< {r.target:g} ms" if r.target is not None else "-"
    cpu = ""
    if r.cpu_p99 is not None:
        cpu = f"; cpu p50 {r.cpu_p50:.3f} p99 {r.cpu_p99:.3f}"
    elif r.cpu_mean is not None:
        cpu = f"; server cpu {r.cpu_mean:.3f}/req"
    print(f"  {r.operation:<48} n={r.n:<5} p50 {r.p50:7.3f} ms  p99 {r.p99:7.3f} ms  "
          f"(max {r.max:.2f}; {r.hits} with results{cpu})  target {target}: {r.verdict}",
          flush=True)


def bench_in_process(instance: str, queries: Queries, warmup: int) -> list[Result]:
    from sqlalchemy import select

    from core.config import Config
    from core.models import User
    from core.records import catalog, items
    from core.records.search import search_customers
    from core.runtime import Runtime, set_current
    from core.search import unified_search

    rt = Runtime(Config.load({"instance_path": instance}))
    set_current(rt)
    try:
        with rt.unit_of_work(write=False) as s:
            actor = s.scalar(select(User).where(User.username == BENCH_USER))
            if actor is None:
                raise SystemExit(f"no user {BENCH_USER!r}: generate the shop with bench.generate")
            rt.permissions_of(actor)   # loads roles and grants while attached

        print("In-process, through the service layer:", flush=True)
        results = [_measure("calibration: bare sqlite3 serial lookup",
                            _bare_lookup(rt.config.database_url[len("sqlite:///"):]),
                            queries.serials, warmup)]
        ops: list[tuple[str, Callable[[Any, str], Any], list[str]]] = [
            ("serial lookup", lambda s, q: items.items_by_serial(s, q), queries.serials),
            ("barcode lookup", lambda s, q: catalog.find_product_by_code(s, q), queries.barcodes),
            ("customer search: phone fragment", lambda s, q: search_customers(s, q, 20),
             queries.phones),
            ("customer search: name", lambda s, q: search_customers(s, q, 20), queries.names),
            ("unified search", lambda s, q: unified_search(rt, s, q, actor, 20), queries.unified),
        ]
        return results + [_measure(name, _timed_in_session(rt, call), qs, warmup)
                          for name, call, qs in ops]
    finally:
        rt.close()
        set_current(None)


# --------------------------------------------------------------------- HTTP

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _counterdesk_command() -> list[str]:
    script = Path(sys.executable).parent / "counterdesk"
    if script.exists():
        return [str(script)]
    found = shutil.which("counterdesk")
    if found:
        return [found]
    return [sys.executable, "-c", "from core.cli import main; main()"]


class Server:
    """``counterdesk run --workers 1`` on a free port, for the length of a ``with``."""

    def __init__(self, instance: str, workers: int = 1) -> None:
        self.instance = instance
        self.port = _free_port()
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(instance) / "bench-server.log"

    def __enter__(self) -> "Server":
        env = dict(os.environ, COUNTERDESK_INSTANCE=self.instance)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [*_counterdesk_command(), "run", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}); see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/me")
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"the server did not answer within 90 s; see {self.log_path}")

    def worker_cpu(self) -> float:
        """CPU seconds used so far by the server's processes (master and workers)."""
        assert self.proc is not None
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        pids = [self.proc.pid]
        try:
            pids += [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
                     .read_text().split()]
            for pid in pids:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError):
            return float("nan")
        return total

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Client:
    """One client on one ``http.client`` connection (re-opened when the server closes it)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Accept": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=payload, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.conn.close()
        return resp.status, data

    def sign_in(self, username: str, password: str) -> None:
        status, data = self.call("POST", "/api/v1/auth/tokens",
                                 {"username": username, "password": password, "name": "bench"})
        if status != 201:
            raise SystemExit(f"could not get a token: {status} {data[:200]!r}")
        self.headers["Authorization"] = "Bearer " + json.loads(data)["token"]


def bench_http(instance: str, queries: Queries, warmup: int) -> list[Result]:
    username, password = read_credentials(instance)
    results = []
    with Server(instance) as server:
        client = Client(server.port)
        client.sign_in(username, password)
        print(f"Over HTTP (counterdesk run --workers 1 on port {server.port}, one client):",
              flush=True)

        def get(path: str, key: str) -> Timed:
            def run(q: str) -> tuple[float, float | None, bool]:
                url = path + urllib.parse.quote(q)
                t0 = time.perf_counter()
                status, data = client.call("GET", url)
                elapsed = time.perf_counter() - t0
                if status != 200:
                    raise SystemExit(f"GET {url}: {status} {data[:300]!r}")
                return elapsed, None, bool(json.loads(data)[key])
            return run

        for name, path, key, qs in (
            ("HTTP serial lookup (GET /items?serial=)", "/api/v1/items?serial=", "items",
             queries.serials),
            ("HTTP barcode lookup (GET /products?q=)", "/api/v1/products?q=", "items",
             queries.barcodes),
            ("HTTP unified search (GET /search?q=)", "/api/v1/search?q=", "results",
             queries.unified),
            # information only, and slow (it counts every match): fewer queries
            ("HTTP customer list search (GET /customers?q=)", "/api/v1/customers?q=", "items",
             queries.customer_list[:INFO_QUERIES]),
        ):
            results.append(_measure(name, get(path, key), qs, min(warmup, len(qs) // 4),
                                    cpu_of_batch=server.worker_cpu))
    return results


# -------------------------------------------------------------------- report

def print_table(results: list[Result], title: str) -> None:
    def cpu(r: Result) -> str:
        if r.cpu_p99 is not None:
            return f"{r.cpu_p50:.3f} / {r.cpu_p99:.3f}"
        if r.cpu_mean is not None:
            return f"server {r.cpu_mean:.3f} (mean)"
        return ""
    rows = [(r.operation, str(r.n), f"{r.p50:.3f}", f"{r.p99:.3f}", f"{r.max:.2f}",
             f"{r.hits}/{r.n}", cpu(r), f"< {r.target:g}" if r.target is not None else "-",
             r.verdict) for r in results]
    try:
        from rich.console import Console
        from rich.table import Table
        table = Table(title=title)
        for col in ("operation", "n", "p50 ms", "p99 ms", "max ms", "with results",
                    "cpu ms p50 / p99", "target p99 ms", "result"):
            table.add_column(col, justify="left" if col == "operation" else "right")
        for r in rows:
            style = {"PASS": "green", "MISS": "bold red"}.get(r[-1])
            table.add_row(*r, style=style)
        Console(width=160).print(table)
    except ImportError:  # pragma: no cover
        print(title)
        for r in rows:
            print(" | ".join(r))


def upgrade_if_needed(instance: str) -> None:
    """Apply migrations added since the shop was generated (a plugin enabled or
    upgraded later: ``counterdesk init`` does the same) and seed their permissions."""
    from core import migrate
    from core.auth import seed_roles
    from core.config import Config
    from core.runtime import Runtime, set_current
    rt = Runtime(Config.load({"instance_path": instance}))
    set_current(rt)
    try:
        if migrate.pending(rt):
            t0 = time.perf_counter()
            labels = migrate.upgrade(rt)
            with rt.unit_of_work() as s:
                seed_roles(s, rt.registry.permissions.values())
            print(f"Applied pending migrations ({', '.join(labels)}) in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        rt.close()
        set_current(None)


def shop_size(db_path: str) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("customers", "products", "items")}
    finally:
        con.close()


def run(instance: str, *, queries: int = 2000, seed: int = 1, http: bool = True,
        in_process: bool = True, warmup: int = 200, json_out: str | None = None) -> list[Result]:
    from core.config import Config
    instance = str(Path(instance).resolve())
    cfg = Config.load({"instance_path": instance})
    db_path = cfg.database_url[len("sqlite:///"):]
    if not os.path.exists(db_path):
        raise SystemExit(f"no database at {db_path}: run python -m bench.generate first")
    upgrade_if_needed(instance)
    size = shop_size(db_path)
    print(f"Shop at {db_path}: " + ", ".join(f"{v:,} {k}" for k, v in size.items()), flush=True)
    qs = build_queries(db_path, max(queries, 1), seed)
    load_before = os.getloadavg()
    print(f"CPUs: {os.cpu_count()}; load average before: "
          + " ".join(f"{x:.2f}" for x in load_before), flush=True)
    results: list[Result] = []
    if in_process:
        results += bench_in_process(instance, qs, warmup)
    if http:
        results += bench_http(instance, qs, warmup)
    load_after = os.getloadavg()
    print_table(results, f"Counterdesk look-up and search ({size['customers']:,} customers, "
                         f"{size['products']:,} products, {size['items']:,} units)")
    print(f"load average after: " + " ".join(f"{x:.2f}" for x in load_after)
          + f" on {os.cpu_count()} CPUs (wall-clock percentiles suffer when the machine is "
            "busy; the cpu columns much less)", flush=True)
    if json_out:
        Path(json_out).write_text(json.dumps({"shop": size, "load": [load_before, load_after],
                                              "results": [{**asdict(r), "verdict": r.verdict}
                                                          for r in results]}, indent=2))
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.records",
                                description="Look-up and search speed on a generated shop.")
    p.add_argument("--instance", required=True)
    p.add_argument("--queries", type=int, default=2000, help="queries per operation (>= 1000 "
                   "for the issue's figures)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--no-http", action="store_true", help="in-process figures only")
    p.add_argument("--http-only", action="store_true", help="HTTP figures only")
    p.add_argument("--json", dest="json_out", default=None, help="also write the figures here")
    args = p.parse_args(argv)
    results = run(args.instance, queries=args.queries, seed=args.seed, warmup=args.warmup,
                  http=not args.no_http, in_process=not args.http_only, json_out=args.json_out)
    return 0 if all(r.verdict != "MISS" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
