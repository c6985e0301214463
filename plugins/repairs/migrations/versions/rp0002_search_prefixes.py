"""repairs: prefix indexes 1-6 on the ticket word search (SQLite)

With prefix indexes only for 2 and 3 characters, a one-letter or a 4+-letter word
typed into the search box made FTS5 merge every matching term's doclist: ticket
search p99 was 37 ms over 1,000,000 tickets. The kernel's customer and product
search made the same change in 0004_search_prefixes. PostgreSQL needs nothing.

Revision ID: rp0002
Revises: rp0001
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op

revision: str = "rp0002"
down_revision: Union[str, Sequence[str], None] = "rp0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FTS = "repairs_ticket_fts"
COLUMNS = "customer_name, units_text, problem"


def _recreate(prefix: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The sync triggers live on repairs_ticket and name the FTS table; they keep
    # working once the table exists again (inside this same transaction).
    op.execute(f"DROP TABLE {FTS}")
    op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5({COLUMNS}, content='repairs_ticket', "
               f"content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='{prefix}')")
    op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def upgrade() -> None:
    _recreate("1 2 3 4 5 6")


def downgrade() -> None:
    _recreate("2 3")
