"""Grading a class on Dask: stock nbgrader's scores, failures kept to one student, resumable,
manual scores kept, on a real Dask cluster and into a real PostgreSQL gradebook.

Every test grades real submissions in real sandboxed kernels through nbgrader; the scores are
read back from the gradebook nbgrader wrote.
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_nbgrader
from graders.course import verbs
from graders.grading.gradebook import read_scores
from graders.grading.records import Store
from helpers import ASSIGNMENT, SAMPLES_DIR, write_submission
from variants import exploding

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def submit(course: Path, student: str, sample: str | None = None, notebooks=None) -> Path:
    """Copy a sample submission (or some of its notebooks) as ``student``."""
    dest = course / "submitted" / student / ASSIGNMENT
    dest.mkdir(parents=True, exist_ok=True)
    for nb in sorted((SAMPLES_DIR / sample / ASSIGNMENT).glob("*.ipynb")):
        if notebooks is None or nb.stem in notebooks:
            shutil.copy(nb, dest / nb.name)
    return dest


def db(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def cells(course: Path, url: str | None = None) -> dict:
    return {s: (v.score, v.cells) for s, v in read_scores(url or db(course), ASSIGNMENT).items()}


def make_class(course: Path) -> None:
    """Right, partly wrong, empty, one notebook missing, unreadable JSON, a kernel that dies."""
    submit(course, "alice", "alice_right")
    submit(course, "bob", "bob_partly_wrong")
    submit(course, "carol", "carol_empty")
    submit(course, "dan_one_notebook", "alice_right", notebooks={"exploding_gradients"})
    broken = submit(course, "erin_broken_json", "carol_empty", notebooks={"vanishing_gradients"})
    (broken / "exploding_gradients.ipynb").write_text('{"cells": [ this is not json')
    write_submission(course / "submitted" / "frank_kernel_dies" / ASSIGNMENT,
                     exploding("frank", step1="import os\nos._exit(1)"))


def test_same_scores_as_stock_nbgrader_and_failures_stay_with_their_student(released_course, tmp_path):
    """Does `grade` give plain serial `nbgrader autograde`'s score in every cell, fail only the
    broken submissions (with a reason and a log), and keep the terminal calm?"""
    stock = released_course
    ours = tmp_path / "ours"
    shutil.copytree(stock, ours)
    make_class(stock)
    make_class(ours)

    result = run_nbgrader(stock, "autograde", ASSIGNMENT)
    assert "Traceback" in result.stdout + result.stderr  # stock: the broken ones failed loudly

    run = verbs.grade(course=ours, assignment=ASSIGNMENT, workers=2)
    assert not run.errors, run.errors
    # stock nbgrader stops a submission at its first broken notebook (scores left empty);
    # ours grades each notebook on its own and gives a broken one 0 (issue 18)
    broken = {"erin_broken_json", "frank_kernel_dies"}
    ours_cells, stock_cells = cells(ours), cells(stock)
    assert {s: v for s, v in ours_cells.items() if s not in broken} == \
        {s: v for s, v in stock_cells.items() if s not in broken}
    for student in broken:
        assert all(v[0] == 0 for v in ours_cells[student][1].values()), ours_cells[student]

    by_student = {r.student: r for r in run.graded}
    assert set(by_student) == {"alice", "bob", "carol", "dan_one_notebook", "erin_broken_json",
                               "frank_kernel_dies"}
    assert by_student["alice"].score == 9 and by_student["alice"].outcome == "graded"
    assert by_student["dan_one_notebook"].outcome == "graded"  # the missing notebook scores 0
    assert by_student["dan_one_notebook"].score == 4
    erin, frank = by_student["erin_broken_json"], by_student["frank_kernel_dies"]
    # erin's vanishing notebook is graded beside her broken exploding one
    assert erin.outcome == "graded" and any("json" in p.lower() for p in erin.problems), erin
    assert frank.outcome == "failed" and "kernel" in frank.reason.lower(), frank
    for record in (erin, frank):
        assert (ours / record.log).is_file() and (ours / record.log).stat().st_size > 0
    # the summary names the failures and where to read more
    assert "erin_broken_json" in run.summary_text and "frank_kernel_dies" in run.summary_text
    assert Path(run.summary_files["png"]).stat().st_size > 10_000
    # graded notebooks are the course's own autograded/, without copies of the data files
    graded = ours / "autograded" / "alice" / ASSIGNMENT
    assert sorted(p.name for p in graded.iterdir()) == ["exploding_gradients.ipynb",
                                                        "vanishing_gradients.ipynb"]
    assert not (Store(ours, ASSIGNMENT).staging_dir).exists() or not any(
        Store(ours, ASSIGNMENT).staging_dir.iterdir())


def _carols(course: Path, n: int) -> list[str]:
    names = [f"c{i}" for i in range(1, n + 1)]
    for name in names:
        submit(course, name, "carol_empty")
    return names


@pytest.mark.timeout(30 * 60)
def test_killed_half_way_then_run_again_grades_only_the_rest(released_course):
    """Killed while grading, does the next run grade only what was not finished, and then
    only a submission whose files changed?"""
    course = released_course
    names = _carols(course, 5)
    store = Store(course, ASSIGNMENT)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.Popen([str(BIN / "rnn-course"), "grade", "--workers", "2"], cwd=course,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not store.all():
        time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read().decode()
    os.killpg(proc.pid, signal.SIGKILL)  # as a reboot would
    proc.wait()
    finished = {r.student for r in store.all()}
    assert finished and finished != set(names)

    run = verbs.grade(course=course, assignment=ASSIGNMENT, workers=2)
    assert sorted(run.skipped) == sorted(finished)
    assert {r.student for r in run.graded} == set(names) - finished
    assert all(cells(course)[n][0] == 0 for n in names)

    # a changed submission is graded again, and only it
    nb = course / "submitted" / "c1" / ASSIGNMENT / "exploding_gradients.ipynb"
    nb.write_text(nb.read_text().replace("# YOUR CODE HERE", "# YOUR CODE HERE (changed)", 1))
    run = verbs.grade(course=course, assignment=ASSIGNMENT, workers=2)
    assert [r.student for r in run.graded] == ["c1"] and len(run.skipped) == 4
    # --force grades everyone again
    run = verbs.grade(course=course, assignment=ASSIGNMENT, students=["c2", "c3"], force=True)
    assert sorted(r.student for r in run.graded) == ["c2", "c3"] and not run.skipped


def test_manual_score_survives_regrading_and_the_change_is_listed(released_course):
    """Does a score the instructor set by hand survive a regrade, and does the summary list
    the students whose score changed?"""
    from nbgrader.api import Gradebook

    course = released_course
    submit(course, "bob", "bob_partly_wrong", notebooks={"exploding_gradients"})
    verbs.grade(course=course, assignment=ASSIGNMENT, workers=1)
    with Gradebook(db(course)) as gb:
        grade = gb.find_grade("test_exploding_step2", "exploding_gradients", ASSIGNMENT, "bob")
        assert grade.score == 0
        grade.manual_score = 1.5
        gb.db.commit()
    before = cells(course)["bob"][0]
    assert before == 3.5

    run = verbs.grade(course=course, assignment=ASSIGNMENT, force=True, workers=1)
    assert cells(course)["bob"][0] == 3.5  # nbgrader keeps the manual score
    [record] = run.graded
    assert record.previous_score == 3.5 and record.score == 3.5

    # the instructor takes the manual score back: the next regrade lists the change
    with Gradebook(db(course)) as gb:
        gb.find_grade("test_exploding_step2", "exploding_gradients", ASSIGNMENT,
                      "bob").manual_score = None
        gb.db.commit()
    run = verbs.grade(course=course, assignment=ASSIGNMENT, force=True, workers=1)
    assert run.graded[0].previous_score == 2 and run.graded[0].score == 2
    summary = (course / "grading" / ASSIGNMENT / "summary.json").read_text()
    assert '"changed"' in summary


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and two `dask worker` processes on localhost."""
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(scheduler_file)],
                              env=env, stdout=open(logs / "scheduler.log", "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)]
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", "--scheduler-file", str(scheduler_file),
                 "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                env=env, stdout=open(logs / f"worker{i}.log", "w"), stderr=subprocess.STDOUT,
                start_new_session=True))
        import json

        from distributed import Client

        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_grades_on_an_existing_dask_cluster(released_course, dask_cluster):
    """Does `rnn-course grade --scheduler ADDRESS` grade on a cluster's workers, no
    shared folder needed, with the same scores as in an embedded cluster?"""
    course = released_course
    submit(course, "bob", "bob_partly_wrong")
    submit(course, "carol", "carol_empty")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run([str(BIN / "rnn-course"), "grade", "--scheduler", dask_cluster],
                            cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 graded" in result.stdout
    records = {r.student: r for r in Store(course, ASSIGNMENT).all()}
    assert records["bob"].score == 4 and records["carol"].score == 0
    assert records["bob"].worker.startswith("tcp://127.0.0.1:")
    assert cells(course)["bob"][0] == 4
    # quiet: no nbgrader, TensorFlow or SQLAlchemy log lines on the terminal
    noise = [ln for ln in (result.stdout + result.stderr).splitlines()
             if any(w in ln for w in ("[AutogradeApp", "tensorflow", "oneDNN", "SAWarning",
                                      "INFO", "WARNING", "cannot be converted to a float"))]
    assert not noise, noise


def test_grades_into_a_postgresql_gradebook(released_course, postgres_url, monkeypatch):
    """With `db_url` on PostgreSQL, does the class land in that server with the right scores?"""
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    course = released_course
    config = course / "nbgrader_config.py"
    # nbgrader on PostgreSQL needs a course id: its foreign keys are enforced there (not in SQLite)
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {postgres_url!r}\n"
                      'c.CourseDirectory.course_id = "rnn_course"\n')
    result = run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert result.returncode == 0, result.stderr[-2000:]
    submit(course, "bob", "bob_partly_wrong")
    submit(course, "carol", "carol_empty")

    run = verbs.grade(course=course, assignment=ASSIGNMENT, workers=2)
    assert not run.errors
    scores = cells(course, postgres_url)
    assert scores["bob"][0] == 4 and scores["carol"][0] == 0
    assert scores["bob"][1]["exploding_gradients/test_exploding_step1"] == (2.0, 2.0)
    # nothing went to the SQLite gradebook the course had before it moved to PostgreSQL
    assert read_scores(db(course), ASSIGNMENT) == {}


def test_forgeries_score_what_their_real_work_earns_honest_neighbours_keep_their_marks(
        released_course):
    """Does every forgery of the corpus (a student who read the grader tampering with the
    kernel's evidence export or verdict through many routes) score exactly what its real work
    earns, per instruction, with the static screen changing no score (the course's default),
    while the honest submission graded right after each keeps full marks? Tampering goes on
    the review list."""
    from graders.grading.judging import ScreenTampering
    from graders.grading.coursedir import load_config
    from graders.instructions import INSTRUCTIONS
    from variants import BY_NAME, FORGERIES

    course = released_course
    assert ScreenTampering(config=load_config(course)).zero_flagged is False
    honest = {"vanishing_gradients": BY_NAME["vanishing_reference"],
              "exploding_gradients": BY_NAME["exploding_reference"]}
    for i, forged in enumerate(FORGERIES):
        write_submission(course / "submitted" / f"{i:02d}a_{forged.name}" / ASSIGNMENT, forged)
        write_submission(course / "submitted" / f"{i:02d}b_honest" / ASSIGNMENT,
                         honest[forged.notebook])
    run = verbs.grade(course=course, assignment=ASSIGNMENT)
    assert not run.errors, run.errors
    records = {r.student: r for r in run.graded}
    for i, forged in enumerate(FORGERIES):
        record = records[f"{i:02d}a_{forged.name}"]
        got = {iid: record.cells[f"{INSTRUCTIONS[iid].notebook}/{INSTRUCTIONS[iid].test_cell}"][0]
               for iid in forged.points}
        assert got == forged.points, (forged.name, got, record.reason)
        tampered = forged.name != "forgery_constant_lines_labelled_accuracy"
        assert (record.outcome == "flagged") is tampered, (forged.name, record)
        neighbour = records[f"{i:02d}b_honest"]
        full = sum(honest[forged.notebook].points.values())
        assert neighbour.outcome == "graded" and neighbour.score == full, neighbour
    assert f"{len(FORGERIES) - 1} flagged" in run.summary_text


HOSTILE = {
    "h1_fork_bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    "h2_memory_hog": "hog = []\nwhile True:\n    hog.append(bytearray(64 << 20))\n",
    "h3_output_flood": "for i in range(2_000_000):\n    print('flood', i)\n",
    "h4_disk_filler": "i = 0\nwhile True:\n    open(f'fill{i}.bin', 'wb').write(b'x' * (64 << 20))\n    i += 1\n",
    # each process stays below its own 4 GiB address space; together they pass 4 GiB
    "h5_memory_children": "import subprocess, sys, time\n"
                          "kids = [subprocess.Popen([sys.executable, '-c', \"b = b'x' * (900 << 20)\\n"
                          "import time\\ntime.sleep(3600)\"]) for _ in range(6)]\ntime.sleep(3600)\n",
    # below Python's sys.stdout: must reach neither the notebook uncapped nor the grader's stdout
    "h6_fd_flood": "import os\nfor i in range(300_000):\n    os.write(1, b'fd flood %d\\n' % i)\n",
}


@pytest.mark.timeout(60 * 60)
def test_hostile_class_is_contained_and_honest_students_grade_as_in_a_clean_run(
        released_course, tmp_path, capfd):
    """Is each hostile submission stopped by the limit it meets (not by a cell or notebook
    timeout), with 0 for what it broke and the reason or the limit named, while every honest
    student graded in the same batch gets exactly the scores and messages of a clean run?"""
    from graders.grading.runner import collect
    from graders.instructions import for_notebook
    from variants import BY_NAME

    import nbformat

    clean = tmp_path / "clean"
    shutil.copytree(released_course, clean)
    honest = BY_NAME["vanishing_reference"]
    for i, (name, code) in enumerate(HOSTILE.items()):
        write_submission(released_course / "submitted" / name / ASSIGNMENT,
                         exploding(name, step1=code))
        for course in (released_course, clean):
            write_submission(course / "submitted" / f"h{i + 1}_honest" / ASSIGNMENT, honest)

    run = verbs.grade(course=released_course, assignment=ASSIGNMENT)
    clean_run = verbs.grade(course=clean, assignment=ASSIGNMENT)
    assert not run.errors and not clean_run.errors
    records = {r.student: r for r in run.graded}
    bomb = records["h1_fork_bomb"]
    assert bomb.outcome == "failed" and "more than 256 processes" in bomb.reason, bomb
    for name in HOSTILE:
        assert not records[name].score, records[name]
    # each was stopped by its limit, none ran until a cell timeout (600 s) or the notebook's
    for name in HOSTILE:
        record = records[name]
        log = (released_course / record.log).read_text()
        for timeout in ("CellTimeoutError", "timed out", "ran longer than"):
            assert timeout not in log, (name, timeout)
        assert not any(words in (record.reason or "") for words in (
            "time limit", "ran longer than")), record  # batch/diagnosis.py's words for a timeout
    children = records["h5_memory_children"]
    assert children.outcome == "failed" and "4 GiB memory limit" in children.reason, children
    # limits met without the kernel being stopped are named too
    assert any("memory limit (MemoryError)" in hit for hit in records["h2_memory_hog"].limits)
    assert any("output limit" in hit for hit in records["h3_output_flood"].limits)
    assert any("disk limit" in hit for hit in records["h4_disk_filler"].limits)
    assert any("stdout/stderr" in hit for hit in records["h6_fd_flood"].limits)
    assert "Kernel limits met (4)" in run.summary_text, run.summary_text
    assert "fd flood" not in capfd.readouterr().out
    for name in HOSTILE:
        assert records[name].limits or records[name].outcome == "failed", records[name]
    assert not any(r.limits for r in clean_run.graded)

    def verdicts(course, student):
        nb = nbformat.read(course / "autograded" / student / ASSIGNMENT /
                           "vanishing_gradients.ipynb", as_version=4)
        return [(r.points, r.message) for r in collect(nb, for_notebook("vanishing_gradients"))[0]]

    clean_records = {r.student: r for r in clean_run.graded}
    for i in range(len(HOSTILE)):
        student = f"h{i + 1}_honest"
        assert records[student].cells == clean_records[student].cells
        assert records[student].score == 5
        assert verdicts(released_course, student) == verdicts(clean, student)
    # the course's files are untouched and nothing was written outside the kernels' scratch
    assert not list(released_course.rglob("fill*.bin"))


def _kernels_under(pid: int) -> list[int]:
    """Pids of the grading kernels (ipykernel inside the sandbox) descending from ``pid``."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():  # self, thread-self, sys, ...
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        try:
            if b"kernelapp" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
        todo += children.get(child, [])
    return found


@pytest.mark.timeout(30 * 60)
def test_a_worker_killed_mid_submission_is_replaced_and_the_submission_graded(
        released_course, dask_cluster):
    """When the worker process executing a submission dies (SIGKILL, an out-of-memory kill of
    the worker itself) while its kernel runs the student's notebook, does Dask hand the
    submission to another worker (the nanny restarts the dead one under a new address) so
    that the run ends with every student graded, none failed?"""
    import threading

    from distributed import Client

    course = released_course
    submit(course, "bob", "bob_partly_wrong")
    result = {}
    grading = threading.Thread(target=lambda: result.update(run=verbs.grade(
        course=course, assignment=ASSIGNMENT, scheduler=dask_cluster)))
    grading.start()
    killed = None  # (address, pid) of the worker killed while its kernel ran
    with Client(dask_cluster, timeout="30s") as client:
        deadline = time.monotonic() + 600  # generous: only a kernel never started fails here
        while killed is None and time.monotonic() < deadline and grading.is_alive():
            busy = [address for address, keys in client.processing().items() if keys]
            pids = client.run(os.getpid, workers=busy) if busy else {}
            for address, pid in pids.items():
                if _kernels_under(pid):  # this worker's kernel runs the notebook now
                    os.kill(pid, signal.SIGKILL)
                    killed = address, pid
                    break
            time.sleep(0.2)
    grading.join(timeout=1200)
    assert killed, "no worker was ever seen running a kernel for the submission"
    assert not grading.is_alive(), "the run never ended after the worker was killed"
    run = result["run"]
    assert not run.errors, run.errors
    [record] = run.graded
    assert record.outcome == "graded" and record.score == 4, record
    # graded by another worker: the killed one's attempt was interrupted, not its result kept
    assert record.worker and record.worker != killed[0], (record.worker, killed)
    assert Store(course, ASSIGNMENT).read("bob").worker == record.worker


def test_rejudge_gives_the_fixed_checks_verdicts_and_executes_nothing(released_course,
                                                                      monkeypatch):
    """After a check changed, does ``grade --rejudge`` give every graded submission the new
    verdict (message and score, in the notebook, the gradebook and the record) from the kept
    evidence, without executing anything: no cluster, every student cell's outputs as they
    were, the record saying nothing ran?"""
    import dataclasses
    import json

    import nbformat

    from graders.instructions import INSTRUCTIONS
    from graders.kernel.result import Mistake, RESULT_MIMETYPE

    course = released_course
    submit(course, "alice", "alice_right")
    submit(course, "bob", "bob_partly_wrong")
    first = verbs.grade(course=course, assignment=ASSIGNMENT)
    assert not first.errors
    before = cells(course)
    path = course / "autograded" / "alice" / ASSIGNMENT / "vanishing_gradients.ipynb"
    old = nbformat.read(path, as_version=4)
    kept = course / "grading" / ASSIGNMENT / "evidence" / "alice" / "vanishing_gradients.json"
    assert "vanishing_plot" in json.loads(kept.read_text())["cells"]

    def stricter(evidence):  # the "fixed" check: the plot now also needs a title
        raise Mistake("Give the plot a title (fixed check).")

    plot = INSTRUCTIONS["vanishing_plot"]
    monkeypatch.setitem(INSTRUCTIONS, "vanishing_plot", dataclasses.replace(plot, check=stricter))
    run = verbs.grade(course=course, assignment=ASSIGNMENT, rejudge=True)
    assert not run.errors and sorted(r.student for r in run.graded) == ["alice", "bob"]
    after = cells(course)
    cell = f"vanishing_gradients/{plot.test_cell}"
    for student in ("alice", "bob"):
        assert after[student][1][cell][0] == 0.0
        unchanged = {k: v for k, v in before[student][1].items() if k != cell}
        assert {k: v for k, v in after[student][1].items() if k != cell} == unchanged
    assert after["alice"][0] == before["alice"][0] - plot.points
    new = nbformat.read(path, as_version=4)
    verdict = [json.loads(o.data[RESULT_MIMETYPE]) for c in new.cells for o in c.get("outputs", [])
               if c.metadata.get("nbgrader", {}).get("grade_id") == plot.test_cell
               and RESULT_MIMETYPE in o.get("data", {})]
    assert verdict and verdict[0]["message"] == "Give the plot a title (fixed check)."
    # nothing executed: every other cell's outputs and execution counts are as they were
    strip = lambda nb: [(c.get("execution_count"), c.get("outputs")) for c in nb.cells
                        if c.metadata.get("nbgrader", {}).get("grade_id") != plot.test_cell]
    assert strip(new) == strip(old)
    record = Store(course, ASSIGNMENT).read("alice")
    assert record.worker.startswith("none: judged again") and record.score == after["alice"][0]
    assert "nothing executed" in (course / record.log).read_text()
