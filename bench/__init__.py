"""Benchmarks and the large-shop data generator they use (issue 3, point 9).

* ``python -m bench.generate --instance DIR`` builds a large shop (1,000,000 customers,
  100,000 products, 5,000,000 serialized units by default) on SQLite.
* ``python -m bench.records --instance DIR`` measures look-ups and searches in-process
  through the service layer and over HTTP against the real server.
* ``python -m bench`` runs both at a small scale (a smoke run).

See bench/README.md.
"""
