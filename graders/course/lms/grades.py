"""``export_grades``: the gradebook's totals in the LMS's grade file (Canvas's gradebook
import CSV, Moodle's grading worksheet filled in), and the feedback comments Moodle shows."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ...grading import coursedir as cdir
from ...grading.gradebook import open_gradebook
from ...grading.records import write_atomically
from .. import verbs
from .formats import CANVAS, MOODLE, CanvasColumn, LmsError, lms_name, read_csv, slug
from .roster import Roster


@dataclass
class Grade:
    """What the LMS gets for one student: points on the LMS's scale, or blank and why."""

    student: str
    points: float | None
    max_points: float | None
    blank_reason: str | None = None
    #: Why the instructor should look at this (exported) grade: the judge's review list.
    review: str | None = None


@dataclass
class ExportReport:
    lms: str
    assignment: str
    path: str
    #: Points possible the grades are scaled to, and where that number came from.
    points_possible: float
    scale_source: str
    column: str = ""
    #: student id -> the cell written (empty string = blank).
    grades: dict = field(default_factory=dict)
    #: (student id, why) of every blank grade of a student who is in the LMS file.
    blank: list = field(default_factory=list)
    #: (student id, why) of every exported grade on the judge's review list.
    review: list = field(default_factory=list)
    #: Students with a grade here but not in the LMS file (not exported).
    unmatched: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def lines(self) -> list[str]:
        filled = sum(1 for v in self.grades.values() if v != "")
        out = [f"{self.lms} grades for {self.assignment} -> {self.path}: {filled} grades, "
               f"{len(self.blank)} blank, out of {_num(self.points_possible)} "
               f"({self.scale_source})" + (f", column {self.column!r}" if self.column else "")]
        if self.blank:
            out.append("Blank (the LMS keeps what it has):")
            out += [f"  {sid}: {why}" for sid, why in self.blank]
        if self.review:
            out.append("To review (the judge's score is exported; after checking, "
                       "--confirm STUDENT leaves them off this list):")
            out += [f"  {sid}: {why}" for sid, why in self.review]
        if self.unmatched:
            out.append("Graded here but not in the LMS file (not exported):")
            out += [f"  {sid}" for sid in self.unmatched]
        out += [f"! {w}" for w in self.warnings]
        return out


def _num(x: float) -> str:
    """A number as Canvas reads it: at most two decimals, no trailing zeros."""
    text = f"{round(float(x), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _float(text: str) -> float | None:
    try:
        return float(str(text).strip().replace(",", "."))
    except ValueError:
        return None


def _assignment_max(db_url: str, assignment: str) -> float:
    from nbgrader.api import MissingEntry

    try:
        with open_gradebook(db_url) as gb:
            return float(gb.find_assignment(assignment).max_score)
    except MissingEntry:
        raise LmsError(f"{assignment} is not in the gradebook: release and grade it first") \
            from None


def class_grades(*, course: Path, assignment: str, confirm: list[str] | None = None
                 ) -> dict[str, Grade]:
    """Every student with a submission: their total from the gradebook, or why it is blank.

    A record that ``failed`` is blank. One ``flagged`` for review carries the gradebook's
    (the judge's) score and why it is on the review list, unless its student is in
    ``confirm`` (the instructor looked).
    """
    config = cdir.load_config(course)
    confirm = set(confirm or ())
    out = {}
    for rec in verbs.records_with_gradebook(course=course, assignment=assignment):
        if rec.outcome == "failed":
            out[rec.student] = Grade(rec.student, None, rec.max_score,
                                     f"grading failed: {rec.reason}")
        elif rec.score is None:
            out[rec.student] = Grade(rec.student, None, rec.max_score, "not graded")
        else:
            review = rec.reason if rec.outcome == "flagged" and rec.student not in confirm \
                else None
            out[rec.student] = Grade(rec.student, float(rec.score), float(rec.max_score),
                                     review=review)
    for folder in cdir.submitted(config, assignment):
        out.setdefault(folder.student, Grade(folder.student, None, None,
                                             "submitted, not graded yet: run rnn-course grade"))
    return out


def export_grades(*, course: str | Path, assignment: str | None = None, lms: str,
                  to: str | Path, points_possible: float | None = None, title: str | None = None,
                  lms_assignment_id: str | None = None, confirm: list[str] | None = None
                  ) -> ExportReport:
    """The gradebook's totals as the LMS imports them.

    ``canvas``: Canvas's gradebook import CSV: ``Student, ID, SIS User ID, SIS Login ID,
    Section, <title> (<assignment id>)`` and a ``Points Possible`` row, one row per student
    of the imported gradebook export (Canvas matches them by ID). The column is the one of
    the Canvas gradebook whose title is the assignment's (or ``lms_assignment_id``/``title``).
    ``moodle``: the assignment's grading worksheet as imported by :func:`roster`, with
    ``Grade`` and ``Feedback comments`` (the per-instruction messages) filled in, every other
    column as Moodle wrote it (so its "upload grading worksheet" takes it back; ``Last
    modified (grade)`` as downloaded lets Moodle skip a grade changed in Moodle since).

    Points are scaled to ``points_possible``, by default the LMS item's own maximum (Canvas's
    Points Possible row, Moodle's Maximum Grade), else the assignment's points. Blank, never
    0, for a student without a score: no submission, not graded, grading failed; the report
    lists them, and the exported grades on the judge's review list (unless in ``confirm``).
    """
    course = cdir.find_course(course)
    lms = lms_name(lms)
    assignment = verbs.assignment_of(course, assignment)
    to = Path(to)
    config = cdir.load_config(course)
    db_url = cdir.db_url(config)
    r = Roster.load(course)
    max_points = _assignment_max(db_url, assignment)
    grades = class_grades(course=course, assignment=assignment, confirm=confirm)
    if lms == CANVAS:
        return _export_canvas(r, assignment, to, grades, max_points, points_possible, title,
                              lms_assignment_id)
    return _export_moodle(course, r, assignment, to, grades, max_points, points_possible,
                          config)


def _scaled(grade: Grade | None, scale: float) -> float | None:
    if grade is None or grade.points is None or not grade.max_points:
        return None
    return grade.points / grade.max_points * scale


def _canvas_column(r: Roster, assignment: str, title: str | None,
                   lms_assignment_id: str | None) -> tuple[CanvasColumn, str]:
    from ..report import COURSE_TITLES

    columns = [CanvasColumn(**c) for c in r.canvas.get("columns", [])]
    if lms_assignment_id:
        found = next((c for c in columns if c.id == str(lms_assignment_id)), None)
        column = CanvasColumn(title or (found.title if found else COURSE_TITLES.get(
            assignment, assignment)), str(lms_assignment_id), found.points_possible if found
            else None)
        return column, ""
    if title:
        found = next((c for c in columns if c.title == title), None)
        return found or CanvasColumn(title, ""), "" if found else (
            f"no column {title!r} in the Canvas gradebook export: Canvas will match it by name "
            f"or create a new assignment")
    names = {slug(assignment), slug(COURSE_TITLES.get(assignment, assignment))}
    found = [c for c in columns if slug(c.title) in names]
    if len(found) == 1:
        return found[0], ""
    fallback = CanvasColumn(COURSE_TITLES.get(assignment, assignment), "")
    if found:
        return fallback, (f"several Canvas columns fit {assignment} "
                          f"({', '.join(c.header for c in found)}): say which with "
                          f"--lms-assignment-id")
    return fallback, (f"no column of the Canvas gradebook export is {assignment}: the column "
                      f"is titled {fallback.title!r} without an id, so Canvas matches it by "
                      f"name or creates an assignment (--title/--lms-assignment-id to choose)")


def _export_canvas(r: Roster, assignment, to: Path, grades, max_points, points_possible, title,
                   lms_assignment_id) -> ExportReport:
    column, warning = _canvas_column(r, assignment, title, lms_assignment_id)
    if points_possible is not None:
        scale, source = float(points_possible), "as asked"
    elif column.points_possible is not None:
        scale, source = float(column.points_possible), "the Canvas assignment's points possible"
    else:
        scale, source = max_points, "the assignment's points"
    report = ExportReport(CANVAS, assignment, str(to), scale, source, column.header)
    if warning:
        report.warnings.append(warning)
    # the students of the last gradebook export, in its order (Canvas matches them by ID)
    order = [sid for sid in r.canvas.get("order", []) if sid in r.students
             and r.students[sid].canvas.get("id")]
    if not order:
        raise LmsError("no Canvas roster: run `rnn-course lms roster canvas GRADEBOOK.csv` "
                       "(Canvas: Grades > Export) first")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column.header])
    w.writerow(["    Points Possible", "", "", "", "", _num(scale)])
    for sid in order:
        s = r.students[sid]
        grade = grades.get(sid)
        value = _scaled(grade, scale)
        cell = "" if value is None else _num(value)
        report.grades[sid] = cell
        if value is None:
            report.blank.append((sid, grade.blank_reason if grade else "no submission"))
        elif grade.review:
            report.review.append((sid, grade.review))
        w.writerow([s.canvas.get("sortable_name", ""), s.canvas["id"],
                    s.canvas.get("sis_user_id", ""), s.canvas.get("sis_login_id", ""),
                    s.canvas.get("section", ""), cell])
    report.unmatched = sorted(sid for sid, g in grades.items()
                              if sid not in report.grades and g.points is not None)
    for sid in report.unmatched:
        if r.students.get(sid) and r.students[sid].canvas.get("anonymous_id"):
            report.warnings.append(f"{sid} comes from an anonymous download: Canvas's "
                                   f"gradebook cannot take its grade by file")
    write_atomically(to, out.getvalue())
    return report


def _export_moodle(course: Path, r: Roster, assignment, to: Path, grades, max_points,
                   points_possible, config) -> ExportReport:
    moodle = r.of(assignment).get("moodle")
    if not moodle:
        raise LmsError(f"no Moodle worksheet for {assignment}: run `rnn-course lms roster "
                       f"moodle WORKSHEET.csv --assignment {assignment}` first")
    rows, fmt = read_csv(course / moodle["worksheet"])
    header = [h.strip() for h in rows[0]]
    col = {h: i for i, h in enumerate(header)}
    missing = [c for c in ("Identifier", "Grade", "Last modified (grade)") if c not in col]
    if missing:
        raise LmsError(f"the Moodle worksheet of {assignment} has no {', '.join(missing)} "
                       f"column: Moodle will not take it back; download it again")
    feedback_col = col.get("Feedback comments")
    maxima = {_float(row[col["Maximum Grade"]]) for row in rows[1:]
              if "Maximum Grade" in col and len(row) > col["Maximum Grade"]} - {None}
    if points_possible is not None:
        scale, source = float(points_possible), "as asked"
    elif len(maxima) == 1:
        scale, source = maxima.pop(), "the Moodle assignment's Maximum Grade"
    else:
        scale, source = max_points, "the assignment's points"
    report = ExportReport(MOODLE, assignment, str(to), scale, source)
    if feedback_col is None:
        report.warnings.append("the worksheet has no Feedback comments column (feedback "
                               "comments are off in this Moodle assignment): grades only")
    participants = moodle.get("participants", {})
    comments = _Comments(course, assignment, config)
    out_rows = [rows[0]]
    for row in rows[1:]:
        row = list(row) + [""] * (len(header) - len(row))
        m = re.search(r"(\d+)\s*$", row[col["Identifier"]])
        sid = participants.get(m.group(1), {}).get("student") if m else None
        if sid is None:
            out_rows.append(row)
            continue
        grade = grades.get(sid)
        value = _scaled(grade, scale)
        if value is None:
            row[col["Grade"]] = ""
            report.blank.append((sid, grade.blank_reason if grade else "no submission"))
        else:
            row[col["Grade"]] = f"{value:.2f}"
            if grade.review:
                report.review.append((sid, grade.review))
            if feedback_col is not None:
                row[feedback_col] = comments.of(sid, value, scale)
        report.grades[sid] = row[col["Grade"]]
        out_rows.append(row)
    report.unmatched = sorted(sid for sid, g in grades.items()
                              if sid not in report.grades and g.points is not None)
    buf = io.StringIO()
    csv.writer(buf, delimiter=fmt["delimiter"], lineterminator=fmt["newline"]).writerows(out_rows)
    write_atomically(to, ("\ufeff" if fmt["bom"] else "") + buf.getvalue())
    return report


class _Comments:
    """A student's feedback comment for Moodle: per notebook, each instruction with its
    points and message (and hint), from :func:`graders.course.report.build_report` (the
    autograded notebooks' verdicts, points as the gradebook has them)."""

    def __init__(self, course: Path, assignment: str, config):
        from .. import report as rep

        self.rep = rep
        self.course, self.assignment, self.config = course, assignment, config
        self.scores = rep._Scores(cdir.db_url(config), assignment)

    def of(self, student: str, value: float, scale: float) -> str:
        from markupsafe import Markup, escape

        from ...instructions import NOTEBOOKS

        rep = self.rep
        parts = []
        total = maximum = 0.0
        for notebook in NOTEBOOKS:
            r = rep.build_report(course=self.course, student=student, notebook=notebook,
                                 assignment=self.assignment, config=self.config,
                                 _scores=self.scores)
            total, maximum = total + r.points, maximum + r.max_points
            items = []
            for row in r.results:
                mark = "✔" if row.passed else "✘"
                item = Markup("<li>{} <b>{}</b> ({}/{}): {}").format(
                    mark, row.title, rep._fmt(row.points), rep._fmt(row.max_points),
                    rep._inline(row.message))
                if row.hint_text and not row.passed:
                    item += Markup(" <i>Hint:</i> ") + rep._inline(row.hint_text, rich=True)
                items.append(item + Markup("</li>"))
            head = Markup("<p><b>{}.ipynb: {}/{} points</b></p>").format(
                notebook, rep._fmt(r.points), rep._fmt(r.max_points))
            if r.not_graded:
                head += Markup("<p>{}</p>").format(r.not_graded)
            parts.append(head + Markup("<ul>") + Markup("").join(items) + Markup("</ul>"))
        summary = Markup("<p>Autograder: {}/{} points ({} of {} in Moodle). The feedback file "
                         "shows your notebook with every check.</p>").format(
            rep._fmt(total), rep._fmt(maximum), f"{value:.2f}", _num(scale))
        return str(escape(summary) + Markup("").join(parts))
