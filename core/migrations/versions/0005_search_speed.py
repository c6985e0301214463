"""search speed: phone fragments by a suffix table; word indexes with longer prefixes
and without column details

Phone fragments. ``customers_phone_fts`` (a trigram FTS5 table) answered a 4–7 digit
fragment by intersecting the position lists of its trigrams: 0.6 ms median and up to
1.9 ms over a million customers, before loading a single row. It is replaced by
``customers_phone_suffixes``: one row per suffix of ``phone_digits`` at least three
digits long (eight per ten-digit number), primary key ``(suffix, customer_id)``,
``WITHOUT ROWID``. A fragment is then one B-tree range (``suffix >= '0102' AND suffix
< '0103'``) that stops at the page size: 0.04 ms median, 0.08 ms p99 for the first 20.
Triggers on ``customers`` keep it, as they kept the FTS table; 7.4 million rows,
130 MB for a million customers (the trigram table: 85 MB).

Name words. A prefix query longer than the longest prefix index (``"roberts"*`` with
``prefix='1 2 3 4 5 6'``) makes FTS5 read and merge the whole doclist of every term
with that prefix before returning a row: 2–4 ms for a common surname, the p99 of the
name search. ``customers_fts`` and ``products_fts`` get prefix indexes for 1 to 14
characters, so a typed word up to 14 letters is one indexed term read lazily (a
longer prefix matches few terms). ``detail=none`` drops the column lists, which
nothing uses (no column filters, no phrases: ``core.records.search`` sends one-token
prefix queries): the index halves (89 MB → 46 MB for a million customers with all
14 prefix lengths). Raw FTS query over the benchmark's name queries, CPU p99:
2.5 ms → 0.76 ms.

SQLite only. PostgreSQL keeps its GIN indexes (``pg_trgm`` for phone fragments).

Revision ID: 0005_search_speed
Revises: 0004_search_prefixes
Create Date: 2026-11-23 23:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0005_search_speed'
down_revision: Union[str, Sequence[str], None] = '0004_search_prefixes'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"
NEW_OPTIONS = f"{_TOKENIZE}, prefix='{' '.join(str(n) for n in range(1, 15))}', detail=none"
OLD_OPTIONS = f"{_TOKENIZE}, prefix='1 2 3 4 5 6', detail=column"   # as 0004 made them

# fts table -> (content table, columns)
WORD_TABLES = {
    "customers_fts": ("customers", "name, email"),
    "products_fts": ("products", "sku, name, description"),
}

SUFFIXES = "customers_phone_suffixes"
MIN_FRAGMENT = 3
# phone_digits is VARCHAR(20): suffixes of at least three digits start at 1 … 18
_STARTS = " UNION ALL ".join(f"SELECT {n}" + (" AS n" if n == 1 else "") for n in range(1, 19))


def _suffixes_of(row: str, *also: str) -> str:
    """``SELECT suffix[, also…]`` for every suffix of ``row.phone_digits`` (``row`` is
    ``new`` or ``old`` in a trigger)."""
    return (f"SELECT {', '.join((f'substr({row}.phone_digits, p.n)', *also))} "
            f"FROM ({_STARTS}) AS p WHERE p.n <= length({row}.phone_digits) - {MIN_FRAGMENT - 1}")


def _delete_suffixes_of(row: str) -> str:
    return (f"DELETE FROM {SUFFIXES} WHERE customer_id = {row}.id "
            f"AND suffix IN ({_suffixes_of(row)})")


_INSERT_NEW = f"INSERT INTO {SUFFIXES}(suffix, customer_id) {_suffixes_of('new', 'new.id')}"
SUFFIX_TRIGGERS = {
    f"{SUFFIXES}_ai": f"AFTER INSERT ON customers WHEN new.phone_digits IS NOT NULL BEGIN "
                      f"{_INSERT_NEW}; END",
    f"{SUFFIXES}_ad": f"AFTER DELETE ON customers WHEN old.phone_digits IS NOT NULL BEGIN "
                      f"{_delete_suffixes_of('old')}; END",
    f"{SUFFIXES}_au": f"AFTER UPDATE OF phone_digits ON customers "
                      f"WHEN old.phone_digits IS NOT new.phone_digits BEGIN "
                      f"{_delete_suffixes_of('old')}; {_INSERT_NEW}; END",
}

# Filling in key order appends to the B-tree instead of inserting at random.
FILL_SUFFIXES = (f"INSERT INTO {SUFFIXES}(suffix, customer_id) "
                 f"SELECT substr(c.phone_digits, p.n), c.id FROM customers AS c "
                 f"JOIN ({_STARTS}) AS p ON p.n <= length(c.phone_digits) - {MIN_FRAGMENT - 1} "
                 f"WHERE c.phone_digits IS NOT NULL ORDER BY 1, 2")

TRIGRAM_TRIGGERS = {   # as 0002_records made them
    "customers_phone_fts_ai": "AFTER INSERT ON customers BEGIN INSERT INTO customers_phone_fts"
                              "(rowid, phone_digits) VALUES (new.id, new.phone_digits); END",
    "customers_phone_fts_ad": "AFTER DELETE ON customers BEGIN INSERT INTO customers_phone_fts"
                              "(customers_phone_fts, rowid, phone_digits) VALUES "
                              "('delete', old.id, old.phone_digits); END",
    "customers_phone_fts_au": "AFTER UPDATE OF phone_digits ON customers BEGIN INSERT INTO "
                              "customers_phone_fts(customers_phone_fts, rowid, phone_digits) "
                              "VALUES ('delete', old.id, old.phone_digits); INSERT INTO "
                              "customers_phone_fts(rowid, phone_digits) VALUES "
                              "(new.id, new.phone_digits); END",
}


def _recreate_word_tables(options: str) -> None:
    for fts, (content, cols) in WORD_TABLES.items():
        op.execute(f"DROP TABLE {fts}")
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{content}', "
                   f"content_rowid='id', {options})")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _recreate_word_tables(NEW_OPTIONS)
    for name in TRIGRAM_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS customers_phone_fts")
    op.execute(f"CREATE TABLE {SUFFIXES} (suffix VARCHAR(20) NOT NULL, "
               f"customer_id INTEGER NOT NULL, PRIMARY KEY (suffix, customer_id)) WITHOUT ROWID")
    op.execute(FILL_SUFFIXES)
    for name, body in SUFFIX_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in SUFFIX_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {SUFFIXES}")
    op.execute("CREATE VIRTUAL TABLE customers_phone_fts USING fts5(phone_digits, "
               "content='customers', content_rowid='id', tokenize='trigram')")
    for name, body in TRIGRAM_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("INSERT INTO customers_phone_fts(customers_phone_fts) VALUES ('rebuild')")
    _recreate_word_tables(OLD_OPTIONS)
