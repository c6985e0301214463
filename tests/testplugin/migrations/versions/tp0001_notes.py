"""testplugin: notes

Revision ID: tp0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import core.db

revision = "tp0001"
down_revision = None
branch_labels = ("testplugin",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "testplugin_note",
        sa.Column("body", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testplugin_note")),
    )


def downgrade() -> None:
    op.drop_table("testplugin_note")
