"""repairs: an estimate states its tax

An estimate held one amount in the shop's prices: before tax where prices exclude
it (the default), so a customer approved 80.00 and paid 96.00 at pickup. ``tax`` and
``total`` (what the customer pays, tax included) are worked out by the till's rule
when the estimate is made, and ``prices_include_tax`` says how its ``amount`` reads;
work beyond what was approved is compared with ``total``.

Estimates made before this revision keep their figures with the three columns NULL:
the tax setting and the rates of the time are not known, and a quoted amount has no
lines to price. They read "80.00 (tax not stated)", and work beyond an approved one
is compared with its ``amount`` in prices, as it was then.

Revision ID: rp0005
Revises: rp0004
Create Date: 2026-11-24
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "rp0005"
down_revision: Union[str, Sequence[str], None] = "rp0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = ("tax", "total", "prices_include_tax")


def upgrade() -> None:
    op.add_column("repairs_estimate", sa.Column("tax", core.db.Money(precision=12, scale=2),
                                                nullable=True))
    op.add_column("repairs_estimate", sa.Column("total", core.db.Money(precision=12, scale=2),
                                                nullable=True))
    op.add_column("repairs_estimate", sa.Column("prices_include_tax", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # dropped in place, one by one (SQLite 3.35+), as rp0004 does
    for name in reversed(COLUMNS):
        op.drop_column("repairs_estimate", name)
