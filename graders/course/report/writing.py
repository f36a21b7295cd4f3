"""The reports on disk: each notebook's section put into its feedback page, or a standalone
page where nbgrader wrote none (:func:`write_report`), for every student of the course
(:func:`write_reports`), in the folders the course's nbgrader config names.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ...grading import coursedir as cdir
from ...grading.records import write_atomically
from ...instructions import ASSIGNMENT, NOTEBOOKS
from .model import NotebookReport, _Scores, build_report
from .page import insert_section, render_page, render_section, spliceable

# one logger for the package, named as when it was one module
log = logging.getLogger(__package__)


def _students(config, assignment: str) -> list[str]:
    """Everyone with an autograded or a submitted copy of the assignment."""
    return sorted(set(cdir.students_with(config, "autograded", assignment))
                  | set(cdir.students_with(config, "submitted", assignment)))


def _record_problems(course: Path, assignment: str, config) -> dict[str, list[str]]:
    """Each student's grading record's problems (``grade``'s records), by student."""
    from ...grading.records import Store

    try:
        return {r.student: list(r.problems or []) for r in Store.of(course, assignment, config).all()}
    except OSError:
        return {}


def write_report(report: NotebookReport, *, course: Path, config=None) -> Path:
    """Put ``report`` into its feedback page (or a standalone page); return the page's path."""
    config = config if config is not None else cdir.load_config(Path(course))
    path = (cdir.student_folder(config, "feedback", report.student, report.assignment)
            / f"{report.notebook}.html")
    page = None
    if path.is_file():
        try:
            page = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("%s could not be read (%s): writing a standalone page", path, exc)
        if page is not None and not spliceable(page):
            page = None
    if page is None:
        write_atomically(path, render_page(report))
    else:
        write_atomically(path, insert_section(page, render_section(report)))
    return path


def write_reports(*, course: Path, assignment: str = ASSIGNMENT,
                  student: str | None = None) -> list[Path]:
    """Write the report of every notebook of every student (or of ``student``).

    Reads ``autograded/<student>/<assignment>/<notebook>.ipynb`` and writes
    ``feedback/<student>/<assignment>/<notebook>.html`` (where the course's nbgrader config
    puts them): inserted at the top of nbgrader's feedback page when ``nbgrader
    generate_feedback`` wrote one, else a standalone page. Points come from the course's
    gradebook (``CourseDirectory.db_url``: SQLite or PostgreSQL) when it has them. A missing or
    unreadable notebook yields a report saying so; an unexpected failure for one notebook is
    logged and the others are still written. Returns the pages written.
    """
    course = Path(course).resolve()
    config = cdir.load_config(course)
    students = _students(config, assignment)
    if student is not None:
        if student not in students:
            log.warning("%s has no autograded or submitted %s in %s: no report written",
                        student, assignment, course)
            return []
        students = [student]
    if not students:
        log.warning("no student has an autograded or submitted %s in %s", assignment, course)
    written = []
    problems = _record_problems(course, assignment, config)
    scores = _Scores(cdir.db_url(config), assignment)
    try:
        for sid in students:
            for notebook in NOTEBOOKS:
                try:
                    report = build_report(course=course, student=sid, notebook=notebook,
                                          assignment=assignment, config=config, _scores=scores,
                                          notes=problems.get(sid))
                    written.append(write_report(report, course=course, config=config))
                except Exception:
                    log.exception("the report of %s/%s could not be written", sid, notebook)
    finally:
        scores.close()
    return written
