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
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import warnings
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterator

from sqlalchemy import (BigInteger, DateTime, Integer, MetaData, Numeric, String, create_engine,
                        event, func, types)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, SAWarning
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from core.errors import Invalid

log = logging.getLogger("counterdesk.db")

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


# Numeric(12, 2) holds up to 9,999,999,999.99; PostgreSQL refuses more (a 500 where a
# sum of valid amounts overflowed) and SQLite would store it, so both refuse it here.
MONEY_LIMIT = Decimal("10000000000")


class AmountTooLarge(Invalid):
    """A money amount (often a sum or a product of valid ones) beyond the money columns."""
    code = "amount_too_large"

    def __init__(self, amount: Decimal) -> None:
        super().__init__(f"An amount of {amount} is more than can be recorded "
                         f"(at most {MONEY_LIMIT - CENT:,}).")


class Money(types.TypeDecorator):
    """``Numeric(12, 2)`` in the database, ``Decimal`` in Python, rounded half-up to cents.
    An amount beyond the column raises :class:`AmountTooLarge` (422) on every backend."""
    impl = Numeric(12, 2)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        money = to_money(value)
        if not -MONEY_LIMIT < money < MONEY_LIMIT:
            raise AmountTooLarge(money)
        return money

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

WRITE_WAIT_SECONDS = 30.0
CHECKPOINT_SECONDS = 0.5


class _WaitedTooLong(Exception):
    pass


class _Wait:
    __slots__ = ("fd", "got", "guard", "abandoned")

    def __init__(self, fd: int) -> None:
        self.fd, self.got, self.guard, self.abandoned = fd, threading.Event(), threading.Lock(), False


class _PerProcess:
    """What ``start()`` returns, made the first time a process asks: a thread does not
    survive a fork, so a forked worker starts its own."""

    def __init__(self, start: Callable[[], Any]) -> None:
        self._start = start
        self._pid: int | None = None
        self._value: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._value = self._start()
                    self._pid = os.getpid()
        return self._value

    def pop(self) -> Any:
        """This process's value (None if it never asked), forgotten."""
        value = self._value if self._pid == os.getpid() else None
        self._pid = None
        return value


def _start_waiter() -> "queue.SimpleQueue[_Wait]":
    waits: queue.SimpleQueue[_Wait] = queue.SimpleQueue()
    threading.Thread(target=_wait_in_turn, args=(waits,), daemon=True,
                     name="sqlite-writer-wait").start()
    return waits


def _wait_in_turn(waits: "queue.SimpleQueue[_Wait]") -> None:
    while True:
        wait = waits.get()
        fcntl.flock(wait.fd, fcntl.LOCK_EX)
        with wait.guard:
            if wait.abandoned:
                fcntl.flock(wait.fd, fcntl.LOCK_UN)
                os.close(wait.fd)
            else:
                wait.got.set()


class _WriterQueue:
    """One writer at a time on a SQLite file, queued in the kernel instead of polled.

    SQLite lets one transaction write at a time; a second ``BEGIN IMMEDIATE`` waits
    in SQLite's busy handler, which sleeps and retries (1, 2, 5 … 100 ms). Under a
    steady stream of writes a waiter keeps missing the moment the lock is free: with
    8 tills a sale could wait seconds while others went through in milliseconds. So
    each connection takes an exclusive ``flock`` on ``<database>-writer.lock`` before
    ``BEGIN IMMEDIATE`` and drops it when the transaction ends: the kernel wakes the
    next waiter the moment the lock is released. SQLite still enforces the write lock
    (the flock only orders who asks next); a waiter gives up after
    ``WRITE_WAIT_SECONDS`` like the busy timeout did.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        # This lock's waiter in this process: one thread that blocks in ``flock`` for
        # each waiting connection in turn (they wait for the same lock, so taking turns
        # loses nothing), started once per process instead of a thread per wait.
        self._waiter = _PerProcess(_start_waiter)

    def open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, fd: int) -> None:
        """Lock through ``fd``, or raise :class:`_WaitedTooLong` after the wait limit
        (``fd`` then belongs to the abandoned wait, which closes it)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        # Wait in the kernel, bounded: the lock's waiter thread blocks in flock; if the
        # wait times out it keeps waiting, then releases and closes the descriptor.
        wait = _Wait(fd)
        self._waiter.get().put(wait)
        if wait.got.wait(WRITE_WAIT_SECONDS):
            return
        with wait.guard:
            if wait.got.is_set():
                return
            wait.abandoned = True   # the waiter thread now owns ``fd`` and closes it
        raise _WaitedTooLong(f"database is locked (waited {WRITE_WAIT_SECONDS:g} s "
                             "for the writer queue)")

    @staticmethod
    def release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class _Checkpointer:
    """Copies the write-ahead log into the database file from a thread of its own,
    every ``CHECKPOINT_SECONDS`` while this process writes.

    SQLite's automatic checkpoint runs inside the COMMIT that takes the log past 1,000
    pages; here it cost ~20 ms (mostly the fsync) in one commit of every ~20, while that
    writer still held the writer queue — every other till waited behind it. A passive
    checkpoint needs no write lock: writers go on while it copies. One thread per
    process, started by the first commit in that process (so it survives a fork)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.dirty = False
        self._thread = _PerProcess(self._start)   # its stop event

    def _start(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self._run, args=(stop,), name="sqlite-checkpoint",
                         daemon=True).start()
        return stop

    def note_commit(self) -> None:
        self.dirty = True
        self._thread.get()

    def _run(self, stop: threading.Event) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while not stop.wait(CHECKPOINT_SECONDS):
                if self.dirty:
                    self.dirty = False
                    try:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    except sqlite3.Error as exc:   # the next round tries again
                        log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()

    def stop(self) -> None:
        stop = self._thread.pop()
        if stop is not None:
            stop.set()


def _writer_connection_class(queue: _WriterQueue, checkpointer: _Checkpointer) -> type:
    class QueuedWriterConnection(sqlite3.Connection):
        """A sqlite3 connection that holds the writer queue's lock from
        :meth:`begin_write` to the end of its transaction.

        A writing unit of work starts with :meth:`begin_deferred`: it reads without
        the write lock, and :meth:`ensure_write_lock` (called before its first write
        or locking read) ends that read transaction and begins ``BEGIN IMMEDIATE``."""
        _queue_fd: int | None = None
        _holding = False
        _deferred = False

        def begin_deferred(self) -> None:
            self.execute("BEGIN")
            self._deferred = True

        def ensure_write_lock(self) -> None:
            if not self._deferred:
                return
            self._deferred = False
            # Nothing was written yet, so ending the read transaction loses nothing; the
            # writes then see the latest committed data, under the lock.
            self.execute("COMMIT")
            self.begin_write()

        def begin_write(self) -> None:
            if self._queue_fd is None:
                self._queue_fd = queue.open()
            try:
                queue.acquire(self._queue_fd)
            except _WaitedTooLong as exc:
                self._queue_fd = None   # handed to the abandoned wait
                raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
                    str(exc))) from None
            self._holding = True
            try:
                self.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                self._release()
                raise OperationalError("BEGIN IMMEDIATE", None, exc) from None
            except BaseException:
                self._release()
                raise

        def _release(self) -> None:
            self._deferred = False
            if self._holding:
                self._holding = False
                queue.release(self._queue_fd)

        def commit(self) -> None:
            wrote = self._holding
            try:
                super().commit()
            finally:
                self._release()
            if wrote:
                checkpointer.note_commit()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._release()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._release()
                if self._queue_fd is not None:
                    os.close(self._queue_fd)
                    self._queue_fd = None

    return QueuedWriterConnection


def _takes_write_lock(statement: str, context: Any) -> bool:
    """Whether a statement in a writing unit of work needs SQLite's write lock: a
    write (INSERT, UPDATE, DELETE, DDL, SAVEPOINT …) or a locking read
    (``with_for_update()``, which SQLite itself does not render). Plain SELECTs do not."""
    if context is not None:
        if context.isinsert or context.isupdate or context.isdelete:
            return True
        compiled = context.compiled
        if compiled is not None and getattr(compiled.statement, "_for_update_arg", None) is not None:
            return True
    return statement.lstrip()[:6].upper() != "SELECT"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys, a busy timeout and
    explicit transactions: a writing unit of work takes the write lock with ``BEGIN
    IMMEDIATE``, so two writers queue for the lock instead of failing on an upgraded
    read lock. On a database file the writers queue through :class:`_WriterQueue`, and
    a writing unit of work reads without the lock until its first write or locking
    read (``with_for_update()``): the read transaction ends there and ``BEGIN
    IMMEDIATE`` begins. Reads before that point are like PostgreSQL's READ COMMITTED —
    a read that decides a write must lock (``with_for_update()``) or the write must
    check its own condition, on both databases."""
    if url.startswith("sqlite"):
        connect_args: dict[str, Any] = {"timeout": WRITE_WAIT_SECONDS}
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            queue = _WriterQueue(os.path.abspath(database) + "-writer.lock")
            checkpointer = _Checkpointer(os.path.abspath(database))
            connect_args["factory"] = _writer_connection_class(queue, checkpointer)
        engine = create_engine(url, echo=echo, connect_args=connect_args,
                               pool_size=20, max_overflow=20)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
            if "factory" in connect_args:   # checkpoints run in _Checkpointer's thread
                cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get("counterdesk_write"):
                raw = conn.connection.dbapi_connection
                if hasattr(raw, "begin_deferred"):
                    raw.begin_deferred()
                else:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        if "factory" in connect_args:
            event.listen(engine, "engine_disposed", lambda _engine: checkpointer.stop())

            @event.listens_for(engine, "before_cursor_execute")
            def _sqlite_lock_for_writes(conn: Any, cursor: Any, statement: str, parameters: Any,
                                        context: Any, executemany: bool) -> None:
                raw = conn.connection.dbapi_connection
                if raw._deferred and _takes_write_lock(statement, context):
                    raw.ensure_write_lock()
        return engine
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def dialect_insert(dialect: str) -> Callable[..., Any]:
    """The dialect's ``insert`` (the one with ``on_conflict_do_nothing`` /
    ``on_conflict_do_update``) for ``dialect`` — ``"sqlite"`` or ``"postgresql"``."""
    from sqlalchemy.dialects import postgresql, sqlite
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


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
    "after_rollback", "bind_session", "func", "dialect_insert",
]
