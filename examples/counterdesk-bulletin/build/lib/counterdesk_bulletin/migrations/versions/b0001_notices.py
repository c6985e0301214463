"""bulletin: notices

Revision ID: bulletin0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import core.db

revision = "bulletin0001"
down_revision = None
branch_labels = ("bulletin",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "bulletin_notice",
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin_notice")),
    )


def downgrade() -> None:
    op.drop_table("bulletin_notice")
