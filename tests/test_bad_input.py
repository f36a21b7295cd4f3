"""Issue 18: a student's good work is never lost to a neighbouring mistake, and every failure
says what to do. Each row of the issue as an instructor meets it: ``rnn-course`` called by its
path, with the virtualenv's bin not on PATH, in a course folder copied from the package."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ASSIGNMENT, REPO, SAMPLES_DIR

BIN = Path(sys.executable).parent
RNN_COURSE = BIN / "rnn-course"
RIGHT = SAMPLES_DIR / "alice_right" / ASSIGNMENT
EXPLODING, VANISHING = "exploding_gradients.ipynb", "vanishing_gradients.ipynb"
RENAMED = "exploding_gradients (1).ipynb"


def plain_env() -> dict:
    """The instructor's shell: the virtualenv not activated, its bin not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"
    assert str(BIN) not in env["PATH"]
    return env


def rnn_course(course: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([str(RNN_COURSE), *args], cwd=course, env=plain_env(),
                          capture_output=True, text=True, timeout=timeout)


def submit(course: Path, student: str, files: dict[str, Path | bytes]) -> Path:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copy(content, folder / name)
        else:
            (folder / name).write_bytes(content)
    return folder


def records(course: Path) -> dict:
    folder = course / "grading" / ASSIGNMENT / "records"
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


# ------------------------------------------------------------------------- the alembic row
def test_grade_before_release_says_release_it_first(course):
    """`grade` (and `summary`) before `release`, on a new SQLite gradebook: the "release it
    first" message, not `FileNotFoundError: 'alembic'`."""
    submit(course, "dave", {EXPLODING: b"{"})
    for verb in ("grade", "summary"):
        res = rnn_course(course, verb)
        out = res.stdout + res.stderr
        assert res.returncode == 2, out
        assert "release it first" in out and "Traceback" not in out, out


def test_grade_before_release_on_a_fresh_postgresql_database(course, postgres_url):
    """The same on a fresh PostgreSQL database: nbgrader creates the gradebook there too."""
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {postgres_url!r}\n"
                      "c.CourseDirectory.course_id = 'rnn_course'\n")
    submit(course, "dave", {EXPLODING: b"{"})
    res = rnn_course(course, "grade")
    out = res.stdout + res.stderr
    assert res.returncode == 2 and "release it first" in out and "Traceback" not in out, out


def test_every_verb_finds_its_tools_without_the_virtualenv_on_path(course):
    """`release`, a grading with no notebook to run, `summary` and `export`, all by path."""
    assert rnn_course(course, "release").returncode == 0
    submit(course, "fay", {VANISHING: b""})
    res = rnn_course(course, "grade")
    assert res.returncode == 0, res.stdout + res.stderr
    for verb in (["summary"], ["export", "--to", "grades.csv"]):
        res = rnn_course(course, *verb)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stdout + res.stderr


# ------------------------------------------------------------------------- records and times
def test_records_belong_to_their_gradebook_and_the_summary_gives_the_wall_time(course):
    """A record of another class (copied with the course) is not shown; with gradebook.db
    recreated, a student recorded as graded with the same files is graded again. The
    summary says the work and this run's wall time apart. A notebook broken at a regrading
    loses its automatic scores, not the manual ones."""
    from graders.grading.records import Record, Store

    assert rnn_course(course, "release").returncode == 0
    submit(course, "fay", {VANISHING: b""})
    Store(course, ASSIGNMENT).write(Record(
        student="zed_other_class", assignment=ASSIGNMENT, outcome="graded", reason=None,
        score=9.0, max_score=9.0, digest="0" * 64))
    res = rnn_course(course, "grade")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "zed_other_class" not in res.stdout and "1 submission: 0 graded, 1 failed" in \
        res.stdout, res.stdout
    assert "of work" in res.stdout and "this run took" in res.stdout, res.stdout
    # the same files again: skipped
    assert "0 submissions to grade, 1 already graded" in rnn_course(course, "grade").stdout
    # a new gradebook: fay is graded again, not skipped on her record's digest
    (course / "gradebook.db").unlink()
    assert rnn_course(course, "release").returncode == 0
    res = rnn_course(course, "grade")
    assert "1 submissions to grade" in res.stdout and "fay: failed" in res.stdout, res.stdout
    res = rnn_course(course, "summary")
    assert "zed_other_class" not in res.stdout and "fay" in res.stdout, res.stdout
    # her notebook broken again: its earlier automatic scores are zeroed, manual ones stay
    from graders.grading.gradebook import open_gradebook
    from graders.instructions import for_notebook

    url = f"sqlite:///{course / 'gradebook.db'}"
    auto_cell, manual_cell = [i.test_cell for i in for_notebook("vanishing_gradients")][:2]
    with open_gradebook(url) as gb:
        gb.find_grade(auto_cell, "vanishing_gradients", ASSIGNMENT, "fay").auto_score = 1
        gb.find_grade(manual_cell, "vanishing_gradients", ASSIGNMENT, "fay").manual_score = 0.5
        gb.db.commit()
    submit(course, "fay", {VANISHING: b"{"})
    res = rnn_course(course, "grade")
    assert "fay: failed" in res.stdout and "not valid JSON" in res.stdout, res.stdout
    with open_gradebook(url) as gb:
        assert gb.find_grade(auto_cell, "vanishing_gradients", ASSIGNMENT, "fay").score == 0
        assert gb.find_grade(manual_cell, "vanishing_gradients", ASSIGNMENT, "fay").score == 0.5


# ------------------------------------------------------------------------- one class, every row
@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """One `rnn-course grade` of a class with every row of the issue in it."""
    course = tmp_path_factory.mktemp("bad_input") / "course"
    course.mkdir()
    shutil.copytree(REPO / "source", course / "source")
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    assert rnn_course(course, "release").returncode == 0
    truncated = (RIGHT / EXPLODING).read_bytes()[:1000]
    submit(course, "dave", {EXPLODING: truncated, VANISHING: RIGHT / VANISHING})
    submit(course, "erin", {RENAMED: RIGHT / EXPLODING,
                            "timestamp.txt": b"2026-11-20 10:00:00.000000 UTC"})
    submit(course, "erin2", {RENAMED: RIGHT / EXPLODING, VANISHING: RIGHT / VANISHING})
    submit(course, "fay", {VANISHING: b""})
    res = rnn_course(course, "grade", "--workers", "2")
    return course, res


@pytest.mark.slow
def test_each_notebook_is_graded_on_its_own(graded_class):
    """dave: a truncated exploding notebook beside a right vanishing one is graded 5/9, the
    broken one 0 with "not valid JSON"; fay: an empty notebook fails with a clear reason."""
    course, res = graded_class
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "Traceback" not in out, out
    got = records(course)
    dave = got["dave"]
    assert dave["outcome"] == "graded" and dave["score"] == 5, dave
    assert all(score == 0 for key, (score, _) in dave["cells"].items()
               if key.startswith("exploding_gradients/")), dave["cells"]
    assert any(p.startswith(EXPLODING) and "not valid JSON" in p for p in dave["problems"]), dave
    fay = got["fay"]
    assert fay["outcome"] == "failed" and "empty file" in fay["reason"], fay
    assert "see the above traceback" not in out.lower() and "nbgraderexception" not in out.lower()
    assert (course / "autograded" / "dave" / ASSIGNMENT / VANISHING).is_file()
    # the summary lists the problem per notebook, and the failure with its reason
    summary = (course / "grading" / ASSIGNMENT / "summary.txt").read_text()
    assert "Graded, with notes per notebook (3)" in summary, summary
    assert "not valid JSON" in summary and "empty file" in summary, summary
    # and it exports like any graded submission
    res = rnn_course(course, "export", "--to", "grades.csv")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = (course / "grades.csv").read_text()
    assert any(line.startswith(f"{ASSIGNMENT},") and ",dave," in line and ",5.0," in line
               for line in rows.splitlines()), rows
    # the student's feedback says it too, on the broken notebook's page
    res = rnn_course(course, "feedback")
    assert res.returncode == 0, res.stdout + res.stderr
    page = (course / "feedback" / "dave" / ASSIGNMENT / "exploding_gradients.html").read_text()
    assert "not valid JSON" in page
    page = (course / "feedback" / "erin" / ASSIGNMENT / "exploding_gradients.html").read_text()
    assert f"graded as {EXPLODING}" in page


@pytest.mark.slow
def test_a_renamed_notebook_is_graded_under_its_released_name(graded_class):
    """erin: `exploding_gradients (1).ipynb` alone is graded as exploding_gradients (4/9),
    with a note, its timestamp kept; erin2: the same beside a right vanishing one, 9/9; the
    students' files are not renamed."""
    from graders.grading.gradebook import open_gradebook

    course, res = graded_class
    got = records(course)
    for student, score in (("erin", 4), ("erin2", 9)):
        record = got[student]
        assert record["outcome"] == "graded" and record["score"] == score, record
        assert any(RENAMED in p and f"graded as {EXPLODING}" in p
                   for p in record["problems"]), record
        folder = course / "submitted" / student / ASSIGNMENT
        assert (folder / RENAMED).is_file() and not (folder / EXPLODING).exists()
    assert f"graded as {EXPLODING}" in res.stdout
    with open_gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(ASSIGNMENT, "erin")
        assert str(submission.timestamp).startswith("2026-11-20 10:00:00"), submission.timestamp


@pytest.mark.slow
def test_check_grades_a_renamed_notebook_and_says_why_a_file_cannot_be(tmp_path):
    """`rnn-course check` on a renamed notebook grades it under its released name, with the
    note; on a truncated file it says why in one line. (In the student's folder: the
    notebooks beside the assignment's data files, as the bundle unzips.)"""
    for data in (REPO / "release" / ASSIGNMENT).iterdir():
        if data.is_file() and data.suffix != ".ipynb":
            shutil.copy(data, tmp_path / data.name)
    shutil.copy(RIGHT / VANISHING, tmp_path / "Vanishing_Gradients-2.ipynb")
    (tmp_path / EXPLODING).write_bytes((RIGHT / EXPLODING).read_bytes()[:1000])
    res = rnn_course(tmp_path, "check", "Vanishing_Gradients-2.ipynb", EXPLODING)
    out = res.stdout + res.stderr
    assert "Vanishing_Gradients-2.ipynb: 5/5 points" in out, out
    assert f"graded as {VANISHING}" in out, out
    assert f"{EXPLODING}: NOT GRADABLE" in out and "Traceback" not in out, out
