"""The coordinator: the only writer of the course. It replays what a worker executed through
the course's own ``nbgrader autograde`` in the real course folder (scores into the gradebook),
and writes the student's log and :class:`~graders.grading.records.Record`, with the review list
(:class:`Coordinator`).
"""
from __future__ import annotations

import copy
import glob
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from .. import coursedir as cdir
from ..gradebook import notebook_names, read_scores, zero_auto_scores
from ..judging import FLAGGED, has_judge, review_of
from ..names import choose
from ..records import Record, Store, write_atomically
from ..replay import FAILED_SUFFIX, PROBE_SUFFIX, replaying
from ..settings import KernelLimits
from .diagnosis import failure_reason, limits_hit
from .nbgrader_inproc import one_notebook, run_autograde
from .wire import CourseBundle, Execution
from .worker import _write_files, staged_files


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rnn-course")
    except PackageNotFoundError:  # pragma: no cover - run from a plain checkout
        return "unknown"


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
        # a folder nbgrader finds as this student's submission once submitted_directory (relative
        # to the course root) names it: where the course's directory_structure puts it
        submitted = os.path.relpath(staging / "submitted", cd.root)
        target = Path(cd.format_path(submitted, student, self.assignment)).resolve()
        if not target.is_relative_to(staging.resolve()):
            return choice.notes + [
                f"Not graded under their released names: the course's directory_structure "
                f"({cd.directory_structure}) does not start with {{nbgrader_step}}, so a "
                f"renamed copy cannot be staged; rename the files in {folder} and grade again."]
        _write_files(target, staged)
        timestamp = folder / "timestamp.txt"
        if timestamp.is_file():  # same time of modification too (nbgrader reads the text)
            shutil.copystat(timestamp, target / "timestamp.txt")
        config.CourseDirectory.submitted_directory = submitted
        return choice.notes
