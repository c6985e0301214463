"""Background jobs through a transactional outbox.

``enqueue(name, **ids)`` writes a row to ``job_outbox`` in the current unit of work,
so a rolled-back transaction sends nothing. After commit the row is handed over:

* with ``COUNTERDESK_REDIS_URL`` set, to RQ (``counterdesk worker`` runs the worker);
  if Redis is unreachable the row stays ``pending`` and the worker's dispatcher hands
  it over once Redis is back;
* otherwise to an in-process runner thread (the embedded default).

Whoever runs a job first claims its row (``pending``/``queued`` → ``running`` in one
UPDATE), so a row handed over twice still runs once. An RQ hand-over carries the
row's attempt count and its claim must match it, so a stale RQ entry from an earlier
hand-over never runs a later attempt before its backoff; the in-process runner claims
only rows that are due. The job's own database work and the row's ``done`` commit in
one transaction, so they happen together or not at all. A failure is retried after
the job's backoff and, when retries are exhausted, recorded as ``failed`` with its
error. A row left ``running`` by a crashed process is retried after its timeout (so
a job may run again after a crash: jobs talking to the outside world pass an
idempotency key); one that has no attempt left is recorded ``failed``. The worker's
dispatcher (the in-process runner's poll, without Redis) does this recovery and
hands over pending rows that are due.

A job function that is a generator is *staged*: its first step, up to its one
``yield``, runs inside the transaction that claims the row and commits with the claim;
the rest runs like a plain job, its database work committing with ``done``. The first
step is where a job marks its own record as in progress and reads what it needs, so
the mark is visible while the job talks to the outside world, at no transaction of its
own. It holds the claim's transaction (on SQLite, the write lock), so it only touches
the database. If it raises, its work rolls back with the claim and the attempt is
recorded as failed like any other; if it returns without yielding, the job is done
with the claim, in that one transaction. The rest starts without a transaction open
(one begins at its first statement), so it can do slow I/O first and write last::

    def print_label(label_id: int) -> Iterator[None]:
        label = mark_printing(current_session(), label_id)   # commits with the claim
        if label is None:
            return                                           # done already: done now
        yield
        send_to_printer(label)                               # no transaction open
        mark_printed(current_session(), label_id)            # commits with "done"

On RQ a job is stopped after its ``timeout`` (plus a few seconds for the bookkeeping);
the in-process runner cannot stop a thread, so there the timeout only decides when a
``running`` row counts as abandoned.
"""
from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import logging
import signal
import threading
import time
import traceback
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import bindparam, insert, select, update

from core.db import after_commit, current_session, utcnow
from core.models import OutboxJob

log = logging.getLogger("counterdesk.jobs")

QUEUE_NAME = "counterdesk"
STALE_QUEUED = dt.timedelta(minutes=10)   # queued but never picked up: Redis lost it
SETTLE_GRACE = 10                          # seconds RQ allows beyond a job's timeout
HANDOVER_GRACE = dt.timedelta(seconds=1)   # a new row is its committer's to hand over first
MAX_ERROR_CHARS = 4000
_SESSION_KEY = "counterdesk_jobs"
_INSERT_JOB = insert(OutboxJob.__table__)


def enqueue(job: str | Callable[..., Any], **kwargs: Any) -> OutboxJob:
    """Ask for ``job`` to run after the current unit of work commits.

    ``job`` is a registered job's name (or its function); ``kwargs`` must be JSON
    values — ids, not objects.
    """
    from core.runtime import current
    runtime = current()
    spec = _spec(runtime, job)
    try:
        json.dumps(kwargs)
    except TypeError as exc:
        raise TypeError(f"job {spec.name!r}: pass ids and plain values, not objects ({exc})") from None
    session = current_session()
    # One INSERT, no ORM flush: the returned row carries its id, detached.
    values = {"name": spec.name, "kwargs": kwargs, "status": "pending", "attempts": 0,
              "max_attempts": spec.retries + 1, "run_after": utcnow(), "created_at": utcnow()}
    new_id = session.connection().execute(_INSERT_JOB, values).inserted_primary_key[0]
    row = OutboxJob(id=new_id, **values)
    # One hand-over per unit of work, for every row it enqueued.
    callback, ids = session.info.get(_SESSION_KEY, (None, None))
    if callback is None or callback not in session.info.get("after_commit", ()):
        ids = []

        def callback() -> None:
            session.info.pop(_SESSION_KEY, None)
            _dispatch_after_commit(runtime, ids)

        session.info[_SESSION_KEY] = (callback, ids)
        after_commit(session, callback)
    ids.append(row.id)
    return row


def _spec(runtime: Any, job: str | Callable[..., Any]) -> Any:
    jobs = runtime.registry.jobs
    if callable(job):
        for spec in jobs.values():
            if spec.func is job:
                return spec
        raise KeyError(f"{getattr(job, '__name__', job)!r} is not a registered job")
    if job not in jobs:
        raise KeyError(f"no job named {job!r} is registered by an enabled plugin")
    return jobs[job]


def _dispatch_after_commit(runtime: Any, job_ids: list[int]) -> None:
    # The transaction is already committed: a hand-over problem must not look like a
    # failed commit to the caller. The rows stay in the outbox for the dispatcher.
    try:
        dispatch(runtime, job_ids)
    except Exception:  # noqa: BLE001
        log.exception("handing over %d committed job(s) failed; they stay in the outbox", len(job_ids))


# ---------------------------------------------------------------- hand-over

def dispatch(runtime: Any, job_ids: list[int]) -> None:
    """Hand committed outbox rows to RQ or to the in-process runner."""
    if not job_ids:
        return
    if runtime.config.redis_url:
        _dispatch_to_rq(runtime, job_ids)
    else:
        in_process_runner(runtime).submit(job_ids)


@functools.lru_cache(maxsize=8)
def redis_connection(url: str) -> Any:
    """A Redis client for ``url``, shared by the process (its pool reconnects after
    an outage and resets itself in a forked child)."""
    from redis import Redis
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def _timeout(runtime: Any, name: str) -> int:
    """The job's own timeout (the longest registered one for an unknown name)."""
    spec = runtime.registry.jobs.get(name)
    if spec is not None:
        return int(spec.timeout)
    return max((int(j.timeout) for j in runtime.registry.jobs.values()), default=120)


def _dispatch_to_rq(runtime: Any, job_ids: list[int]) -> int:
    """Enqueue rows on RQ and mark them ``queued``. Returns how many were handed over;
    on a Redis error the rows not handed over stay ``pending`` for the dispatcher."""
    from redis.exceptions import RedisError
    from rq import Queue
    with runtime.unit_of_work(write=False) as s:
        rows = s.execute(select(OutboxJob.id, OutboxJob.name, OutboxJob.attempts).where(
            OutboxJob.id.in_(job_ids), OutboxJob.status.in_(("pending", "queued")))
            .order_by(OutboxJob.id)).all()
    handed: list[tuple[int, int]] = []
    try:
        queue = Queue(QUEUE_NAME, connection=redis_connection(runtime.config.redis_url))
        for job_id, name, attempts in rows:
            queue.enqueue("core.jobs.execute", job_id, attempts,
                          job_id=f"outbox-{job_id}-{attempts}-{_uniq()}",
                          description=f"{name} (outbox #{job_id}, attempt {attempts + 1})",
                          job_timeout=_timeout(runtime, name) + SETTLE_GRACE,
                          result_ttl=600, failure_ttl=86400)
            handed.append((job_id, attempts))
    except (RedisError, OSError) as exc:
        log.warning("Redis unreachable, %d job(s) stay in the outbox: %s",
                    len(rows) - len(handed), exc)
    if handed:
        now = utcnow()
        with runtime.unit_of_work() as s:
            for job_id, attempts in handed:
                # Only the attempt we handed over: if a worker already ran it (and it
                # went back to pending for a retry), it must stay pending.
                s.execute(update(OutboxJob).where(
                    OutboxJob.id == job_id, OutboxJob.status == "pending",
                    OutboxJob.attempts == attempts).values(status="queued", queued_at=now))
    return len(handed)


def _uniq() -> str:
    import secrets
    return secrets.token_hex(4)


def due_jobs(runtime: Any, limit: int = 500) -> list[int]:
    """Pending rows whose time has come: retries, and new rows their committer did not
    hand over (Redis was down, the process died) — left alone for a moment first, so
    the dispatcher rarely races the after-commit hand-over."""
    now = utcnow()
    with runtime.unit_of_work(write=False) as s:
        return list(s.scalars(select(OutboxJob.id).where(
            OutboxJob.status == "pending",
            ((OutboxJob.attempts > 0) & (OutboxJob.run_after <= now))
            | (OutboxJob.run_after <= now - HANDOVER_GRACE),
        ).order_by(OutboxJob.id).limit(limit)))


def _abandoned_after(runtime: Any, name: str) -> dt.timedelta:
    return dt.timedelta(seconds=_timeout(runtime, name) * 2 + 60)


def recover_stale(runtime: Any, limit: int = 500) -> int:
    """Put back rows nobody will finish: ``queued`` for a long time (Redis lost them)
    or ``running`` far past their timeout (the process died). Those with an attempt
    left go back to ``pending``; the others are ``failed``. Returns how many."""
    now = utcnow()
    shortest = min((_abandoned_after(runtime, j.name) for j in runtime.registry.jobs.values()),
                   default=_abandoned_after(runtime, ""))
    with runtime.unit_of_work(write=False) as s:
        rows = s.execute(select(OutboxJob.id, OutboxJob.name, OutboxJob.status, OutboxJob.attempts,
                                OutboxJob.max_attempts, OutboxJob.queued_at, OutboxJob.started_at)
                         .where(((OutboxJob.status == "queued") & (OutboxJob.queued_at < now - STALE_QUEUED))
                                | ((OutboxJob.status == "running") & (OutboxJob.started_at < now - shortest)))
                         .order_by(OutboxJob.id).limit(limit)).all()
    stale = [r for r in rows if r.status == "queued"
             or r.started_at < now - _abandoned_after(runtime, r.name)]
    if not stale:
        return 0
    changed = 0
    with runtime.unit_of_work() as s:
        for r in stale:
            # Re-check what we saw: the row may have moved on since.
            seen = (OutboxJob.id == r.id) & (OutboxJob.status == r.status) & (OutboxJob.attempts == r.attempts)
            if r.status == "queued":
                values: dict[str, Any] = {"status": "pending", "run_after": now}
                seen = seen & (OutboxJob.queued_at == r.queued_at)
            else:
                seen = seen & (OutboxJob.started_at == r.started_at)
                error = (f"abandoned: still running {int((now - r.started_at).total_seconds())}s "
                         "after it started (its process died or was killed)")
                if r.attempts < r.max_attempts:
                    values = {"status": "pending", "run_after": now, "last_error": error}
                else:
                    values = {"status": "failed", "finished_at": now, "last_error": error}
            changed += s.execute(update(OutboxJob).where(seen).values(**values)).rowcount
    if changed:
        log.warning("%d stale outbox row(s) put back", changed)
    return changed


def redispatch_due(runtime: Any) -> int:
    """One pass of the dispatcher: recover stale rows, then hand over what is due.
    Returns how many rows were handed over."""
    recover_stale(runtime)
    ids = due_jobs(runtime)
    if not ids:
        return 0
    if runtime.config.redis_url:
        return _dispatch_to_rq(runtime, ids)
    in_process_runner(runtime).submit(ids)
    return len(ids)


# ---------------------------------------------------------------- execution

def execute(job_id: int, attempt: int | None = None) -> str:
    """RQ's entry point: run outbox row ``job_id`` with this process's runtime.
    ``attempt`` is the row's attempt count when it was handed over."""
    from core.runtime import current
    return run_job(current(), job_id, attempt)


class _LostClaim(Exception):
    """The row was taken away from us while the job ran (declared abandoned)."""


def _error_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"


# A job runs on every sale (its receipt): the statements that claim and settle a row
# are built once, on the table, and executed on the unit of work's connection (no
# ORM flush, no statement built per call). Bind names start with ``b_`` so they never
# collide with the columns SQLAlchemy binds by name in a SET clause.
_OUTBOX = OutboxJob.__table__
_ID = _OUTBOX.c.id == bindparam("b_id")


def _claim_statement(by_attempt: bool) -> Any:
    c = _OUTBOX.c
    turn = (c.attempts == bindparam("b_attempt")) if by_attempt else (c.run_after <= bindparam("b_now"))
    # Not ``in_()``: an expanding IN is rewritten on every execution.
    return (update(_OUTBOX).where(_ID, (c.status == "pending") | (c.status == "queued"), turn)
            .values(status="running", attempts=c.attempts + 1, started_at=bindparam("b_now"))
            .returning(c.name, c.kwargs, c.attempts, c.max_attempts))


_CLAIM_DUE = _claim_statement(by_attempt=False)        # the in-process runner: rows that are due
_CLAIM_ATTEMPT = _claim_statement(by_attempt=True)     # an RQ hand-over: that attempt only
_OURS = _ID & (_OUTBOX.c.status == "running") & (_OUTBOX.c.attempts == bindparam("b_attempts"))
_SETTLE_DONE = update(_OUTBOX).where(_OURS).values(
    status="done", finished_at=bindparam("b_now"), last_error=None)
_SETTLE_RETRY = update(_OUTBOX).where(_OURS).values(
    status="pending", run_after=bindparam("b_run_after"), last_error=bindparam("b_error"))
_SETTLE_FAILED = update(_OUTBOX).where(_OURS).values(
    status="failed", finished_at=bindparam("b_now"), last_error=bindparam("b_error"))


def _claim(session: Any, job_id: int, attempt: int | None) -> Any:
    """Take the row (``running``, one more attempt) if it is ours to run; None if not."""
    params: dict[str, Any] = {"b_id": job_id, "b_now": utcnow()}
    if attempt is None:
        return session.connection().execute(_CLAIM_DUE, params).first()
    params["b_attempt"] = attempt
    return session.connection().execute(_CLAIM_ATTEMPT, params).first()


def _settle_done(session: Any, job_id: int, attempts: int) -> bool:
    """Mark our claim ``done`` in the job's transaction; False when the claim was lost."""
    return bool(session.connection().execute(_SETTLE_DONE, {
        "b_id": job_id, "b_attempts": attempts, "b_now": utcnow()}).rowcount)


def _settle_failure(session: Any, spec: Any, job_id: int, attempts: int, max_attempts: int,
                    error: str) -> str:
    """Record a failed attempt: ``pending`` again after the job's backoff, or
    ``failed`` when no attempt is left. Returns the new status (``skipped`` when the
    claim was lost)."""
    params: dict[str, Any] = {"b_id": job_id, "b_attempts": attempts, "b_error": error}
    if attempts < max_attempts and spec is not None:
        backoff = tuple(spec.backoff) or (0,)
        wait = backoff[min(attempts - 1, len(backoff) - 1)]
        status, stmt = "pending", _SETTLE_RETRY
        params["b_run_after"] = utcnow() + dt.timedelta(seconds=wait)
    else:
        status, stmt = "failed", _SETTLE_FAILED
        params["b_now"] = utcnow()
    return status if session.connection().execute(stmt, params).rowcount else "skipped"


def _resume(steps: Iterator[Any]) -> bool:
    """Run a staged job up to its next ``yield``; True when it has finished instead."""
    try:
        next(steps)
    except StopIteration:
        return True
    return False


class _FirstStepFailed(Exception):
    """A staged job's first step raised: its exception, carried out of the claim's
    transaction (which rolls back with it)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def run_job(runtime: Any, job_id: int, attempt: int | None = None) -> str:
    """Claim, run and settle one outbox row. Returns the row's new status, or
    ``skipped`` when it is not ours to run (someone else has it, it is done, or it is
    not due / not the attempt that was handed over).

    A job function that is a generator is *staged*: what it does before its
    ``yield`` runs in the transaction that claims the row and commits with the claim;
    the rest runs like a plain job (see the module's documentation)."""
    steps: Iterator[Any] | None = None
    try:
        try:
            with runtime.unit_of_work() as s:
                row = _claim(s, job_id, attempt)
                if row is None:
                    return "skipped"
                name, kwargs, attempts, max_attempts = row
                spec = runtime.registry.jobs.get(name)
                if spec is not None and inspect.isgeneratorfunction(spec.func):
                    steps = spec.func(**kwargs)
                    try:
                        finished = _resume(steps)
                    except Exception as exc:  # noqa: BLE001 - recorded as a failed attempt
                        raise _FirstStepFailed(exc) from exc
                    if finished:   # nothing left to do after the claim: done with it
                        _settle_done(s, job_id, attempts)
                        return "done"
        except _FirstStepFailed as failed:
            return _record_first_step_failure(runtime, job_id, attempt, name, failed.error)
        return _run_claimed(runtime, spec, steps, job_id, name, kwargs, attempts, max_attempts)
    finally:
        if steps is not None:
            steps.close()


def _run_claimed(runtime: Any, spec: Any, steps: Iterator[Any] | None, job_id: int, name: str,
                 kwargs: dict[str, Any], attempts: int, max_attempts: int) -> str:
    """Run a claimed row's job (or a staged job's rest) and settle the row."""
    try:
        if spec is None:
            raise LookupError(f"no enabled plugin registers the job {name!r}")
        with runtime.unit_of_work() as s:
            if steps is None:
                if inspect.isgenerator(spec.func(**kwargs)):
                    # A wrapped generator function: its steps would silently not run.
                    raise TypeError(f"job {name!r} returned a generator: register the "
                                    "generator function itself to make it a staged job")
            elif not _resume(steps):
                raise TypeError(f"job {name!r} yields more than once")
            # Done in the job's own transaction: its database work and "done" commit together.
            if not _settle_done(s, job_id, attempts):
                raise _LostClaim()
        return "done"
    except _LostClaim:
        log.warning("job %s #%s was declared abandoned while it ran; its work is rolled back",
                    name, job_id)
        return "skipped"
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        error = _error_text(exc)
        log.warning("job %s #%s failed (attempt %d/%d): %s", name, job_id, attempts, max_attempts, error)
        log.debug("%s", traceback.format_exc())
    with runtime.unit_of_work() as s:
        return _settle_failure(s, spec, job_id, attempts, max_attempts, error)


def _record_first_step_failure(runtime: Any, job_id: int, attempt: int | None, name: str,
                               exc: Exception) -> str:
    """The first step's work rolled back with the claim: claim the row again, so the
    attempt counts, and record the failure in the same transaction."""
    error = _error_text(exc)
    with runtime.unit_of_work() as s:
        row = _claim(s, job_id, attempt)
        if row is None:
            return "skipped"
        attempts, max_attempts = row.attempts, row.max_attempts
        log.warning("job %s #%s failed in its first step (attempt %d/%d): %s", name, job_id,
                    attempts, max_attempts, error)
        log.debug("%s", "".join(traceback.format_exception(exc)))
        return _settle_failure(s, runtime.registry.jobs.get(name), job_id, attempts,
                               max_attempts, error)


# ---------------------------------------------------------- in-process runner

class InProcessRunner:
    """The embedded default: one daemon thread runs handed-over rows right after their
    commit and polls the outbox for retries that have come due (and abandoned rows)."""

    def __init__(self, runtime: Any, poll_seconds: float = 1.0) -> None:
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        self._pending: list[int] = []
        self._cond = threading.Condition()
        self._busy = False
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="counterdesk-jobs", daemon=True)
        self._thread.start()

    def submit(self, job_ids: Iterable[int]) -> None:
        with self._cond:
            self._pending.extend(job_ids)
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing handed over is waiting or running (tests, CLI commands).
        Retries scheduled for later are not waited for."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        # The outbox is polled on a clock, not after every job: under a steady stream
        # of sales the wait below never times out, and a poll per job would cost two
        # more transactions each time.
        next_poll = time.monotonic()   # at once: rows an earlier process left behind
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopped,
                                    max(0.0, next_poll - time.monotonic()))
                if self._stopped:
                    return
                batch, self._pending = self._pending, []
                self._busy = True
            try:
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + self.poll_seconds
                    recover_stale(self.runtime)
                    handed = set(batch)
                    batch += [i for i in due_jobs(self.runtime) if i not in handed]
                for job_id in batch:
                    if self._stopped:
                        break
                    if run_job(self.runtime, job_id) == "pending":
                        # A retry was scheduled: with a zero backoff it is due now,
                        # not at the next poll.
                        next_poll = time.monotonic()
            except Exception:  # noqa: BLE001 - the runner must survive a bad pass
                log.exception("in-process job runner pass failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


_runner_lock = threading.Lock()


def in_process_runner(runtime: Any) -> InProcessRunner:
    with _runner_lock:
        if runtime._jobs_runner is None:
            runtime._jobs_runner = InProcessRunner(runtime)
        return runtime._jobs_runner


# ------------------------------------------------------------------ worker

def run_worker(runtime: Any, *, burst: bool = False, dispatch_interval: float = 2.0) -> None:
    """``counterdesk worker``: an RQ worker on the ``counterdesk`` queue, plus a
    dispatcher thread that hands over outbox rows Redis missed (it was down at
    commit), retries that have come due and abandoned rows.

    The worker outlives Redis outages (it reconnects, and is restarted if RQ's loop
    gives up). SIGTERM or SIGINT stops it after the job in hand; a second one stops it
    at once.
    """
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue, SimpleWorker
    if not runtime.config.redis_url:
        raise SystemExit("COUNTERDESK_REDIS_URL is not set: jobs run inside the app process.")
    stop = threading.Event()

    class Worker(SimpleWorker):
        max_connection_wait_time = 5.0   # retry a lost Redis every 5 s at most

        def request_stop(self, signum: Any, frame: Any) -> None:
            stop.set()
            super().request_stop(signum, frame)

    def dispatcher() -> None:
        while not stop.is_set():
            try:
                redispatch_due(runtime)
            except Exception:  # noqa: BLE001
                log.exception("outbox dispatch pass failed")
            stop.wait(dispatch_interval)

    def on_signal(signum: int, frame: Any) -> None:  # between RQ's own handlers
        stop.set()

    try:
        redispatch_due(runtime)
    except Exception:  # noqa: BLE001 - the dispatcher thread tries again
        log.exception("outbox dispatch pass failed")
    thread = threading.Thread(target=dispatcher, name="counterdesk-dispatcher", daemon=True)
    thread.start()
    try:
        while not stop.is_set():
            # Its own connection: RQ lengthens the socket timeout for its blocking pops.
            conn = Redis.from_url(runtime.config.redis_url, socket_connect_timeout=2)
            try:
                worker = Worker([Queue(QUEUE_NAME, connection=conn)], connection=conn)
                worker.work(burst=burst, with_scheduler=False)
            except (RedisError, OSError) as exc:
                log.warning("RQ worker lost Redis: %s", exc)
            finally:
                signal.signal(signal.SIGTERM, on_signal)
                signal.signal(signal.SIGINT, on_signal)
                conn.close()
            if burst or stop.wait(1.0):
                break
            log.warning("RQ worker loop ended; starting it again")
    finally:
        stop.set()
        thread.join(timeout=10)
