"""Course delivery through an LMS: the roster and the submissions in, grades and feedback out,
each in Canvas's or Moodle's own file formats.

Four verbs, keyword-only functions like :mod:`graders.course.verbs` (``rnn-course lms ...``
runs them, :func:`main`)::

    roster(course=, lms=, path=, assignment=)            the LMS's roster file -> nbgrader students
    import_submissions(course=, assignment=, lms=, zip_path=)
                                                          "download all submissions" -> submitted/
    export_grades(course=, assignment=, lms=, to=, ...)   the gradebook -> the LMS's grade file
    feedback_zip(course=, assignment=, lms=, to=)         feedback/ -> the LMS's feedback upload

Each returns a report (a dataclass) whose ``lines()`` is what the command prints; a file the
LMS wrote that cannot be used at all (not a zip, not a gradebook export) raises
:class:`LmsError` with what to do, before anything is written.

**Student ids.** nbgrader's id of a student stays the same across assignments and LMS
imports: the SIS login (the local part of an e-mail address), else the SIS user id, else
``canvas_<Canvas id>`` (Canvas); the e-mail's local part, else the full name (Moodle); folded
to ASCII, lower case, ``[a-z0-9_]`` (``Siobhán O'Brien`` -> ``siobhan_obrien``). Taken ids get
``_2``, ``_3``... A re-import finds each person again (Canvas id, SIS ids, e-mail) and updates
them: it never creates a second id for the same person.

**What is kept where** (``lms/`` in the course folder, written atomically):

* ``lms/roster.json`` — every student's LMS identities (Canvas id, SIS ids, section, sortable
  name; Moodle full name, e-mail), the Canvas gradebook's assignment columns, and per
  assignment: Moodle's participant ids (they are per assignment: "Participant 5501" in one
  assignment is someone else in the next) and what each import found (the download-name
  prefix and attachment ids that the feedback zips must repeat, the late flags);
* ``lms/moodle/<assignment>/worksheet.csv`` — the grading worksheet as downloaded, which
  :func:`export_grades` fills in and Moodle takes back.

**An import refuses nothing a student did.** Files that are not notebooks, notebooks of
another name and students missing from the roster are listed and not imported; a notebook
that is not valid JSON is imported (under its released name) and listed, so grading reports it
as that student's failure with its reason; of two uploads of one notebook the newer is kept
(zip times, then Canvas's attachment ids) and both are named in the report. Only a damaged
zip is refused, before anything is written.

**Late submissions.** Moodle's download keeps each file's upload time as the zip entry's
time: it becomes nbgrader's ``timestamp.txt`` (the newest kept file), and nbgrader decides
lateness against the assignment's ``duedate`` as always. Canvas's download carries no time,
only a ``LATE`` marker in the file name: a late submission gets ``timestamp.txt`` = the
gradebook's due date + 1 s, so nbgrader records it late (``total_seconds_late`` = 1) and its
late-submission plugin (``LateSubmissionPlugin.penalty_method``) applies; penalties that grow
with the delay belong in Canvas's own late policy. Without a due date in the gradebook the
flag cannot reach nbgrader: the import report says so.

Sources of the formats: Canvas ``lib/content_zipper.rb`` (download names),
``lib/gradebook_importer.rb`` (grade CSV), ``Assignment#infer_comment_context_from_filename``
(re-upload: the first two all-digit ``_`` fields are user and attachment id); Moodle
``mod/assign/classes/downloader.php`` (download names, ``clean_filename``),
``mod/assign/feedback/offline/importgradeslib.php`` (worksheet: ``Identifier``, ``Grade``,
``Last modified (grade)``, feedback columns by name) and
``mod/assign/feedback/file/importziplib.php`` (feedback files zip).

The package, one module per verb: :mod:`.formats` (the LMSes' naming rules and roster CSVs),
:mod:`.roster`, :mod:`.submissions` (nbgrader's collector plugins, the import),
:mod:`.grades`, :mod:`.feedback`, :mod:`.cli`.
"""
from .cli import configure_parser, main, run
from .feedback import FeedbackReport, feedback_zip
from .formats import (CANVAS, LMSES, MOODLE, ROSTER_FILE, TIMESTAMP_FORMAT, LmsError,
                      canvas_attachment_name, canvas_prefix, moodle_folder, moodle_prefix,
                      read_canvas_gradebook, read_moodle_worksheet, released_name, slug)
from .grades import ExportReport, Grade, class_grades, export_grades
from .roster import LmsStudent, Roster, RosterReport, roster
from .submissions import (CanvasCollector, ImportReport, Issue, LmsCollector, MoodleCollector,
                          StudentImport, import_submissions)

__all__ = [
    "roster", "import_submissions", "export_grades", "feedback_zip", "class_grades",
    "configure_parser", "run", "main",
    "RosterReport", "ImportReport", "Issue", "StudentImport", "ExportReport", "Grade",
    "FeedbackReport", "Roster", "LmsStudent", "LmsError",
    "LmsCollector", "CanvasCollector", "MoodleCollector",
    "CANVAS", "MOODLE", "LMSES", "ROSTER_FILE", "TIMESTAMP_FORMAT",
    "canvas_prefix", "canvas_attachment_name", "moodle_prefix", "moodle_folder", "slug",
    "released_name", "read_canvas_gradebook", "read_moodle_worksheet",
]
