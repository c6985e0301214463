"""pos: sales of customers merged before pos re-pointed them

Until now a customer merge left the merged customer's sales and returns on the
merged (inactive) customer, so the survivor's timeline and the sale search by customer
missed them; the ``customer_merged`` hook now moves them at merge time. This moves
those of earlier merges, following ``merged_into_id`` to the customer that survived
last (A merged into B, later B into C: A's sales go to C). Data only; downgrade keeps
them where they are (which customer a sale had before is in the merge's audit entry).

Revision ID: pos0002
Revises: pos0001
Create Date: 2026-11-24
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "pos0002"
down_revision: Union[str, Sequence[str], None] = "pos0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# One step along merged_into_id per pass; a chain is as long as the merges made on
# top of each other, so a handful of passes ends it (the bound only guards a cycle,
# which merging refuses).
_ONE_STEP = sa.text(
    "UPDATE pos_sale SET customer_id = (SELECT c.merged_into_id FROM customers c "
    "WHERE c.id = pos_sale.customer_id) WHERE customer_id IN "
    "(SELECT id FROM customers WHERE merged_into_id IS NOT NULL)")


def upgrade() -> None:
    conn = op.get_bind()
    for _ in range(100):
        if not conn.execute(_ONE_STEP).rowcount:
            break


def downgrade() -> None:
    pass
