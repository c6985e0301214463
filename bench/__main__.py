"""``python -m bench``: a small-scale smoke run of the generator and the benchmark.

Builds a 20,000-customer shop in a temporary folder (or ``--instance``), then
measures the same operations as the full benchmark. The figures show that
everything runs and give a first idea; the issue's targets are about the full-size
shop (see bench/README.md).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile

from bench import generate, records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--instance", default=None, help="keep the shop here (default: a temp dir)")
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--products", type=int, default=2_000)
    p.add_argument("--units", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--no-http", action="store_true")
    args = p.parse_args(argv)
    instance = args.instance or tempfile.mkdtemp(prefix="counterdesk-bench-")
    try:
        stats = generate.generate(instance, customers=args.customers, products=args.products,
                                  units=args.units, force=True)
        generate.print_report(stats)
        records.run(instance, queries=args.queries, http=not args.no_http)
    finally:
        if args.instance is None:
            shutil.rmtree(instance, ignore_errors=True)
    print("Smoke run done (small scale: the targets apply to the full-size shop, "
          "see bench/README.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
