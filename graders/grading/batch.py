"""Grade a whole class in parallel on Dask distributed: resumable, quiet, one record each.

How a class is graded (:func:`grade_class`)
------------------------------------------
* The coordinator (the instructor's ``rnn-course grade``) finds ``submitted/<student>/<a>/``
  and skips every submission already graded with the same files (its record's digest), unless
  ``force``.
* Each remaining submission travels to a Dask worker **as data** (its files), with the course
  bundle (``nbgrader_config.py``, the assignment's data files and a gradebook holding only the
  assignment's cells, sent once per worker): no shared filesystem is assumed. A worker is
  handed its next submission when it is free, longest first (:func:`in_window`).
* The worker (:func:`execute_submission`) runs the course's own ``nbgrader autograde`` in a
  private course folder, up to its ``Execute`` step (the sandboxed kernel, the course's limits),
  and sends back the executed notebooks and the log, as data. Whatever the student's code does,
  the task returns an :class:`Execution`; it raises only for a fault of the grading machinery,
  and Dask hands a submission whose worker died to another worker (``allowed-failures``).
* The coordinator alone writes the course: it runs ``nbgrader autograde`` for that student in
  the real course folder with the executed notebooks replayed (:mod:`graders.grading.replay`),
  so the gradebook (SQLite or PostgreSQL) has one writer and the scores are those of a plain
  serial ``nbgrader autograde``; then it writes the student's :class:`~records.Record`.

Killed half way, a run leaves finished students recorded and the others without a record:
running it again grades only those.
"""
from __future__ import annotations

import contextlib
import copy
import glob
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import coursedir as cdir
from .coursedir import files_digest
from .gradebook import (notebook_names, open_gradebook, read_scores, structure_copy,
                        zero_auto_scores)
from .names import choose, released_name
from .records import Record, Store, write_atomically
from .judging import FLAGGED, has_judge, review_of
from .replay import FAILED_SUFFIX, PROBE_SUFFIX, execution_only, replaying
from . import sandbox
from .sandbox import STDERR_CUT, STOPPED_PREFIX
from ..kernel.capture import OUTPUT_CUT
from .settings import BatchGrading, KernelLimits
from .tools import tools_on_path

log = logging.getLogger(__name__)

#: Environment variables that set a kernel's thread pools (passed into the sandbox).
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


# ----------------------------------------------------------------------------- task data
@dataclass
class CourseBundle:
    """What every worker needs of the course, sent once per worker."""

    assignment: str
    #: Text of the course's ``nbgrader_config.py``.
    config_text: str
    #: A SQLite gradebook with the assignment's structure only (no students).
    gradebook: bytes
    #: The assignment's files besides notebooks (data, weights), by relative path.
    source_files: dict[str, bytes]
    threads_per_kernel: int = 1
    #: Pin each LocalCluster worker's kernels to one core (``BatchGrading.pin_cpus``).
    pin_cpus: bool = False

    def data_manifest(self) -> str:
        return files_digest(self.source_files)


@dataclass
class Submission:
    """One student's submitted folder, as data."""

    student: str
    files: dict[str, bytes]
    digest: str


@dataclass
class Execution:
    """What a worker sends back: the executed notebooks, or why there are none."""

    student: str
    digest: str
    #: Notebook name -> the notebook as ``Execute`` left it (nbformat JSON text).
    notebooks: dict[str, str] = field(default_factory=dict)
    #: Notebook name -> why it could not be executed (kernel died, timed out, ...).
    failed: dict[str, str] = field(default_factory=dict)
    #: Notebook name -> the probe its kernel was given (JSON text, :mod:`graders.judge.probe`).
    probes: dict[str, str] = field(default_factory=dict)
    #: The log of the worker's ``nbgrader autograde`` and of the kernels.
    log: str = ""
    seconds: float = 0.0
    worker: str = ""


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rnn-course")
    except PackageNotFoundError:  # pragma: no cover - run from a plain checkout
        return "unknown"


# ----------------------------------------------------------------------------- nbgrader in-process
def run_autograde(config, assignment: str, student: str) -> dict:
    """``nbgrader autograde ASSIGNMENT --student STUDENT --force`` in this process (only the
    notebook ``CourseDirectory.notebook_id`` when the config names one).

    Returns nbgrader's ``capture_log`` dict: ``success``, ``log`` and, on failure, ``error``;
    plus ``exception``: the first exception raised while preparing or converting a notebook
    (None when none was), whose message is the reason of the failure.
    """
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.utils import capture_log, temp_attrs

    from .replay import Autograding

    with tools_on_path():  # nbgrader creates a missing gradebook with `alembic` from PATH
        api = NbGraderAPI(coursedir=cdir.coursedir(config), config=config)
        with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
            app = Autograding(coursedir=api.coursedir, parent=api)
            app.force = True
            app.create_student = True
            result = capture_log(app)
    result["exception"] = app.failure
    return result


def one_notebook(config, notebook: str):
    """A copy of ``config`` that grades only ``notebook`` (nbgrader's
    ``CourseDirectory.notebook_id``): each notebook is graded on its own, so a broken one
    costs only itself (nbgrader stops at the first failing notebook of a submission and
    removes the student's whole autograded folder)."""
    config = copy.deepcopy(config)
    config.CourseDirectory.notebook_id = notebook
    return config


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send this process's fd 2 (and so the kernels' stderr: TensorFlow's start-up lines,
    crash reports) to ``path`` while grading one submission."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """Set environment variables (for kernels started meanwhile), then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = (root / name).resolve()
        if not str(path).startswith(str(root.resolve()) + os.sep):
            raise ValueError(f"refusing a file outside its folder: {name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


#: What an exception raised while autograding means, for the instructor's summary.
_MEANINGS = {
    "DeadKernelError": "the kernel died (memory limit, os._exit, a crash)",
    "UnresponsiveKernelError": "the kernel stopped answering (an endless loop eating memory?)",
    "CellTimeoutError": "a cell ran past the time limit (Execute.timeout)",
    "TimeoutError": "a cell ran past the time limit (Execute.timeout)",
    "NotJSONError": "the notebook is not valid JSON (not saved from Jupyter?)",
    "JSONDecodeError": "the notebook is not valid JSON (not saved from Jupyter?)",
    "NotebookValidationError": "the notebook is not a valid Jupyter notebook",
}


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def failure_reason(exc: BaseException | None, kernel_log: str = "") -> str:
    """Why one notebook could not be graded, in one line: the sandbox's watchdog's reason when
    it stopped the kernel (``kernel_log``: that notebook's kernel stderr), else what the
    exception means and the exception itself. The student's log keeps the details."""
    from .replay import RemoteExecutionFailed

    stopped = [line.split(STOPPED_PREFIX, 1)[1].strip()
               for line in kernel_log.splitlines() if STOPPED_PREFIX in line]
    if stopped:
        return f"stopped: {stopped[-1]}"
    if exc is None:
        return "grading stopped with an error (see the student's log)"
    if isinstance(exc, RemoteExecutionFailed):  # the worker's reason, already one line
        return _first_line(str(exc))
    name, message = type(exc).__name__, _first_line(str(exc))[:200]
    if name == "NotJSONError":  # its message quotes the file: not for a one-line reason
        if message.endswith(": ''"):
            return "the notebook is an empty file (0 bytes: saved or uploaded incompletely)"
        message = message.split(":", 1)[0]
    timeout = isinstance(exc, TimeoutError) or "Timeout" in name
    meaning = _MEANINGS.get(name) or (_MEANINGS["TimeoutError"] if timeout else
                                      "grading stopped with an error")
    return f"{meaning} ({name}: {message})" if message else f"{meaning} ({name})"


def limits_hit(notebooks: dict[str, str], log_text: str, limits) -> list[str]:
    """Which kernel limits (``limits``: :class:`~settings.KernelLimits`) the student's code
    met without the kernel being stopped, per notebook, for the summary: a cell that got
    MemoryError, output cut at the per-cell cap, a write refused for lack of space. (A kernel
    that was stopped fails its notebook, with the reason.)"""
    import nbformat

    found = []
    for name, text in sorted(notebooks.items()):
        try:
            nb = nbformat.reads(text, as_version=4)
        except Exception:  # noqa: BLE001 - nothing to read, nothing to report
            continue
        hits = []
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                kind = out.get("output_type")
                body = (out.get("text") or "") if kind == "stream" else str(
                    (out.get("data") or {}).get("text/plain", ""))
                if kind == "error" and out.get("ename") == "MemoryError":
                    hits.append(f"the {limits.memory} memory limit (MemoryError)")
                elif kind == "error" and re.search(r"\[Errno 2[78]\]", out.get("evalue") or ""):
                    hits.append(f"the {limits.scratch} disk limit ({out.get('ename')}: "
                                f"{(out.get('evalue') or '')[:80]})")
                elif OUTPUT_CUT in body:
                    hits.append(f"the {limits.output} output limit per cell (output cut)")
        found += [f"{name}: {hit}" for hit in dict.fromkeys(hits)]
    if STDERR_CUT in log_text:
        found.append(f"the {limits.output} limit on the kernel's own stdout/stderr (cut)")
    return found


def execute_submission(bundle: CourseBundle, submission: Submission) -> Execution:
    """Dask task: execute one submission's notebooks with the course's own nbgrader pipeline.

    Runs on a worker, in a private course folder that is removed afterwards; each notebook
    on its own (:func:`one_notebook`), under its released name (a renamed upload is written
    there under the name :func:`graders.grading.names.choose` gives it). A student's mistake,
    a crash of the student's kernel or an unreadable notebook comes back as an
    :class:`Execution` saying so, per notebook; only a fault of the grading machinery raises.
    """
    started = time.perf_counter()
    result = Execution(submission.student, submission.digest, worker=_worker_name())
    with tempfile.TemporaryDirectory(prefix="rnn-course-grade-") as tmp:
        root = Path(tmp)
        (root / cdir.CONFIG_FILE).write_text(bundle.config_text, encoding="utf-8")
        (root / "gradebook.db").write_bytes(bundle.gradebook)
        config = cdir.load_config(root)
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
        # the folders where the course's config (its directory_structure) says nbgrader finds them
        _write_files(cdir.assignment_folder(config, "source", bundle.assignment),
                     bundle.source_files)
        submitted = cdir.student_folder(config, "submitted", submission.student,
                                        bundle.assignment)
        submitted.mkdir(parents=True)
        released = notebook_names(cdir.db_url(config), bundle.assignment)
        files, names = staged_files(submission.files, released)
        _write_files(submitted, files)
        executed = root / "executed"

        config.Autograde.autograde_preprocessors = execution_only(config)
        config.KeepExecuted.directory = str(executed)
        threads = str(bundle.threads_per_kernel)
        env = {k: threads for k in THREAD_VARIABLES} if bundle.threads_per_kernel else {}
        env.update(_placement(bundle.pin_cpus))
        logs = []
        for name in names:
            kernel_log = root / f"kernels-{name}.log"
            with environment(env), _stderr_to(kernel_log):
                outcome = run_autograde(one_notebook(config, name), bundle.assignment,
                                        submission.student)
            kernels = kernel_log.read_text(errors="replace") if kernel_log.exists() else ""
            logs.append(f"--- {name}.ipynb ---\n{outcome.get('log') or ''}"
                        + (f"\n{outcome['error']}" if outcome.get("error") else "")
                        + (f"\n--- kernel output (stderr) ---\n{kernels}" if kernels.strip()
                           else ""))
            path = executed / f"{name}.ipynb"
            if path.is_file():
                result.notebooks[name] = path.read_text(encoding="utf-8")
            probe = executed / f"{name}{PROBE_SUFFIX}"
            if probe.is_file():
                result.probes[name] = probe.read_text(encoding="utf-8")
            if not outcome.get("success") and name not in result.notebooks:
                result.failed[name] = failure_reason(outcome.get("exception"), kernels)
        if not names:  # nothing to grade
            got = ", ".join(sorted(f for f in submission.files if f.endswith(".ipynb"))) or \
                "no notebook"
            result.failed["*"] = (f"no notebook of this assignment was submitted ({got}; "
                                  f"the notebooks are {', '.join(released)})")
        result.log = "\n".join(logs)
    result.seconds = time.perf_counter() - started
    return result


def staged_files(files: dict[str, bytes], released: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """A submission's files with each renamed notebook under its released name (the copy
    that is graded; ``timestamp.txt`` and every other file as submitted), and the names of
    the notebooks to grade (without ``.ipynb``)."""
    choice = choose(sorted(files), [f"{n}.ipynb" for n in released])
    # every file but the notebooks' copies (the chosen ones go under their released names)
    staged = {path: data for path, data in files.items()
              if os.path.dirname(path) or released_name(path, list(choice.chosen)) is None}
    staged.update({name: files[path] for name, path in choice.chosen.items()})
    return staged, [n for n in released if f"{n}.ipynb" in choice.chosen]


#: The CPUs this process may use before any pinning (a worker's first task reads them).
_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _placement(pin: bool) -> dict[str, str]:
    """The core for this worker's kernels: LocalCluster names its workers 0, 1, 2...; worker
    ``i`` gets the ``i``-th usable CPU, round robin. Nothing for other workers."""
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return {}
    if not pin or not _CPUS or not isinstance(name, int):
        return {}
    return {sandbox.ENV_CPUS: str(_CPUS[name % len(_CPUS)])}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return socket.gethostname()


# ----------------------------------------------------------------------------- coordinator
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


def _flags(config, store: Store, student: str) -> list[str]:
    """What the instructor should look at in a graded submission: the judge's review list
    (evidence that did not hold together, the static screen's findings, a live verdict that
    differs from the judge's) and test cells whose check never ran."""
    import nbformat

    found = review_of(store.root, student)
    cd = cdir.coursedir(config)
    folder = Path(cd.format_path(cd.autograded_directory, student, store.assignment))
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - nbgrader wrote it; unreadable = nothing to flag
            continue
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") == FLAGGED:
                    line = f"{path.stem}: {output.get('evalue')}"
                    if line not in found:
                        found.append(line)
    return found


class Coordinator:
    """Writes what the workers executed into the course, one student at a time."""

    def __init__(self, *, config, assignment: str, store: Store, bundle: CourseBundle):
        self.config = config
        self.assignment = assignment
        self.store = store
        self.url = cdir.db_url(config)
        self.version = package_version()
        self.manifest = bundle.data_manifest()
        self.pipeline = replaying(config)
        if not has_judge(self.pipeline):
            raise cdir.CourseError(
                "the course's nbgrader_config.py does not put the judge in nbgrader's autograde "
                "pipeline: add `from graders.require_verdict import install` and "
                "`install(c)` (without it a test cell's score would be decided in the "
                "student's own kernel)")
        self.limits = KernelLimits(config=config)
        self.notebooks = notebook_names(self.url, assignment)
        # The data files were needed to execute, on the worker; the course's autograded/ (and
        # so feedback/, which nbgrader copies from it) need no copy of them per student.
        self.ignore = list(cdir.coursedir(config).ignore) + sorted(
            {glob.escape(Path(name).name) for name in bundle.source_files})

    def merge(self, execution: Execution) -> Record:
        student = execution.student
        staging = self.store.staging_dir / student
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name, text in execution.notebooks.items():
            (staging / f"{name}.ipynb").write_text(text, encoding="utf-8")
        for name, text in execution.probes.items():
            (staging / f"{name}{PROBE_SUFFIX}").write_text(text, encoding="utf-8")
        for name, reason in execution.failed.items():
            if name != "*":
                (staging / f"{name}{FAILED_SUFFIX}").write_text(reason, encoding="utf-8")

        before = self.store.read(student)
        previous = read_scores(self.url, self.assignment, [student])[student].score
        self.store.forget(student)  # until the gradebook has the new scores
        shutil.rmtree(self.store.root / "evidence" / student, ignore_errors=True)

        config = copy.deepcopy(self.config)
        config.Autograde.autograde_preprocessors = self.pipeline
        config.ReplayExecution.directory = str(staging)
        config.CourseDirectory.ignore = self.ignore
        notes = self._stage_renamed(config, student, staging)
        names = [n for n in self.notebooks if n in execution.notebooks or n in execution.failed]
        problems, logs, graded = {}, [], []
        for name in names:  # each notebook on its own, as on the worker
            merged = run_autograde(one_notebook(config, name), self.assignment, student)
            logs.append(f"--- {name}.ipynb ---\n{merged.get('log') or ''}\n"
                        f"{merged.get('error') or ''}")
            if merged.get("success"):
                graded.append(name)
            else:
                problems[name] = execution.failed.get(name) or failure_reason(
                    merged.get("exception"))
        if not names:  # none to grade: the submission is still the gradebook's, all 0
            merged = run_autograde(config, self.assignment, student)
            logs.append(f"{merged.get('log') or ''}\n{merged.get('error') or ''}")
            zero_auto_scores(self.url, self.assignment, student, self.notebooks)
        if problems:  # a notebook that could not be graded scores 0 (manual scores stay)
            zero_auto_scores(self.url, self.assignment, student, sorted(problems))
        shutil.rmtree(staging, ignore_errors=True)

        log_path = self.store.log_path(student)
        write_atomically(log_path, (
            f"# {student} / {self.assignment}: executed on {execution.worker} in "
            f"{execution.seconds:.1f} s\n{execution.log}\n"
            f"--- nbgrader autograde in the course (scores saved here) ---\n"
            + "\n".join(logs) + "\n"))

        scores = read_scores(self.url, self.assignment, [student])[student]
        listed = [f"{name}.ipynb: {reason}" for name, reason in problems.items()] + notes
        if not graded:
            outcome = "failed"
            reason = "; ".join(listed) or execution.failed.get("*") or \
                "no notebook could be graded (see the log)"
        else:
            flags = _flags(self.config, self.store, student)
            outcome, reason = ("flagged", "; ".join(flags)) if flags else ("graded", None)
        record = Record(
            student=student, assignment=self.assignment, outcome=outcome, reason=reason,
            score=scores.score, max_score=scores.max_score,
            cells={k: list(v) for k, v in scores.cells.items()},
            seconds=round(execution.seconds, 2),
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            previous_score=previous if previous is not None else (before.score if before else None),
            log=self.store.relative(log_path), package_version=self.version,
            data_manifest=self.manifest, digest=execution.digest, worker=execution.worker,
            limits=limits_hit(execution.notebooks, execution.log, self.limits),
            problems=listed)
        self.store.write(record)
        return record

    def _stage_renamed(self, config, student: str, staging: Path) -> list[str]:
        """When the student's notebooks are not all under their released names, point
        nbgrader at a staged copy of the submitted folder with them renamed (``timestamp.txt``
        kept: late penalties unchanged); the student's own files are never renamed. Returns
        the notes saying which file was graded as which notebook."""
        cd = cdir.coursedir(self.config)
        folder = Path(cd.format_path(cd.submitted_directory, student, self.assignment))
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        # the worker's rule (staged_files), from the file names alone: both grade one file
        choice = choose(files, [f"{n}.ipynb" for n in self.notebooks])
        if not choice.renamed:
            return choice.notes
        staged, _ = staged_files({f: (folder / f).read_bytes() for f in files}, self.notebooks)
        # a folder laid out as nbgrader's submitted/ (CourseDirectory.submitted_directory is
        # relative to the course root): <staged>/<student>/<assignment>/
        root = staging / "submitted"
        _write_files(root / student / self.assignment, staged)
        timestamp = folder / "timestamp.txt"
        if timestamp.is_file():  # same time of modification too (nbgrader reads the text)
            shutil.copystat(timestamp, root / student / self.assignment / "timestamp.txt")
        config.CourseDirectory.submitted_directory = os.path.relpath(root, cd.root)
        return choice.notes


@contextlib.contextmanager
def _logging_to(path: Path):
    """While grading, every log line goes to ``path``, none to the terminal."""
    import warnings

    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        logging.captureWarnings(False)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        handler.close()


@contextlib.contextmanager
def dask_client(*, workers: int, scheduler: str, allowed_failures: int):
    """A Dask client: on ``scheduler`` if given, else on an embedded LocalCluster."""
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
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
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
    with _logging_to(store.root / "grade.log"), tools_on_path():
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

    from .judging import restore_evidence

    notify = progress or (lambda event, **info: None)
    started = time.perf_counter()
    course = cdir.find_course(course)
    config = cdir.load_config(course)
    settings = BatchGrading(config=config)
    store = Store(course, assignment, settings.output_dir)
    run = GradeRun()
    url = cdir.db_url(config)
    with _logging_to(store.root / "grade.log"), tools_on_path():
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
                     allowed_failures=settings.allowed_failures) as client:
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
