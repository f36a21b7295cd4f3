"""``import_submissions``: the LMS's "download all submissions" zip -> ``submitted/``.

Built on nbgrader's zip_collect plugin interface: one ``FileNameCollectorPlugin`` per LMS
(:class:`CanvasCollector`, :class:`MoodleCollector`) reads the download's names; this module
adds what stock ``zip_collect`` aborts on or does not know (two files for one notebook, a
damaged zip, roster ids, late flags, renamed uploads) and writes each student's folder whole.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from ...grading import coursedir as cdir
from ...grading.gradebook import open_gradebook
from ...grading.records import Store
from .. import verbs
from .formats import (CANVAS, JUNK, MOODLE, TIMESTAMP_FORMAT, LmsError, canvas_prefix,
                      copy_number, lms_name, moodle_prefix, released_name, slug)
from .roster import LmsStudent, Roster, unique_id


@dataclass
class Upload:
    """One file of the download, as its name describes it."""

    entry: str               # path in the zip
    filename: str            # the student's file name
    lms_key: str             # Canvas user id / "anon_<id>" / Moodle participant id
    name: str = ""           # the name part (Canvas: sortable, lowercased; Moodle: full name)
    prefix: str = ""         # what feedback names repeat (see canvas_prefix / moodle_prefix)
    late: bool = False
    attachment_id: str = ""
    anonymous_id: str = ""
    plugin: str = "file"


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader's filename collector for an LMS download.

    :meth:`collect` keeps nbgrader's contract (``student_id``, ``file_id``, optional
    ``timestamp``), so ``nbgrader zip_collect --collector=graders.course.lms.CanvasCollector``
    works as well for a simple download. :func:`import_submissions` uses the same
    :meth:`identify` and adds what stock ``zip_collect`` aborts on (two files for one
    notebook, a damaged zip) or does not know (roster ids, late flags, renamed uploads).
    """

    lms = ""

    def setup(self, *, roster: Roster, assignment: str, released: list[str],
              duedate: datetime | None = None, times: dict | None = None) -> "LmsCollector":
        self._roster, self._assignment, self._released = roster, assignment, released
        self._duedate, self._times = duedate, times or {}
        return self

    def _context(self):
        if not hasattr(self, "_roster"):   # made by nbgrader zip_collect: read the course
            cd = self.parent.coursedir
            course = Path(cd.root)
            released = _released(cd, cd.assignment_id)
            self.setup(roster=Roster.load(course), assignment=cd.assignment_id,
                       released=released, duedate=_duedate(cd.db_url, cd.assignment_id))
        return self

    # -- to be defined per LMS ---------------------------------------------------------------
    def parse(self, entry: str) -> Upload | None:
        raise NotImplementedError

    def student_for(self, upload: Upload) -> str | None:
        raise NotImplementedError

    def timestamp_for(self, upload: Upload) -> datetime | None:
        """The submission time nbgrader should see for this file (naive UTC), if known."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def identify(self, entry: str) -> tuple[Upload | None, str | None, str | None]:
        """(upload, nbgrader student id, released notebook name) of a zip entry."""
        self._context()
        upload = self.parse(entry.replace("\\", "/"))
        if upload is None:
            return None, None, None
        return upload, self.student_for(upload), released_name(upload.filename, self._released)

    def collect(self, submitted_file: str) -> dict | None:
        if os.path.splitext(submitted_file)[1].lower() not in self.valid_ext:
            return None
        upload, sid, notebook = self.identify(submitted_file)
        if upload is None:
            self.log.warning("not a %s download name: %s", self.lms, submitted_file)
            return None
        if sid is None:
            self.log.warning("%s is not in lms/roster.json: skipped %s", upload.lms_key,
                             submitted_file)
            return None
        info = {"student_id": sid, "file_id": notebook or upload.filename}
        student = self._roster.students.get(sid)
        if student is not None:
            info.update(first_name=student.first_name, last_name=student.last_name,
                        email=student.email)
        when = self.timestamp_for(upload)
        if when is not None:
            info["timestamp"] = when.strftime(TIMESTAMP_FORMAT)
        return info


CANVAS_PATTERN = (r"^(?:(?:anon_[A-Za-z0-9]+_)?(?:(?P<anon_late>LATE)_)?anon_"
                  r"(?P<anonymous_id>[A-Za-z0-9]+)"
                  r"|(?P<name>.*?)(?:_(?P<late>LATE))?_(?P<user_id>\d+))"
                  r"_(?P<attachment_id>\d+)_(?P<filename>.+)$")


class CanvasCollector(LmsCollector):
    """Canvas: ``<sortable name>[_LATE]_<user id>_<attachment id>_<file name>``, or
    ``[LATE_]anon_<anonymous id>_<attachment id>_<file name>`` under anonymous grading."""

    lms = CANVAS
    named_regexp = Unicode(CANVAS_PATTERN, help="Canvas's download file names.").tag(config=True)

    def parse(self, entry):
        base = entry.rsplit("/", 1)[-1]
        m = re.match(self.named_regexp, base, re.DOTALL)
        if not m:
            return None
        g = m.groupdict()
        if g.get("anonymous_id"):
            late = bool(g.get("anon_late"))
            return Upload(entry, g["filename"], f"anon_{g['anonymous_id']}", "",
                          canvas_prefix(late=late, anonymous_id=g["anonymous_id"]), late,
                          g["attachment_id"], g["anonymous_id"])
        late = bool(g.get("late"))
        prefix = f"{g['name']}{'_LATE' if late else ''}_{g['user_id']}"
        return Upload(entry, g["filename"], g["user_id"], g["name"], prefix, late,
                      g["attachment_id"])

    def student_for(self, upload):
        if upload.anonymous_id:
            return self._roster.by_anonymous_id(upload.anonymous_id)
        return self._roster.by_canvas_id(upload.lms_key)

    def timestamp_for(self, upload):
        # Canvas's zip has no submission time, only the LATE marker (see the module's doc)
        if upload.late and self._duedate is not None:
            return self._duedate + timedelta(seconds=1)
        return None


MOODLE_PATTERN = (r"(?:^|/)(?P<name>[^/]*?)_(?P<participant_id>\d+)_assignsubmission_"
                  r"(?P<plugin>[a-z]+)(?:_?/(?:[^/]*/)*|_)(?P<filename>[^/]+)$")


class MoodleCollector(LmsCollector):
    """Moodle: ``<Full name>_<participant id>_assignsubmission_file/<file>`` (4.x),
    ``..._assignsubmission_file_/<file>`` (3.x), or flat
    ``<Full name>_<participant id>_assignsubmission_file_<file>``."""

    lms = MOODLE
    named_regexp = Unicode(MOODLE_PATTERN, help="Moodle's download paths.").tag(config=True)

    def parse(self, entry):
        m = re.search(self.named_regexp, entry)
        if not m:
            return None
        g = m.groupdict()
        return Upload(entry, g["filename"], g["participant_id"], g["name"].strip(),
                      moodle_prefix(g["name"].strip(), g["participant_id"]), plugin=g["plugin"])

    def student_for(self, upload):
        known = self._roster.participants(self._assignment).get(upload.lms_key)
        return known["student"] if known else None

    def timestamp_for(self, upload):
        when = self._times.get(upload.entry)
        if when is None and os.path.isfile(upload.entry):   # extracted by zip_collect
            when = datetime.fromtimestamp(os.path.getmtime(upload.entry), dt_timezone.utc
                                          ).replace(tzinfo=None)
        return when


COLLECTORS = {CANVAS: CanvasCollector, MOODLE: MoodleCollector}


def _released(cd, assignment: str) -> list[str]:
    from nbgrader.utils import find_all_notebooks

    folder = cd.format_path(cd.release_directory, ".", assignment)
    return sorted(find_all_notebooks(folder)) if os.path.isdir(folder) else []


def _duedate(db_url: str, assignment: str) -> datetime | None:
    from nbgrader.api import MissingEntry

    try:
        with open_gradebook(db_url) as gb:
            return gb.find_assignment(assignment).duedate
    except MissingEntry:
        return None


# -- the verb --------------------------------------------------------------------------------
@dataclass
class Issue:
    """Something the instructor should know about one file or student of an import."""

    #: ``duplicate``, ``invalid_notebook``, ``not_a_notebook``, ``unknown_notebook``,
    #: ``not_in_roster``, ``unrecognised``, ``late_without_duedate``, ``bad_inner_zip``.
    kind: str
    file: str
    student: str | None
    detail: str


@dataclass
class StudentImport:
    #: released notebook name -> the zip entry it came from.
    files: dict
    late: bool = False
    timestamp: str | None = None


@dataclass
class ImportReport:
    lms: str
    assignment: str
    zip_path: str
    students: dict = field(default_factory=dict)     # student id -> StudentImport
    issues: list = field(default_factory=list)       # [Issue]
    warnings: list = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Issue]:
        return [i for i in self.issues if i.kind == kind]

    _HEADINGS = {
        "duplicate": "Two files for one notebook (the newer kept)",
        "invalid_notebook": "Not valid notebook JSON (imported anyway: grading will report it)",
        "not_in_roster": "Not in the roster (not imported: import the LMS's roster, then this "
                         "zip again)",
        "unknown_notebook": "Notebooks that are not this assignment's (not imported)",
        "not_a_notebook": "Files that are not notebooks (not imported)",
        "unrecognised": "Names the LMS does not write (not imported)",
        "late_without_duedate": "Late in the LMS, but the assignment has no due date in the "
                                "gradebook (nbgrader cannot see it)",
        "bad_inner_zip": "Zip files inside the download that cannot be opened",
    }

    def lines(self) -> list[str]:
        late = sum(1 for s in self.students.values() if s.late)
        out = [f"{self.lms} submissions {self.zip_path} -> submitted/<student>/{self.assignment}/: "
               f"{len(self.students)} students imported"
               + (f", {late} late" if late else "")]
        for sid in sorted(self.students):
            s = self.students[sid]
            out.append(f"  {sid}: {', '.join(sorted(s.files))}" + (" (LATE)" if s.late else "")
                       + (f", submitted {s.timestamp}" if s.timestamp else ""))
        for kind, heading in self._HEADINGS.items():
            found = self.of_kind(kind)
            if found:
                out.append(f"{heading}:")
                out += [f"  {i.student + ': ' if i.student else ''}{i.file}"
                        + (f" ({i.detail})" if i.detail else "") for i in found]
        out += [f"! {w}" for w in self.warnings]
        return out


@dataclass
class _Entry:
    name: str                # entry path (inner zips: "<outer>!<inner>")
    info: zipfile.ZipInfo
    when: datetime           # naive UTC
    read: object             # () -> bytes


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name; a UTF-8 name without the zip's UTF-8 flag (rubyzip, Windows tools)
    is decoded as UTF-8, not as the cp437 zipfile assumes."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return unicodedata.normalize("NFC", name).replace("\\", "/")


def _entry_time(info: zipfile.ZipInfo, zone: str | None) -> datetime:
    """When the entry was last modified, naive UTC: the extended-timestamp field (UTC) when
    the zip has one, else the DOS time read in ``zone`` (IANA name; default: this machine's)."""
    extra, i = info.extra, 0
    while i + 4 <= len(extra):
        kind, size = struct.unpack("<HH", extra[i:i + 4])
        body = extra[i + 4:i + 4 + size]
        if kind == 0x5455 and size >= 5 and body[0] & 1:
            stamp = struct.unpack("<I", body[1:5])[0]
            return datetime.fromtimestamp(stamp, dt_timezone.utc).replace(tzinfo=None)
        i += 4 + size
    local = datetime(*info.date_time)
    if zone:
        from zoneinfo import ZoneInfo

        aware = local.replace(tzinfo=ZoneInfo(zone))
    else:
        aware = local.astimezone()
    return aware.astimezone(dt_timezone.utc).replace(tzinfo=None)


_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError,
               NotImplementedError, struct.error)


def _open_download(zip_path: Path, lms: str) -> zipfile.ZipFile:
    """The download, checked whole (every entry's CRC) before anything is written."""
    again = {CANVAS: "Download Submissions", MOODLE: "Download all submissions"}[lms]
    try:
        zf = zipfile.ZipFile(zip_path)
        bad = zf.testzip()
    except _ZIP_ERRORS as exc:
        raise LmsError(f"{zip_path} is not a readable zip ({type(exc).__name__}: {exc}). "
                       f"Download it again from {lms.capitalize()} ({again}); nothing was "
                       f"imported.") from None
    if bad is not None:
        zf.close()
        raise LmsError(f"{zip_path} is damaged: {bad} fails its checksum. Download it again "
                       f"from {lms.capitalize()} ({again}); nothing was imported.")
    return zf


def _entries(zf: zipfile.ZipFile, zone: str | None, report: ImportReport,
             collector: LmsCollector) -> list[_Entry]:
    """Every file of the download; a zip a student uploaded counts as their files."""
    out = []
    for info in zf.infolist():
        name = _entry_name(info)
        if info.is_dir() or JUNK.search(name):
            continue
        entry = _Entry(name, info, _entry_time(info, zone), lambda i=info: zf.read(i))
        if not name.lower().endswith(".zip"):
            out.append(entry)
            continue
        upload = collector.parse(name)
        if upload is None:
            out.append(entry)
            continue
        try:   # a student's own zip: its files are that student's uploads
            inner = zipfile.ZipFile(io.BytesIO(zf.read(info)))
            if inner.testzip() is not None:
                raise zipfile.BadZipFile("a file fails its checksum")
            for sub in inner.infolist():
                sub_name = _entry_name(sub)
                if sub.is_dir() or JUNK.search(sub_name):
                    continue
                base = sub_name.rsplit("/", 1)[-1]
                # the same name as the zip itself had, with the inner file's name
                outer = name[: len(name) - len(upload.filename)] + base
                out.append(_Entry(outer, sub, _entry_time(sub, zone),
                                  lambda i=sub, z=inner: z.read(i)))
        except _ZIP_ERRORS as exc:
            report.issues.append(Issue("bad_inner_zip", name, None, f"{exc}"))
    return out


def _notebook_problem(data: bytes) -> str | None:
    try:
        nb = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "JSON, but not a notebook (no list of cells)"
    return None


def import_submissions(*, course: str | Path, assignment: str | None = None, lms: str,
                       zip_path: str | Path, timezone: str | None = None) -> ImportReport:
    """The LMS's "download all submissions" zip -> ``submitted/<student>/<assignment>/``.

    Each student's notebooks are written under their released names with nbgrader's
    ``timestamp.txt`` when a submission time is known (Moodle: the files' upload times;
    Canvas: late ones, see the module's doc). A student's folder is replaced whole by what
    the download has (it is the LMS's latest submission); students absent from the download
    are left alone. The zip is checked whole first: a damaged one raises :class:`LmsError`
    and nothing is written. Everything else (stray files, two uploads of one notebook, an
    invalid notebook, a student missing from the roster) is in the returned report.
    ``timezone`` (IANA name) reads zip times that carry no zone (default: this machine's).
    """
    course = cdir.find_course(course)
    lms = lms_name(lms)
    assignment = verbs.assignment_of(course, assignment)
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise LmsError(f"{zip_path} does not exist")
    config = cdir.load_config(course)
    cd = cdir.coursedir(config)
    released = _released(cd, assignment)
    if not released:
        raise LmsError(f"{assignment} has no released notebooks: run rnn-course release first")
    r = Roster.load(course)
    duedate = _duedate(cd.db_url, assignment)
    report = ImportReport(lms, assignment, str(zip_path))
    if lms == CANVAS and not any(s.canvas.get("id") for s in r.students.values()):
        report.warnings.append("no Canvas roster yet: run `rnn-course lms roster canvas "
                               "GRADEBOOK.csv` (Canvas: Grades > Export), then import again")
    if lms == MOODLE and not r.participants(assignment):
        report.warnings.append(f"no Moodle worksheet for {assignment} yet: run `rnn-course lms "
                               f"roster moodle WORKSHEET.csv` (the assignment's grading "
                               f"worksheet), then import again")

    collector = COLLECTORS[lms]()
    with _open_download(zip_path, lms) as zf:
        entries = _entries(zf, timezone, report, collector)
        times = {e.name: e.when for e in entries}
        collector.setup(roster=r, assignment=assignment, released=released,
                        duedate=duedate, times=times)
        chosen, uploads_of = _choose(entries, collector, report, r, lms, assignment)
        files = {key: (e, e.read()) for key, e in chosen.items()}

    for (sid, notebook), (entry, data) in sorted(files.items()):
        problem = _notebook_problem(data)
        if problem:
            report.issues.append(Issue("invalid_notebook", entry.name, sid, problem))

    # per student: the files and the timestamp nbgrader will read
    by_student: dict[str, dict] = {}
    for (sid, notebook), (entry, data) in files.items():
        by_student.setdefault(sid, {})[notebook] = (entry, data)
    plan = {}
    for sid, notebooks in sorted(by_student.items()):
        ups = uploads_of[sid]
        late = any(u.late for u in ups)
        stamps = [collector.timestamp_for(_upload_of(ups, entry))
                  for entry, _ in notebooks.values()]
        stamps = [s for s in stamps if s is not None]
        when = max(stamps) if stamps else None
        # Moodle has no flag: late is what nbgrader will find (the time after the due date)
        late = late or bool(when and duedate and when > duedate)
        if late and when is None:
            report.issues.append(Issue("late_without_duedate", ", ".join(sorted(notebooks)), sid,
                                       f"set it with `nbgrader db assignment add {assignment} "
                                       f"--duedate=...` and import again"))
        report.students[sid] = StudentImport(
            {nb: notebooks[nb][0].name for nb in sorted(notebooks)}, late,
            when.strftime(TIMESTAMP_FORMAT) if when else None)
        plan[sid] = notebooks

    _write_submissions(course, cd, assignment, plan, report)

    # what the feedback zips and exports need from this download
    recorded = r.uploads(assignment, lms)
    for sid, notebooks in plan.items():
        ups = uploads_of[sid]
        first = ups[0]
        recorded[sid] = {
            "lms_key": first.lms_key, "name": first.name, "prefix": first.prefix,
            "late": report.students[sid].late,
            "files": {os.path.splitext(nb)[0]: {
                "entry": entry.name, "attachment_id": _upload_of(ups, entry).attachment_id}
                for nb, (entry, _) in sorted(notebooks.items())},
            "attachment_ids": sorted({u.attachment_id for u in ups if u.attachment_id}, key=int),
        }
    r.save()
    _ensure_students(cd.db_url, r, plan)
    return report


def _upload_of(uploads: list[Upload], entry: _Entry) -> Upload:
    return next(u for u in uploads if u.entry == entry.name)


def _choose(entries: list[_Entry], collector: LmsCollector, report: ImportReport, r: Roster,
            lms: str, assignment: str):
    """The file kept per (student, notebook), and each student's parsed uploads."""
    candidates: dict[tuple[str, str], list[tuple[_Entry, Upload]]] = {}
    uploads_of: dict[str, list[Upload]] = {}
    for e in sorted(entries, key=lambda e: e.name):
        upload, sid, notebook = collector.identify(e.name)
        if upload is None:
            report.issues.append(Issue("unrecognised", e.name, None,
                                       f"not a name {lms.capitalize()}'s download writes"))
            continue
        if sid is None and upload.anonymous_id:
            sid = _anonymous_student(r, upload.anonymous_id)
        if sid is None:
            who = upload.name or upload.lms_key
            report.issues.append(Issue(
                "not_in_roster", e.name, None,
                f"{lms.capitalize()} {'participant' if lms == MOODLE else 'user'} "
                f"{upload.lms_key} ({who})"))
            continue
        uploads_of.setdefault(sid, []).append(upload)
        if not upload.filename.lower().endswith(".ipynb"):
            report.issues.append(Issue("not_a_notebook", e.name, sid, ""))
            continue
        if notebook is None:
            report.issues.append(Issue("unknown_notebook", e.name, sid,
                                       f"{upload.filename} is none of "
                                       f"{', '.join(collector._released)}"))
            continue
        candidates.setdefault((sid, notebook), []).append((e, upload))

    chosen = {}
    for key, found in candidates.items():
        def newness(pair):
            e, u = pair
            return (e.when, int(u.attachment_id or 0), copy_number(u.filename), e.name)
        found.sort(key=newness)
        kept, upload = found[-1]
        chosen[key] = kept
        if len(found) > 1:
            older = [e for e, _ in found[:-1]]
            same_time = all(e.when == kept.when for e in older)
            if not same_time:
                why = f"newer in the zip: {kept.when:%Y-%m-%d %H:%M:%S} UTC"
            elif upload.attachment_id:
                why = f"same time in the zip; uploaded last (attachment {upload.attachment_id})"
            else:
                why = "same time in the zip; the later copy by its name"
            report.issues.append(Issue(
                "duplicate", kept.name, key[0],
                f"{len(found)} files for {key[1]}: kept this one ({why}); ignored "
                + ", ".join(e.name for e in older)))
    return chosen, uploads_of


def _anonymous_student(r: Roster, anonymous_id: str) -> str:
    """Anonymous grading: the student is ``anon_<id>`` (lower case, made unique)."""
    sid = unique_id(slug(f"anon_{anonymous_id}"), set(r.students))
    r.students[sid] = LmsStudent(sid, canvas={"anonymous_id": anonymous_id})
    return sid


def _write_submissions(course: Path, cd, assignment: str, plan: dict, report: ImportReport):
    """All students' folders made in a staging folder, then each moved into place."""
    staging_root = Store.of(course, assignment).root
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lms-import-", dir=staging_root))
    try:
        for sid, notebooks in plan.items():
            folder = staging / "new" / sid
            folder.mkdir(parents=True)
            for nb, (entry, data) in notebooks.items():
                (folder / nb).write_bytes(data)
                os.utime(folder / nb, (entry.when.replace(tzinfo=dt_timezone.utc).timestamp(),) * 2)
            stamp = report.students[sid].timestamp
            if stamp:
                (folder / "timestamp.txt").write_text(stamp + "\n", encoding="utf-8")
        for sid in plan:
            dest = Path(cd.format_path(cd.submitted_directory, sid, assignment))
            dest.parent.mkdir(parents=True, exist_ok=True)
            old = staging / "old" / sid
            if dest.exists():
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dest, old)
            try:
                os.replace(staging / "new" / sid, dest)
            except OSError:
                if old.exists():
                    os.replace(old, dest)
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _ensure_students(db_url: str, r: Roster, plan: dict) -> None:
    """Students of an anonymous download exist in the gradebook like any other."""
    with open_gradebook(db_url) as gb:
        known = {s.id for s in gb.students}
        for sid in plan:
            if sid not in known:
                s = r.students.get(sid)
                gb.update_or_create_student(
                    sid, **({"first_name": s.first_name or None, "last_name": s.last_name or None,
                             "email": s.email or None} if s else {}))
