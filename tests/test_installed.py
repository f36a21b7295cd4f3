"""The package as an instructor installs it (``pip install`` of its wheel), far from any
checkout: do the verbs find what they need inside the package (the lock, the data builder,
the demo's samples), and does a course folder of its own work with it?

Slow: builds the wheel with pip (setuptools, as ``pip install .`` would) and runs the command
line in a fresh virtualenv. The virtualenv installs the wheel alone (``--no-deps``); the
dependencies come from this suite's virtualenv through a path file, which adds that folder's
modules but runs none of its path files, so the checkout's editable install stays out.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from helpers import ASSIGNMENT, REPO

pytestmark = pytest.mark.slow

#: What a course folder holds (the instructor's own, not the package's).
COURSE_FILES = ("nbgrader_config.py", "source", "release", "data/manifest.json")


def clean_env(venv: Path) -> dict:
    """A terminal with only this virtualenv on PATH, in no checkout."""
    import os

    keep = {k: os.environ[k] for k in ("HOME", "LANG", "TERM", "TMPDIR") if k in os.environ}
    keep.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    return {**keep, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtualenv holding the package's wheel (built from a copy of the project's files)."""
    root = tmp_path_factory.mktemp("instructor")
    assert REPO not in root.parents
    project = root / "project"
    project.mkdir()
    shutil.copy(REPO / "pyproject.toml", project)
    shutil.copytree(REPO / "graders", project / "graders",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--disable-pip-version-check", "-w", str(root / "dist"), str(project)],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    wheel = next((root / "dist").glob("rnn_course-*.whl"))
    venv = root / "venv"
    python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the suite's dependencies, as a plain path (its .pth files, the editable install, not run)
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                           "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True, timeout=600, env=clean_env(venv))
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return venv


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course folder (its own files only, no package, no tests)."""
    course = tmp_path_factory.mktemp("course") / "rnn"
    for name in COURSE_FILES:
        source, target = REPO / name, course / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
        else:
            shutil.copy(source, target)
    return course


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd,
                          env=clean_env(venv), capture_output=True, text=True, timeout=900)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    """Is ``graders`` imported from the virtualenv, with its package data beside it?"""
    done = run(installed, "python", "-c", """if True:
        import json, graders
        from graders.course import bundle, verbs
        print(json.dumps({"graders": graders.__path__[0], "lock": str(bundle.LOCK),
                          "lock_exists": bundle.LOCK.is_file(),
                          "samples": sorted(p.name for p in verbs.SAMPLES.iterdir()),
                          "version": bundle.project().version}))
        """, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["graders"].startswith(str(installed)), found
    assert found["lock_exists"] and found["lock"].startswith(str(installed)), found
    assert found["samples"] == ["alice_right", "bob_partly_wrong", "carol_empty"]
    assert found["version"] == bundle_version()


def bundle_version() -> str:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_data_check_runs_from_the_installed_package(installed, course, tmp_path):
    """``rnn-course data -- --check`` (the data builder is package code, not data/build.py)."""
    done = run(installed, "rnn-course", "data", "--course", str(course), "--", "--check",
               cwd=tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "Traceback" not in done.stdout + done.stderr


def test_bundle_from_the_installed_package_pins_the_lock(installed, course, tmp_path):
    """``rnn-course bundle``: the pins come from the package's lock, the students' wheel holds
    the package's files but neither the samples nor any notebook."""
    to = tmp_path / "bundle.zip"
    done = run(installed, "rnn-course", "bundle", "--course", str(course), "--assignment",
               ASSIGNMENT, "--to", str(to), cwd=tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    lock = (REPO / "requirements.lock").read_text().split()
    with zipfile.ZipFile(to) as z:
        requirements = z.read(f"{ASSIGNMENT}/requirements.txt").decode()
        wheel_name = next(n for n in z.namelist() if n.endswith(".whl"))
        (tmp_path / "w.whl").write_bytes(z.read(wheel_name))
    pins = [line for line in lock if "==" in line and not line.startswith("tensorflow")]
    assert pins and all(pin in requirements.splitlines() for pin in pins)
    with zipfile.ZipFile(tmp_path / "w.whl") as w:
        names = w.namelist()
    assert "graders/course/requirements.lock" in names
    assert "graders/course/coursedata/build.py" in names
    assert not [n for n in names if n.endswith(".ipynb") or "/samples/" in n], names


def test_check_beside_the_data_runs_from_the_installed_package(installed, course, tmp_path):
    """``rnn-course check`` on the untouched released notebook, in a folder holding the data
    files (as a student's unzipped bundle): every instruction graded, none passed."""
    folder = tmp_path / ASSIGNMENT
    shutil.copytree(course / "release" / ASSIGNMENT, folder)
    done = run(installed, "rnn-course", "check", "--no-sandbox", "exploding_gradients.ipynb",
               cwd=folder)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "Traceback" not in output
    assert "exploding_gradients.ipynb: 0/" in output, output[-3000:]
