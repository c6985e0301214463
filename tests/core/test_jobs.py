"""Background jobs (core/jobs.py): the outbox, the in-process runner, and RQ against a
real redis-server and a real ``counterdesk worker`` process.

This module is also the test plugin: ``manifest`` and ``register_jobs`` below. The
in-test app registers it directly; the worker subprocess finds it through an entry
point in a temporary ``*.dist-info`` folder on its PYTHONPATH. Job functions record
their effect as lines in a file whose path they are given, so a test sees what a
separate process did.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import func, select

from core.plugins import hookimpl
from core.types import Job, Manifest
from tests.conftest import write_transactions

manifest = Manifest(name="jobtest", version="0.1.0", title="Jobs test plugin", hooks=__name__)

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("counterdesk"))
DISPATCH_INTERVAL = 0.2


# ------------------------------------------------------------------ the test plugin

def _append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{line} {os.getpid()} {time.time():.6f}\n")
        fh.flush()
        os.fsync(fh.fileno())


def record(path: str, tag: str) -> None:
    """Succeeds: one line per run."""
    _append(path, tag)


def flaky(path: str, tag: str, fails: int) -> None:
    """Fails its first ``fails`` runs, then succeeds."""
    runs = len(effects(path))
    _append(path, tag)
    if runs < fails:
        raise ConnectionError(f"gateway busy ({tag}, run {runs + 1})")


def boom(path: str, tag: str) -> None:
    """Always fails."""
    _append(path, tag)
    raise RuntimeError(f"printer on fire: {tag}")


def sleepy(path: str, tag: str, seconds: float) -> None:
    _append(path, f"{tag}-start")
    time.sleep(seconds)
    _append(path, f"{tag}-end")


def _mark(tag: str, value: str) -> None:
    """A job's own database work: a settings row named after ``tag``."""
    from core.db import current_session
    from core.models import SettingValue
    current_session().merge(SettingValue(plugin="jobtest", key=tag, value=value))


def mark_of(tag: str) -> str | None:
    """``tag``'s mark as another unit of work sees it (what has committed)."""
    from core.models import SettingValue
    from core.runtime import current
    with current().unit_of_work(write=False) as s:
        row = s.get(SettingValue, ("jobtest", tag))
        return None if row is None else row.value


def staged(path: str, tag: str, fail: str = "") -> Iterator[None]:
    """A staged job: marks ``tag`` started in its first step (which commits with the
    claim), then writes what others see of the mark and marks it done. ``fail``:
    ``first`` (its first step raises), ``early`` (it ends in its first step), ``rest``
    (the rest raises), ``twice`` (it yields twice), ``lost`` (its claim is taken
    away while the rest runs)."""
    _mark(tag, "started")
    if fail == "first":
        raise RuntimeError(f"first step failed: {tag}")
    if fail == "early":
        return
    yield
    _append(path, f"{tag}-{mark_of(tag)}")
    if fail == "twice":
        yield
    if fail == "lost":   # what recover_stale does to a row it thinks abandoned
        from core.runtime import current
        from core.models import OutboxJob
        from sqlalchemy import update
        with current().unit_of_work() as s:
            s.execute(update(OutboxJob).where(OutboxJob.name == "jobtest.staged",
                                              OutboxJob.status == "running").values(status="pending"))
    _mark(tag, "done")
    if fail == "rest":
        raise RuntimeError(f"rest failed: {tag}")


def wrapped(func: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator that hides that ``func`` is a generator function."""
    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        return func(**kwargs)
    return wrapper


@hookimpl
def register_jobs() -> list[Job]:
    return [
        Job("jobtest.record", record, retries=0),
        Job("jobtest.flaky", flaky, retries=2, backoff=(0,)),
        Job("jobtest.boom", boom, retries=2, backoff=(0, 1)),
        Job("jobtest.sleepy", sleepy, retries=0, timeout=30),
        Job("jobtest.staged", staged, retries=1, backoff=(0,)),
        Job("jobtest.wrapped", wrapped(staged), retries=0),
    ]


THIS = sys.modules[__name__]


# ------------------------------------------------------------------------ helpers

def effects(path: str | Path) -> list[str]:
    """The tags a job wrote, one per run."""
    p = Path(path)
    return [line.split()[0] for line in p.read_text().splitlines()] if p.exists() else []


def effect_times(path: str | Path) -> list[float]:
    return [float(line.split()[2]) for line in Path(path).read_text().splitlines()]


def effect_pids(path: str | Path) -> set[int]:
    return {int(line.split()[1]) for line in Path(path).read_text().splitlines()}


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def outbox(rt: Any, job_id: int) -> Any:
    from core.models import OutboxJob
    with rt.unit_of_work(write=False) as s:
        return s.get(OutboxJob, job_id)


def outbox_count(rt: Any, name: str | None = None) -> int:
    from core.models import OutboxJob
    with rt.unit_of_work(write=False) as s:
        stmt = select(func.count()).select_from(OutboxJob)
        if name:
            stmt = stmt.where(OutboxJob.name == name)
        return s.scalar(stmt)


def status_is(rt: Any, job_id: int, *statuses: str) -> Callable[[], bool]:
    return lambda: outbox(rt, job_id).status in statuses


def enqueue_committed(rt: Any, name: str, **kwargs: Any) -> int:
    from core import enqueue
    with rt.unit_of_work():
        return enqueue(name, **kwargs).id


def insert_row(rt: Any, name: str, kwargs: dict, **values: Any) -> int:
    """An outbox row written directly (no hand-over), to drive the claim by hand."""
    from core.models import OutboxJob
    with rt.unit_of_work() as s:
        row = OutboxJob(name=name, kwargs=kwargs, **values)
        s.add(row)
        s.flush()
        return row.id


# ======================================================================= in-process

@pytest.fixture
def inproc(app_factory: Callable[..., Any]) -> Any:
    app = app_factory(plugins=(THIS,))
    rt = app.extensions["counterdesk"]
    assert not rt.config.redis_url
    return rt


def test_in_process_job_runs_after_commit_once(inproc: Any, tmp_path: Path) -> None:
    from core import enqueue
    out = str(tmp_path / "effects")
    with inproc.unit_of_work():
        a = enqueue("jobtest.record", path=out, tag="a").id
        b = enqueue(record, path=out, tag="b").id   # by function as well as by name
        time.sleep(0.2)
        assert effects(out) == [], "a job ran before its transaction committed"
    assert inproc._jobs_runner.wait_idle(10)
    assert sorted(effects(out)) == ["a", "b"]
    assert effect_pids(out) == {os.getpid()}
    for job_id in (a, b):
        row = outbox(inproc, job_id)
        assert (row.status, row.attempts, row.last_error) == ("done", 1, None)
        assert row.finished_at is not None and row.started_at is not None


def test_in_process_rolled_back_unit_of_work_sends_nothing(inproc: Any, tmp_path: Path) -> None:
    from core import enqueue
    out = str(tmp_path / "effects")
    with pytest.raises(RuntimeError, match="till jammed"):
        with inproc.unit_of_work():
            enqueue("jobtest.record", path=out, tag="never")
            raise RuntimeError("till jammed")
    assert outbox_count(inproc) == 0
    if inproc._jobs_runner is not None:
        inproc._jobs_runner.wait_idle(10)
    time.sleep(1.2)  # one poll of the runner: nothing turns up later either
    assert effects(out) == []
    assert outbox_count(inproc) == 0


def test_in_process_failure_retried_with_backoff_then_failed(inproc: Any, tmp_path: Path) -> None:
    out = str(tmp_path / "effects")
    job_id = enqueue_committed(inproc, "jobtest.boom", path=out, tag="x")
    wait_for(status_is(inproc, job_id, "failed"), 15, "the job to fail for good")
    row = outbox(inproc, job_id)
    assert row.attempts == 3 == row.max_attempts          # retries + 1
    assert row.last_error == "RuntimeError: printer on fire: x"
    assert row.finished_at is not None
    assert effects(out) == ["x", "x", "x"]
    times = effect_times(out)
    assert times[1] - times[0] < 0.9, "a retry with backoff 0 waited"
    assert times[2] - times[1] >= 1.0, "the second retry did not wait its backoff (1 s)"
    time.sleep(1.2)
    assert effects(out) == ["x", "x", "x"], "a failed job ran again"


def test_in_process_failure_then_success_ends_done(inproc: Any, tmp_path: Path) -> None:
    out = str(tmp_path / "effects")
    job_id = enqueue_committed(inproc, "jobtest.flaky", path=out, tag="f", fails=1)
    wait_for(status_is(inproc, job_id, "done"), 15, "the retry to succeed")
    row = outbox(inproc, job_id)
    assert (row.attempts, row.last_error) == (2, None)
    assert effects(out) == ["f", "f"]


def test_concurrent_claims_run_a_row_once(inproc: Any, tmp_path: Path) -> None:
    from core.jobs import run_job
    out = str(tmp_path / "effects")
    job_id = insert_row(inproc, "jobtest.record", {"path": out, "tag": "once"}, max_attempts=1)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def claim(attempt: int | None) -> None:
        barrier.wait()
        results.append(run_job(inproc, job_id, attempt))

    threads = [threading.Thread(target=claim, args=(None if i % 2 else 0,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["done"] + ["skipped"] * 7
    assert effects(out) == ["once"]
    assert outbox(inproc, job_id).attempts == 1


def test_a_stale_hand_over_does_not_run_a_later_attempt_early(inproc: Any, tmp_path: Path) -> None:
    from core.db import utcnow
    from core.jobs import run_job
    out = str(tmp_path / "effects")
    later = utcnow() + dt.timedelta(hours=1)
    job_id = insert_row(inproc, "jobtest.record", {"path": out, "tag": "r"}, attempts=1,
                        max_attempts=3, run_after=later, last_error="RuntimeError: first try")
    assert run_job(inproc, job_id, 0) == "skipped"      # RQ entry from the first hand-over
    assert run_job(inproc, job_id) == "skipped"         # not due yet
    assert effects(out) == []
    assert run_job(inproc, job_id, 1) == "done"         # the hand-over of this attempt
    assert effects(out) == ["r"]
    assert run_job(inproc, job_id, 1) == "skipped"
    row = outbox(inproc, job_id)
    assert (row.status, row.attempts, row.last_error) == ("done", 2, None)


def test_abandoned_rows_are_recovered(inproc: Any, tmp_path: Path) -> None:
    from core.db import utcnow
    from core.jobs import recover_stale
    out = str(tmp_path / "effects")
    long_ago = utcnow() - dt.timedelta(hours=1)
    kw = {"path": out, "tag": "s"}
    retry = insert_row(inproc, "jobtest.record", kw, status="running", attempts=1, max_attempts=2,
                       started_at=long_ago)
    spent = insert_row(inproc, "jobtest.record", kw, status="running", attempts=1, max_attempts=1,
                       started_at=long_ago)
    lost = insert_row(inproc, "jobtest.record", kw, status="queued", attempts=0, max_attempts=1,
                      queued_at=long_ago)
    busy = insert_row(inproc, "jobtest.record", kw, status="running", attempts=1, max_attempts=2,
                      started_at=utcnow())
    assert recover_stale(inproc) == 3
    assert outbox(inproc, retry).status == "pending"
    assert "abandoned" in outbox(inproc, retry).last_error
    assert (outbox(inproc, spent).status, outbox(inproc, spent).attempts) == ("failed", 1)
    assert "abandoned" in outbox(inproc, spent).last_error
    assert outbox(inproc, lost).status == "pending"
    assert outbox(inproc, busy).status == "running"
    assert recover_stale(inproc) == 0


def test_in_process_runner_picks_up_abandoned_and_leftover_rows(inproc: Any, tmp_path: Path) -> None:
    """Rows a previous process left behind: one it was running when it died, one it
    committed but never ran. The runner's poll runs each once."""
    from core.db import utcnow
    from core.jobs import in_process_runner
    out = str(tmp_path / "effects")
    crashed = insert_row(inproc, "jobtest.record", {"path": out, "tag": "crashed"}, status="running",
                         attempts=1, max_attempts=2, started_at=utcnow() - dt.timedelta(hours=1))
    leftover = insert_row(inproc, "jobtest.record", {"path": out, "tag": "leftover"}, max_attempts=1)
    in_process_runner(inproc)
    wait_for(lambda: all(outbox(inproc, i).status == "done" for i in (crashed, leftover)), 10,
             "the runner to pick the rows up")
    assert sorted(effects(out)) == ["crashed", "leftover"]
    assert (outbox(inproc, crashed).attempts, outbox(inproc, leftover).attempts) == (2, 1)


def test_in_process_runner_runs_due_retries_while_jobs_keep_coming(inproc: Any, tmp_path: Path) -> None:
    """The runner polls for due retries on a clock: a steady stream of new jobs (a
    busy till) does not hold a retry back."""
    bad, ok = str(tmp_path / "boom"), str(tmp_path / "ok")
    job_id = enqueue_committed(inproc, "jobtest.boom", path=bad, tag="x")   # backoff 0, then 1 s
    deadline = time.monotonic() + 8
    while outbox(inproc, job_id).status != "failed" and time.monotonic() < deadline:
        enqueue_committed(inproc, "jobtest.record", path=ok, tag="r")
        time.sleep(0.1)
    assert outbox(inproc, job_id).status == "failed" and effects(bad) == ["x", "x", "x"]
    assert inproc._jobs_runner.wait_idle(10)
    assert set(effects(ok)) == {"r"}


# ------------------------------------------------------------------ staged jobs

def test_a_staged_jobs_first_step_commits_with_the_claim(inproc: Any, tmp_path: Path) -> None:
    out = str(tmp_path / "effects")
    job_id = enqueue_committed(inproc, "jobtest.staged", path=out, tag="s")
    wait_for(status_is(inproc, job_id, "done"), 10, "the staged job to finish")
    assert effects(out) == ["s-started"], "the rest did not see the first step committed"
    assert mark_of("s") == "done"
    row = outbox(inproc, job_id)
    assert (row.attempts, row.last_error) == (1, None)


def test_a_staged_job_takes_two_write_transactions(inproc: Any, tmp_path: Path) -> None:
    """Claim + first step, then rest + done; one when it ends in its first step."""
    from core.jobs import run_job
    out = str(tmp_path / "effects")
    full = insert_row(inproc, "jobtest.staged", {"path": out, "tag": "a"}, max_attempts=2)
    early = insert_row(inproc, "jobtest.staged", {"path": out, "tag": "b", "fail": "early"},
                       max_attempts=2)
    with write_transactions(inproc) as count:
        assert run_job(inproc, full) == "done"
    assert count == [2]
    with write_transactions(inproc) as count:
        assert run_job(inproc, early) == "done"
    assert count == [1]
    assert (mark_of("a"), mark_of("b")) == ("done", "started")
    assert effects(out) == ["a-started"]
    assert [(outbox(inproc, i).status, outbox(inproc, i).attempts) for i in (full, early)] == \
        [("done", 1), ("done", 1)]


def test_a_staged_jobs_first_step_failure_rolls_back_and_counts_an_attempt(
        inproc: Any, tmp_path: Path) -> None:
    from core.jobs import run_job
    out = str(tmp_path / "effects")
    job_id = insert_row(inproc, "jobtest.staged", {"path": out, "tag": "f", "fail": "first"},
                        max_attempts=2)
    assert run_job(inproc, job_id, 1) == "skipped"     # not the attempt handed over
    assert run_job(inproc, job_id, 0) == "pending"     # as RQ runs it
    row = outbox(inproc, job_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "RuntimeError: first step failed: f"
    assert mark_of("f") is None, "the failed first step's work was kept"
    assert run_job(inproc, job_id) == "failed"         # as the in-process runner runs it
    row = outbox(inproc, job_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 2, "RuntimeError: first step failed: f")
    assert row.finished_at is not None
    assert run_job(inproc, job_id) == "skipped"
    assert effects(out) == [] and mark_of("f") is None


@pytest.mark.parametrize("fail, error", [("rest", "RuntimeError: rest failed: r"),
                                         ("twice", "TypeError: job 'jobtest.staged' yields more than once")])
def test_a_staged_jobs_rest_failure_keeps_the_first_step_only(
        inproc: Any, tmp_path: Path, fail: str, error: str) -> None:
    from core.jobs import run_job
    out = str(tmp_path / "effects")
    job_id = insert_row(inproc, "jobtest.staged", {"path": out, "tag": "r", "fail": fail},
                        max_attempts=2)
    assert run_job(inproc, job_id) == "pending"
    row = outbox(inproc, job_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, error)
    assert mark_of("r") == "started"       # the first step committed with the claim; the rest did not
    assert run_job(inproc, job_id) == "failed"
    assert outbox(inproc, job_id).attempts == 2 and mark_of("r") == "started"
    assert effects(out) == ["r-started", "r-started"]


def test_a_staged_job_that_loses_its_claim_rolls_its_rest_back(inproc: Any, tmp_path: Path) -> None:
    from core.jobs import run_job
    out = str(tmp_path / "effects")
    job_id = insert_row(inproc, "jobtest.staged", {"path": out, "tag": "l", "fail": "lost"},
                        max_attempts=2)
    assert run_job(inproc, job_id) == "skipped"
    assert mark_of("l") == "started"
    row = outbox(inproc, job_id)
    assert (row.status, row.attempts) == ("pending", 1)


def test_a_hidden_generator_job_fails_instead_of_doing_nothing(inproc: Any, tmp_path: Path) -> None:
    from core.jobs import run_job
    job_id = insert_row(inproc, "jobtest.wrapped", {"path": str(tmp_path / "effects"), "tag": "w"},
                        max_attempts=1)
    assert run_job(inproc, job_id) == "failed"
    assert outbox(inproc, job_id).last_error.startswith(
        "TypeError: job 'jobtest.wrapped' returned a generator")
    assert mark_of("w") is None


# ============================================================= RQ: redis + a worker

@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PYTHONPATH for a subprocess that discovers this module as plugin ``jobtest``."""
    d = tmp_path_factory.mktemp("jobtest-dist")
    info = d / "counterdesk_jobtest-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: counterdesk-jobtest\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[counterdesk.plugins]\njobtest = {__name__}\n")
    return os.pathsep.join([str(ROOT), str(d)])


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.proc, self.log = proc, log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


@pytest.fixture
def rq_app(app_factory: Callable[..., Any], redis_service: Any) -> Any:
    app = app_factory(plugins=(THIS,), redis_url=redis_service.url)
    return app.extensions["counterdesk"]


@pytest.fixture
def start_worker(rq_app: Any, redis_service: Any, plugin_path: str,
                 tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    """``start_worker()``: a real ``counterdesk worker`` on this test's database and
    Redis, registered with Redis when it returns; stopped (SIGTERM, then SIGKILL) at
    teardown."""
    from redis import Redis
    from rq import Worker
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERDESK_")}
        env.update(PYTHONPATH=plugin_path, COUNTERDESK_DATABASE_URL=rq_app.config.database_url,
                   COUNTERDESK_REDIS_URL=redis_service.url,
                   COUNTERDESK_INSTANCE=rq_app.config.instance_path,
                   COUNTERDESK_PLUGINS="jobtest",
                   COUNTERDESK_WORKER_DISPATCH_INTERVAL=str(DISPATCH_INTERVAL))
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen([CLI, "worker"], env=env, cwd=str(tmp_path),
                                    stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT)
        worker = WorkerProcess(proc, log)
        started.append(worker)
        conn = Redis.from_url(redis_service.url)
        try:
            def registered() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"worker exited with {proc.returncode}:\n{worker.output()}")
                return any(w.pid == proc.pid for w in Worker.all(connection=conn))
            wait_for(registered, 30, "the worker to register with Redis")
        finally:
            conn.close()
        return worker

    yield start
    for worker in started:
        worker.stop()


def rq_queue(redis_service: Any) -> Any:
    from redis import Redis
    from rq import Queue
    from core.jobs import QUEUE_NAME
    return Queue(QUEUE_NAME, connection=Redis.from_url(redis_service.url))


# The worker runs the same code on either database (the claim's locking is proven on
# both above); beyond the first, the worker tests run on SQLite only to stay quick.
only_sqlite = pytest.mark.parametrize("backend", ["sqlite"])


def rq_entries(queue: Any) -> set[bytes]:
    """Every RQ job ever created for the outbox (kept for result_ttl after it ran)."""
    return set(queue.connection.scan_iter(match="rq:job:outbox-*"))


def rq_idle(queue: Any) -> bool:
    from rq.registry import StartedJobRegistry
    return queue.count == 0 and StartedJobRegistry(queue=queue).count == 0


@pytest.mark.redis
def test_rq_worker_runs_a_committed_job_once_and_a_rolled_back_one_never(
        rq_app: Any, redis_service: Any, start_worker: Callable[[], WorkerProcess],
        tmp_path: Path) -> None:
    from core import enqueue
    from core.db import utcnow
    out = str(tmp_path / "effects")
    # Left by a worker that died while running it: the new worker's dispatcher takes it back.
    crashed = insert_row(rq_app, "jobtest.record", {"path": out, "tag": "crashed"}, status="running",
                         attempts=1, max_attempts=2, started_at=utcnow() - dt.timedelta(hours=1))
    worker = start_worker()
    queue = rq_queue(redis_service)
    wait_for(status_is(rq_app, crashed, "done"), 20, "the abandoned row to be run again")
    assert effects(out) == ["crashed"] and outbox(rq_app, crashed).attempts == 2

    sent_before = rq_entries(queue)
    with pytest.raises(RuntimeError):
        with rq_app.unit_of_work():
            enqueue("jobtest.record", path=out, tag="rolled-back")
            raise RuntimeError("customer walked away")
    assert outbox_count(rq_app) == 1  # the crashed row only
    assert rq_entries(queue) == sent_before, "a rolled-back job reached Redis"

    job_id = enqueue_committed(rq_app, "jobtest.record", path=out, tag="sent")
    assert rq_entries(queue) - sent_before, "the commit handed nothing to Redis"
    wait_for(status_is(rq_app, job_id, "done"), 20, "the worker to run the job")
    assert effects(out) == ["crashed", "sent"]
    assert effect_pids(out) == {worker.proc.pid}, "the job did not run in the worker process"
    row = outbox(rq_app, job_id)
    assert (row.attempts, row.last_error) == (1, None)
    time.sleep(5 * DISPATCH_INTERVAL)  # several dispatcher passes: nothing runs it again
    wait_for(lambda: rq_idle(queue), 10, "RQ to settle its entries")
    assert effects(out) == ["crashed", "sent"]
    assert worker.proc.poll() is None


@pytest.mark.redis
@only_sqlite
def test_rq_redis_down_at_commit_keeps_the_job_and_runs_it_once_redis_is_back(
        rq_app: Any, redis_service: Any, start_worker: Callable[[], WorkerProcess],
        tmp_path: Path) -> None:
    worker = start_worker()
    out = str(tmp_path / "effects")
    redis_service.stop()
    began = time.monotonic()
    job_id = enqueue_committed(rq_app, "jobtest.record", path=out, tag="kept")
    assert time.monotonic() - began < 3, "commit blocked on the dead Redis"
    row = outbox(rq_app, job_id)
    assert (row.status, row.attempts, row.queued_at) == ("pending", 0, None)
    time.sleep(4 * DISPATCH_INTERVAL)  # the worker's dispatcher tries, and fails, meanwhile
    assert outbox(rq_app, job_id).status == "pending"
    assert effects(out) == []
    assert worker.proc.poll() is None, worker.output()

    redis_service.start()
    wait_for(status_is(rq_app, job_id, "done"), 30, "the job to run after Redis came back")
    assert effects(out) == ["kept"]
    assert effect_pids(out) == {worker.proc.pid}
    assert outbox(rq_app, job_id).attempts == 1
    time.sleep(5 * DISPATCH_INTERVAL)
    assert effects(out) == ["kept"], "the job ran twice"
    assert worker.proc.poll() is None


@pytest.mark.redis
@only_sqlite
def test_rq_failures_are_retried_with_backoff_then_recorded(
        rq_app: Any, start_worker: Callable[[], WorkerProcess], tmp_path: Path) -> None:
    from core import enqueue
    start_worker()
    bad, ok = str(tmp_path / "boom"), str(tmp_path / "flaky")
    with rq_app.unit_of_work():
        boom_id = enqueue("jobtest.boom", path=bad, tag="b").id
        flaky_id = enqueue("jobtest.flaky", path=ok, tag="f", fails=2).id

    wait_for(status_is(rq_app, flaky_id, "done"), 20, "the flaky job to succeed")
    row = outbox(rq_app, flaky_id)
    assert (row.attempts, row.last_error) == (3, None)
    assert effects(ok) == ["f", "f", "f"]

    wait_for(status_is(rq_app, boom_id, "failed"), 20, "the failing job to be recorded")
    row = outbox(rq_app, boom_id)
    assert row.attempts == 3 == row.max_attempts
    assert row.last_error == "RuntimeError: printer on fire: b"
    times = effect_times(bad)
    assert len(times) == 3 and times[2] - times[1] >= 1.0, "the backoff (0, 1) was not honoured"
    time.sleep(5 * DISPATCH_INTERVAL)
    assert len(effects(bad)) == 3


@pytest.mark.redis
@only_sqlite
def test_rq_same_row_handed_over_twice_runs_once(
        rq_app: Any, redis_service: Any, start_worker: Callable[[], WorkerProcess],
        tmp_path: Path) -> None:
    from rq.job import Job as RQJob
    from core.jobs import dispatch
    out = str(tmp_path / "effects")
    job_id = enqueue_committed(rq_app, "jobtest.record", path=out, tag="dup")  # hand-over 1
    dispatch(rq_app, [job_id])                                                # hand-over 2
    queue = rq_queue(redis_service)
    rq_ids = queue.job_ids
    assert len(rq_ids) == 2
    assert outbox(rq_app, job_id).status == "queued"

    start_worker()
    wait_for(lambda: queue.count == 0 and all(
        RQJob.fetch(i, connection=queue.connection).is_finished for i in rq_ids), 20,
        "both RQ entries to be processed")
    results = sorted(RQJob.fetch(i, connection=queue.connection).return_value() for i in rq_ids)
    assert results == ["done", "skipped"]
    assert effects(out) == ["dup"]
    row = outbox(rq_app, job_id)
    assert (row.status, row.attempts) == ("done", 1)


@pytest.mark.redis
@only_sqlite
def test_worker_stops_cleanly_on_sigterm_after_the_job_in_hand(
        rq_app: Any, start_worker: Callable[[], WorkerProcess], tmp_path: Path) -> None:
    worker = start_worker()
    out = str(tmp_path / "effects")
    job_id = enqueue_committed(rq_app, "jobtest.sleepy", path=out, tag="z", seconds=1.0)
    wait_for(lambda: "z-start" in effects(out), 20, "the job to start")
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(15) == 0, worker.output()
    assert effects(out) == ["z-start", "z-end"]
    assert outbox(rq_app, job_id).status == "done"


@pytest.mark.redis
@only_sqlite
def test_rq_worker_runs_a_staged_job(rq_app: Any, start_worker: Callable[[], WorkerProcess],
                                     tmp_path: Path) -> None:
    start_worker()
    out = str(tmp_path / "effects")
    job_id = enqueue_committed(rq_app, "jobtest.staged", path=out, tag="q")
    wait_for(status_is(rq_app, job_id, "done"), 20, "the worker to run the staged job")
    assert effects(out) == ["q-started"]
    with rq_app.unit_of_work(write=False) as s:
        from core.models import SettingValue
        assert s.get(SettingValue, ("jobtest", "q")).value == "done"
    assert outbox(rq_app, job_id).attempts == 1
