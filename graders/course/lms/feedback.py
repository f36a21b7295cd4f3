"""``feedback_zip``: the feedback pages in the zip each LMS attaches to the right student."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ...grading import coursedir as cdir
from ...grading.records import write_atomically
from .. import verbs
from .formats import CANVAS, MOODLE, LmsError, canvas_attachment_name, lms_name, moodle_folder
from .roster import Roster


@dataclass
class FeedbackReport:
    lms: str
    assignment: str
    path: str
    #: student id -> zip entries written for them.
    entries: dict = field(default_factory=dict)
    #: (student id, why) of students with feedback that could not be put in the zip.
    missing: list = field(default_factory=list)

    def lines(self) -> list[str]:
        how = {CANVAS: "Canvas: Assignment > Re-Upload Submissions",
               MOODLE: "Moodle: View all submissions > Upload multiple feedback files in a zip"}
        n = sum(len(v) for v in self.entries.values())
        out = [f"{self.lms} feedback for {self.assignment} -> {self.path}: {n} files for "
               f"{len(self.entries)} students ({how[self.lms]})"]
        if self.missing:
            out.append("Not in the zip:")
            out += [f"  {sid}: {why}" for sid, why in self.missing]
        return out


def feedback_zip(*, course: str | Path, assignment: str | None = None, lms: str,
                 to: str | Path) -> FeedbackReport:
    """Every student's feedback pages (``feedback/<student>/<assignment>/*.html``, from
    ``rnn-course feedback``) in the zip the LMS attaches to the right student.

    ``canvas``: entries named like Canvas's own download, ``<name>[_LATE]_<user id>_<attachment
    id>_<page>`` with the ids of the student's uploaded notebook (Re-Upload Submissions finds
    the student and the submission from them). ``moodle``: ``<Full name>_<participant
    id>_assignsubmission_file/<page>`` (upload multiple feedback files in a zip).
    """
    course = cdir.find_course(course)
    lms = lms_name(lms)
    assignment = verbs.assignment_of(course, assignment)
    to = Path(to)
    cd = cdir.coursedir(cdir.load_config(course))
    r = Roster.load(course)
    report = FeedbackReport(lms, assignment, str(to))
    root = Path(cd.root) / cd.feedback_directory
    pages = {}
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            found = sorted((folder / assignment).glob("*.html")) if folder.is_dir() else []
            if found:
                pages[folder.name] = found
    if not pages:
        raise LmsError(f"no feedback pages under {root}: run rnn-course feedback first")
    uploads = r.uploads(assignment, lms)
    participants = {v["student"]: (pid, v.get("full_name", ""))
                    for pid, v in r.participants(assignment).items()}
    entries: list[tuple[str, Path]] = []
    for sid, found in pages.items():
        up = uploads.get(sid)
        if lms == CANVAS:
            if not up or not up.get("attachment_ids"):
                report.missing.append((sid, "no Canvas upload of theirs was imported: "
                                            "Re-Upload needs the ids of one"))
                continue
            names = [f"{up['prefix']}_{_attachment_for(up, page.stem)}_"
                     f"{canvas_attachment_name(page.name)}" for page in found]
        else:
            if up:
                folder = f"{up['prefix']}_assignsubmission_file"
            elif sid in participants and participants[sid][1]:
                folder = moodle_folder(participants[sid][1], participants[sid][0])
            else:
                report.missing.append((sid, f"not a participant of {assignment} in the Moodle "
                                            f"worksheet"))
                continue
            names = [f"{folder}/{page.name}" for page in found]
        report.entries[sid] = names
        entries += list(zip(names, found))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, page in entries:
            info = zipfile.ZipInfo(name, date_time=_zip_date(page))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, page.read_bytes())
    write_atomically(to, buf.getvalue())
    return report


def _attachment_for(upload: dict, notebook: str) -> str:
    """The attachment id of the student's upload of ``notebook`` (any of theirs if none)."""
    found = upload.get("files", {}).get(notebook, {}).get("attachment_id")
    return found or upload["attachment_ids"][-1]


def _zip_date(path: Path) -> tuple:
    stamp = max(path.stat().st_mtime, 315532800)   # zip times start in 1980
    return datetime.fromtimestamp(stamp).timetuple()[:6]
