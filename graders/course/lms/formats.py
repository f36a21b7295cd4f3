"""The LMS's files: Canvas's and Moodle's naming rules, and their roster CSVs read.

Each rule follows the LMS's own code (named in the docstrings), so a name made here is the
name the LMS makes, and a name the LMS makes is read back here.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .. import verbs
from ...grading.names import copy_number, released_name  # noqa: F401 - the one rule

CANVAS, MOODLE = "canvas", "moodle"
LMSES = (CANVAS, MOODLE)
ROSTER_FILE = Path("lms") / "roster.json"
#: nbgrader's own timestamp format (``Exchange.timestamp_format`` with the UTC zone).
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"
#: Files an unzip tool or an OS adds, never a student: ignored without a word.
JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$|\._)")


class LmsError(verbs.VerbError):
    """The LMS file cannot be used as given; nothing was written. The message says why."""


def lms_name(lms: str) -> str:
    """``canvas`` or ``moodle`` (any case), or LmsError."""
    name = str(lms).strip().lower()
    if name not in LMSES:
        raise LmsError(f"unknown LMS {lms!r}: choose {' or '.join(LMSES)}")
    return name


def canvas_name_part(sortable_name: str) -> str:
    """The name part of Canvas's download names: ``sanitize_user_name`` (``_12_`` becomes
    ``12``, lower case); ``sanitize_file_name`` then drops non-word characters (accents
    stay: Ruby's ``[[:word:]]`` is Unicode)."""
    return re.sub(r"_(\d+)_", r"\1", sortable_name).lower()


def canvas_prefix(*, sortable_name: str = "", user_id: str | int | None = None,
                  late: bool = False, anonymous_id: str | None = None) -> str:
    """``<name>[_LATE]_<user id>``, or ``[LATE_]anon_<anonymous id>`` under anonymous grading
    (``ContentZipper#get_filename``), before ``_<attachment id>_<file name>``."""
    parts = [] if anonymous_id else [canvas_name_part(sortable_name)]
    if late:
        parts.append("LATE")
    parts.append(f"anon_{anonymous_id}" if anonymous_id else str(user_id))
    return re.sub(r"[^\w]", "", "_".join(p for p in parts if p))


def canvas_attachment_name(display_name: str) -> str:
    """``sanitize_attachment_filename``: path and shell characters become ``_``."""
    return re.sub(r'[\x00/\\:*?"<>|]+', "_", display_name)


def moodle_clean(name: str) -> str:
    """Moodle's ``clean_filename`` (``PARAM_FILE``): control characters and
    ``& < > " ` | ' : \\ /`` removed (so ``O'Brien`` becomes ``OBrien``)."""
    return re.sub(r"[\x00-\x1f\x7f&<>\"`|':\\/]", "", name)


def moodle_prefix(full_name: str, participant_id: str | int) -> str:
    """``<Full name>_<participant id>`` as the download writes it (underscores in the name
    become spaces, so the participant id is always the second ``_`` field)."""
    return moodle_clean(f"{full_name.replace('_', ' ')}_{participant_id}")


def moodle_folder(full_name: str, participant_id: str | int) -> str:
    """The folder of a student's files in Moodle 4.x's download (and feedback zip)."""
    return moodle_clean(f"{moodle_prefix(full_name, participant_id)}_assignsubmission_file")


_APOSTROPHES = re.compile(r"['’ʼ`´]")
_TRANSLIT = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "ł": "l",
                           "Ł": "l", "đ": "d", "Đ": "d", "œ": "oe", "Œ": "oe", "þ": "th",
                           "ð": "d", "ı": "i"})


def slug(text: str) -> str:
    """ASCII, lower case, ``[a-z0-9_]``: ``Siobhán O'Brien`` -> ``siobhan_obrien``."""
    text = unicodedata.normalize("NFKD", str(text).translate(_TRANSLIT))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _APOSTROPHES.sub("", text)
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


# -- the roster files ------------------------------------------------------------------------
@dataclass
class CanvasColumn:
    """An assignment column of Canvas's gradebook: ``<title> (<id>)``."""

    title: str
    id: str
    points_possible: float | None = None

    @property
    def header(self) -> str:
        return f"{self.title} ({self.id})" if self.id else self.title


@dataclass
class RosterRow:
    """One student row of an LMS roster file, as read."""

    key: str                 # the LMS's id in this file: Canvas id / Moodle participant id
    first_name: str
    last_name: str
    email: str = ""
    canvas: dict = field(default_factory=dict)
    moodle: dict = field(default_factory=dict)


def read_csv(path: Path) -> tuple[list[list[str]], dict]:
    """Rows of a CSV file the way an LMS writes it (UTF-8, maybe a BOM, ``,`` or ``;``)."""
    raw = Path(path).read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return rows, {"bom": bom, "delimiter": delimiter,
                  "newline": "\r\n" if "\r\n" in text else "\n"}


def _split_sortable(name: str) -> tuple[str, str]:
    """``"O'Brien, Siobhán"`` -> (first, last)."""
    if "," in name:
        last, first = name.split(",", 1)
        return first.strip(), last.strip()
    return "", name.strip()


def _split_full(name: str) -> tuple[str, str]:
    """``"Siobhán O'Brien"`` -> (first, last): the first word is the first name."""
    parts = name.strip().split(None, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else ("", name.strip())


_COLUMN = re.compile(r"^(?P<title>.*\S)\s*\((?P<id>\d+)\)\s*$")


def read_canvas_gradebook(path: Path) -> tuple[list[RosterRow], list[CanvasColumn], list[str]]:
    """Canvas's gradebook export: student rows, assignment columns (with their points), and
    the rows left out (the Points Possible row, the test student)."""
    rows, _ = read_csv(path)
    if not rows:
        raise LmsError(f"{path} is empty: export the gradebook from Canvas (Grades > Export)")
    header = [h.strip() for h in rows[0]]
    if "Student" not in header or "ID" not in header:
        raise LmsError(f"{path} is not a Canvas gradebook export: it has no Student and ID "
                       f"columns (its columns: {', '.join(header[:8])})")
    col = {h: i for i, h in enumerate(header)}
    columns = [CanvasColumn(m["title"], m["id"]) for h in header if (m := _COLUMN.match(h))]
    out, skipped = [], []

    def cell(row, name):
        i = col.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    for row in rows[1:]:
        student = cell(row, "Student")
        if re.fullmatch(r"Points Possible", student):
            for c in columns:
                try:
                    c.points_possible = float(cell(row, c.header).replace(",", "."))
                except ValueError:
                    pass
            skipped.append("the Points Possible row")
            continue
        uid = cell(row, "ID")
        if not uid:      # "Manual Posting" and other rows describing columns, blank lines
            continue
        if student == "Student, Test" and not cell(row, "SIS User ID") \
                and not cell(row, "SIS Login ID"):
            skipped.append(f"Canvas's test student (ID {uid})")
            continue
        first, last = _split_sortable(student)
        login = cell(row, "SIS Login ID")
        out.append(RosterRow(
            key=uid, first_name=first, last_name=last,
            email=login if "@" in login else "",
            canvas={"id": uid, "sis_user_id": cell(row, "SIS User ID"), "sis_login_id": login,
                    "section": cell(row, "Section"), "sortable_name": student}))
    return out, columns, skipped


def read_moodle_worksheet(path: Path) -> tuple[list[RosterRow], list[str]]:
    """Moodle's grading worksheet: one row per participant of the assignment."""
    rows, _ = read_csv(path)
    if not rows:
        raise LmsError(f"{path} is empty: download the grading worksheet from the Moodle "
                       f"assignment (View all submissions > Download grading worksheet)")
    header = [h.strip() for h in rows[0]]
    if "Identifier" not in header:
        raise LmsError(f"{path} is not a Moodle grading worksheet: it has no Identifier "
                       f"column (its columns: {', '.join(header[:8])}). Download it in English "
                       f"from the assignment's grading page.")
    col = {h: i for i, h in enumerate(header)}
    out, skipped = [], []

    def cell(row, name):
        i = col.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    for row in rows[1:]:
        ident = cell(row, "Identifier")
        m = re.search(r"(\d+)\s*$", ident)
        if not m:
            if any(c.strip() for c in row):
                skipped.append(f"a row without a participant number ({ident or 'empty'})")
            continue
        full = cell(row, "Full name")
        first, last = _split_full(full) if full else ("", "")
        out.append(RosterRow(key=m.group(1), first_name=first, last_name=last,
                             email=cell(row, "Email address"), moodle={"full_name": full}))
    return out, skipped
