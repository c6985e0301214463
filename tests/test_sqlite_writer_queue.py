"""SQLite writers queue through a kernel lock (core.db._WriterQueue) instead of
SQLite's sleeping busy handler: a waiter starts the moment the writer before it ends,
gives up with "database is locked" after the wait limit, and an abandoned wait does not
keep the lock. A writing unit of work reads without the lock until its first write or
locking read (``with_for_update()``)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import column, select, table, text
from sqlalchemy.exc import OperationalError

import core.db
from core.db import Database, unit_of_work


@pytest.fixture()
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/queue.db")
    with database.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
    yield database
    database.dispose()


def _write(db: Database, who: str, hold: float = 0.0) -> None:
    with unit_of_work(db) as s:
        s.execute(text("INSERT INTO t (who) VALUES (:w)"), {"w": who})
        time.sleep(hold)


def test_a_waiting_writer_starts_as_soon_as_the_lock_is_free(db):
    started = threading.Event()
    first_commits_at: list[float] = []

    def first() -> None:
        with unit_of_work(db) as s:
            s.execute(text("INSERT INTO t (who) VALUES ('first')"))
            started.set()
            time.sleep(0.3)
            first_commits_at.append(time.monotonic())   # the commit follows at once

    t = threading.Thread(target=first)
    t.start()
    started.wait(5)
    _write(db, "second")
    second_done = time.monotonic()
    t.join()
    # the second waited for the first's commit, and SQLite's busy handler would have
    # slept up to 100 ms between retries
    assert 0 < second_done - first_commits_at[0] < 0.05
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM t ORDER BY id")).scalars().all() == [
            "first", "second"]


def test_a_writer_gives_up_after_the_wait_limit_and_leaves_no_lock_behind(db, monkeypatch):
    monkeypatch.setattr(core.db, "WRITE_WAIT_SECONDS", 0.3)
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with unit_of_work(db) as s:
            s.execute(text("INSERT INTO t (who) VALUES ('holder')"))
            holding.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    holding.wait(5)
    t0 = time.monotonic()
    with pytest.raises(OperationalError, match="database is locked"):
        _write(db, "impatient")
    assert 0.25 < time.monotonic() - t0 < 2
    release.set()
    t.join()
    time.sleep(0.05)   # the abandoned wait takes the lock, then drops it at once
    t0 = time.monotonic()
    _write(db, "later")
    assert time.monotonic() - t0 < 0.5
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM t ORDER BY id")).scalars().all() == [
            "holder", "later"]


def test_many_concurrent_writers_all_commit(db):
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for k in range(20):
                _write(db, f"{n}-{k}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 120


def _holding_writer(db: Database, started: threading.Event, release: threading.Event) -> None:
    with unit_of_work(db) as s:
        s.execute(text("INSERT INTO t (who) VALUES ('holder')"))
        started.set()
        release.wait(10)


def test_reads_in_a_writing_unit_of_work_do_not_wait_for_the_writer(db):
    started, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding_writer, args=(db, started, release))
    holder.start()
    started.wait(5)
    try:
        t0 = time.monotonic()
        with unit_of_work(db) as s:   # a writing unit of work that only reads
            assert s.execute(text("SELECT count(*) FROM t")).scalar() == 0
        assert time.monotonic() - t0 < 0.2   # did not queue behind the open writer
    finally:
        release.set()
        holder.join()


def test_the_first_write_waits_for_the_lock_and_sees_the_latest_data(db):
    started, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding_writer, args=(db, started, release))
    holder.start()
    started.wait(5)
    threading.Timer(0.2, release.set).start()
    with unit_of_work(db) as s:
        # read before the holder commits: its row is not there yet
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 0
        # the write waits for the holder, then runs on the latest committed data
        s.execute(text("INSERT INTO t (who) SELECT 'after ' || count(*) FROM t"))
        assert s.execute(text("SELECT who FROM t ORDER BY id")).scalars().all() == [
            "holder", "after 1"]
    holder.join()


def test_a_locking_read_takes_the_write_lock(db):
    """``with_for_update()`` renders nothing on SQLite, so the kernel takes the write lock
    for it: a read that decides a write is never stale."""
    t = table("t", column("id"), column("who"))
    _write(db, "one")
    locked, release = threading.Event(), threading.Event()

    def locker() -> None:
        with unit_of_work(db) as s:
            s.execute(select(t.c.who).where(t.c.id == 1).with_for_update()).scalar()
            locked.set()
            release.wait(10)
            s.execute(text("UPDATE t SET who = 'locker' WHERE id = 1"))

    th = threading.Thread(target=locker)
    th.start()
    locked.wait(5)
    threading.Timer(0.2, release.set).start()
    t0 = time.monotonic()
    with unit_of_work(db) as s:
        s.execute(text("UPDATE t SET who = who || ' then second' WHERE id = 1"))
    assert time.monotonic() - t0 >= 0.15   # queued behind the locking read's transaction
    th.join()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM t WHERE id = 1")).scalar() == "locker then second"


def _fill(db: Database, rows: int) -> None:
    for i in range(rows // 100):
        with unit_of_work(db) as s:
            s.execute(text("INSERT INTO t (who) VALUES " + ",".join(["(hex(randomblob(600)))"] * 100)))


def test_commits_leave_the_checkpoint_to_the_checkpoint_thread(tmp_path, monkeypatch):
    """No COMMIT copies the log into the database file (SQLite's automatic checkpoint
    made one commit in ~20 wait ~20 ms while holding the writer queue); the process's
    checkpoint thread does, without the write lock."""
    monkeypatch.setattr(core.db, "CHECKPOINT_SECONDS", 3600.0)
    database = Database(f"sqlite:///{tmp_path}/wal.db")
    path = tmp_path / "wal.db"
    try:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
        with database.engine.connect() as conn:   # everything so far into the file
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        before = path.stat().st_size
        _fill(database, 5000)   # ~3 MB of log: past the 1,000-page automatic checkpoint
        assert path.stat().st_size == before
        assert (tmp_path / "wal.db-wal").stat().st_size > 4096 * 1000
    finally:
        database.dispose()
    monkeypatch.setattr(core.db, "CHECKPOINT_SECONDS", 0.05)
    database = Database(f"sqlite:///{tmp_path}/wal.db")
    try:
        _fill(database, 100)
        deadline = time.monotonic() + 10
        while path.stat().st_size == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > before + 3_000_000   # the thread copied the log
    finally:
        database.dispose()
