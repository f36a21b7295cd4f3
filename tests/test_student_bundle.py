"""The student bundle, used exactly as its README says, far from the checkout: unzip, a fresh
virtualenv, `pip install -r requirements.txt`, `rnn-course check` with no options. Its verdicts
must be the course's own (graders.grading.runner.grade_notebook run from the checkout).

Slow: the install takes a few minutes even from pip's cache, and each check runs both notebooks.
"""
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graders.course import bundle
from graders.grading import sandbox
from graders.grading.runner import grade_notebook
from helpers import ASSIGNMENT, RELEASE, REPO, SAMPLES_DIR

pytestmark = pytest.mark.slow

SAMPLES = SAMPLES_DIR
NOTEBOOKS = ["exploding_gradients.ipynb", "vanishing_gradients.ipynb"]
#: `rnn-course check`'s line for one instruction: "  [PASS] title (2/2): message".
RESULT = re.compile(r"^  \[(PASS|FAIL)\] (.+?) \(([\d.]+)/([\d.]+)\): ", re.MULTILINE)


def student_env(folder: Path, path: str | None = None) -> dict:
    """A student's terminal after `source .venv/bin/activate`: nothing of the checkout (its
    virtualenv, PYTHONPATH), pip's own configuration and cache as on this machine."""
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "TERM", "TMPDIR") if k in os.environ}
    keep.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    venv_bin = folder / ".venv" / "bin"
    return {**keep, "VIRTUAL_ENV": str(folder / ".venv"),
            "PATH": path if path is not None else f"{venv_bin}:/usr/local/bin:/usr/bin:/bin"}


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    """The unzipped bundle with its README's install done: the folder the student works in."""
    root = tmp_path_factory.mktemp("student")
    assert REPO not in root.parents
    archive = bundle.bundle(course=REPO, assignment=ASSIGNMENT, to=root / f"{ASSIGNMENT}.zip")
    with zipfile.ZipFile(archive) as z:
        z.extractall(root)
    folder = root / ASSIGNMENT
    # the Python the project's virtualenv was made with, not that virtualenv
    python = getattr(sys, "_base_executable", sys.executable)
    env = student_env(folder)
    subprocess.run([python, "-m", "venv", ".venv"], cwd=folder, env=env, check=True)
    done = subprocess.run([str(folder / ".venv" / "bin" / "python"), "-m", "pip", "install",
                           "-q", "--disable-pip-version-check", "-r", "requirements.txt"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert (folder / ".venv" / "bin" / "rnn-course").exists()
    return folder


def check(folder: Path, sample: str, path: str | None = None) -> str:
    """Save ``sample``'s notebooks in the student's folder and run `rnn-course check` on them
    as the README says; its output."""
    for name in NOTEBOOKS:
        shutil.copy(SAMPLES / sample / ASSIGNMENT / name, folder / name)
    done = subprocess.run([str(folder / ".venv" / "bin" / "rnn-course"), "check", *NOTEBOOKS],
                          cwd=folder, env=student_env(folder, path), capture_output=True,
                          text=True, timeout=1800)
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output[-3000:]
    assert "Traceback" not in output and "NoSuchKernel" not in output, output[-3000:]
    return done.stdout


def verdicts(output: str) -> dict[str, list[tuple]]:
    """Per notebook, each instruction's (PASS/FAIL, title, points, max points)."""
    starts = sorted((output.index(f"\n{name}: "), name) for name in NOTEBOOKS)
    ends = [start for start, _ in starts[1:]] + [len(output)]
    return {name: [(m[0], m[1], float(m[2]), float(m[3]))
                   for m in RESULT.findall(output[start:end])]
            for (start, name), end in zip(starts, ends)}


@pytest.fixture(scope="module")
def course_verdicts() -> dict:
    """What the course's own check says of every sample (from the checkout, in the grading
    sandbox where it runs here, as the autograder grades)."""
    sandboxed = sandbox.probe().works
    out = {}
    for sample in ("alice_right", "bob_partly_wrong", "carol_empty"):
        out[sample] = {}
        for name in NOTEBOOKS:
            grade = grade_notebook(SAMPLES / sample / ASSIGNMENT / name, files_from=RELEASE,
                                   sandboxed=sandboxed)
            out[sample][name] = [("PASS" if r.passed else "FAIL", r.title, float(r.points),
                                  float(r.max_points)) for r in grade.results]
    return out


def test_check_after_the_readme_install_gives_the_course_verdicts(student, course_verdicts):
    """Right, partly wrong and untouched notebooks: the kernel the check chose is said on one
    line (the sandbox where it really runs here, its kernel spec installed into the student's
    virtualenv on first use), and every instruction's verdict is the course's own."""
    works = sandbox.probe().works
    spec = student / ".venv" / "share" / "jupyter" / "kernels" / sandbox.KERNEL_NAME / "kernel.json"
    assert not spec.exists()  # pip install alone makes none: the check must
    for i, sample in enumerate(("alice_right", "bob_partly_wrong", "carol_empty")):
        output = check(student, sample)
        kernel_lines = [line for line in output.splitlines() if line.startswith("Kernel: ")]
        assert len(kernel_lines) == 1, output
        if works:
            assert kernel_lines[0].startswith("Kernel: the bubblewrap sandbox"), output
            if i == 0:
                assert f"now installed in {spec.parent}" in kernel_lines[0]
            assert spec.exists()
        else:
            assert kernel_lines[0].startswith("Kernel: a plain local kernel"), output
        assert "it did not run" not in output, output
        assert verdicts(output) == course_verdicts[sample], output


def test_check_without_a_working_sandbox_says_so_and_grades_in_a_plain_kernel(
        student, course_verdicts):
    """bubblewrap not on PATH (most Macs, Windows, a Linux without it): one line says the
    sandbox can't run and why, and the partly wrong pair gets the course's verdicts anyway."""
    output = check(student, "bob_partly_wrong", path=str(student / ".venv" / "bin"))
    kernel_lines = [line for line in output.splitlines() if line.startswith("Kernel: ")]
    assert kernel_lines == ["Kernel: a plain local kernel, because the sandbox can't run here "
                            "(bwrap and prlimit not found on PATH). Same checks, same verdict."]
    assert "it did not run" not in output, output
    assert verdicts(output) == course_verdicts["bob_partly_wrong"], output


def test_check_switched_off_by_the_environment(student, tmp_path):
    """RNN_COURSE_SANDBOX=off: the plain kernel, said with the reason (the untouched notebook
    is enough to see the choice)."""
    shutil.copy(SAMPLES / "carol_empty" / ASSIGNMENT / NOTEBOOKS[1], student / NOTEBOOKS[1])
    env = {**student_env(student), sandbox.ENV_SANDBOX: "off"}
    done = subprocess.run([str(student / ".venv" / "bin" / "rnn-course"), "check", NOTEBOOKS[1]],
                          cwd=student, env=env, capture_output=True, text=True, timeout=900)
    assert ("Kernel: a plain local kernel, because the sandbox can't run here "
            f"({sandbox.ENV_SANDBOX}=off)") in done.stdout, done.stdout + done.stderr
    assert done.returncode == 1 and "it did not run" not in done.stdout
