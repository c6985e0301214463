"""The shared records every plugin builds on: parties (customers, vendors), the
catalog (products), serialized units (items), stock locations, the stock-move ledger
and reservations, and their search.

Models and services live in ``parties``, ``catalog``, ``items`` and ``stock``;
``search`` holds the indexed look-ups (FTS5 on SQLite, tsvector/pg_trgm on
PostgreSQL); ``api`` is the JSON blueprint; ``hooks`` the kernel's contributions to
the ``search``, ``item_history`` and ``customer_timeline`` hooks. Services are plain
functions taking ``(session, actor, ...)``: no Flask in here except ``api``.
"""
