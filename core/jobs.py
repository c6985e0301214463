"""Background jobs through a transactional outbox.

``enqueue(name, **ids)`` writes a row to ``job_outbox`` in the current unit of work,
so a rolled-back transaction sends nothing. After commit the row is handed over:

* with ``COUNTERDESK_REDIS_URL`` set, to RQ (``counterdesk worker`` runs the worker);
  if Redis is unreachable the row stays ``pending`` and the worker's dispatcher hands
  it over once Redis is back;
* otherwise to an in-process runner thread (the embedded default).

Whoever runs a job first claims its row (``pending``/``queued`` → ``running`` in one
UPDATE), so a row handed over twice still runs once. A failure is retried after the
job's backoff and, when retries are exhausted, recorded as ``failed`` with its error.
A row left ``running`` by a crashed process is retried after its timeout (so a job may
run again after a crash: jobs talking to the outside world pass an idempotency key).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import traceback
from typing import Any, Callable

from sqlalchemy import or_, select, update

from core.db import after_commit, current_session, utcnow
from core.models import OutboxJob

log = logging.getLogger("counterdesk.jobs")

QUEUE_NAME = "counterdesk"


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
    row = OutboxJob(name=spec.name, kwargs=kwargs, max_attempts=spec.retries + 1)
    session.add(row)
    session.flush()
    job_id = row.id
    after_commit(session, lambda: dispatch(runtime, [job_id]))
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


# ---------------------------------------------------------------- hand-over

def dispatch(runtime: Any, job_ids: list[int]) -> None:
    """Hand committed outbox rows to RQ or to the in-process runner."""
    if runtime.config.redis_url:
        _dispatch_to_rq(runtime, job_ids)
    else:
        in_process_runner(runtime).submit(job_ids)


def redis_connection(url: str) -> Any:
    from redis import Redis
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def _dispatch_to_rq(runtime: Any, job_ids: list[int]) -> int:
    """Enqueue rows on RQ and mark them ``queued``. Returns how many were handed over;
    on a Redis error the rows stay ``pending`` for the dispatcher to retry."""
    from redis.exceptions import RedisError
    from rq import Queue
    try:
        queue = Queue(QUEUE_NAME, connection=redis_connection(runtime.config.redis_url))
        handed = []
        for job_id in job_ids:
            queue.enqueue("core.jobs.execute", job_id, job_id=f"outbox-{job_id}-{_uniq()}",
                          job_timeout=_timeout(runtime, job_id), result_ttl=600, failure_ttl=86400)
            handed.append(job_id)
    except (RedisError, OSError) as exc:
        log.warning("Redis unreachable, %d job(s) stay in the outbox: %s", len(job_ids), exc)
        handed = locals().get("handed", [])
    if handed:
        with runtime.unit_of_work() as s:
            s.execute(update(OutboxJob).where(OutboxJob.id.in_(handed), OutboxJob.status == "pending")
                      .values(status="queued", queued_at=utcnow()))
    return len(handed)


def _uniq() -> str:
    import secrets
    return secrets.token_hex(4)


def _timeout(runtime: Any, job_id: int) -> int:
    return max((j.timeout for j in runtime.registry.jobs.values()), default=120)


def due_jobs(runtime: Any, limit: int = 500) -> list[int]:
    """Rows that should be handed over now: pending and due, queued but never picked
    up for a while (Redis lost them), or running far past any timeout (a crash)."""
    now = utcnow()
    stale_queue = now - dt.timedelta(minutes=10)
    longest = max((j.timeout for j in runtime.registry.jobs.values()), default=120)
    stale_run = now - dt.timedelta(seconds=longest * 2 + 60)
    with runtime.unit_of_work(write=False) as s:
        return list(s.scalars(select(OutboxJob.id).where(or_(
            (OutboxJob.status == "pending") & (OutboxJob.run_after <= now),
            (OutboxJob.status == "queued") & (OutboxJob.queued_at < stale_queue),
            (OutboxJob.status == "running") & (OutboxJob.started_at < stale_run),
        )).order_by(OutboxJob.id).limit(limit)))


def redispatch_due(runtime: Any) -> int:
    """One pass of the dispatcher: hand over what is due. Returns how many."""
    ids = due_jobs(runtime)
    if not ids:
        return 0
    with runtime.unit_of_work() as s:
        # Stale queued/running rows go back to pending before being handed over again.
        s.execute(update(OutboxJob).where(OutboxJob.id.in_(ids), OutboxJob.status != "pending")
                  .values(status="pending"))
    if runtime.config.redis_url:
        return _dispatch_to_rq(runtime, ids)
    in_process_runner(runtime).submit(ids)
    return len(ids)


# ---------------------------------------------------------------- execution

def execute(job_id: int) -> str:
    """RQ's entry point: run outbox row ``job_id`` with this process's runtime."""
    from core.runtime import current
    return run_job(current(), job_id)


def run_job(runtime: Any, job_id: int) -> str:
    """Claim, run and settle one outbox row. Returns the row's new status, or
    ``skipped`` when someone else has it (or it is done)."""
    with runtime.unit_of_work() as s:
        claimed = s.execute(
            update(OutboxJob)
            .where(OutboxJob.id == job_id, OutboxJob.status.in_(("pending", "queued")))
            .values(status="running", attempts=OutboxJob.attempts + 1, started_at=utcnow())
        ).rowcount
        row = s.get(OutboxJob, job_id) if claimed else None
        name, kwargs = (row.name, dict(row.kwargs)) if row else (None, None)
        attempts, max_attempts = (row.attempts, row.max_attempts) if row else (0, 0)
    if not claimed:
        return "skipped"
    spec = runtime.registry.jobs.get(name)
    error: str | None = None
    try:
        if spec is None:
            raise LookupError(f"no enabled plugin registers the job {name!r}")
        with runtime.unit_of_work():
            spec.func(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log.warning("job %s #%s failed (attempt %d/%d): %s", name, job_id, attempts, max_attempts, error)
        log.debug("%s", traceback.format_exc())
    with runtime.unit_of_work() as s:
        if error is None:
            status, values = "done", {"finished_at": utcnow(), "last_error": None}
        elif attempts < max_attempts and spec is not None:
            wait = spec.backoff[min(attempts - 1, len(spec.backoff) - 1)]
            status, values = "pending", {"run_after": utcnow() + dt.timedelta(seconds=wait),
                                         "last_error": error}
        else:
            status, values = "failed", {"finished_at": utcnow(), "last_error": error}
        s.execute(update(OutboxJob).where(OutboxJob.id == job_id).values(status=status, **values))
    return status


# ---------------------------------------------------------- in-process runner

class InProcessRunner:
    """The embedded default: one daemon thread runs handed-over rows right after their
    commit and polls the outbox for retries that have come due."""

    def __init__(self, runtime: Any, poll_seconds: float = 1.0) -> None:
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        self._pending: list[int] = []
        self._cond = threading.Condition()
        self._busy = False
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="counterdesk-jobs", daemon=True)
        self._thread.start()

    def submit(self, job_ids: list[int]) -> None:
        with self._cond:
            self._pending.extend(job_ids)
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is waiting or running (tests, CLI commands)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopped, self.poll_seconds)
                if self._stopped:
                    return
                batch, self._pending = self._pending, []
                self._busy = True
            try:
                if not batch:
                    batch = due_jobs(self.runtime)
                for job_id in batch:
                    run_job(self.runtime, job_id)
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
    commit) and retries that have come due."""
    from rq import Queue, SimpleWorker
    if not runtime.config.redis_url:
        raise SystemExit("COUNTERDESK_REDIS_URL is not set: jobs run inside the app process.")
    conn = redis_connection(runtime.config.redis_url)
    stop = threading.Event()

    def dispatcher() -> None:
        while not stop.is_set():
            try:
                redispatch_due(runtime)
            except Exception:  # noqa: BLE001
                log.exception("outbox dispatch pass failed")
            stop.wait(dispatch_interval)

    redispatch_due(runtime)
    thread = threading.Thread(target=dispatcher, name="counterdesk-dispatcher", daemon=True)
    thread.start()
    try:
        worker = SimpleWorker([Queue(QUEUE_NAME, connection=conn)], connection=conn)
        worker.work(burst=burst, with_scheduler=False)
    finally:
        stop.set()
