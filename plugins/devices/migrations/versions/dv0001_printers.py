"""devices: printers and print jobs

Revision ID: dv0001
Revises:
Create Date: 2026-11-23

Generated with alembic autogenerate (core.migrate.alembic_config), then reviewed.
Depends on 0002_records: a printer may belong to a stock location.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = 'dv0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ('devices',)
depends_on: Union[str, Sequence[str], None] = '0002_records'


def upgrade() -> None:
    op.create_table('devices_printer',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('uri', sa.String(length=300), nullable=False),
    sa.Column('profile', sa.String(length=60), nullable=False),
    sa.Column('columns', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('location_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('columns BETWEEN 8 AND 96', name=op.f('ck_devices_printer_columns_range')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_devices_printer_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices_printer')),
    sa.UniqueConstraint('name', name=op.f('uq_devices_printer_name'))
    )
    op.create_table('devices_print_job',
    sa.Column('printer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('printed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('output', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'printing', 'done', 'failed')", name=op.f('ck_devices_print_job_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_devices_print_job_created_by_id_users')),
    sa.ForeignKeyConstraint(['printer_id'], ['devices_printer.id'], name=op.f('fk_devices_print_job_printer_id_devices_printer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices_print_job'))
    )
    op.create_index('ix_devices_print_job_printer_id', 'devices_print_job', ['printer_id', 'id'])
    op.create_index('ix_devices_print_job_status', 'devices_print_job', ['status'])


def downgrade() -> None:
    op.drop_index('ix_devices_print_job_status', table_name='devices_print_job')
    op.drop_index('ix_devices_print_job_printer_id', table_name='devices_print_job')
    op.drop_table('devices_print_job')
    op.drop_table('devices_printer')
