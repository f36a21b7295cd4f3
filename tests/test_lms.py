"""Course delivery through Canvas and Moodle (graders/course/lms.py): roster and submissions
in, grades and feedback out, in each LMS's own files.

The LMS files are built by tests/lms_fixtures.py the way Canvas and Moodle build them. The
fast tests run on a course released once by nbgrader (no kernel runs): scores are put in the
gradebook directly and autograded notebooks are made by hand. The slow test takes the shipped
sample class through roster -> import -> grade -> feedback -> export for both LMSes.
"""
import csv
import io
import shutil
import warnings
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

import lms_fixtures as fx
from conftest import run_nbgrader
from graders.course import lms, verbs
from graders.course import report as rep
from graders.grading import coursedir as cdir
from graders.grading.gradebook import open_gradebook
from graders.grading.records import Record, Store
from graders.instructions import INSTRUCTIONS, for_notebook
from graders.kernel.hints import HINTS
from graders.kernel.result import RESULT_MIMETYPE, CheckResult
from helpers import ASSIGNMENT, RELEASE, REPO, SAMPLES_DIR

NB_E, NB_V = "exploding_gradients.ipynb", "vanishing_gradients.ipynb"
DUE = datetime(2026, 11, 21, 12, 0, 0)
SAMPLES = SAMPLES_DIR

IDS = {fx.SIOBHAN: "siobhan_obrien", fx.JURGEN: "jmueller", fx.ANNE: "annemarie_darcy",
       fx.ZOE: "zoe_vdberg", fx.JO: "jsmith", fx.JON: "jsmith_2"}


# -- the course ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def released_template(tmp_path_factory) -> Path:
    """The course released once by nbgrader for the module (what ``released_course`` makes)."""
    root = tmp_path_factory.mktemp("lms") / "course"
    root.mkdir()
    shutil.copytree(REPO / "source", root / "source")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    result = run_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture
def lms_course(released_template, tmp_path) -> Path:
    """A fresh copy of the released course."""
    dest = tmp_path / "course"
    shutil.copytree(released_template, dest)
    return dest


def db_url(course: Path) -> str:
    return cdir.db_url(cdir.load_config(course))


def students(course: Path) -> dict:
    with open_gradebook(db_url(course)) as gb:
        return {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}


def set_duedate(course: Path, when: datetime) -> None:
    with open_gradebook(db_url(course)) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=when)


def submitted(course: Path, sid: str) -> Path:
    return course / "submitted" / sid / ASSIGNMENT


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


# -- roster -------------------------------------------------------------------------------------
def test_canvas_roster_makes_one_student_per_row_with_stable_ids(lms_course, tmp_path):
    """Does a Canvas gradebook export make nbgrader students with ids from the SIS logins,
    accents and apostrophes in their names, their Canvas id, and two logins that fold to the
    same id kept apart?"""
    report = lms.roster(course=lms_course, lms="canvas",
                        path=fx.canvas_gradebook(tmp_path / "g.csv"))

    assert report.ids == {str(p.canvas_id): IDS[p] for p in fx.CLASS}
    assert report.created == [IDS[p] for p in fx.CLASS]
    assert report.skipped == ["the Points Possible row", "Canvas's test student (ID 99999)"]
    assert students(lms_course) == {
        "siobhan_obrien": ("Siobhán", "O'Brien", "siobhan.obrien@uni.example", "10001"),
        "jmueller": ("Jürgen", "Müller-Lüdenscheidt", None, "10002"),
        "annemarie_darcy": ("Anne Marie", "D'Arcy", None, "10003"),
        "zoe_vdberg": ("Zoë", "van der Berg", None, "10004"),
        "jsmith": ("Jo", "Smith", None, "10005"),
        "jsmith_2": ("Jon", "Smith", "jsmith@partner.example", "10006"),
    }
    saved = lms.Roster.load(lms_course)
    assert saved.students["siobhan_obrien"].canvas == {
        "id": "10001", "sis_user_id": "S-2001", "sis_login_id": "siobhan.obrien@uni.example",
        "section": "Section A", "sortable_name": "O'Brien, Siobhán"}
    assert saved.canvas["columns"] == [
        {"title": "Week 1 quiz", "id": "4100", "points_possible": 10.0},
        {"title": "RNN Architecture", "id": "4242", "points_possible": 20.0}]
    assert saved.canvas["order"] == [IDS[p] for p in fx.CLASS]


def test_reimported_roster_updates_and_never_duplicates(lms_course, tmp_path):
    """Imported again with a changed name, a changed SIS login and the rows in another order,
    does every student keep their id, with no second student made?"""
    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "a.csv"))
    renamed = fx.Person("Siobhán", "O'Brien-Walsh", *[getattr(fx.SIOBHAN, f) for f in (
        "email", "canvas_id", "sis_user_id", "sis_login_id", "section", "participant")])
    new_login = fx.Person(*[getattr(fx.JURGEN, f) for f in (
        "first", "last", "email", "canvas_id", "sis_user_id")], "jmueller2", "Section C", 5502)
    people = [fx.JON, fx.JO, fx.ZOE, fx.ANNE, new_login, renamed]
    report = lms.roster(course=lms_course, lms="canvas",
                        path=fx.canvas_gradebook(tmp_path / "b.csv", people))

    assert report.ids == {str(p.canvas_id): IDS[p] for p in fx.CLASS}
    assert report.created == []
    assert sorted(report.updated) == ["jmueller", "siobhan_obrien"]
    assert sorted(report.unchanged) == ["annemarie_darcy", "jsmith", "jsmith_2", "zoe_vdberg"]
    assert sorted(students(lms_course)) == sorted(IDS.values())
    assert students(lms_course)["siobhan_obrien"][:2] == ("Siobhán", "O'Brien-Walsh")
    saved = lms.Roster.load(lms_course)
    assert saved.students["jmueller"].canvas["sis_login_id"] == "jmueller2"
    assert saved.students["jmueller"].canvas["section"] == "Section C"


def test_moodle_worksheet_maps_participants_of_this_assignment(lms_course, tmp_path):
    """Does the Moodle worksheet map each "Participant N" of the assignment to a student,
    keep the worksheet to fill in later, and find the Canvas-known students again by e-mail
    or by their unique full name?"""
    worksheet = fx.moodle_worksheet(tmp_path / "w.csv")
    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "g.csv"))
    report = lms.roster(course=lms_course, lms="moodle", path=worksheet)

    assert report.ids == {str(p.participant): IDS[p] for p in fx.CLASS}
    assert report.created == []
    saved = lms.Roster.load(lms_course)
    assert saved.assignments[ASSIGNMENT]["moodle"] == {
        "worksheet": f"lms/moodle/{ASSIGNMENT}/worksheet.csv",
        "participants": {str(p.participant): {"student": IDS[p], "full_name": p.full}
                         for p in fx.CLASS}}
    assert (lms_course / "lms" / "moodle" / ASSIGNMENT / "worksheet.csv").read_bytes() == \
        worksheet.read_bytes()
    # Canvas's sortable name kept the right split; Moodle added the e-mails
    assert students(lms_course)["annemarie_darcy"] == ("Anne Marie", "D'Arcy",
                                                   "annemarie.darcy@uni.example", "10003")


def test_moodle_alone_takes_ids_from_emails(lms_course, tmp_path):
    """Without Canvas, are the ids the e-mails' local parts, names split at the first space,
    and a blind-marking row (no name, no e-mail) a per-assignment id with a warning?"""
    path = fx.moodle_worksheet(tmp_path / "w.csv", [fx.SIOBHAN, fx.JURGEN, fx.JO, fx.JON])
    rows = read_rows(path) + [["Participant 5599", "", "", "No submission", "", "100.00",
                               "Yes", "-", "-", ""]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    report = lms.roster(course=lms_course, lms="moodle", path=path)

    assert report.ids == {"5501": "siobhan_obrien", "5502": "jmueller", "5505": "jsmith",
                          "5506": "jsmith_2", "5599": "participant_5599"}
    assert students(lms_course)["jmueller"] == ("Jürgen", "Müller-Lüdenscheidt",
                                            "jmueller@uni.example", None)
    assert len(report.warnings) == 1 and "participant_5599" in report.warnings[0]


def test_a_file_that_is_not_a_roster_is_refused(lms_course, tmp_path):
    """Is a CSV that is not the LMS's file refused with what to do, before anything is
    written?"""
    other = tmp_path / "grades.csv"
    other.write_text("name,score\nalice,3\n")
    with pytest.raises(lms.LmsError, match="not a Canvas gradebook export"):
        lms.roster(course=lms_course, lms="canvas", path=other)
    with pytest.raises(lms.LmsError, match="not a Moodle grading worksheet"):
        lms.roster(course=lms_course, lms="moodle", path=other)
    assert not (lms_course / "lms").exists()
    with pytest.raises(lms.LmsError, match="unknown LMS"):
        lms.roster(course=lms_course, lms="blackboard", path=other)


# -- naming rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize("upload, expected", [
    ("exploding_gradients.ipynb", NB_E), ("Exploding_Gradients.IPYNB", NB_E),
    ("exploding_gradients (1).ipynb", NB_E), ("exploding_gradients-2.ipynb", NB_E),
    ("exploding gradients - Copy.ipynb", NB_E), ("Copy of vanishing_gradients.ipynb", NB_V),
    ("vanishing-gradients 3.ipynb", NB_V), ("Untitled.ipynb", None),
    ("exploding_gradients.py", None), ("exploding_gradients.ipynb.txt", None),
])
def test_renamed_uploads_map_to_released_names(upload, expected):
    """Is a renamed upload (other case, "(1)", "-2", "- Copy") taken for the released
    notebook, and anything else not?"""
    assert lms.released_name(upload, [NB_E, NB_V]) == expected


def test_a_numbered_notebook_keeps_its_number():
    """Is a mark taken off only when the name without it is a released notebook?"""
    assert lms.released_name("ps2.ipynb", ["ps1.ipynb", "ps2.ipynb"]) == "ps2.ipynb"
    assert lms.released_name("ps2 (1).ipynb", ["ps1.ipynb", "ps2.ipynb"]) == "ps2.ipynb"


def test_download_names_follow_the_lms_rules():
    """Do our names of a student's files match what Canvas's and Moodle's own code writes?"""
    assert lms.canvas_prefix(sortable_name="O'Brien, Siobhán", user_id=10001, late=True) + \
        "_70001_" + lms.canvas_attachment_name("a:b.ipynb") == \
        fx.canvas_name(fx.SIOBHAN, 70001, "a:b.ipynb", late=True)
    assert lms.canvas_prefix(anonymous_id="Xk3pQ", late=True) == "LATE_anon_Xk3pQ"
    assert lms.moodle_folder("Siobhán O'Brien", 5501) == \
        fx.moodle_entry(fx.SIOBHAN, "x").split("/")[0] == \
        "Siobhán OBrien_5501_assignsubmission_file"
    assert lms.slug("Zoë van der Berg") == "zoe_van_der_berg"
    assert lms.slug("Łukasz Straße") == "lukasz_strasse"


# -- import: Canvas -------------------------------------------------------------------------------
def canvas_download(tmp_path: Path) -> Path:
    """Siobhán on time (one renamed upload); Jürgen late with two copies of one notebook;
    Anne with an invalid notebook, a PDF and a stray notebook; someone not in the roster;
    a text entry; what macOS adds."""
    outsider = fx.Person("Ngozi", "Okafor", "", 10099, "", "", "", 0)
    files = [
        (fx.canvas_name(fx.SIOBHAN, 70001, NB_E), fx.notebook("siobhan E"), fx.WHEN),
        (fx.canvas_name(fx.SIOBHAN, 70002, "vanishing_gradients (1).ipynb"),
         fx.notebook("siobhan V"), fx.WHEN),
        (fx.canvas_name(fx.JURGEN, 70011, "Exploding_Gradients.ipynb", late=True),
         fx.notebook("jurgen E old"), fx.WHEN),
        (fx.canvas_name(fx.JURGEN, 70012, "exploding_gradients-1.ipynb", late=True),
         fx.notebook("jurgen E new"), fx.LATER),
        (fx.canvas_name(fx.JURGEN, 70013, NB_V, late=True), fx.notebook("jurgen V"), fx.WHEN),
        (fx.canvas_name(fx.ANNE, 70021, NB_E), b'{"cells": [ this is not JSON', fx.WHEN),
        (fx.canvas_name(fx.ANNE, 70022, "notes.pdf"), b"%PDF-1.4 ...", fx.WHEN),
        (fx.canvas_name(fx.ANNE, 70023, "Untitled.ipynb"), fx.notebook("anne untitled"),
         fx.WHEN),
        (fx.canvas_name(outsider, 70031, NB_E), fx.notebook("ngozi"), fx.WHEN),
        ("smithjo_10005_text.html", b"<p>my answer</p>", fx.WHEN),
        ("__MACOSX/._" + fx.canvas_name(fx.SIOBHAN, 70001, NB_E), b"\x00\x05", fx.WHEN),
        (".DS_Store", b"\x00", fx.WHEN),
    ]
    return fx.canvas_zip(tmp_path / "submissions.zip", files)


def test_canvas_download_lands_in_nbgraders_layout(lms_course, tmp_path):
    """Does Canvas's download land in submitted/<id>/<assignment>/ under the released names,
    with the newer of two copies kept, the late flag as a timestamp just after the due date,
    and everything else reported, not imported?"""
    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "g.csv"))
    set_duedate(lms_course, DUE)
    report = lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="canvas",
                                    zip_path=canvas_download(tmp_path))

    assert sorted(report.students) == ["annemarie_darcy", "jmueller", "siobhan_obrien"]
    s = submitted(lms_course, "siobhan_obrien")
    assert sorted(p.name for p in s.iterdir()) == [NB_E, NB_V]
    assert (fx.tag_of(s / NB_E), fx.tag_of(s / NB_V)) == ("siobhan E", "siobhan V")
    j = submitted(lms_course, "jmueller")
    assert {p.name for p in j.iterdir()} == {NB_E, NB_V, "timestamp.txt"}
    assert fx.tag_of(j / NB_E) == "jurgen E new"
    assert (j / "timestamp.txt").read_text() == "2026-11-21 12:00:01.000000 UTC\n"
    cd = cdir.coursedir(cdir.load_config(lms_course))
    assert cd.get_existing_timestamp(str(j)) == datetime(2026, 11, 21, 12, 0, 1)
    a = submitted(lms_course, "annemarie_darcy")
    assert sorted(p.name for p in a.iterdir()) == [NB_E]
    assert (a / NB_E).read_bytes() == b'{"cells": [ this is not JSON'

    assert report.students["jmueller"] == lms.StudentImport(
        {NB_E: fx.canvas_name(fx.JURGEN, 70012, "exploding_gradients-1.ipynb", late=True),
         NB_V: fx.canvas_name(fx.JURGEN, 70013, NB_V, late=True)},
        True, "2026-11-21 12:00:01.000000 UTC")
    kinds = {(i.kind, i.student, i.file) for i in report.issues}
    assert kinds == {
        ("duplicate", "jmueller", fx.canvas_name(fx.JURGEN, 70012, "exploding_gradients-1.ipynb",
                                                 late=True)),
        ("invalid_notebook", "annemarie_darcy", fx.canvas_name(fx.ANNE, 70021, NB_E)),
        ("not_a_notebook", "annemarie_darcy", fx.canvas_name(fx.ANNE, 70022, "notes.pdf")),
        ("unknown_notebook", "annemarie_darcy", fx.canvas_name(fx.ANNE, 70023, "Untitled.ipynb")),
        ("not_in_roster", None, "okaforngozi_10099_70031_exploding_gradients.ipynb"),
        ("unrecognised", None, "smithjo_10005_text.html"),
    }
    dup = report.of_kind("duplicate")[0]
    assert "newer in the zip: 2026-11-21 18:05:00 UTC" in dup.detail
    assert fx.canvas_name(fx.JURGEN, 70011, "Exploding_Gradients.ipynb", late=True) in dup.detail
    assert "Canvas user 10099 (okaforngozi)" in report.of_kind("not_in_roster")[0].detail
    text = "\n".join(report.lines())
    assert "3 students imported, 1 late" in text and "Not valid notebook JSON" in text

    uploads = lms.Roster.load(lms_course).uploads(ASSIGNMENT, "canvas")
    assert uploads["jmueller"] == {
        "lms_key": "10002", "name": "müllerlüdenscheidtjürgen",
        "prefix": "müllerlüdenscheidtjürgen_LATE_10002", "late": True,
        "files": {"exploding_gradients": {
                      "entry": fx.canvas_name(fx.JURGEN, 70012, "exploding_gradients-1.ipynb",
                                              late=True), "attachment_id": "70012"},
                  "vanishing_gradients": {
                      "entry": fx.canvas_name(fx.JURGEN, 70013, NB_V, late=True),
                      "attachment_id": "70013"}},
        "attachment_ids": ["70011", "70012", "70013"]}


def test_importing_again_replaces_a_folder_and_changes_nothing_else(lms_course, tmp_path):
    """Imported twice, are the submissions the same files (so nothing is graded again), and
    does a student's folder hold only what the LMS has now?"""
    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "g.csv"))
    download = canvas_download(tmp_path)
    lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="canvas",
                           zip_path=download)
    config = cdir.load_config(lms_course)
    before = {f.student: f.digest() for f in cdir.submitted(config, ASSIGNMENT)}
    (submitted(lms_course, "siobhan_obrien") / "old_attempt.ipynb").write_text("{}")
    lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="canvas",
                           zip_path=download)
    after = {f.student: f.digest() for f in cdir.submitted(config, ASSIGNMENT)}
    assert after == before
    assert not (submitted(lms_course, "siobhan_obrien") / "old_attempt.ipynb").exists()
    assert not list((lms_course / "grading" / ASSIGNMENT).glob("lms-import-*"))


def test_late_without_a_due_date_is_reported(lms_course, tmp_path):
    """Without a due date in the gradebook, is a LATE file imported without a timestamp and
    reported as a flag nbgrader cannot see?"""
    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "g.csv"))
    report = lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="canvas",
                                    zip_path=canvas_download(tmp_path))
    assert not (submitted(lms_course, "jmueller") / "timestamp.txt").exists()
    late = report.of_kind("late_without_duedate")
    assert [(i.student, i.file) for i in late] == [("jmueller", f"{NB_E}, {NB_V}")]
    assert "nbgrader db assignment add rnn_architecture --duedate" in late[0].detail


def test_anonymous_canvas_download_gets_anonymous_students(lms_course, tmp_path):
    """Under anonymous grading (``anon_<id>``, ``LATE_anon_<id>``), does each anonymous
    submission become its own nbgrader student, late flag kept?"""
    set_duedate(lms_course, DUE)
    files = [(fx.canvas_name(None, 80001, NB_E, anonymous_id="Xk3pQ"), fx.notebook("a1"),
              fx.WHEN),
             (fx.canvas_name(None, 80002, NB_V, anonymous_id="Xk3pQ"), fx.notebook("a2"),
              fx.WHEN),
             (fx.canvas_name(None, 80003, NB_E, late=True, anonymous_id="Bq7Zr"),
              fx.notebook("b1"), fx.WHEN)]
    assert files[2][0] == "LATE_anon_Bq7Zr_80003_exploding_gradients.ipynb"
    report = lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="canvas",
                                    zip_path=fx.canvas_zip(tmp_path / "anon.zip", files))
    assert sorted(report.students) == ["anon_bq7zr", "anon_xk3pq"]
    assert report.students["anon_bq7zr"].late is True
    assert (submitted(lms_course, "anon_bq7zr") / "timestamp.txt").read_text() == \
        "2026-11-21 12:00:01.000000 UTC\n"
    assert sorted(p.name for p in submitted(lms_course, "anon_xk3pq").iterdir()) == [NB_E, NB_V]
    assert {"anon_bq7zr", "anon_xk3pq"} <= set(students(lms_course))
    up = lms.Roster.load(lms_course).uploads(ASSIGNMENT, "canvas")["anon_bq7zr"]
    assert up["prefix"] == "LATE_anon_Bq7Zr"


def test_nbgrader_zip_collect_runs_our_collector(lms_course, tmp_path):
    """Does nbgrader's own zip_collect, given our collector plugin, collect an extracted
    Canvas download under the roster's ids and the released names?"""
    from nbgrader.apps.zipcollectapp import ZipCollectApp
    from nbgrader.coursedir import CourseDirectory

    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "g.csv"))
    extracted = lms_course / "downloaded" / ASSIGNMENT / "extracted"
    extracted.mkdir(parents=True)
    names = [fx.canvas_name(fx.SIOBHAN, 70001, NB_E),
             fx.canvas_name(fx.SIOBHAN, 70002, "vanishing_gradients (1).ipynb"),
             fx.canvas_name(fx.ZOE, 70041, NB_E)]
    for name in names:
        (extracted / name).write_bytes(fx.notebook(name))
    config = cdir.load_config(lms_course)
    config.ZipCollectApp.collector_plugin = lms.CanvasCollector
    app = ZipCollectApp(config=config)
    app.coursedir = CourseDirectory(parent=app)
    app.coursedir.assignment_id = ASSIGNMENT
    app.init_plugins()
    data = app._collect_files(sorted(str(extracted / n) for n in names))
    assert sorted(data) == ["siobhan_obrien", "zoe_vdberg"]
    assert data["siobhan_obrien"]["file_ids"] == [NB_E, NB_V]
    assert data["siobhan_obrien"]["dest_files"] == [
        str(submitted(lms_course, "siobhan_obrien") / NB_E),
        str(submitted(lms_course, "siobhan_obrien") / NB_V)]
    assert data["zoe_vdberg"]["timestamp"] is None


# -- import: Moodle -------------------------------------------------------------------------------
def moodle_download(tmp_path: Path, name="moodle.zip", utc_field=False) -> Path:
    """Three students in the three layouts; Zoë uploaded one notebook twice and wrote online
    text; a participant not in the worksheet."""
    stranger = fx.Person("Kai", "Tanaka", "", 0, "", "", "", 5599)
    files = [
        (fx.moodle_entry(fx.SIOBHAN, NB_E), fx.notebook("siobhan E"), fx.WHEN),
        (fx.moodle_entry(fx.SIOBHAN, NB_V), fx.notebook("siobhan V"), fx.LATER),
        (fx.moodle_entry(fx.JURGEN, NB_E, "old"), fx.notebook("jurgen E"), fx.WHEN),
        (fx.moodle_entry(fx.ANNE, "Vanishing_Gradients.ipynb", "flat"), fx.notebook("anne V"),
         fx.WHEN),
        (fx.moodle_entry(fx.ZOE, "vanishing_gradients (1).ipynb"), fx.notebook("zoe V new"),
         fx.LATER),
        (fx.moodle_entry(fx.ZOE, NB_V), fx.notebook("zoe V old"), fx.WHEN),
        (fx.moodle_entry(fx.ZOE, "onlinetext.html", plugin="onlinetext"), b"<p>hi</p>", fx.WHEN),
        (fx.moodle_entry(stranger, NB_E), fx.notebook("kai"), fx.WHEN),
    ]
    return fx.moodle_zip(tmp_path / name, files, utc_field=utc_field)


def test_moodle_download_in_all_three_layouts(lms_course, tmp_path):
    """Are Moodle's folder, old folder and flat layouts all imported, accents and dropped
    apostrophes in the names, each student's newest upload time as timestamp.txt, and the
    newer of two copies kept?"""
    lms.roster(course=lms_course, lms="moodle", path=fx.moodle_worksheet(tmp_path / "w.csv"))
    assert fx.moodle_entry(fx.ANNE, NB_E, "flat") == \
        "Anne Marie DArcy_5503_assignsubmission_file_exploding_gradients.ipynb"
    report = lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="moodle",
                                    zip_path=moodle_download(tmp_path), timezone="UTC")

    assert sorted(report.students) == ["annemarie_darcy", "jmueller", "siobhan_obrien",
                                       "zoe_vdberg"]
    s = submitted(lms_course, "siobhan_obrien")
    assert (fx.tag_of(s / NB_E), fx.tag_of(s / NB_V)) == ("siobhan E", "siobhan V")
    assert (s / "timestamp.txt").read_text() == "2026-11-21 18:05:00.000000 UTC\n"
    assert fx.tag_of(submitted(lms_course, "jmueller") / NB_E) == "jurgen E"
    assert (submitted(lms_course, "jmueller") / "timestamp.txt").read_text() == \
        "2026-11-20 09:30:00.000000 UTC\n"
    assert fx.tag_of(submitted(lms_course, "annemarie_darcy") / NB_V) == "anne V"
    z = submitted(lms_course, "zoe_vdberg")
    assert {p.name for p in z.iterdir()} == {NB_V, "timestamp.txt"}
    assert fx.tag_of(z / NB_V) == "zoe V new"
    assert {(i.kind, i.student, i.file) for i in report.issues} == {
        ("duplicate", "zoe_vdberg", fx.moodle_entry(fx.ZOE, "vanishing_gradients (1).ipynb")),
        ("not_a_notebook", "zoe_vdberg", fx.moodle_entry(fx.ZOE, "onlinetext.html",
                                                         plugin="onlinetext")),
        ("not_in_roster", None, "Kai Tanaka_5599_assignsubmission_file/exploding_gradients.ipynb"),
    }
    uploads = lms.Roster.load(lms_course).uploads(ASSIGNMENT, "moodle")
    assert uploads["annemarie_darcy"]["prefix"] == "Anne Marie DArcy_5503"
    assert report.students["zoe_vdberg"].timestamp == "2026-11-21 18:05:00.000000 UTC"


def test_moodle_zip_times_read_in_the_servers_zone(lms_course, tmp_path):
    """Are zip times without a zone read in the given zone, and the UTC time field, when the
    zip has one, preferred whatever the zone?"""
    lms.roster(course=lms_course, lms="moodle", path=fx.moodle_worksheet(tmp_path / "w.csv"))
    lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="moodle",
                           zip_path=moodle_download(tmp_path), timezone="Europe/Berlin")
    assert (submitted(lms_course, "jmueller") / "timestamp.txt").read_text() == \
        "2026-11-20 08:30:00.000000 UTC\n"
    lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="moodle",
                           zip_path=moodle_download(tmp_path, "utc.zip", utc_field=True),
                           timezone="Pacific/Auckland")
    assert (submitted(lms_course, "jmueller") / "timestamp.txt").read_text() == \
        "2026-11-20 09:30:00.000000 UTC\n"


def test_a_students_own_zip_counts_as_their_uploads(lms_course, tmp_path):
    """When a student uploaded a zip of their notebooks, are the notebooks inside imported as
    theirs, and a broken one reported?"""
    lms.roster(course=lms_course, lms="moodle", path=fx.moodle_worksheet(tmp_path / "w.csv"))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(zipfile.ZipInfo(f"my work/{NB_E}", fx.WHEN.timetuple()[:6]),
                    fx.notebook("zipped E"))
        zf.writestr(zipfile.ZipInfo(f"my work/{NB_V}", fx.WHEN.timetuple()[:6]),
                    fx.notebook("zipped V"))
    files = [(fx.moodle_entry(fx.JO, "work.zip"), inner.getvalue(), fx.WHEN),
             (fx.moodle_entry(fx.JON, "broken.zip"), b"PK\x03\x04 not really", fx.WHEN)]
    report = lms.import_submissions(
        course=lms_course, assignment=ASSIGNMENT, lms="moodle", timezone="UTC",
        zip_path=fx.moodle_zip(tmp_path / "z.zip", files))
    j = submitted(lms_course, "jsmith")
    assert (fx.tag_of(j / NB_E), fx.tag_of(j / NB_V)) == ("zipped E", "zipped V")
    assert [(i.kind, i.file) for i in report.issues] == [
        ("bad_inner_zip", fx.moodle_entry(fx.JON, "broken.zip"))]


@pytest.mark.parametrize("how", [fx.damaged, fx.truncated])
def test_a_damaged_download_writes_nothing(lms_course, tmp_path, how):
    """Is a damaged or cut-off download refused with a clear message, leaving the
    submissions and the roster exactly as they were?"""
    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "g.csv"))
    good = canvas_download(tmp_path)
    lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="canvas", zip_path=good)
    roster_before = (lms_course / lms.ROSTER_FILE).read_bytes()
    digests = {f.student: f.digest()
               for f in cdir.submitted(cdir.load_config(lms_course), ASSIGNMENT)}
    bad = how(good, tmp_path / "bad.zip")
    with pytest.raises(lms.LmsError) as caught:
        lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="canvas", zip_path=bad)
    message = str(caught.value)
    assert "nothing was imported" in message and "Download it again from Canvas" in message
    assert (lms_course / lms.ROSTER_FILE).read_bytes() == roster_before
    assert {f.student: f.digest()
            for f in cdir.submitted(cdir.load_config(lms_course), ASSIGNMENT)} == digests


# -- grades in the gradebook, without kernels -----------------------------------------------------
def put_scores(course: Path, scores: dict[str, dict[str, float]]) -> None:
    """A submission per student with these points per instruction (others full)."""
    with open_gradebook(db_url(course)) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")   # SQLAlchemy's autoflush notes inside nbgrader
        for sid, points in scores.items():
            gb.add_submission(ASSIGNMENT, sid)
            for i in INSTRUCTIONS.values():
                grade = gb.find_grade(i.test_cell, i.notebook, ASSIGNMENT, sid)
                grade.auto_score = points.get(i.id, i.points)
            gb.db.commit()


def put_record(course: Path, sid: str, outcome: str, reason: str | None = None) -> None:
    Store(course, ASSIGNMENT).write(Record(student=sid, assignment=ASSIGNMENT, outcome=outcome,
                                           reason=reason, score=None, max_score=9.0))


def autograded(course: Path, sid: str, results: dict[str, CheckResult]) -> None:
    """Both notebooks as nbgrader autograde leaves them: a verdict in each test cell."""
    for notebook in ("exploding_gradients", "vanishing_gradients"):
        nb = nbformat.read(RELEASE / f"{notebook}.ipynb", as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            i = next((i for i in for_notebook(notebook) if i.test_cell == gid), None)
            if i is not None:
                result = results.get(i.id) or CheckResult(i.id, i.title, i.points, i.points,
                                                          True, f"{i.title}: right.")
                cell.outputs = [nbformat.v4.new_output(
                    "display_data", data={RESULT_MIMETYPE: result.to_json()})]
        folder = course / "autograded" / sid / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{notebook}.ipynb")


def hint(name: str) -> str:
    """A hint as the feedback shows it (`code`, *emphasis*, $math$ rendered)."""
    return str(rep._inline(HINTS[name], rich=True))


CLIPNORM = CheckResult("exploding_step2", INSTRUCTIONS["exploding_step2"].title, 0.0, 2, False,
                       "You passed `clipnorm=3.0` to `SGD`; this step asks for `clipvalue`.",
                       "exploding_clipnorm")
LOSS_PLOT = CheckResult("vanishing_plot", INSTRUCTIONS["vanishing_plot"].title, 0.0, 2, False,
                        "Your plot shows `loss` & `val_loss` <not> accuracy.",
                        "vanishing_plotted_loss")


@pytest.fixture
def graded_class(lms_course, tmp_path) -> Path:
    """The class in Canvas and Moodle rosters; Siobhán full marks, Jürgen 5/9, Anne flagged
    (7/9 in the gradebook), Zoë failed, Jo no submission, Jon submitted but not graded."""
    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "g.csv"))
    lms.roster(course=lms_course, lms="moodle", path=fx.moodle_worksheet(
        tmp_path / "w.csv", submitted={p.participant: fx.WHEN for p in fx.CLASS
                                       if p is not fx.JO},
        comments={fx.JO.participant: "Seen in the lab."}))
    put_scores(lms_course, {"siobhan_obrien": {},
                        "jmueller": {"exploding_step2": 0, "vanishing_plot": 0},
                        "annemarie_darcy": {"exploding_step1": 0},
                        "zoe_vdberg": {i: 0 for i in INSTRUCTIONS}})
    put_record(lms_course, "annemarie_darcy", "flagged",
               "exploding_gradients/test_exploding_step1: no verdict")
    put_record(lms_course, "zoe_vdberg", "failed", "vanishing_gradients.ipynb is not valid JSON")
    for sid in ("siobhan_obrien", "jmueller", "annemarie_darcy", "zoe_vdberg", "jsmith_2"):
        submitted(lms_course, sid).mkdir(parents=True)
        (submitted(lms_course, sid) / NB_E).write_bytes(fx.notebook(sid))
    autograded(lms_course, "siobhan_obrien", {})
    autograded(lms_course, "jmueller", {"exploding_step2": CLIPNORM, "vanishing_plot": LOSS_PLOT})
    return lms_course


# -- export ---------------------------------------------------------------------------------------
CANVAS_IDENTITY = {
    "siobhan_obrien": ["O'Brien, Siobhán", "10001", "S-2001", "siobhan.obrien@uni.example",
                       "Section A"],
    "jmueller": ["Müller-Lüdenscheidt, Jürgen", "10002", "S-2002", "jmueller", "Section A"],
    "annemarie_darcy": ["D'Arcy, Anne Marie", "10003", "S-2003", "annemarie.darcy", "Section B"],
    "zoe_vdberg": ["van der Berg, Zoë", "10004", "S-2004", "zoe.vdberg", "Section B"],
    "jsmith": ["Smith, Jo", "10005", "S-2005", "jsmith", "Section A"],
    "jsmith_2": ["Smith, Jon", "10006", "P-77", "jsmith@partner.example", "Section B"],
}
ORDER = ["siobhan_obrien", "jmueller", "annemarie_darcy", "zoe_vdberg", "jsmith", "jsmith_2"]


def test_canvas_grades_csv_field_by_field(graded_class, tmp_path):
    """Is the Canvas CSV exactly Canvas's import format, scores scaled to the Canvas column's
    points possible, blank (never 0) for the failed, the ungraded and the student who did
    not submit, each listed with why, and the flagged one's judge's score exported and listed
    for review?"""
    out = tmp_path / "canvas_grades.csv"
    report = lms.export_grades(course=graded_class, assignment=ASSIGNMENT, lms="canvas", to=out)

    cells = {"siobhan_obrien": "20", "jmueller": "11.11", "annemarie_darcy": "15.56"}
    assert read_rows(out) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "RNN Architecture (4242)"],
        ["    Points Possible", "", "", "", "", "20"],
        *[CANVAS_IDENTITY[sid] + [cells.get(sid, "")] for sid in ORDER]]
    assert not out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert out.read_bytes().count(b"\r\n") == 8
    assert (report.points_possible, report.scale_source, report.column) == (
        20.0, "the Canvas assignment's points possible", "RNN Architecture (4242)")
    assert report.blank == [
        ("zoe_vdberg", "grading failed: vanishing_gradients.ipynb is not valid JSON"),
        ("jsmith", "no submission"),
        ("jsmith_2", "submitted, not graded yet: run rnn-course grade")]
    assert report.review == [("annemarie_darcy", "exploding_gradients/test_exploding_step1: "
                                                 "no verdict")]
    assert "To review" in "\n".join(report.lines())
    assert report.unmatched == [] and report.warnings == []


def test_canvas_export_options(graded_class, tmp_path):
    """Do --confirm, --points-possible, --title and --lms-assignment-id do what they say?"""
    out = tmp_path / "c.csv"
    report = lms.export_grades(course=graded_class, assignment=ASSIGNMENT, lms="canvas", to=out,
                               points_possible=9, confirm=["annemarie_darcy"])
    rows = read_rows(out)
    assert rows[1] == ["    Points Possible", "", "", "", "", "9"]
    assert [r[5] for r in rows[2:]] == ["9", "5", "7", "", "", ""]
    assert report.scale_source == "as asked" and report.review == []
    lms.export_grades(course=graded_class, assignment=ASSIGNMENT, lms="canvas", to=out,
                      lms_assignment_id="4100")
    assert read_rows(out)[0][5] == "Week 1 quiz (4100)" and read_rows(out)[1][5] == "10"
    report = lms.export_grades(course=graded_class, assignment=ASSIGNMENT, lms="canvas", to=out,
                               title="Gradients lab")
    assert read_rows(out)[0][5] == "Gradients lab" and read_rows(out)[1][5] == "9"
    assert "Canvas will match it by name" in report.warnings[0]


def test_moodle_worksheet_filled_in_field_by_field(graded_class, tmp_path):
    """Is the Moodle worksheet given back with only Grade (scaled to its Maximum Grade, two
    decimals) and Feedback comments filled in for graded students, blank grades and the
    downloaded comments kept for everyone else, and every other cell as Moodle wrote it?"""
    out = tmp_path / "moodle_grades.csv"
    report = lms.export_grades(course=graded_class, assignment=ASSIGNMENT, lms="moodle", to=out)
    original = read_rows(graded_class / "lms" / "moodle" / ASSIGNMENT / "worksheet.csv")
    rows = read_rows(out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" not in out.read_bytes()
    assert rows[0] == original[0] == fx.WORKSHEET_HEADER
    g, f = fx.WORKSHEET_HEADER.index("Grade"), fx.WORKSHEET_HEADER.index("Feedback comments")
    for before, after in zip(original[1:], rows[1:]):
        assert [c for k, c in enumerate(after) if k not in (g, f)] == \
            [c for k, c in enumerate(before) if k not in (g, f)]
    assert [r[g] for r in rows[1:]] == ["100.00", "55.56", "77.78", "", "", ""]
    assert rows[3][f].startswith("<p>Autograder: 7/9 points (77.78 of 100 in Moodle).")
    assert [r[f] for r in rows[4:]] == ["", "Seen in the lab.", ""]
    assert (report.points_possible, report.scale_source) == (
        100.0, "the Moodle assignment's Maximum Grade")
    assert [sid for sid, _ in report.blank] == ["zoe_vdberg", "jsmith", "jsmith_2"]
    assert [sid for sid, _ in report.review] == ["annemarie_darcy"]

    jurgen = rows[2][f]
    assert jurgen.startswith(
        "<p>Autograder: 5/9 points (55.56 of 100 in Moodle). The feedback file shows your "
        "notebook with every check.</p><p><b>exploding_gradients.ipynb: 2/4 points</b></p><ul>"
        "<li>✔ <b>Step 1: train without clipping</b> (2/2): Step 1: train without clipping: "
        "right.</li><li>✘ <b>Step 2: clip the gradients</b> (0/2): You passed "
        "<code>clipnorm=3.0</code> to <code>SGD</code>; this step asks for <code>clipvalue"
        "</code>. <i>Hint:</i> " + hint("exploding_clipnorm") + "</li></ul>")
    assert "<li>✘ <b>Plot training and validation accuracy</b> (0/2): Your plot shows " \
           "<code>loss</code> &amp; <code>val_loss</code> &lt;not&gt; accuracy." in jurgen
    assert "<p><b>vanishing_gradients.ipynb: 3/5 points</b></p>" in jurgen
    assert jurgen.count("<li>") == 6 and "<i>Hint:</i> " + hint("vanishing_plotted_loss") in jurgen
    assert "Hint" not in rows[1][f] and rows[1][f].count("✔") == 6


def test_moodle_export_without_a_comments_column(lms_course, tmp_path):
    """When feedback comments are off in Moodle (no such column), are only grades written,
    with a warning?"""
    lms.roster(course=lms_course, lms="moodle", path=fx.moodle_worksheet(
        tmp_path / "w.csv", feedback_column=False))
    put_scores(lms_course, {"siobhan_obrien": {}})
    report = lms.export_grades(course=lms_course, assignment=ASSIGNMENT, lms="moodle",
                               to=tmp_path / "m.csv")
    rows = read_rows(tmp_path / "m.csv")
    assert rows[0] == fx.WORKSHEET_HEADER[:-1] and rows[1][4] == "100.00"
    assert "no Feedback comments column" in report.warnings[0]


def test_export_needs_the_roster(lms_course, tmp_path):
    """Without the LMS's roster, is the export refused with the command to run?"""
    with pytest.raises(lms.LmsError, match="rnn-course lms roster canvas"):
        lms.export_grades(course=lms_course, assignment=ASSIGNMENT, lms="canvas", to=tmp_path / "x")
    with pytest.raises(lms.LmsError, match="rnn-course lms roster moodle"):
        lms.export_grades(course=lms_course, assignment=ASSIGNMENT, lms="moodle", to=tmp_path / "x")


# -- feedback zips --------------------------------------------------------------------------------
def feedback_pages(course: Path, sids) -> None:
    for sid in sids:
        folder = course / "feedback" / sid / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        for nb in ("exploding_gradients", "vanishing_gradients"):
            (folder / f"{nb}.html").write_text(f"<html>{sid} {nb}</html>", encoding="utf-8")


def test_canvas_feedback_zip_named_for_reupload(lms_course, tmp_path):
    """Is each feedback page named like Canvas's download, with the user id and the id of the
    student's upload of that notebook where Re-Upload Submissions reads them?"""
    lms.roster(course=lms_course, lms="canvas", path=fx.canvas_gradebook(tmp_path / "g.csv"))
    lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="canvas",
                           zip_path=canvas_download(tmp_path))
    feedback_pages(lms_course, ["siobhan_obrien", "jmueller", "annemarie_darcy", "jsmith"])
    out = tmp_path / "feedback.zip"
    report = lms.feedback_zip(course=lms_course, assignment=ASSIGNMENT, lms="canvas", to=out)

    expected = {
        "siobhan_obrien": ["obriensiobhán_10001_70001_exploding_gradients.html",
                           "obriensiobhán_10001_70002_vanishing_gradients.html"],
        "jmueller": ["müllerlüdenscheidtjürgen_LATE_10002_70012_exploding_gradients.html",
                     "müllerlüdenscheidtjürgen_LATE_10002_70013_vanishing_gradients.html"],
        # Anne uploaded no vanishing notebook: another upload of hers carries the page
        "annemarie_darcy": ["darcyannemarie_10003_70021_exploding_gradients.html",
                            "darcyannemarie_10003_70023_vanishing_gradients.html"],
    }
    assert report.entries == expected
    assert report.missing == [("jsmith", "no Canvas upload of theirs was imported: Re-Upload "
                                         "needs the ids of one")]
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(n for v in expected.values() for n in v)
        assert zf.read(expected["jmueller"][0]) == b"<html>jmueller exploding_gradients</html>"
    for sid, names in expected.items():
        uid = CANVAS_IDENTITY[sid][1]
        assert [fx.canvas_reupload_ids(n)[0] for n in names] == [uid, uid]
    assert fx.canvas_reupload_ids(expected["jmueller"][0]) == ["10002", "70012"]


def test_moodle_feedback_zip_in_its_folder_naming(lms_course, tmp_path):
    """Is each page in ``<Full name>_<participant id>_assignsubmission_file/``, as Moodle's
    feedback-zip import reads it, also for a student whose upload was not imported?"""
    lms.roster(course=lms_course, lms="moodle", path=fx.moodle_worksheet(tmp_path / "w.csv"))
    lms.import_submissions(course=lms_course, assignment=ASSIGNMENT, lms="moodle", timezone="UTC",
                           zip_path=moodle_download(tmp_path))
    feedback_pages(lms_course, ["siobhan_obrien", "annemarie_darcy", "jsmith", "stranger"])
    out = tmp_path / "feedback.zip"
    report = lms.feedback_zip(course=lms_course, assignment=ASSIGNMENT, lms="moodle", to=out)

    assert report.entries == {
        sid: [f"{folder}/exploding_gradients.html", f"{folder}/vanishing_gradients.html"]
        for sid, folder in [
            ("annemarie_darcy", "Anne Marie DArcy_5503_assignsubmission_file"),
            ("jsmith", "Jo Smith_5505_assignsubmission_file"),
            ("siobhan_obrien", "Siobhán OBrien_5501_assignsubmission_file")]}
    assert report.missing == [("stranger", "not a participant of rnn_architecture in the "
                                           "Moodle worksheet")]
    with zipfile.ZipFile(out) as zf:
        for info in zf.infolist():
            assert info.flag_bits & 0x800 or info.filename.isascii()
            pid, kind, plugin, name = fx.moodle_feedback_target(info.filename)
            sid = next(s for s, names in report.entries.items() if info.filename in names)
            assert (pid, kind, plugin) == ({"siobhan_obrien": "5501", "annemarie_darcy": "5503",
                                            "jsmith": "5505"}[sid], "assignsubmission", "file")
            assert zf.read(info).decode() == f"<html>{sid} {name[:-5]}</html>"


# -- the command ----------------------------------------------------------------------------------
def test_command_line_prints_the_report_and_refuses_cleanly(lms_course, tmp_path, capsys):
    """Does ``rnn-course lms`` print the report, and a refusal as one message with exit
    code 2?"""
    code = lms.main(["roster", "canvas", str(fx.canvas_gradebook(tmp_path / "g.csv")),
                     "--course", str(lms_course)])
    out = capsys.readouterr().out
    assert code == 0 and "6 students (6 new, 0 updated, 0 unchanged)" in out
    bad = fx.truncated(canvas_download(tmp_path), tmp_path / "bad.zip")
    code = lms.main(["import", "canvas", str(bad), "--course", str(lms_course)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("rnn-course lms import: ") and "not a readable zip" in err


# -- end to end -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_from_lms_downloads_to_lms_grade_files(released_course, tmp_path):
    """From each LMS's roster and download, through one nbgrader grading and feedback, to
    each LMS's grade file and feedback zip: does every field say what nbgrader graded?

    One class in both LMSes (one grading run keeps the test short): Jürgen hands in Bob's
    partly wrong sample through Canvas, late, with an older copy of one notebook; Anne hands
    in Carol's empty sample through Moodle an hour after the due date; Siobhán hands in
    nothing."""
    course = released_course
    set_duedate(course, DUE)
    people = [fx.SIOBHAN, fx.JURGEN, fx.ANNE]
    bob, carol = (SAMPLES / s / ASSIGNMENT for s in ("bob_partly_wrong", "carol_empty"))

    lms.roster(course=course, lms="canvas",
               path=fx.canvas_gradebook(tmp_path / "gradebook.csv", people, points_possible=9))
    lms.roster(course=course, lms="moodle", path=fx.moodle_worksheet(tmp_path / "w.csv", people))
    canvas_files = [
        (fx.canvas_name(fx.JURGEN, 90001, "exploding_gradients (1).ipynb", late=True),
         (carol / NB_E).read_bytes(), datetime(2026, 11, 19)),
        (fx.canvas_name(fx.JURGEN, 90002, NB_E, late=True), (bob / NB_E).read_bytes(), fx.WHEN),
        (fx.canvas_name(fx.JURGEN, 90003, NB_V, late=True), (bob / NB_V).read_bytes(), fx.WHEN)]
    report = lms.import_submissions(
        course=course, assignment=ASSIGNMENT, lms="canvas",
        zip_path=fx.canvas_zip(tmp_path / "submissions.zip", canvas_files))
    assert list(report.students) == ["jmueller"] and report.students["jmueller"].late
    assert [i.kind for i in report.issues] == ["duplicate"]
    an_hour_late = DUE.replace(hour=13)
    moodle_files = [(fx.moodle_entry(fx.ANNE, nb), (carol / nb).read_bytes(), an_hour_late)
                    for nb in (NB_E, NB_V)]
    report = lms.import_submissions(
        course=course, assignment=ASSIGNMENT, lms="moodle", timezone="UTC",
        zip_path=fx.moodle_zip(tmp_path / "moodle.zip", moodle_files))
    assert list(report.students) == ["annemarie_darcy"] and report.issues == []

    run = verbs.grade(course=course, assignment=ASSIGNMENT, workers=2)
    assert {r.student: (r.outcome, r.score) for r in run.graded} == {
        "jmueller": ("graded", 4.0), "annemarie_darcy": ("graded", 0.0)}
    with open_gradebook(db_url(course)) as gb:
        late = {s.student.id: s.total_seconds_late for s in
                gb.find_assignment(ASSIGNMENT).submissions}
    assert late == {"jmueller": 1, "annemarie_darcy": 3600}
    verbs.feedback(course=course, assignment=ASSIGNMENT)

    # Canvas
    report = lms.export_grades(course=course, assignment=ASSIGNMENT, lms="canvas",
                               to=tmp_path / "canvas_grades.csv")
    assert read_rows(tmp_path / "canvas_grades.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "RNN Architecture (4242)"],
        ["    Points Possible", "", "", "", "", "9"],
        CANVAS_IDENTITY["siobhan_obrien"] + [""], CANVAS_IDENTITY["jmueller"] + ["4"],
        CANVAS_IDENTITY["annemarie_darcy"] + ["0"]]
    assert report.blank == [("siobhan_obrien", "no submission")]
    fb = lms.feedback_zip(course=course, assignment=ASSIGNMENT, lms="canvas",
                          to=tmp_path / "canvas_feedback.zip")
    assert fb.entries == {"jmueller": [
        "müllerlüdenscheidtjürgen_LATE_10002_90002_exploding_gradients.html",
        "müllerlüdenscheidtjürgen_LATE_10002_90003_vanishing_gradients.html"]}
    assert [sid for sid, _ in fb.missing] == ["annemarie_darcy"]
    with zipfile.ZipFile(tmp_path / "canvas_feedback.zip") as zf:
        page = zf.read(fb.entries["jmueller"][0]).decode()
    assert 'data-instruction="exploding_step2"' in page and "clipnorm" in page

    # Moodle
    report = lms.export_grades(course=course, assignment=ASSIGNMENT, lms="moodle",
                               to=tmp_path / "moodle_grades.csv")
    rows = read_rows(tmp_path / "moodle_grades.csv")
    assert [r[:9] for r in rows] == [fx.WORKSHEET_HEADER[:9]] + [
        [f"Participant {p.participant}", p.full, p.email, "Submitted for grading", grade,
         "100.00", "Yes", fx.moodle_date(fx.WHEN), "-"]
        for p, grade in [(fx.SIOBHAN, ""), (fx.JURGEN, "44.44"), (fx.ANNE, "0.00")]]
    assert rows[1][9] == ""
    assert rows[2][9].startswith("<p>Autograder: 4/9 points (44.44 of 100 in Moodle).")
    assert "<code>clipnorm</code>" in rows[2][9] and rows[2][9].count("<li>") == 6
    assert rows[3][9].count("✘") == 6
    fb = lms.feedback_zip(course=course, assignment=ASSIGNMENT, lms="moodle",
                          to=tmp_path / "moodle_feedback.zip")
    assert fb.entries == {
        sid: [f"{folder}/exploding_gradients.html", f"{folder}/vanishing_gradients.html"]
        for sid, folder in [
            ("annemarie_darcy", "Anne Marie DArcy_5503_assignsubmission_file"),
            ("jmueller", "Jürgen Müller-Lüdenscheidt_5502_assignsubmission_file")]}
    with zipfile.ZipFile(tmp_path / "moodle_feedback.zip") as zf:
        page = zf.read(fb.entries["annemarie_darcy"][1]).decode()
    assert 'data-instruction="vanishing_plot"' in page
