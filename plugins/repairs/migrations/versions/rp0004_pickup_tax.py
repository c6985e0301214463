"""repairs: the tax a pickup charged

A pickup recorded the work before tax (``total``) and ``amount_due = total -
deposit_applied``, while the till charged the sale's total, tax included: the pickup
and the ticket's timeline showed less than the customer paid. ``tax`` holds the tax
on the work released (what the till sale charged, or the same by the till's rule
without one), and ``amount_due = total + tax - deposit_applied`` from now on.

Pickups recorded before this revision keep their figures, with ``tax`` 0: the sale,
the tax setting and the labour tax rate of the time are not known here (the pos
tables may not even exist).

Revision ID: rp0004
Revises: rp0003
Create Date: 2026-11-24
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "rp0004"
down_revision: Union[str, Sequence[str], None] = "rp0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("repairs_pickup", sa.Column("tax", core.db.Money(precision=12, scale=2),
                                              server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place: a batch copy of the table would have to
    # drop repairs_pickup, which the ticket units, parts and labour point at.
    op.drop_column("repairs_pickup", "tax")
