"""grants version: one row the database changes whenever a role or a grant changes

Every API request signs in with one statement that reads the token, the user, the
user's role ids and ``grants_version.version``. Each process caches the permission set
of a combination of roles for one version: when the version read differs, the cache
is emptied, so a grant removed from a role (or a role renamed or deleted) counts from
the very next request in every process, while an unchanged version spares each request
the roles and grants (which cost more than the rest of signing in).

Triggers keep the version, in the same transaction as the change, for every writer:
the admin API and web screens, ``seed_roles`` at ``counterdesk init``, migrations, and
SQL typed by hand. The new value is one the row never held before, so a cache filled
inside a transaction that was then rolled back can never match a later version:
``random()`` (64 bits) on SQLite, a sequence on PostgreSQL (``nextval`` is never
rolled back). PostgreSQL's triggers run once per statement.

A user's roles (``user_roles``) need no trigger: the sign-in statement reads them on
every request.

Revision ID: 0006_grants_version
Revises: 0005_search_speed
Create Date: 2026-11-24 01:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0006_grants_version'
down_revision: Union[str, Sequence[str], None] = '0005_search_speed'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("roles", "role_permissions")
VERBS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        'grants_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_grants_version')),
    )
    op.execute("INSERT INTO grants_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for verb in VERBS:
                op.execute(f"CREATE TRIGGER grants_version_{table}_{verb.lower()} AFTER {verb} "
                           f"ON {table} BEGIN UPDATE grants_version SET version = random() "
                           "WHERE id = 1; END")
    else:
        op.execute("CREATE SEQUENCE grants_version_seq")
        op.execute("CREATE FUNCTION grants_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN UPDATE grants_version SET version = nextval('grants_version_seq') "
                   "WHERE id = 1; RETURN NULL; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER grants_version_{table} AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION grants_version_bump()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for verb in VERBS:
                op.execute(f"DROP TRIGGER IF EXISTS grants_version_{table}_{verb.lower()}")
    else:
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS grants_version_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS grants_version_bump()")
        op.execute("DROP SEQUENCE IF EXISTS grants_version_seq")
    op.drop_table('grants_version')
