"""``lms/roster.json`` and the ``roster`` verb: the LMS's roster file -> nbgrader students.

Ids stay the same across assignments and imports: see :func:`candidate_id`. A re-import finds
each person again (:func:`_match`: Canvas id, SIS ids, e-mail, a unique full name) and updates
them; it never makes a second id for the same person.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...grading import coursedir as cdir
from ...grading.gradebook import open_gradebook
from ...grading.records import write_atomically
from .. import verbs
from .formats import (CANVAS, MOODLE, ROSTER_FILE, CanvasColumn, LmsError, RosterRow,
                      lms_name, read_canvas_gradebook, read_moodle_worksheet, slug)


@dataclass
class LmsStudent:
    """One person as the LMSes know them, under their nbgrader id."""

    student_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    #: Canvas: ``id``, ``sis_user_id``, ``sis_login_id``, ``section``, ``sortable_name``
    #: (``anonymous_id`` for a student known only from an anonymous download).
    canvas: dict = field(default_factory=dict)
    #: Moodle: ``full_name``.
    moodle: dict = field(default_factory=dict)


class Roster:
    """``lms/roster.json`` of a course: students, Canvas columns, per-assignment mappings."""

    def __init__(self, course: Path, data: dict | None = None):
        self.course = Path(course)
        data = data or {}
        self.students: dict[str, LmsStudent] = {
            sid: LmsStudent(student_id=sid, **{k: v for k, v in s.items()
                                               if k in LmsStudent.__dataclass_fields__})
            for sid, s in data.get("students", {}).items()}
        self.canvas: dict = data.get("canvas", {"columns": [], "order": []})
        self.assignments: dict[str, dict] = data.get("assignments", {})

    @property
    def path(self) -> Path:
        return self.course / ROSTER_FILE

    @classmethod
    def load(cls, course: Path) -> "Roster":
        path = Path(course) / ROSTER_FILE
        if not path.is_file():
            return cls(course)
        try:
            return cls(course, json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise LmsError(f"{path} is damaged ({exc}): import the roster again "
                           f"(rnn-course lms roster ...)") from None

    def to_dict(self) -> dict:
        students = {}
        for sid in sorted(self.students):
            s = asdict(self.students[sid])
            s.pop("student_id")
            students[sid] = s
        return {"format": 1, "students": students, "canvas": self.canvas,
                "assignments": self.assignments}

    def save(self) -> Path:
        return write_atomically(self.path, json.dumps(self.to_dict(), indent=1,
                                                      ensure_ascii=False) + "\n")

    def of(self, assignment: str) -> dict:
        return self.assignments.setdefault(assignment, {})

    def uploads(self, assignment: str, lms: str) -> dict:
        """student id -> what the last import of ``lms``'s download found for them."""
        return self.of(assignment).setdefault("uploads", {}).setdefault(lms, {})

    def participants(self, assignment: str) -> dict:
        """Moodle participant id -> {"student", "full_name"} for ``assignment``."""
        return self.of(assignment).get("moodle", {}).get("participants", {})

    def by_canvas_id(self, user_id: str) -> str | None:
        return next((sid for sid, s in self.students.items()
                     if s.canvas.get("id") == str(user_id)), None)

    def by_login(self, login: str) -> str | None:
        """The student whose Canvas login (``sis_login_id``) is ``login``."""
        return next((sid for sid, s in self.students.items()
                     if login and s.canvas.get("sis_login_id") == login), None)

    def by_anonymous_id(self, anonymous_id: str) -> str | None:
        return next((sid for sid, s in self.students.items()
                     if s.canvas.get("anonymous_id") == anonymous_id), None)

    def by_email(self, email: str) -> str | None:
        email = email.strip().casefold()
        return next((sid for sid, s in self.students.items()
                     if email and s.email.strip().casefold() == email), None) if email else None


# -- the verb --------------------------------------------------------------------------------
@dataclass
class RosterReport:
    lms: str
    path: str
    assignment: str | None
    #: LMS id in the file (Canvas id / Moodle participant id) -> nbgrader student id.
    ids: dict = field(default_factory=dict)
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.lms} roster {self.path}: {len(self.ids)} students "
               f"({len(self.created)} new, {len(self.updated)} updated, "
               f"{len(self.unchanged)} unchanged)"]
        for sid in self.created:
            out.append(f"  new: {sid}")
        for sid in self.updated:
            out.append(f"  updated: {sid}")
        out += [f"  left out: {s}" for s in self.skipped]
        out += [f"  ! {w}" for w in self.warnings]
        return out


def candidate_id(row: RosterRow, lms: str) -> str:
    """The id a new student gets (before ``_2``, ``_3``... if taken), from what stays the
    same across assignments: Canvas: the SIS login (an e-mail's local part), else the SIS user
    id, else ``canvas_<Canvas id>``; Moodle: the e-mail's local part, else the full name, else
    (blind marking) ``participant_<N>``, valid for this assignment only. All through
    :func:`~.formats.slug`."""
    if lms == CANVAS:
        login, sis = row.canvas.get("sis_login_id", ""), row.canvas.get("sis_user_id", "")
        for value in (login.split("@")[0] if login else "", sis):
            if slug(value):
                return slug(value)
        return f"canvas_{slug(row.key)}"
    if row.email and slug(row.email.split("@")[0]):
        return slug(row.email.split("@")[0])
    full = row.moodle.get("full_name", "")
    if full and not re.fullmatch(r"Participant\s*\d*", full) and slug(full):
        return slug(full)
    return f"participant_{row.key}"


def unique_id(candidate: str, taken: set[str]) -> str:
    sid, n = candidate, 1
    while sid in taken:
        n += 1
        sid = f"{candidate}_{n}"
    return sid


def roster(*, course: str | Path, lms: str, path: str | Path,
           assignment: str | None = None) -> RosterReport:
    """Students of the LMS's roster file become (or update) nbgrader students.

    ``canvas``: the gradebook export (Grades > Export: Student, ID, SIS User ID, SIS Login
    ID, Section, one column per assignment, maybe a Points Possible row). ``moodle``: the
    assignment's grading worksheet (Identifier "Participant N", Full name, Email address...):
    Moodle's participant ids are per assignment, so ``assignment`` says which (default: the
    course's only one), and the worksheet is kept to be filled in by :func:`export_grades`.
    Re-importing updates names, e-mails and LMS ids; it never duplicates a student.
    """
    course = cdir.find_course(course)
    lms = lms_name(lms)
    path = Path(path)
    if not path.is_file():
        raise LmsError(f"{path} does not exist")
    columns: list[CanvasColumn] = []
    if lms == CANVAS:
        rows, columns, skipped = read_canvas_gradebook(path)
        assignment = assignment or None
    else:
        assignment = verbs.assignment_of(course, assignment)
        rows, skipped = read_moodle_worksheet(path)
    report = RosterReport(lms, str(path), assignment, skipped=skipped)
    config = cdir.load_config(course)
    r = Roster.load(course)
    participants = r.participants(assignment) if lms == MOODLE else {}

    with open_gradebook(cdir.db_url(config)) as gb:
        existing = {s.id: s for s in gb.students}
        claimed: set[str] = set()
        plan: list[tuple[str, RosterRow]] = []
        for row in rows:
            sid = _match(r, existing, row, lms, participants, claimed)
            if sid is None:
                candidate = candidate_id(row, lms)
                taken = set(r.students) | claimed | {
                    s for s in existing if not _adoptable(existing[s], row, lms)}
                sid = unique_id(candidate, taken)
            claimed.add(sid)
            plan.append((sid, row))

        for sid, row in plan:
            before = r.students.get(sid)
            old = asdict(before) if before else None
            s = before or LmsStudent(sid)
            if lms == CANVAS:
                s.canvas = {**s.canvas, **row.canvas}
                s.canvas.pop("anonymous_id", None)
                # Canvas's sortable name says which part is the last name: it wins
                s.first_name, s.last_name = row.first_name, row.last_name
                s.email = s.email or row.email
            else:
                s.moodle = {**s.moodle, **row.moodle}
                if row.email:
                    s.email = row.email
                if not s.canvas and (row.first_name or row.last_name):
                    s.first_name, s.last_name = row.first_name, row.last_name
            r.students[sid] = s
            report.ids[row.key] = sid
            if old is None or sid not in existing:
                report.created.append(sid)
            elif old != asdict(s) or _gb_differs(existing[sid], s, lms):
                report.updated.append(sid)
            else:
                report.unchanged.append(sid)
            fields = {"first_name": s.first_name or None, "last_name": s.last_name or None}
            if s.email:
                fields["email"] = s.email
            if lms == CANVAS:
                fields["lms_user_id"] = row.canvas["id"]
            gb.update_or_create_student(sid, **fields)
            if re.fullmatch(r"participant_\d+", sid):
                report.warnings.append(
                    f"{sid}: the worksheet shows no name or e-mail (blind marking?), so this "
                    f"id is only valid for this assignment")

    if lms == CANVAS:
        r.canvas = {"columns": [asdict(c) for c in columns],
                    "order": [report.ids[row.key] for row in rows]}
    else:
        worksheet = Path("lms") / "moodle" / assignment / "worksheet.csv"
        write_atomically(course / worksheet, path.read_bytes())
        r.of(assignment)["moodle"] = {
            "worksheet": worksheet.as_posix(),
            "participants": {row.key: {"student": report.ids[row.key],
                                       "full_name": row.moodle.get("full_name", "")}
                             for row in rows}}
    r.save()
    return report


def _gb_differs(student, s: LmsStudent, lms: str) -> bool:
    return ((student.first_name or "") != s.first_name or (student.last_name or "") != s.last_name
            or (s.email and (student.email or "") != s.email)
            or (lms == CANVAS and (student.lms_user_id or "") != s.canvas.get("id", "")))


def _adoptable(student, row: RosterRow, lms: str) -> bool:
    """May a gradebook student made by other means (by hand, nbgrader's own tools) be this
    row's person? Only if nothing they have says otherwise."""
    if student.email and row.email and student.email.casefold() != row.email.casefold():
        return False
    if student.lms_user_id and (lms != CANVAS or student.lms_user_id != row.canvas.get("id")):
        return False
    return True


def _match(r: Roster, existing: dict, row: RosterRow, lms: str, participants: dict,
           claimed: set[str]) -> str | None:
    """The id this row's person already has, if any (roster first, then the gradebook)."""
    found = []
    if lms == CANVAS:
        found.append(r.by_canvas_id(row.key))
        for key in ("sis_login_id", "sis_user_id"):
            value = row.canvas.get(key)
            if value:
                found.append(next((sid for sid, s in r.students.items()
                                   if s.canvas.get(key) == value), None))
        found.append(r.by_email(row.email))
        found.append(next((s.id for s in existing.values()
                           if s.lms_user_id and s.lms_user_id == row.key), None))
    else:
        found.append(r.by_email(row.email))
        known = participants.get(row.key)
        if known and not row.email:
            found.append(known["student"])
        if row.email:
            found.append(next((s.id for s in existing.values() if s.email
                               and s.email.casefold() == row.email.casefold()), None))
        # someone known from Canvas (which exports no e-mail): the same full name, if only
        # one student has it and no e-mail says otherwise
        full = " ".join(row.moodle.get("full_name", "").split()).casefold()
        same = [sid for sid, s in r.students.items() if full and
                " ".join(f"{s.first_name} {s.last_name}".split()).casefold() == full and
                not (s.email and row.email and s.email.casefold() != row.email.casefold())]
        if len(same) == 1:
            found.append(same[0])
    return next((sid for sid in found if sid and sid not in claimed), None)
