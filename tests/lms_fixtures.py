"""What Canvas and Moodle hand an instructor, built the way they build it, for tests/test_lms.py.

Each builder follows the LMS's own code, written out again here on purpose (the tests then
check :mod:`graders.course.lms` against an independent copy of the rules, not against itself):

* Canvas's gradebook export (Grades > Export) and its "Download Submissions" zip
  (``lib/content_zipper.rb``: ``<sortable name>[_LATE]_<user id>_<attachment id>_<file>``,
  ``[LATE_]anon_<id>_...`` under anonymous grading; rubyzip sets no UTF-8 flag on names);
* Moodle's grading worksheet and its "Download all submissions" zip
  (``mod/assign/classes/downloader.php``: a folder ``<Full name>_<participant id>_
  assignsubmission_file/`` per student, Moodle 3.x's ``..._file_/``, or flat file names;
  ``clean_filename`` drops apostrophes);
* the re-upload parsers: Canvas's ``infer_comment_context_from_filename`` and Moodle's
  ``is_valid_filename_for_import``, to check that our feedback zips name the right student.
"""
from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    canvas_id: int
    sis_user_id: str
    sis_login_id: str
    section: str
    #: Moodle's participant id in this assignment ("Participant 5501").
    participant: int

    @property
    def sortable(self) -> str:
        return f"{self.last}, {self.first}"

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


#: A class with accents, apostrophes, spaces in names, and two logins that fold to one id.
SIOBHAN = Person("Siobhán", "O'Brien", "siobhan.obrien@uni.example", 10001, "S-2001",
                 "siobhan.obrien@uni.example", "Section A", 5501)
JURGEN = Person("Jürgen", "Müller-Lüdenscheidt", "jmueller@uni.example", 10002, "S-2002",
                "jmueller", "Section A", 5502)
ANNE = Person("Anne Marie", "D'Arcy", "annemarie.darcy@uni.example", 10003, "S-2003",
              "annemarie.darcy", "Section B", 5503)
ZOE = Person("Zoë", "van der Berg", "zoe.vdberg@uni.example", 10004, "S-2004", "zoe.vdberg",
             "Section B", 5504)
JO = Person("Jo", "Smith", "jsmith@uni.example", 10005, "S-2005", "jsmith", "Section A", 5505)
JON = Person("Jon", "Smith", "jsmith@partner.example", 10006, "P-77",
             "jsmith@partner.example", "Section B", 5506)
CLASS = [SIOBHAN, JURGEN, ANNE, ZOE, JO, JON]

CANVAS_TITLE, CANVAS_ASSIGNMENT_ID = "RNN Architecture", 4242
WHEN = datetime(2026, 11, 20, 9, 30, 0)           # uploads, UTC
LATER = datetime(2026, 11, 21, 18, 5, 0)


def notebook(tag: str) -> bytes:
    """A small valid notebook whose first cell says which upload it is."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# upload: {tag}")])
    return nbformat.writes(nb).encode("utf-8")


def tag_of(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    return nb.cells[0].source.removeprefix("# upload: ")


# -- Canvas -----------------------------------------------------------------------------------
def canvas_gradebook(path: Path, people=CLASS, *, points_possible: float = 20.0,
                     test_student: bool = True, manual_posting: bool = True) -> Path:
    """Grades > Export: identity columns, two assignments, Canvas's score columns, the
    "Manual Posting" and "Points Possible" rows, the test student; UTF-8 with a BOM."""
    scores = ["Current Score", "Unposted Current Score", "Final Score", "Unposted Final Score"]
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
              "Week 1 quiz (4100)", f"{CANVAS_TITLE} ({CANVAS_ASSIGNMENT_ID})", *scores]
    rows = [header]
    if manual_posting:
        rows.append(["", "", "", "", "", "", "Manual Posting", *[""] * 4])
    rows.append(["    Points Possible", "", "", "", "", "10.00", f"{points_possible:.2f}",
                 *["(read only)"] * 4])
    for p in people:
        rows.append([p.sortable, str(p.canvas_id), p.sis_user_id, p.sis_login_id, p.section,
                     "8.00", "", "80.00", "80.00", "80.00", "80.00"])
    if test_student:
        rows.append(["Student, Test", "99999", "", "", "Section A", "", "", "", "", "", ""])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    return path


def canvas_name(person: Person | None, attachment_id: int, filename: str, *,
                late: bool = False, anonymous_id: str | None = None) -> str:
    """ContentZipper#get_filename + the attachment: Canvas's name of one file."""
    users_name = None
    if anonymous_id is None:
        users_name = re.sub(r"_(\d+)_", r"\1", person.sortable).lower()
    uid = f"anon_{anonymous_id}" if anonymous_id else str(person.canvas_id)
    base = "_".join(x for x in [users_name, "LATE" if late else None, uid] if x)
    base = re.sub(r"[^\w]", "", base)           # [^[[:word:]]]: accents stay
    display = re.sub(r'[\x00/\\:*?"<>|]+', "_", filename)
    return f"{base}_{attachment_id}_{display}"


class _RubyZipInfo(zipfile.ZipInfo):
    """A zip entry named like rubyzip names it: UTF-8 bytes without the UTF-8 flag."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("utf-8"), self.flag_bits & ~0x800


def _dos(when: datetime) -> tuple:
    return when.timetuple()[:6]


def canvas_zip(path: Path, files: list[tuple[str, bytes, datetime]]) -> Path:
    """The download: every file at the top level, names without the UTF-8 flag."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in files:
            info = _RubyZipInfo(name, date_time=_dos(when))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def canvas_reupload_ids(entry: str) -> list[str]:
    """Canvas's Re-Upload Submissions: the first two all-digit ``_`` fields of the name are
    the user id and the attachment id (``infer_comment_context_from_filename``)."""
    return [part for part in entry.rsplit("/", 1)[-1].split("_") if re.fullmatch(r"\d+", part)][:2]


# -- Moodle -----------------------------------------------------------------------------------
WORKSHEET_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade",
                    "Maximum Grade", "Grade can be changed", "Last modified (submission)",
                    "Last modified (grade)", "Feedback comments"]


def moodle_date(when: datetime | None) -> str:
    return when.strftime("%A, %d %B %Y, %I:%M %p") if when else "-"


def moodle_worksheet(path: Path, people=CLASS, *, max_grade: float = 100.0,
                     submitted: dict | None = None, comments: dict | None = None,
                     feedback_column: bool = True) -> Path:
    """View all submissions > Download grading worksheet (one row per participant)."""
    submitted = submitted if submitted is not None else {p.participant: WHEN for p in people}
    comments = comments or {}
    header = WORKSHEET_HEADER if feedback_column else WORKSHEET_HEADER[:-1]
    rows = [header]
    for p in people:
        when = submitted.get(p.participant)
        row = [f"Participant {p.participant}", p.full, p.email,
               "Submitted for grading" if when else "No submission", "",
               f"{max_grade:.2f}", "Yes", moodle_date(when), "-",
               comments.get(p.participant, "")]
        rows.append(row if feedback_column else row[:-1])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    return path


def moodle_clean(name: str) -> str:
    """clean_filename (PARAM_FILE)."""
    return re.sub(r"[\x00-\x1f\x7f&<>\"`|':\\/]", "", name)


def moodle_entry(person: Person, filename: str, layout: str = "folders",
                 plugin: str = "file") -> str:
    prefix = moodle_clean(f"{person.full.replace('_', ' ')}_{person.participant}")
    if layout == "folders":
        return f"{moodle_clean(f'{prefix}_assignsubmission_{plugin}')}/{filename}"
    if layout == "old":
        return f"{prefix}_assignsubmission_{plugin}_/{filename}"
    return moodle_clean(f"{prefix}_assignsubmission_{plugin}_{filename}")


def _utc_extra(when: datetime) -> bytes:
    """The extended-timestamp extra field (0x5455): modification time in UTC."""
    stamp = int(when.replace(tzinfo=timezone.utc).timestamp())
    return struct.pack("<HHBI", 0x5455, 5, 1, stamp)


def moodle_zip(path: Path, files: list[tuple[str, bytes, datetime]], *,
               utc_field: bool = False) -> Path:
    """The download; times are DOS times in the server's zone (UTC here), plus the UTC
    field when ``utc_field`` (then the DOS time is written an hour off, to tell them apart)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in files:
            dos = when.replace(hour=(when.hour + 1) % 24) if utc_field else when
            info = zipfile.ZipInfo(name, date_time=_dos(dos))
            info.compress_type = zipfile.ZIP_DEFLATED
            if utc_field:
                info.extra = _utc_extra(when)
            zf.writestr(info, data)
    return path


def moodle_feedback_target(entry: str) -> tuple[str, str, str, str] | None:
    """Moodle's is_valid_filename_for_import: (participant id, plugin type, plugin name,
    file name) of a feedback zip entry, or None if Moodle would skip it."""
    parts = entry.split("/")
    while parts:
        info = parts.pop(0).split("_", 4)
        if len(info) < 4 or not info[1].isdigit():
            continue
        rest = info[4] if len(info) == 5 else ""
        return info[1], info[2], info[3], "/".join([rest, *parts]).lstrip("/")
    return None


# -- damaged downloads ------------------------------------------------------------------------
def damaged(source: Path, dest: Path) -> Path:
    """A copy of a zip with bytes flipped inside its first file's data (fails its CRC)."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as zf:
        first = zf.infolist()[0]
    start = first.header_offset + 30 + len(first.filename.encode("utf-8")) + len(first.extra)
    for k in range(start + 5, min(start + 25, start + first.compress_size - 1)):
        data[k] ^= 0x5A
    dest.write_bytes(bytes(data))
    return dest


def truncated(source: Path, dest: Path) -> Path:
    """The first half of a zip (a download that broke off)."""
    data = source.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest
