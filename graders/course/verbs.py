"""The course verbs, one Python function each, with keyword arguments.

``rnn-course`` (:mod:`graders.course.cli`) is a thin layer over these; the tests call them
directly. The course folder and the assignment are always parameters: a course is the folder
holding ``nbgrader_config.py`` (as for nbgrader), an assignment is one of its ``source/``
folders. nbgrader's own apps do the work (``generate_assignment``, ``autograde``,
``generate_feedback``, ``export``), in the course folder, so ``nbgrader_config.py`` applies.
"""
from __future__ import annotations

import importlib.resources
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import CourseError
from ..grading import coursedir as cdir
from ..grading.batch import GradeRun, check_released, grade_class
from ..grading.records import Record, Store
from ..grading.settings import BatchGrading
from ..grading.tools import run_nbgrader

#: The sample class shipped with the package (right, partly wrong, empty): package data of
#: the instructor's installation, never in the students' wheel (one is a full solution).
SAMPLES = Path(str(importlib.resources.files(__package__) / "samples"))


class VerbError(CourseError):
    """A verb could not do its job; the message tells the instructor what to do."""


def assignment_of(course: Path, assignment: str | None) -> str:
    """``assignment``, or the course's only assignment in ``source/`` when not given."""
    if assignment:
        return assignment
    config = cdir.load_config(course)
    cd = cdir.coursedir(config)
    source = Path(cd.root) / cd.source_directory
    found = sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if source.is_dir() else []
    if len(found) == 1:
        return found[0]
    raise VerbError(f"say which assignment (--assignment): {', '.join(found) or 'none'} "
                    f"found in {source}")


def _failed(result: subprocess.CompletedProcess, what: str, log: Path) -> VerbError:
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
    return VerbError(f"{what} failed (full output in {log}):\n{tail}")


def release(*, course: str | Path, assignment: str) -> Path:
    """``source/<a>`` -> ``release/<a>`` (nbgrader generate_assignment); returns the folder."""
    course = cdir.find_course(course)
    log = Store.of(course, assignment).root / "release.log"
    result = run_nbgrader(course, "generate_assignment", assignment, "--force", log=log)
    if result.returncode:
        raise _failed(result, "nbgrader generate_assignment", log)
    cd = cdir.coursedir(cdir.load_config(course))
    return Path(cd.root) / cd.release_directory / assignment


def grade(*, course: str | Path, assignment: str, students: list[str] | None = None,
          workers: int | None = None, scheduler: str | None = None, force: bool = False,
          rejudge: bool = False, progress=None) -> GradeRun:
    """Grade the class on Dask (:func:`graders.grading.batch.grade_class`), then write the
    class summary (text, JSON, PNG) next to the records; ``run.summary_text`` has it.

    ``rejudge``: execute nothing; judge every graded submission again from its stored
    evidence with the checks as they are now (:func:`graders.grading.batch.rejudge_class`)."""
    if rejudge:
        from ..grading.batch import rejudge_class

        run = rejudge_class(course=course, assignment=assignment, students=students,
                            progress=progress)
    else:
        run = grade_class(course=course, assignment=assignment, students=students,
                          workers=workers, scheduler=scheduler, force=force, progress=progress)
    text, paths = class_summary(course=course, assignment=assignment, wall_seconds=run.seconds)
    run.summary_text, run.summary_files = text, paths
    return run


def records_with_gradebook(*, course: Path, assignment: str) -> list[Record]:
    """Every student of the assignment: their grading record, with the scores as the
    gradebook has them now (manual scores included); students graded by plain nbgrader,
    without a record, are included as graded. A record of a student the gradebook has no
    submission of (another class's, or one from before the gradebook was recreated) is not
    shown: ``grade`` grades that student again."""
    from ..grading.gradebook import read_scores

    config = cdir.load_config(course)
    store = Store.of(course, assignment, config)
    gradebook = read_scores(cdir.db_url(config), assignment)
    records = {r.student: r for r in store.all() if r.student in gradebook}
    for student, scores in gradebook.items():
        record = records.get(student)
        if record is None:
            if scores.score is None:
                continue
            record = Record(student=student, assignment=assignment, outcome="graded",
                            reason=None, score=None, max_score=scores.max_score)
            records[student] = record
        if record.outcome != "failed":
            record.score, record.max_score = scores.score, scores.max_score
            record.cells = {k: list(v) for k, v in scores.cells.items()}
    return [records[s] for s in sorted(records)]


def class_summary(*, course: str | Path, assignment: str,
                  wall_seconds: float | None = None) -> tuple[str, dict]:
    """The class summary from the records and the gradebook: its text and the files written
    (``summary.txt``, ``summary.json``, ``summary.png`` in ``grading/<assignment>/``);
    ``wall_seconds``: the wall time of the grading run it follows, shown beside the work."""
    from .summary import build_summary, instruction_labels, write_summary

    course = cdir.find_course(course)
    check_released(cdir.db_url(cdir.load_config(course)), assignment)
    records = [r.to_dict() for r in records_with_gradebook(course=course, assignment=assignment)]
    store = Store.of(course, assignment)
    summary = build_summary(records=records, assignment=assignment, labels=instruction_labels(),
                            wall_seconds=wall_seconds)
    paths = write_summary(summary=summary, records=records, directory=store.root)
    return paths["txt"].read_text(encoding="utf-8"), paths


def feedback(*, course: str | Path, assignment: str, student: str | None = None) -> list[Path]:
    """nbgrader's HTML feedback, with the per-instruction report on top; returns the pages."""
    from .report import write_reports

    course = cdir.find_course(course)
    log = Store.of(course, assignment).root / "feedback.log"
    args = ["generate_feedback", assignment, "--force"] + ([f"--student={student}"] if student else [])
    result = run_nbgrader(course, *args, log=log)
    if result.returncode:
        raise _failed(result, "nbgrader generate_feedback", log)
    return write_reports(course=course, assignment=assignment, student=student)


def export(*, course: str | Path, to: str | Path) -> Path:
    """All grades as nbgrader's CSV (nbgrader export)."""
    course = cdir.find_course(course)
    to = Path(to).resolve()
    log = course / BatchGrading(config=cdir.load_config(course)).output_dir / "export.log"
    result = run_nbgrader(course, "export", f"--to={to}", log=log)
    if result.returncode:
        raise _failed(result, "nbgrader export", log)
    return to


@dataclass
class DemoResult:
    run: GradeRun
    feedback: list[Path]
    grades: Path


def demo(*, course: str | Path, assignment: str = "rnn_architecture",
         samples: Path = SAMPLES, progress=None, workers: int | None = None) -> DemoResult:
    """The whole pipeline on the shipped sample class: release, copy the samples into
    ``submitted/``, grade on Dask, feedback, export. Run twice, the second grading finds
    every sample already graded and grades nothing."""
    course = cdir.find_course(course)
    release(course=course, assignment=assignment)
    cd = cdir.coursedir(cdir.load_config(course))
    for student in sorted(p for p in Path(samples).iterdir() if p.is_dir()):
        dest = Path(cd.root) / cd.submitted_directory / student.name / assignment
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(student / assignment, dest)
    run = grade(course=course, assignment=assignment, progress=progress, workers=workers)
    pages = feedback(course=course, assignment=assignment)
    grades = export(course=course, to=course / "grades.csv")
    return DemoResult(run, pages, grades)
