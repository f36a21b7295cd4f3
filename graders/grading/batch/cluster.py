"""The Dask window: one grading run of a class (:func:`grade_class`, :func:`rejudge_class`).
It chooses what to grade, sets up the cluster (:func:`dask_client`), keeps at most one
submission per free worker thread on it (:func:`in_window`), hands each finished one to the
coordinator, reports progress and returns a :class:`GradeRun`.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import coursedir as cdir
from ..coursedir import files_digest
from ..gradebook import open_gradebook, read_scores, structure_copy
from ..records import Record, Store
from ..settings import BatchGrading
from ..tools import tools_on_path
from . import worker_setup
from .coordinator import Coordinator
from .wire import CourseBundle, Execution, Submission
from .worker import execute_submission

#: The package's name, as when this was one module (``graders.grading.batch`` in grade.log).
log = logging.getLogger(__package__)


@dataclass
class GradeRun:
    """What one ``grade_class`` call did."""

    #: Records written by this run, in the order they finished.
    graded: list[Record] = field(default_factory=list)
    #: Students skipped: already graded with the same files.
    skipped: list[str] = field(default_factory=list)
    #: Students not graded because the grading machinery failed (graded again next run).
    errors: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    seconds: float = 0.0
    summary_files: dict = field(default_factory=dict)
    summary_text: str = ""

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.errors else 0


def make_bundle(config, assignment: str, threads_per_kernel: int,
                pin_cpus: bool = False) -> CourseBundle:
    url = cdir.db_url(config)
    root = Path(cdir.coursedir(config).root)
    with tempfile.TemporaryDirectory(prefix="rnn-course-template-") as tmp:
        template = structure_copy(url, Path(tmp) / "gradebook.db").read_bytes()
    return CourseBundle(assignment=assignment,
                        config_text=(root / cdir.CONFIG_FILE).read_text(encoding="utf-8"),
                        gradebook=template,
                        source_files=cdir.source_files(config, assignment),
                        threads_per_kernel=threads_per_kernel, pin_cpus=pin_cpus)


def check_released(url: str, assignment: str) -> None:
    """Raise :class:`~coursedir.CourseError` ("release it first") when the gradebook has no
    ``assignment``."""
    from nbgrader.api import MissingEntry

    with open_gradebook(url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise cdir.CourseError(
                f"the gradebook has no assignment {assignment!r}: release it first "
                f"(rnn-course release, or nbgrader generate_assignment {assignment})") from None


@contextlib.contextmanager
def _logging_to(path: Path):
    """While grading, every log line goes to ``path``, none to the terminal."""
    import warnings

    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    # Dask's loggers write to stderr through handlers of their own, not propagating to the
    # root (the cluster's nannies, scheduler and client live in this process): while grading
    # they propagate to the file instead. (Not the file handler itself on them: LocalCluster's
    # silence_logs lowers every StreamHandler of "distributed", FileHandler included.)
    dask_loggers = [logging.getLogger(name) for name in ("distributed", "bokeh", "tornado")]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate)
             for logger in [root, *dask_loggers]]
    path.write_text("")  # then appended to, as the worker processes do (one file, no overwrites)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    for logger in dask_loggers:
        logger.handlers[:] = []
        logger.propagate = True
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        logging.captureWarnings(False)
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        handler.close()


@contextlib.contextmanager
def dask_client(*, workers: int, scheduler: str, allowed_failures: int,
                log_file: Path | None = None):
    """A Dask client: on ``scheduler`` if given, else on an embedded LocalCluster whose worker
    processes append what they print to ``log_file`` (:mod:`.worker_setup`)."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures,
                          # the course bundle (data files, a few MB) travels in the graph once
                          "distributed.admin.large-graph-warning-threshold": "256MB",
                          "distributed.worker.daemon": False,
                          "distributed.admin.system-monitor.gil.enabled": False,
                          # its statistical profiler samples every task thread every 10 ms for
                          # a dashboard this cluster does not have; a task here waits on kernels
                          "distributed.worker.profile.enabled": False}):
        if scheduler:
            with Client(scheduler, timeout="30s") as client:
                yield client
        else:
            quiet = {"preload": [worker_setup.__name__],
                     "env": {worker_setup.ENV_WORKER_LOG: str(log_file)}} if log_file else {}
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None, silence_logs=logging.ERROR,
                              **quiet) as cluster, \
                    Client(cluster) as client:
                yield client


def grade_class(*, course: str | Path, assignment: str, students: list[str] | None = None,
                workers: int | None = None, scheduler: str | None = None, force: bool = False,
                progress=None) -> GradeRun:
    """Grade every submission of ``assignment`` in ``course`` (or only ``students``).

    ``workers``/``scheduler`` override ``BatchGrading`` from ``nbgrader_config.py``.
    ``progress`` is called as ``progress(event, **info)`` with events ``start`` (total,
    skipped), ``done`` (record), ``error`` (student, reason); the CLI draws a bar from it.
    Raises :class:`~graders.grading.coursedir.CourseError` for a course that cannot be graded
    (no config, assignment not released); a student's failure is a record, never an exception.
    """
    notify = progress or (lambda event, **info: None)
    started = time.perf_counter()
    course = cdir.find_course(course)
    config = cdir.load_config(course)
    settings = BatchGrading(config=config)
    if workers:
        settings.workers = workers
    if scheduler is not None:
        settings.scheduler = scheduler
    store = Store(course, assignment, settings.output_dir)
    run = GradeRun()
    url = cdir.db_url(config)
    # tools_on_path: nbgrader here and in the LocalCluster's workers (started with this
    # environment) finds `alembic` whatever PATH the instructor has
    with _logging_to(store.run_log), tools_on_path():
        check_released(url, assignment)
        shutil.rmtree(store.staging_dir, ignore_errors=True)  # left by a killed run
        todo, last = [], {}
        # a record counts only for the gradebook it was merged into: one of a student this
        # gradebook has no submission of (a recreated gradebook, records copied with the
        # course) is graded again
        known = set(read_scores(url, assignment))
        for folder in cdir.submitted(config, assignment, students):
            files = folder.files()  # read once: digested here, sent to a worker below
            submission = Submission(folder.student, files, files_digest(files))
            record = store.read(folder.student)
            if record is not None and record.seconds:
                last[folder.student] = record.seconds
            if not force and record is not None and record.digest == submission.digest \
                    and folder.student in known:
                run.skipped.append(folder.student)
            else:
                todo.append(submission)
        # Longest first (by the last grading's time; never graded = first): the class ends
        # with short submissions filling the workers, not one long one running alone.
        todo.sort(key=lambda sub: -last.get(sub.student, float("inf")))
        notify("start", total=len(todo), skipped=len(run.skipped))
        log.info("grading %d submissions of %s (%d already graded)", len(todo), assignment,
                 len(run.skipped))
        if todo:
            bundle = make_bundle(config, assignment, settings.threads_per_kernel,
                                 pin_cpus=settings.pin_cpus and not settings.scheduler)
            coordinator = Coordinator(config=config, assignment=assignment, store=store,
                                      bundle=bundle)
            try:
                _run_on_dask(todo, bundle, coordinator, settings, run, notify)
            except KeyboardInterrupt:
                run.interrupted = True
        run.seconds = time.perf_counter() - started
    return run


def rejudge_class(*, course: str | Path, assignment: str, students: list[str] | None = None,
                  progress=None) -> GradeRun:
    """Judge every graded submission again from its stored evidence, executing nothing.

    For each student with a record and kept evidence (``<output_dir>/<a>/evidence/``), the
    autograded notebooks get their evidence back into the test cells and go through the
    course's own ``nbgrader autograde`` replay, exactly as after a worker's execution: the
    judge decides again with the checks as they are now, nbgrader saves the scores. Use it
    after a check was fixed. A notebook without kept evidence (graded before the judge, or
    never executed) is left as it is.
    """
    import json

    import nbformat

    from ..judging import restore_evidence

    notify = progress or (lambda event, **info: None)
    started = time.perf_counter()
    course = cdir.find_course(course)
    config = cdir.load_config(course)
    settings = BatchGrading(config=config)
    store = Store(course, assignment, settings.output_dir)
    run = GradeRun()
    url = cdir.db_url(config)
    with _logging_to(store.run_log), tools_on_path():
        check_released(url, assignment)
        cd = cdir.coursedir(config)
        todo = []
        for record in store.all():
            if students and record.student not in students:
                continue
            kept_dir = store.root / "evidence" / record.student
            execution = Execution(record.student, record.digest or "",
                                  seconds=record.seconds or 0.0,
                                  worker="none: judged again from stored evidence")
            folder = Path(cd.format_path(cd.autograded_directory, record.student, assignment))
            for path in sorted(kept_dir.glob("*.json")) if kept_dir.is_dir() else []:
                notebook = folder / f"{path.stem}.ipynb"
                if not notebook.is_file():
                    continue
                kept = json.loads(path.read_text(encoding="utf-8"))
                nb = nbformat.read(str(notebook), as_version=4)
                restore_evidence(nb, kept)
                execution.notebooks[path.stem] = nbformat.writes(nb)
                if kept.get("probe"):
                    execution.probes[path.stem] = json.dumps(kept["probe"])
            if execution.notebooks:
                old_log = store.log_path(record.student)
                execution.log = (old_log.read_text(encoding="utf-8", errors="replace")
                                 if old_log.is_file() else "") + \
                    "\n--- judged again from the stored evidence (nothing executed) ---"
                todo.append(execution)
            else:
                run.skipped.append(record.student)
        notify("start", total=len(todo), skipped=len(run.skipped))
        log.info("judging %d submissions of %s again from stored evidence", len(todo),
                 assignment)
        if todo:
            bundle = make_bundle(config, assignment, settings.threads_per_kernel)
            coordinator = Coordinator(config=config, assignment=assignment, store=store,
                                      bundle=bundle)
            finished = [(Submission(e.student, {}, e.digest), _Done(e)) for e in todo]
            _merge_all(finished, coordinator, run, notify)
        run.seconds = time.perf_counter() - started
    return run


class _Done:
    """A finished future's stand-in for what is already at hand (no cluster involved)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _course_bundle(bundle: CourseBundle) -> CourseBundle:
    """Dask task holding the course bundle on the workers that need it."""
    return bundle


def in_window(client, fn, shared, items, *, key, poll: float = 2.0):
    """Run ``fn(shared, item)`` on the cluster for every item, in the given order, with no
    more of them on the cluster at a time than it has worker threads; yield ``(item, future)``
    as each one finishes (Dask's ``wait(..., return_when="FIRST_COMPLETED")``, then the next
    submission).

    Why not submit them all at once: every task needs ``shared`` (the course bundle), which
    one worker computed, so Dask places the tasks it is handed early by that data and by
    its guess of their length (it knows none), and then moves some by work stealing. On 2
    workers and 8 submissions, one worker got 5 of them and the other 3, ending 30 s
    later than the other (a sixth of the class's time). A worker takes its next submission
    only when it is free, so the order chosen here (longest first) is the order run and no
    worker idles while another holds a queue. The next tasks are submitted before the
    finished ones are yielded, so the caller's work on a result (saving scores) never keeps a
    worker waiting, unless another task finishes during it. Each new task names a worker with
    a free thread (``workers=``, loosely: ``allow_other_workers``, so a worker that dies
    meanwhile does not strand it). Workers joining a ``--scheduler``
    cluster meanwhile are used within ``poll`` seconds; a dying worker's task is handed on by Dask
    (``allowed-failures``), still in the window.
    """
    from collections import deque

    from distributed import wait

    queue, running = deque(items), {}

    def top_up() -> None:
        if not queue:
            return
        threads, busy = client.nthreads(), client.processing()
        # a free thread's worker for each new task: left to itself, Dask sometimes queues it
        # behind a busy worker whose task it expects to end (it knows no durations)
        free = [w for w, n in threads.items() for _ in range(n - len(busy.get(w, ())))]
        while queue and len(running) < max(1, sum(threads.values())):
            item, worker = queue.popleft(), free.pop(0) if free else None
            running[client.submit(fn, shared, item, pure=False,
                                  workers=[worker] if worker else None,
                                  allow_other_workers=bool(worker),
                                  key=f"{key(item)}-{os.urandom(4).hex()}")] = item

    try:
        top_up()
        while running:
            try:
                done, _ = wait(list(running), timeout=poll, return_when="FIRST_COMPLETED")
            except TimeoutError:  # none finished: look for workers that joined meanwhile
                done = ()
            finished = [(running.pop(f), f) for f in list(running) if f in done]
            top_up()  # before the caller's work on the results: no worker waits for it
            yield from finished
    finally:  # Ctrl-C, or the caller stopped: nothing of this run goes on on the cluster
        if running:
            client.cancel(list(running))


def _run_on_dask(todo, bundle, coordinator, settings, run, notify) -> None:
    with dask_client(workers=settings.resolved_workers(), scheduler=settings.scheduler,
                     allowed_failures=settings.allowed_failures,
                     log_file=coordinator.store.run_log) as client:
        # The bundle is the result of a task, not scattered data: a worker that dies takes
        # its copy with it, and Dask recomputes a lost task result (from the graph, held by
        # the scheduler) where it would cancel every submission needing lost scattered data.
        shared = client.submit(_course_bundle, bundle, pure=False,
                               key=f"course-{bundle.assignment}-{os.urandom(4).hex()}")
        # closed explicitly (not when garbage collected): Ctrl-C during a merge cancels the
        # rest on the cluster before the client goes
        with contextlib.closing(in_window(
                client, execute_submission, shared, todo,
                key=lambda sub: f"grade-{bundle.assignment}-{sub.student}")) as finished:
            _merge_all(finished, coordinator, run, notify)


def _merge_all(finished, coordinator, run, notify) -> None:
    """Save each executed submission into the course as it comes back, or say why not."""
    for sub, future in finished:
        student = sub.student
        try:
            execution = future.result()
        except Exception as exc:  # KilledWorker, a worker without the package...
            reason = f"{type(exc).__name__}: {exc}"
            log.error("%s was not graded: %s", student, reason)
            run.errors[student] = reason
            notify("error", student=student, reason=reason)
            continue
        try:
            record = coordinator.merge(execution)
        except Exception as exc:  # the course side failed: say so, go on
            log.exception("%s: saving the scores failed", student)
            run.errors[student] = f"saving the scores failed: {type(exc).__name__}: {exc}"
            notify("error", student=student, reason=run.errors[student])
            continue
        run.graded.append(record)
        notify("done", record=record)
