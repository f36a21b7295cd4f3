"""The student's bundle and the Gradescope autograder, as students and Gradescope meet them."""
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from graders.course import bundle as bundle_module
from graders.course import gradescope
from graders.course.bundle import bundle, read_lock
from graders.course.gradescope import (KernelChoice, Layout, SandboxStatus,
                                       autograder_zip, find_notebooks, released_name, results_json,
                                       write_results)
from graders.grading import unprivileged
from graders.grading.runner import NotebookGrade
from graders.instructions import INSTRUCTIONS, NOTEBOOKS, for_notebook
from graders.kernel.hints import HINTS
from graders.kernel.result import RESULT_MIMETYPE, CheckResult
from helpers import ASSIGNMENT, REPO, SAMPLES_DIR
from variants import SAMPLES

NOTEBOOK_FILES = [f"{n}.ipynb" for n in NOTEBOOKS]
CHECK_COMMAND = "rnn-course check exploding_gradients.ipynb vanishing_gradients.ipynb"
PLATFORMS = {  # what pip's environment markers see on each kind of student machine
    "linux": {"sys_platform": "linux", "platform_machine": "x86_64"},  # also Colab
    "linux-arm": {"sys_platform": "linux", "platform_machine": "aarch64"},
    "macos": {"sys_platform": "darwin", "platform_machine": "arm64"},
    "windows": {"sys_platform": "win32", "platform_machine": "AMD64"},
}


@pytest.fixture
def student_zip(released_course, tmp_path) -> Path:
    return bundle(course=released_course, assignment=ASSIGNMENT, to=tmp_path / "student.zip")


@pytest.fixture
def autograder(released_course, tmp_path) -> Path:
    return autograder_zip(course=released_course, assignment=ASSIGNMENT,
                          to=tmp_path / "autograder.zip")


def _wheel_name() -> str:
    return bundle_module.package_wheel()[0]


def _selected(requirements: str, platform: dict) -> list[str]:
    """The requirement lines pip installs on ``platform`` (markers evaluated there)."""
    env = {**default_environment(), **platform}
    return [line for line in requirements.splitlines()
            if line and not line.startswith(("#", "./"))
            and (Requirement(line).marker is None or Requirement(line).marker.evaluate(env))]


# ----------------------------------------------------------------------------- student bundle
def test_bundle_holds_the_release_requirements_wheel_and_readme(released_course, student_zip):
    """Does the student's zip hold exactly the released files, requirements.txt, the package's
    wheel and a README, all in one folder named after the assignment?"""
    release = released_course / "release" / ASSIGNMENT
    released = sorted(p.name for p in release.iterdir() if p.is_file())
    assert set(NOTEBOOK_FILES) <= set(released) and "model_weights.h5" in released
    with zipfile.ZipFile(student_zip) as z:
        assert z.namelist() == sorted(
            [f"{ASSIGNMENT}/{name}" for name in released]
            + [f"{ASSIGNMENT}/README.md", f"{ASSIGNMENT}/requirements.txt",
               f"{ASSIGNMENT}/wheels/{_wheel_name()}"])
        for name in released:  # byte for byte what nbgrader generate_assignment made
            assert z.read(f"{ASSIGNMENT}/{name}") == (release / name).read_bytes()
        requirements = z.read(f"{ASSIGNMENT}/requirements.txt").decode()
    assert f"./wheels/{_wheel_name()}" in requirements.splitlines()


def test_readme_says_how_to_open_check_and_what_to_upload(tmp_path):
    """Does the README tell a student how to install, open the notebooks (also on Colab),
    self-check with the exact command, and upload the two notebooks with their names unchanged?"""
    with zipfile.ZipFile(bundle(course=REPO, assignment=ASSIGNMENT, to=tmp_path / "s.zip")) as z:
        readme = z.read(f"{ASSIGNMENT}/README.md").decode()
    assert "python -m pip install -r requirements.txt" in readme
    assert "jupyter lab" in readme and "Colab" in readme
    assert f"!unzip -q -o /content/{ASSIGNMENT}.zip" in readme
    assert CHECK_COMMAND in readme
    assert "names unchanged" in readme
    assert "`exploding_gradients.ipynb`, `vanishing_gradients.ipynb`" in readme
    for instruction in INSTRUCTIONS.values():  # what is graded, and for how many points
        assert f"| `{instruction.notebook}.ipynb` | {instruction.title} | {instruction.points:g} |" in readme


def test_requirements_install_tensorflow_on_every_platform_at_the_locked_versions():
    """Does requirements.txt pick tensorflow-cpu on Linux x86_64 (and Colab) and tensorflow
    2.21 elsewhere, exactly one of them per platform, with every other version of the lock?"""
    text = bundle_module.requirements_txt(wheel="./wheels/x.whl")
    lock = read_lock()
    version = lock["tensorflow-cpu"].split("==")[1]
    for platform, env in PLATFORMS.items():
        chosen = _selected(text, env)
        flavours = [line.split(";")[0] for line in chosen if line.startswith("tensorflow")]
        expected = "tensorflow-cpu" if platform == "linux" else "tensorflow"
        assert flavours == [f"{expected}=={version}"], platform
        for name, pin in lock.items():
            if name != "tensorflow-cpu":
                assert pin in chosen, (platform, pin)


def test_wheel_declares_the_same_markers_and_installs_the_command(tmp_path):
    """Does the shipped wheel install (pip, no build step) with the `rnn-course` command, and
    does its metadata pin TensorFlow per platform as requirements.txt does?"""
    name, data = bundle_module.package_wheel()
    wheel = tmp_path / name
    wheel.write_bytes(data)
    with zipfile.ZipFile(wheel) as z:
        metadata = z.read(f"{name.split('-py3-')[0]}.dist-info/METADATA").decode()
        assert {"graders/course/gradescope/__init__.py",
                "graders/course/gradescope/__main__.py"} <= set(z.namelist())
        # package data the package needs (the pins), never the samples (one is a solution) nor
        # any notebook
        assert "graders/course/requirements.lock" in z.namelist()
        assert not [n for n in z.namelist() if n.endswith(".ipynb") or "/samples/" in n]
    requires = [line.split(": ", 1)[1] for line in metadata.splitlines()
                if line.startswith("Requires-Dist: ")]
    for platform, env in PLATFORMS.items():
        env = {**default_environment(), **env}
        tf = [r for r in requires if r.startswith("tensorflow")
              and Requirement(r).marker.evaluate(env)]
        assert len(tf) == 1, platform
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    assert (target / "bin" / "rnn-course").is_file()
    assert (target / "graders" / "instructions.py").is_file()


def test_rebuilding_gives_the_same_bytes(tmp_path):
    """Do two builds of the bundle and of the autograder from the committed release give
    byte-identical zips, with fixed timestamps?"""
    for build in (bundle, autograder_zip):
        first = build(course=REPO, assignment=ASSIGNMENT, to=tmp_path / "1.zip")
        second = build(course=REPO, assignment=ASSIGNMENT, to=tmp_path / "2.zip")
        assert first.read_bytes() == second.read_bytes()
        with zipfile.ZipFile(first) as z:
            assert {i.date_time for i in z.infolist()} == {bundle_module.ZIP_DATE}
            assert z.namelist() == sorted(z.namelist())


# ----------------------------------------------------------------------------- autograder zip
def test_autograder_zip_has_setup_and_run_autograder_at_its_root(autograder, released_course):
    """Does the autograder zip hold setup.sh and an executable run_autograder at its root, the
    pinned requirements, the package and the released data files (no notebook)?"""
    release = released_course / "release" / ASSIGNMENT
    data = sorted(p.name for p in release.iterdir() if p.is_file() and p.suffix != ".ipynb")
    with zipfile.ZipFile(autograder) as z:
        assert z.namelist() == sorted(["setup.sh", "run_autograder", "requirements.txt",
                                       _wheel_name(), *[f"data/{d}" for d in data]])
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        setup = z.read("setup.sh").decode()
        run_script = z.read("run_autograder").decode()
        requirements = z.read("requirements.txt").decode()
    assert stat.S_IMODE(modes["run_autograder"]) == 0o755 and stat.S_IMODE(modes["setup.sh"]) == 0o755
    assert run_script.startswith("#!/usr/bin/env bash\n") and setup.startswith("#!/usr/bin/env bash\n")
    for script in (setup, run_script):  # valid bash
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    assert "pip install --no-cache-dir --disable-pip-version-check -r requirements.txt" in setup
    assert "python3.11-venv" in setup and "graders.grading.sandbox install" in setup
    assert (f"id -u {unprivileged.KERNEL_USER} >/dev/null 2>&1 || useradd --system "
            f"--user-group --no-create-home \\\n    --home-dir /nonexistent --shell "
            f"/usr/sbin/nologin {unprivileged.KERNEL_USER}\n") in setup
    assert "-m graders.course.gradescope run" in run_script
    assert f"./{_wheel_name()}" in requirements.splitlines()
    linux = _selected(requirements, PLATFORMS["linux"])  # Gradescope's image: the grader's pins
    version = read_lock()["tensorflow-cpu"].split("==")[1]
    assert f"tensorflow-cpu=={version}" in [line.split(";")[0] for line in linux]


@pytest.mark.parametrize("uploaded, expected", [
    ("exploding_gradients.ipynb", "exploding_gradients"),
    ("exploding_gradients (1).ipynb", "exploding_gradients"),
    ("Exploding_Gradients-2.ipynb", "exploding_gradients"),
    ("VANISHING_GRADIENTS.IPYNB", "vanishing_gradients"),
    ("vanishing gradients copy.ipynb", "vanishing_gradients"),
    ("vanishing_gradients_3.ipynb", "vanishing_gradients"),
    ("exploding_gradients.py", None),
    ("homework.ipynb", None),
    ("exploding.ipynb", None),
])
def test_renamed_uploads_map_to_the_released_names(uploaded, expected):
    """Is a browser's or LMS's renamed copy (other case, ' (1)', '-2', ' copy') graded as the
    released notebook, and anything else not?"""
    assert released_name(uploaded) == expected


def test_duplicates_and_strays_are_reported_not_graded(tmp_path):
    """With two files for one notebook, is the one with the released name graded and the other
    reported, and is an unknown notebook reported?"""
    (tmp_path / "exploding_gradients (1).ipynb").write_text("{}")
    (tmp_path / "exploding_gradients.ipynb").write_text("{}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Vanishing_Gradients (2).ipynb").write_text("{}")
    (tmp_path / "scratch.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("hi")
    found = find_notebooks(tmp_path)
    assert found.chosen == {"exploding_gradients": tmp_path / "exploding_gradients.ipynb",
                            "vanishing_gradients": tmp_path / "sub" / "Vanishing_Gradients (2).ipynb"}
    assert found.notes == [
        "`scratch.ipynb` is not a notebook of this assignment and was not graded.",
        "`exploding_gradients (1).ipynb` is another copy of `exploding_gradients.ipynb`: only "
        "`exploding_gradients.ipynb` was graded.",
        "Graded `sub/Vanishing_Gradients (2).ipynb` as `vanishing_gradients.ipynb`.",
    ]


# ----------------------------------------------------------------------------- results.json
TEST_KEYS = {"name", "number", "score", "max_score", "status", "output", "visibility", "tags",
             "extra_data"}


def test_results_json_follows_gradescopes_spec_field_by_field(tmp_path):
    """Given check results, is results.json one visible test per instruction with name, number,
    score, max_score, status and the targeted message (+ hint) as output, plus the top-level
    score, execution_time and an output that says how the notebooks ran?"""
    e1, e2 = for_notebook("exploding_gradients")
    exploding = NotebookGrade("exploding_gradients", [
        CheckResult(e1.id, e1.title, 2.0, 2.0, True, "MSE is nan: the gradients exploded."),
        CheckResult(e2.id, e2.title, 0.0, 2.0, False, "You clipped with `clipnorm`.",
                    "exploding_clipnorm"),
    ], problems=["You changed the read-only cell 'setup'."])
    vanishing = NotebookGrade.nothing_graded("vanishing_gradients", "No `vanishing_gradients.ipynb`.")
    results = results_json([exploding, vanishing], execution_time=12.6,
                           sandbox=SandboxStatus(False, "no user namespaces"),
                           notes=["Graded `exploding_gradients (1).ipynb` as `exploding_gradients.ipynb`."])

    assert results["score"] == 2.0
    assert results["execution_time"] == 13
    assert results["output_format"] == results["test_output_format"] == "md"
    assert results["extra_data"] == {"sandboxed": False, "sandbox": "no user namespaces",
                                     "kernel": "plain", "kernel_user": None,
                                     "notebooks": ["exploding_gradients"]}
    tests = results["tests"]
    assert [t["number"] for t in tests] == ["1.1", "1.2", "2.1", "2.2", "2.3", "2.4"]
    assert all(set(t) == TEST_KEYS and t["visibility"] == "visible" for t in tests)
    assert tests[0] == {
        "name": f"exploding_gradients.ipynb: {e1.title}", "number": "1.1", "score": 2.0,
        "max_score": 2.0, "status": "passed", "output": "MSE is nan: the gradients exploded.",
        "visibility": "visible", "tags": ["exploding_gradients", e1.id],
        "extra_data": {"instruction": e1.id, "hint": None}}
    assert tests[1]["status"] == "failed" and tests[1]["score"] == 0.0
    assert tests[1]["output"] == f"You clipped with `clipnorm`.\n\nHint: {HINTS['exploding_clipnorm']}"
    for test, instruction in zip(tests[2:], for_notebook("vanishing_gradients")):
        assert test["name"] == f"vanishing_gradients.ipynb: {instruction.title}"
        assert (test["score"], test["max_score"], test["status"]) == (0.0, instruction.points, "failed")
        assert test["output"] == "No `vanishing_gradients.ipynb`."
    output = results["output"]
    assert "**exploding_gradients.ipynb: 2/4 points**" in output
    assert "- You changed the read-only cell 'setup'." in output
    assert "**vanishing_gradients.ipynb: 0/5 points** (not graded: No `vanishing_gradients.ipynb`.)" in output
    assert "Graded `exploding_gradients (1).ipynb` as `exploding_gradients.ipynb`." in output
    assert "plain Python kernel" in output and "no user namespaces" in output
    path = write_results(results, tmp_path / "results" / "results.json")
    assert json.loads(path.read_text()) == results


def test_results_json_says_which_kernel_ran_and_what_holds_in_it():
    """Does results.json say, in its output and extra_data, that the notebooks ran as the
    unprivileged user, with what that protects and what it does not, and name the sandbox or
    the plain kernel (with both reasons) otherwise?"""
    outcome = NotebookGrade.nothing_graded("exploding_gradients", "missing")
    status = SandboxStatus(False, "no user namespaces")
    as_user = results_json([outcome], sandbox=status, execution_time=1,
                           kernel=KernelChoice("unprivileged", status.reason, "rnn-course-kernel"))
    assert as_user["extra_data"]["kernel"] == "unprivileged"
    assert as_user["extra_data"]["kernel_user"] == "rnn-course-kernel"
    output = as_user["output"]
    assert "as the unprivileged user `rnn-course-kernel` (the bubblewrap sandbox was not used: " \
           "no user namespaces)" in output
    assert "cannot change the autograder, the course's files or these results" in output
    assert "stopped when the notebook ends, before it is graded" in output
    assert "Not enforced in this mode: the sandbox's memory cap per kernel and its network " \
           "cut-off" in output
    assert "plain Python kernel" not in output
    plain = results_json([outcome], sandbox=status, execution_time=1, kernel=KernelChoice(
        "plain", "no user namespaces; the grader does not run as root"))
    assert plain["extra_data"]["kernel"] == "plain" and plain["extra_data"]["kernel_user"] is None
    assert "plain Python kernel" in plain["output"]
    assert "not used: no user namespaces; the grader does not run as root)" in plain["output"]
    boxed = results_json([outcome], sandbox=SandboxStatus(True, "works"), execution_time=1)
    assert boxed["extra_data"]["kernel"] == "sandbox" and "bubblewrap sandbox" in boxed["output"]


def test_a_submission_without_notebooks_scores_zero_with_a_message(tmp_path, monkeypatch):
    """Does run_autograder's run() write results.json with every instruction at 0 and the
    files it received named, when no notebook of the assignment was uploaded?"""
    monkeypatch.setenv(gradescope.ENV_SANDBOX, "off")
    layout = Layout(tmp_path)
    layout.submission.mkdir()
    (layout.submission / "notes.txt").write_text("I could not finish")
    results = gradescope.run(layout=layout)
    assert json.loads(layout.results.read_text()) == results
    assert results["score"] == 0.0 and len(results["tests"]) == len(INSTRUCTIONS)
    assert all(t["status"] == "failed" for t in results["tests"])
    assert results["tests"][0]["output"] == (
        "No `exploding_gradients.ipynb` in your submission (received: `notes.txt`). Upload it "
        "with its name unchanged.")
    assert f"{gradescope.ENV_SANDBOX}=off" in results["output"]


def test_paths_default_to_autograder_and_move_with_the_environment(tmp_path):
    """Are /autograder's paths in one place, and moved by RNN_COURSE_AUTOGRADER_ROOT?"""
    default = Layout.from_env({})
    assert (default.source, default.submission, default.results, default.data) == (
        Path("/autograder/source"), Path("/autograder/submission"),
        Path("/autograder/results/results.json"), Path("/autograder/source/data"))
    assert Layout.from_env({gradescope.ENV_ROOT: str(tmp_path)}).results == \
        tmp_path / "results" / "results.json"


def test_sandbox_probe_tells_whether_bubblewrap_works(monkeypatch, tmp_path):
    """Does the probe say no (with the reason) without bwrap or when switched off, and yes on a
    machine where bubblewrap works?"""
    assert gradescope.probe_sandbox({gradescope.ENV_SANDBOX: "off"}) == SandboxStatus(
        False, f"{gradescope.ENV_SANDBOX}=off")
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap, no prlimit
    status = gradescope.probe_sandbox({})
    assert not status.works and "bwrap" in status.reason
    monkeypatch.undo()
    if not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed here")
    assert gradescope.probe_sandbox({}).works


def test_submitted_outputs_are_cleared_before_grading(tmp_path):
    """Is a verdict saved in the uploaded file (a forged output) removed before the notebook
    runs, so that only this run's verdicts can count? (The runner's ``prepare``, which every
    path to a kernel goes through: run_autograder, rnn-course check, the pytest plugin.)"""
    from graders.grading import runner

    nb = nbformat.read(REPO / "release" / ASSIGNMENT / "exploding_gradients.ipynb", as_version=4)
    forged = nbformat.v4.new_output("display_data", data={RESULT_MIMETYPE: json.dumps(
        {"instruction": "exploding_step2", "title": "x", "points": 2, "max_points": 2,
         "passed": True, "message": "ok"})})
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [forged], 7
    nbformat.write(nb, tmp_path / "uploaded.ipynb")
    cleared = runner.read_notebook(tmp_path / "uploaded.ipynb")
    instructions = for_notebook("exploding_gradients")
    assert runner.prepare(cleared, instructions) == []
    code = [c for c in cleared.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    tests = {i.test_cell for i in instructions}
    assert [c.source for c in cleared.cells if runner.grade_id(c) not in tests] == \
        [c.source for c in nb.cells if runner.grade_id(c) not in tests]
    assert all(runner.published_result(c) is None for c in cleared.cells)


def test_run_hands_the_runner_a_clean_copy_under_the_released_name(tmp_path, monkeypatch):
    """Does run() grade a renamed upload through grade_notebook with the released name (the
    uploaded bytes: the runner clears saved outputs, test above), the zip's data folder and the probed sandbox choice, turn the
    runner's verdicts into Gradescope's tests (status, score, message with its hint, the
    notebook's problems, the total), and report an unreadable notebook as the student's
    message?

    grade_notebook is replaced here to see what run() hands it and what run() makes of a
    mixed verdict (the real runner grades bob's notebooks in the end-to-end test below)."""
    from graders.grading import runner

    seen = {}
    step1, step2 = for_notebook("exploding_gradients")
    verdicts = [CheckResult(step1.id, step1.title, step1.points, step1.points, True, "Right."),
                CheckResult(step2.id, step2.title, 0.0, step2.points, False,
                            "Step 2: you clipped with clipnorm=3.", "exploding_clipnorm")]

    def fake_grade_notebook(path, *, files_from, timeout, sandboxed, user):
        runner.read_notebook(Path(path))  # an unreadable upload stops here, as in the runner
        seen[Path(path).name] = (files_from, timeout, sandboxed, user, Path(path).read_bytes())
        return runner.NotebookGrade(Path(path).stem, verdicts,
                                    problems=["a test cell published no verdict"])

    monkeypatch.setattr(runner, "grade_notebook", fake_grade_notebook)
    monkeypatch.setenv(gradescope.ENV_SANDBOX, "off")
    layout = Layout(tmp_path)
    layout.submission.mkdir()
    nb = nbformat.read(REPO / "release" / ASSIGNMENT / "exploding_gradients.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="saved by the student")]
    nbformat.write(nb, layout.submission / "exploding_gradients (1).ipynb")
    (layout.submission / "vanishing_gradients.ipynb").write_text("{ not json")

    results = gradescope.run(layout=layout)
    files_from, timeout, sandboxed, user, graded = seen.pop("exploding_gradients.ipynb")
    assert not seen  # the unreadable notebook never reached the runner
    assert (files_from, timeout, sandboxed) == (layout.data, gradescope.CELL_TIMEOUT, False)
    # the unprivileged user where it works here (root, and it can run the interpreter)
    assert user == results["extra_data"]["kernel_user"]
    assert results["extra_data"]["kernel"] == ("unprivileged" if user else "plain")
    assert graded == (layout.submission / "exploding_gradients (1).ipynb").read_bytes()
    by_id = {t["tags"][1]: t for t in results["tests"]}
    assert list(by_id) == list(INSTRUCTIONS)
    assert {k: (t["status"], t["score"], t["max_score"]) for k, t in by_id.items()} == {
        "exploding_step1": ("passed", 2.0, 2.0), "exploding_step2": ("failed", 0.0, 2.0),
        **{i.id: ("failed", 0.0, float(i.points)) for i in for_notebook("vanishing_gradients")}}
    assert by_id["exploding_step1"]["output"] == "Right."
    assert by_id["exploding_step2"]["output"] == (
        f"Step 2: you clipped with clipnorm=3.\n\nHint: {HINTS['exploding_clipnorm']}")
    assert by_id["exploding_step2"]["extra_data"] == {"instruction": "exploding_step2",
                                                      "hint": "exploding_clipnorm"}
    assert results["score"] == 2.0  # the sum over both notebooks, the unreadable one at 0
    assert "**exploding_gradients.ipynb: 2/4 points**\n- a test cell published no verdict" \
        in results["output"]
    for i in for_notebook("vanishing_gradients"):
        assert "not a readable Jupyter notebook" in by_id[i.id]["output"]
    assert "Graded `exploding_gradients (1).ipynb` as `exploding_gradients.ipynb`." in results["output"]
    assert json.loads(layout.results.read_text()) == results


# ----------------------------------------------------------------------------- end to end
def _gradescope_container(root: Path, command: list[str]) -> list[str]:
    """bwrap arguments running ``command`` as Gradescope runs run_autograder: ``root`` bound at
    /autograder (the working directory), the host's system read-only, a private /tmp, and, as in
    Gradescope's container, no user namespaces for a nested sandbox."""
    args = ["bwrap", "--unshare-user", "--disable-userns", "--unshare-pid", "--die-with-parent"]
    for entry in sorted(os.listdir("/")):
        path = f"/{entry}"
        if entry in {"proc", "dev", "tmp", "autograder", "lost+found"}:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    for path in sorted({str(REPO), sys.prefix, os.path.realpath(sys.prefix), sys.base_prefix}):
        if path.startswith("/tmp/"):  # a clone or virtualenv under /tmp stays visible
            args += ["--ro-bind", path, path]
    return args + ["--bind", str(root), "/autograder", "--chdir", "/autograder", "--", *command]


@pytest.mark.slow
def test_gradescope_grades_bobs_renamed_upload_as_gradescope_runs_it(autograder, tmp_path):
    """Unpacked at /autograder with bob's notebooks in submission/ (one renamed by the browser),
    does run_autograder write results.json with bob's scores and messages per instruction,
    grading in the plain kernel because the container has no user namespaces (for the sandbox)
    and its root, mapped alone into one, cannot switch users (for the unprivileged kernel)?

    setup.sh is not run (no pip installs here): run_autograder uses this virtualenv, which holds
    the same pinned versions and this package, through RNN_COURSE_AUTOGRADER_PYTHON."""
    if not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed here")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder) as z:
        z.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    bob = SAMPLES_DIR / "bob_partly_wrong" / ASSIGNMENT
    shutil.copy(bob / "exploding_gradients.ipynb", root / "submission" / "exploding_gradients (1).ipynb")
    shutil.copy(bob / "vanishing_gradients.ipynb", root / "submission" / "vanishing_gradients.ipynb")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "JUPYTER_"))}
    env.update(HOME="/tmp/home", **{gradescope.ENV_PYTHON: sys.executable})
    done = subprocess.run(_gradescope_container(root, ["/autograder/run_autograder"]), env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())

    tests = {t["tags"][1]: t for t in results["tests"]}
    assert list(tests) == list(INSTRUCTIONS)
    for variant in SAMPLES["bob_partly_wrong"]:
        for instruction_id, points in variant.points.items():
            test, instruction = tests[instruction_id], INSTRUCTIONS[instruction_id]
            assert test["name"] == f"{variant.notebook}.ipynb: {instruction.title}"
            assert (test["score"], test["max_score"]) == (points, instruction.points), instruction_id
            assert test["status"] == ("passed" if points == instruction.points else "failed")
            assert test["visibility"] == "visible" and test["output"]
            for word in variant.words.get(instruction_id, []):
                assert word in test["output"], (instruction_id, word, test["output"])
    assert "clipvalue" in tests["exploding_step2"]["output"]
    expected = sum(p for v in SAMPLES["bob_partly_wrong"] for p in v.points.values())
    assert results["score"] == expected == 4
    assert 0 < results["execution_time"] < 600
    assert results["extra_data"]["sandboxed"] is False
    # root in a user namespace that maps only root: it cannot switch users either
    assert results["extra_data"]["kernel"] == "plain"
    assert results["extra_data"]["kernel_user"] is None
    assert "plain Python kernel" in results["output"]
    assert "Graded `exploding_gradients (1).ipynb` as `exploding_gradients.ipynb`." in results["output"]
    assert "sandbox: off" in done.stdout and "kernel: plain" in done.stdout  # the instructor's log


# ----------------------------------------------------------------------------- unprivileged kernel
def _launcher(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-m", unprivileged.MODULE, *args], cwd="/",
                          capture_output=True, text=True, timeout=60)


def test_the_launcher_refuses_root_unknown_users_and_bad_arguments():
    """Does the unprivileged kernel's launcher refuse to start a kernel as a user with root's
    uid, as a user that does not exist, or without its arguments, saying why?"""
    for user in ("root", "no-such-user-rnn-course"):
        done = _launcher("--user", user, "connection.json")
        assert done.returncode == 3 and "NOT started" in done.stderr, done.stderr
    assert "the user root has root's uid or gid" in _launcher("--user", "root", "--check").stderr
    assert "no user no-such-user-rnn-course" in _launcher(
        "--user", "no-such-user-rnn-course", "--check").stderr
    assert _launcher("connection.json").returncode == 2


def _kernel_user_or_skip():
    if os.geteuid() != 0:
        pytest.skip("only root can switch users (Gradescope runs the autograder as root)")
    return unprivileged.kernel_user()


def test_every_process_of_the_kernel_user_is_killed(tmp_path):
    """Are all processes of the kernel's user killed, a detached one (its own session) and its
    child included, and none left in /proc? (Every process of that user: the dedicated account
    if it exists, else nobody.)"""
    entry = _kernel_user_or_skip()
    as_user = dict(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], cwd="/",
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    detached = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60"], start_new_session=True,
                                **as_user)
    plain = subprocess.Popen(["sleep", "60"], **as_user)
    time.sleep(0.3)
    assert {detached.pid, plain.pid} <= set(unprivileged.processes(entry.pw_uid))
    assert unprivileged.kill_processes(entry.pw_name) >= 3
    assert detached.wait(10) == -9 and plain.wait(10) == -9
    assert unprivileged.processes(entry.pw_uid) == []
    assert unprivileged.kill_processes(entry.pw_name) == 0  # nothing left: nothing to do


def test_the_kernels_folder_is_handed_over_and_its_files_stay_roots(tmp_path):
    """Does the kernel's user get its scratch folder (0700) while the files root put in it
    stay root's and readable?"""
    entry = _kernel_user_or_skip()
    folder = tmp_path / "work"
    folder.mkdir(mode=0o700)
    (folder / "model_weights.h5").write_bytes(b"weights")
    (folder / "model_weights.h5").chmod(0o600)
    unprivileged.hand_over(folder, entry.pw_name)
    st = folder.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (entry.pw_uid, entry.pw_gid, 0o700)
    weights = (folder / "model_weights.h5").stat()
    assert (weights.st_uid, stat.S_IMODE(weights.st_mode)) == (0, 0o644)


def _root_container(root: Path, command: list[str]) -> list[str]:
    """bwrap arguments running ``command`` as root with root's rights (no user namespace, so
    it can switch users, as in Gradescope's container): ``root`` at /autograder, the host's
    system read-only but the installed package, which is root's to write as in Gradescope's
    virtualenv, a private /tmp, and a /root holding only the interpreter and the clone when
    they live there (a pyenv Python; the host's /root is 0700), with folders the kernel's user
    may pass through."""
    args = ["bwrap", "--die-with-parent"]
    for entry in sorted(os.listdir("/")):
        path = f"/{entry}"
        if entry in {"proc", "dev", "tmp", "root", "autograder", "lost+found"}:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp",
             "--dir", "/tmp/home", "--perms", "0755", "--tmpfs", "/root"]
    made = set()
    for path in sorted({str(REPO), sys.prefix, os.path.realpath(sys.prefix), sys.base_prefix,
                        os.path.realpath(sys.base_prefix)}):
        if not path.startswith(("/tmp/", "/root/")) or any(path.startswith(m + "/") for m in made):
            continue
        for parent in reversed(Path(path).parents[:-2]):  # below /tmp or /root
            args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", path, path]
        made.add(path)
    package = str(Path(unprivileged.__file__).resolve().parents[1])
    return args + ["--bind", package, package, "--bind", str(root), "/autograder",
                   "--chdir", "/autograder", "--", *command]


#: Added to the end of the first notebook: a process that would outlive the kernel.
LEFT_BEHIND = """\
import subprocess, sys
_left = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open("/autograder/shared/left_behind.pid", "w").write(str(_left.pid))
"""
#: Added to the end of the second notebook: try to rewrite the results, the judge, the course's
#: data, to regain root or kill the grader; start a process that forges the results later.
HOSTILE = """\
import json, os, signal, subprocess, sys
import graders.instructions
report = {"uid": os.getuid(), "attempts": {}, "folder": os.stat(".").st_uid,
          "home": os.environ["HOME"], "grading": os.environ.get("RNN_COURSE_GRADING")}
try:  # the first notebook's process: its state (Z: dead, not yet reaped by init)
    pid = open("/autograder/shared/left_behind.pid").read()
    report["left_behind"] = open(f"/proc/{pid}/status").read().split("State:")[1].split()[0]
except FileNotFoundError:
    report["left_behind"] = "gone"

def attempt(name, action):
    try:
        action()
        report["attempts"][name] = "done"
    except Exception as exc:
        report["attempts"][name] = type(exc).__name__

FORGED = '{"score": 100.0, "tests": []}'
attempt("results.json", lambda: open("/autograder/results/results.json", "w").write(FORGED))
attempt("results folder", lambda: open("/autograder/results/forged.json", "x").close())
# append mode, nothing written: harmless if it ever succeeded
attempt("installed package", lambda: open(graders.instructions.__file__, "a").close())
attempt("course data", lambda: open("/autograder/source/data/model_weights.h5", "a").close())
attempt("course folder", lambda: open("/autograder/source/data/planted.npz", "x").close())
attempt("root", lambda: os.setuid(0))
attempt("the grader", lambda: os.kill(os.getppid(), signal.SIGKILL))
LATE = ("import time; time.sleep(5); open('/autograder/shared/lingered', 'w').write('late'); "
        "open('/autograder/results/results.json', 'w').write('" + FORGED + "')")
late = subprocess.Popen([sys.executable, "-c", LATE], start_new_session=True,
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
report["late"] = late.pid
json.dump(report, open("/autograder/shared/report.json", "w"))
"""


@pytest.mark.slow
def test_without_bubblewrap_a_hostile_kernel_runs_unprivileged_and_leaves_nothing(tmp_path):
    """With the sandbox off and the autograder root (Gradescope's container without user
    namespaces), does a submission of the reference solution whose notebooks try to rewrite
    results.json, the installed package, the course's files, to regain root, to kill the grader,
    and leave processes behind (one idle, one that forges results.json 5 s later) get the
    reference's 9/9 from the judge, run as the unprivileged user (every attempt refused with
    PermissionError), and leave no process of that user, neither between the notebooks nor
    after the grader, and results.json still the judge's 8 s later?"""
    entry = _kernel_user_or_skip()
    if not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed here")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip(course=REPO, assignment=ASSIGNMENT,
                                        to=tmp_path / "autograder.zip")) as z:
        z.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    for folder in ("submission", "results", "shared"):
        (root / folder).mkdir()
    results_path = root / "results" / "results.json"
    results_path.write_text("{}\n")  # as root's files are in Gradescope: 0644 in 0755 folders
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() or path.name == "run_autograder" else 0o644)
    (root / "shared").chmod(0o1777)  # where the kernel reports what it saw
    alice = SAMPLES_DIR / "alice_right" / ASSIGNMENT
    for name, cell in (("exploding_gradients", LEFT_BEHIND), ("vanishing_gradients", HOSTILE)):
        nb = nbformat.read(alice / f"{name}.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(cell))
        nbformat.write(nb, root / "submission" / f"{name}.ipynb")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "JUPYTER_"))}
    env.update(HOME="/tmp/home", **{gradescope.ENV_PYTHON: sys.executable,
                                    gradescope.ENV_SANDBOX: "off"})
    try:
        done = subprocess.run(_root_container(root, ["/autograder/run_autograder"]), env=env,
                              capture_output=True, text=True, timeout=600)
        ended = time.monotonic()
        left = unprivileged.processes(entry.pw_uid)  # right after the grader
        assert done.returncode == 0, done.stdout + done.stderr
        results = json.loads(results_path.read_text())
        assert results["score"] == 9.0, results["output"]
        assert all(t["status"] == "passed" for t in results["tests"])
        assert results["extra_data"]["kernel"] == "unprivileged"
        assert results["extra_data"]["kernel_user"] == entry.pw_name
        assert f"as the unprivileged user `{entry.pw_name}`" in results["output"]
        assert f"kernel: unprivileged as {entry.pw_name}" in done.stdout

        report = json.loads((root / "shared" / "report.json").read_text())
        assert report["uid"] == report["folder"] == entry.pw_uid != 0  # its folder, its home
        assert report["home"].endswith(f"/{unprivileged.HOME_FOLDER}")
        assert report["grading"] == "1"  # a `!rnn-course check` cell does not grade again
        assert report["attempts"] == {name: "PermissionError" for name in (
            "results.json", "results folder", "installed package", "course data",
            "course folder", "root", "the grader")}
        assert report["left_behind"] in ("gone", "Z")  # killed after the first notebook
        assert left == []
        time.sleep(max(0.0, ended + 8 - time.monotonic()))
        assert not (root / "shared" / "lingered").exists()
        assert json.loads(results_path.read_text()) == results
        written = results_path.stat()  # root's, as write_results left it
        assert (written.st_uid, stat.S_IMODE(written.st_mode)) == (0, 0o644)
        assert sorted(p.name for p in (root / "results").iterdir()) == ["results.json"]
    finally:  # a failed defence must not leave its processes on this machine
        for pid in unprivileged.processes(entry.pw_uid):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
