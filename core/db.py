"""Database: one MetaData with a naming convention, the declarative ``Model``, ``Money``,
and the unit of work shared by requests, jobs and CLI commands.

A unit of work is one session and one transaction, committed or rolled back as a
whole. Work that must happen only once the transaction is durable (handing jobs to
a queue) is registered with :func:`after_commit`.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import warnings
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterator

from sqlalchemy import (BigInteger, DateTime, Integer, MetaData, Numeric, String, create_engine,
                        event, func, types)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

CENT = Decimal("0.01")

# SQLite has no decimal type; Money converts at the boundary and never hands a float out.
warnings.filterwarnings("ignore", message=".*does \\*not\\* support Decimal objects natively",
                        category=SAWarning)


def to_money(value: Any) -> Decimal:
    """A Decimal rounded half-up to cents. Floats are refused: money is never a float."""
    if isinstance(value, float):
        raise TypeError("money must be a Decimal, an int or a string, never a float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class Money(types.TypeDecorator):
    """``Numeric(12, 2)`` in the database, ``Decimal`` in Python, rounded half-up to cents."""
    impl = Numeric(12, 2)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else to_money(value)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class UTCDateTime(types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use core.db.utcnow() or an aware datetime")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Model(DeclarativeBase):
    """Base of every table, core's and plugins'. Plugins name tables ``<slug>_<entity>``."""
    metadata = metadata
    type_annotation_map = {Decimal: Money(), dt.datetime: UTCDateTime()}


# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (the rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --------------------------------------------------------------------- engine

def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys, a busy timeout and
    explicit transactions: ``BEGIN IMMEDIATE`` for writing units of work, so two
    writers queue for the lock instead of failing on an upgraded read lock."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30},
                               pool_size=20, max_overflow=20)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get("counterdesk_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")
        return engine
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """An engine and the two session factories (reading and writing units of work)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        write_engine = self.engine.execution_options(counterdesk_write=True)
        # expire_on_commit=False: reading an id after commit must not re-query the row.
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    def session(self, *, write: bool = True) -> Session:
        return (self._write if write else self._read)()

    def dispose(self) -> None:
        self.engine.dispose()


_current: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "counterdesk_session", default=None)


def current_session() -> Session:
    """The session of the unit of work in progress (request, job or CLI command)."""
    s = _current.get()
    if s is None:
        raise RuntimeError("no unit of work in progress")
    return s


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once ``session``'s transaction has committed (never on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


def after_rollback(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` if ``session``'s transaction is rolled back instead of committed:
    it undoes work done outside the database (a file written for a new row). It must
    not raise."""
    session.info.setdefault("after_rollback", []).append(callback)


def run_after_commit(session: Session) -> None:
    session.info.pop("after_rollback", None)
    callbacks = session.info.pop("after_commit", [])
    for cb in callbacks:
        cb()


def discard_after_commit(session: Session) -> None:
    """The transaction rolled back: drop the after-commit callbacks, run the after-rollback ones."""
    session.info.pop("after_commit", None)
    for cb in session.info.pop("after_rollback", []):
        cb()


@contextlib.contextmanager
def bind_session(session: Session) -> Iterator[Session]:
    token = _current.set(session)
    try:
        yield session
    finally:
        _current.reset(token)


@contextlib.contextmanager
def unit_of_work(db: Database, *, write: bool = True) -> Iterator[Session]:
    """One session, one transaction: commit on success, roll back on any exception;
    then run the after-commit callbacks (jobs are handed over there)."""
    session = db.session(write=write)
    try:
        with bind_session(session):
            yield session
        session.commit()
    except BaseException:
        session.rollback()
        discard_after_commit(session)
        session.close()
        raise
    session.close()
    run_after_commit(session)


__all__ = [
    "Model", "Money", "UTCDateTime", "metadata", "IdMixin", "TimestampMixin", "BigId",
    "utcnow", "to_money", "Database", "unit_of_work", "current_session", "after_commit",
    "after_rollback", "bind_session", "func",
]
