"""search prefixes: customers_fts and products_fts get prefix indexes for 1–6 characters
and detail=column

Customer name search sends every word as a prefix (``"john"* "s"*``). With prefix
indexes only for 2 and 3 characters, a one-letter word (a typed initial) or a 4–6
letter prefix made FTS5 merge the doclists of every term starting with it: 30–190 ms
over a million names. With ``prefix='1 2 3 4 5 6'`` each such word is one indexed
term. ``detail=column`` drops token positions, which no customer search uses (words
are single-token prefix queries, AND-ed; ``core.records.search`` never sends a
multi-token phrase): the doclists shrink and the AND of common words is faster.
Measured over a million generated customers (raw FTS query, CPU p99): 17.7 ms with
``prefix='2 3'``, 2.5 ms with ``prefix='1 2 3 4 5 6'``, 1.8 ms with that and
``detail=column`` (index 55 MB → 77 MB). ``products_fts`` gets the same options: in the
unified search a name such as "kevin t" also searches the products' words, where the
one-letter word cost ~15 ms over 100,000 products.

SQLite only: each FTS table is dropped and re-created with the new options and
rebuilt from its content table; the triggers that keep it in sync (on ``customers``
and ``products``) are not touched. PostgreSQL's GIN indexes on the tsvectors need
nothing.

Revision ID: 0004_search_prefixes
Revises: 0003_attachments
Create Date: 2026-11-23 21:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0004_search_prefixes'
down_revision: Union[str, Sequence[str], None] = '0003_attachments'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"
NEW_OPTIONS = f"{_TOKENIZE}, prefix='1 2 3 4 5 6', detail=column"
OLD_OPTIONS = f"{_TOKENIZE}, prefix='2 3'"   # as 0002_records created them

# fts table -> (content table, columns)
TABLES = {
    "customers_fts": ("customers", "name, email"),
    "products_fts": ("products", "sku, name, description"),
}


def _recreate(options: str) -> None:
    for fts, (content, cols) in TABLES.items():
        op.execute(f"DROP TABLE {fts}")
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{content}', "
                   f"content_rowid='id', {options})")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _recreate(NEW_OPTIONS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _recreate(OLD_OPTIONS)
