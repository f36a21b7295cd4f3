"""The pytest graders (graders/course/pytest_plugin.py): `python -m pytest --rnn-notebook PATH`,
as a CI job and GitHub Classroom run it, and inert in every other pytest run."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from graders.course.pytest_plugin import CLASSROOM_SETUP, FILE_NAME_ITEM, classroom_tests
from graders.grading import runner
from graders.grading.runner import NotebookGrade
from graders.instructions import INSTRUCTIONS, for_notebook
from graders.kernel.hints import HINTS
from graders.kernel.result import CheckResult
from helpers import RELEASE, REPO, SAMPLES_DIR

pytest_plugins = ["pytester"]

BIN = Path(sys.executable).parent
PLUGIN = "graders.course.pytest_plugin"
ENTRY_POINT = "rnn_course"
BOB = SAMPLES_DIR / "bob_partly_wrong" / "rnn_architecture"
NOT_JSON = "{ this is not json"


def not_gradable_message(path: Path) -> str:
    """The runner's own message for a notebook file it cannot read."""
    with pytest.raises(runner.NotGradable) as refused:
        runner.read_notebook(path)
    return str(refused.value)


def _installed() -> bool:
    return bool(entry_points(group="pytest11", name=ENTRY_POINT))


def load_plugin() -> list[str]:
    """Options loading the plugin in an in-process run: nothing once the package's entry point
    is installed (then `-p graders.course.pytest_plugin` would register it a second time)."""
    return [] if _installed() else ["-p", PLUGIN]


@pytest.fixture(scope="module")
def student_env(tmp_path_factory) -> dict:
    """The environment of a pytest subprocess where the plugin is installed as `pip install`
    installs it: its entry point (a stand-in distribution until the package declares it)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not _installed():
        shim = tmp_path_factory.mktemp("entry-point")
        dist = shim / "rnn_course_entry_point-0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rnn-course-entry-point\n"
                                       "Version: 0\n")
        (dist / "entry_points.txt").write_text(f"[pytest11]\n{ENTRY_POINT} = {PLUGIN}\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
    return env


def student_repo(root: Path, notebooks: dict[str, str | Path]) -> Path:
    """A student's repository as GitHub Classroom checks it out: the released data files and
    the student's notebooks (file name -> text, or a notebook file to copy)."""
    root.mkdir(parents=True)
    for f in runner.assignment_files(RELEASE):
        shutil.copy(f, root / f.name)
    for name, content in notebooks.items():
        if isinstance(content, Path):
            shutil.copy(content, root / name)
        else:
            (root / name).write_text(content)
    return root


def junit_cases(xml_path: Path) -> dict[str, ET.Element]:
    return {f"{c.get('classname')}::{c.get('name')}": c for c in ET.parse(xml_path).iter("testcase")}


def properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


# -- inert without --rnn-notebook ------------------------------------------------------------
def test_without_the_option_the_plugin_changes_nothing(pytester):
    """Does a pytest run without --rnn-notebook collect and run the folder's own tests as if
    the plugin were not there (no notebook items, no header, no summary)?"""
    pytester.makepyfile(test_own="def test_ok():\n    assert True\n")
    (pytester.path / "exploding_gradients.ipynb").write_text(NOT_JSON)
    result = pytester.runpytest(*load_plugin(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "rnn-course: grading" not in out and "autograder's verdict" not in out
    listed = pytester.runpytest(*load_plugin(), "-p", "no:cacheprovider", "--collect-only", "-q")
    assert listed.stdout.lines[0] == "test_own.py::test_ok"
    assert "--rnn-notebook=PATH" in pytester.runpytest(*load_plugin(), "--help").stdout.str()


# -- notebooks that cannot be graded (fast: no kernel starts) ---------------------------------
def test_unreadable_or_misnamed_notebooks_fail_each_item_with_the_message(pytester):
    """Does a notebook that is not JSON fail each of its instructions with the runner's message
    (no traceback), a file of another name fail one `file_name` item, a missing notebook fail
    its instructions, each with its points in the junit XML, and the folder's own tests stay
    out of the run?"""
    pytester.makepyfile(test_own="def test_own():\n    assert False\n")
    (pytester.path / "exploding_gradients.ipynb").write_text(NOT_JSON)
    (pytester.path / "notes.ipynb").write_text("{}")
    result = pytester.runpytest(
        *load_plugin(), "-p", "no:cacheprovider", "--rnn-no-sandbox",
        "--rnn-notebook", "exploding_gradients.ipynb", "--rnn-notebook", "notes.ipynb",
        "--rnn-notebook", "vanishing_gradients.ipynb", "--junitxml=out.xml")
    result.assert_outcomes(failed=2 + 1 + 4)
    assert "Traceback" not in result.stdout.str() and "test_own" not in result.stdout.str()
    cases = junit_cases(pytester.path / "out.xml")
    assert sorted(cases) == sorted(
        [f"exploding_gradients.ipynb::{i.id}" for i in for_notebook("exploding_gradients")]
        + [f"vanishing_gradients.ipynb::{i.id}" for i in for_notebook("vanishing_gradients")]
        + [f"notes.ipynb::{FILE_NAME_ITEM}"])
    unreadable = not_gradable_message(pytester.path / "exploding_gradients.ipynb")
    assert unreadable.startswith("exploding_gradients.ipynb is not a readable Jupyter notebook")
    for instruction in for_notebook("exploding_gradients"):
        case = cases[f"exploding_gradients.ipynb::{instruction.id}"]
        assert case.find("failure").get("message") == unreadable
        assert properties(case) == {"title": instruction.title, "points": "0",
                                    "max_points": f"{instruction.points:g}"}
    assert cases[f"notes.ipynb::{FILE_NAME_ITEM}"].find("failure").get("message") == (
        "notes.ipynb is not a notebook of this assignment: the graded notebooks are "
        "exploding_gradients.ipynb, vanishing_gradients.ipynb. Keep the released file name.")
    assert cases["vanishing_gradients.ipynb::vanishing_plot"].find("failure").get("message") == (
        "vanishing_gradients.ipynb does not exist.")


def test_test_paths_beside_the_option_are_refused(pytester):
    """Is `--rnn-notebook a.ipynb b.ipynb` (the second notebook without its option) refused
    with a usage error instead of silently grading only the first?"""
    (pytester.path / "exploding_gradients.ipynb").write_text(NOT_JSON)
    result = pytester.runpytest(*load_plugin(), "--rnn-no-sandbox",
                                "--rnn-notebook", "exploding_gradients.ipynb",
                                "vanishing_gradients.ipynb")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "give each notebook with its own --rnn-notebook" in result.stderr.str()


def test_a_sandbox_that_cannot_run_stops_the_run_before_grading(pytester, monkeypatch):
    """Without bubblewrap, is the run a usage error naming the fix, rather than every
    instruction failing as if the student's code had?"""
    (pytester.path / "exploding_gradients.ipynb").write_text(NOT_JSON)
    monkeypatch.setenv("PATH", str(pytester.mkdir("empty-bin")))
    result = pytester.runpytest(*load_plugin(), "--rnn-notebook", "exploding_gradients.ipynb")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "bubblewrap" in result.stderr.str() and "--rnn-no-sandbox" in result.stderr.str()


# -- the items' verdicts, with the grading replaced (fast) ------------------------------------
def _bob_like_grade(path, **kwargs) -> NotebookGrade:
    step1, step2 = for_notebook("exploding_gradients")
    return NotebookGrade("exploding_gradients", [
        CheckResult(step1.id, step1.title, 2.0, 2.0, True, "Step 1: the MSE exploded."),
        CheckResult(step2.id, step2.title, 0.0, 2.0, False, "Step 2: you clipped with clipnorm.",
                    "exploding_clipnorm"),
    ], problems=["A cell was edited."])


def test_each_notebook_is_graded_once_and_items_report_message_hint_and_points(
        pytester, monkeypatch):
    """Is a notebook graded once for all its items (even given twice), does a failed
    instruction fail with the check's message and its hint, and do points reach the XML?"""
    calls = []
    monkeypatch.setattr(runner, "grade_notebook",
                        lambda path, **kw: calls.append((path, kw)) or _bob_like_grade(path))
    (pytester.path / "exploding_gradients.ipynb").write_text(NOT_JSON)
    result = pytester.runpytest(*load_plugin(), "-p", "no:cacheprovider", "--rnn-no-sandbox",
                                "--rnn-timeout", "77", "--rnn-notebook", "exploding_gradients.ipynb",
                                "--rnn-notebook", "./exploding_gradients.ipynb", "--junitxml=o.xml")
    result.assert_outcomes(passed=1, failed=1)
    assert calls == [(Path("exploding_gradients.ipynb"), {"timeout": 77, "sandboxed": False})]
    cases = junit_cases(pytester.path / "o.xml")
    step1, step2 = (cases[f"exploding_gradients.ipynb::{i}"] for i in ("exploding_step1",
                                                                        "exploding_step2"))
    assert step1.find("failure") is None and properties(step1)["points"] == "2"
    assert step2.find("failure").get("message") == (
        "Step 2: you clipped with clipnorm.\nHint: " + HINTS["exploding_clipnorm"])
    assert properties(step2) == {"title": "Step 2: clip the gradients", "points": "0",
                                 "max_points": "2"}
    out = result.stdout.str()
    assert "exploding_gradients.ipynb: 2/4 points" in out and "! A cell was edited." in out
    assert "Traceback" not in out


def test_a_failure_of_the_grader_is_an_error_not_the_students_failure(pytester, monkeypatch):
    """When grading itself breaks (not the student's notebook), are the items errors with
    the grader's traceback, and the notebook not graded again for its next item?"""
    calls = []

    def broken(path, **kwargs):
        calls.append(path)
        raise RuntimeError("the check crashed")

    monkeypatch.setattr(runner, "grade_notebook", broken)
    (pytester.path / "exploding_gradients.ipynb").write_text(NOT_JSON)
    result = pytester.runpytest(*load_plugin(), "-p", "no:cacheprovider", "--rnn-no-sandbox",
                                "--rnn-notebook", "exploding_gradients.ipynb")
    result.assert_outcomes(errors=2)
    assert len(calls) == 1
    assert "RuntimeError: the check crashed" in result.stdout.str()


# -- as a student's repository runs it -------------------------------------------------------
def test_course_repository_tests_are_not_collected_with_the_option(tmp_path, student_env):
    """Run from the course repository (whose testpaths name tests/), does --rnn-notebook run
    only the notebook's instructions, with a notebook outside the rootdir named by its path?"""
    notebook = student_repo(tmp_path / "student", {"exploding_gradients.ipynb": NOT_JSON})
    notebook = notebook / "exploding_gradients.ipynb"
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          "--rnn-no-sandbox", "--rnn-notebook", str(notebook)],
                         cwd=REPO, env=student_env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "collected 2 items" in run.stdout
    failed = [line.split(" - ")[0] for line in run.stdout.splitlines()
              if line.startswith("FAILED ")]
    assert len(failed) == 2 and failed[0].endswith("/student/exploding_gradients.ipynb"
                                                   "::exploding_step1"), run.stdout


def test_classroom_commands_grade_one_instruction_each(tmp_path, student_env):
    """Does each command of the Classroom set-up, run as Classroom runs it in the student's
    repository, select exactly its instruction and fail (no points) on an unreadable notebook
    with the student's message?"""
    repo = student_repo(tmp_path / "student", {"exploding_gradients.ipynb": NOT_JSON,
                                               "vanishing_gradients.ipynb": NOT_JSON})
    tests = classroom_tests()
    assert [t.points for t in tests] == [float(i.points) for i in INSTRUCTIONS.values()]
    # Classroom's command grader passes only these variables (and forces colours)
    env = {"PATH": student_env["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)),
           "FORCE_COLOR": "true"}
    env.update({k: v for k, v in student_env.items() if k == "PYTHONPATH"})
    runs = [subprocess.Popen(shlex.split(t.command), cwd=repo, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for t in tests]
    for run, instruction in zip(runs, INSTRUCTIONS.values()):
        out = re.sub(r"\x1b\[[0-9;]*m", "", run.communicate(timeout=300)[0])
        assert run.returncode == 1, out
        failed = [line.split(" - ")[0] for line in out.splitlines() if line.startswith("FAILED ")]
        assert failed == [f"FAILED {instruction.notebook}.ipynb::{instruction.id}"], out
        assert f"{instruction.notebook}.ipynb is not a readable Jupyter notebook" in out


@pytest.mark.slow
def test_bobs_notebook_graded_in_his_repository_gives_junit_per_instruction(tmp_path,
                                                                            student_env):
    """Graded in the sandbox by `python -m pytest --rnn-notebook exploding_gradients.ipynb
    --junitxml=...` in a student's folder, does bob's notebook pass step 1 and fail step 2 with
    the clipvalue message, each test case carrying its points?"""
    repo = student_repo(tmp_path / "bob", {"exploding_gradients.ipynb":
                                           BOB / "exploding_gradients.ipynb"})
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          "--rnn-notebook", "exploding_gradients.ipynb", "--junitxml=report.xml"],
                         cwd=repo, env=student_env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    cases = junit_cases(repo / "report.xml")
    assert sorted(cases) == ["exploding_gradients.ipynb::exploding_step1",
                             "exploding_gradients.ipynb::exploding_step2"]
    step1 = cases["exploding_gradients.ipynb::exploding_step1"]
    step2 = cases["exploding_gradients.ipynb::exploding_step2"]
    assert step1.find("failure") is None and step1.find("error") is None
    assert properties(step1) == {"title": "Step 1: train without clipping", "points": "2",
                                 "max_points": "2"}
    message = step2.find("failure").get("message")
    assert "clipnorm" in message and "clipvalue=3.0" in message
    assert message.splitlines()[-1] == "Hint: " + HINTS["exploding_clipnorm"]
    assert "Traceback" not in step2.find("failure").text
    assert properties(step2) == {"title": "Step 2: clip the gradients", "points": "0",
                                 "max_points": "2"}
    assert "exploding_gradients.ipynb: 2/4 points" in run.stdout


# -- what the package and README must declare (the lead merges them) --------------------------
def test_package_registers_the_plugin_entry_point():
    """Does pyproject.toml register the plugin, so `python -m pytest --rnn-notebook` works
    wherever the package is installed?"""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project.get("entry-points", {}).get("pytest11") == {ENTRY_POINT: PLUGIN}


def test_readme_gives_the_classroom_commands_and_points():
    """Does the README's GitHub Classroom section give the setup command and every
    instruction's command with its points, exactly as the tests above run them?"""
    readme = (REPO / "README.md").read_text()
    assert CLASSROOM_SETUP in readme
    for test in classroom_tests():
        assert f"`{test.command}`" in readme and test.name in readme
