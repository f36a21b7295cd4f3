import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from helpers import ASSIGNMENT, REPO  # noqa: E402

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session", autouse=True)
def sandbox_kernel_installed():
    """The grading kernel spec exists in this interpreter's prefix (make installs it too)."""
    from graders import sandbox

    sandbox.install_kernelspec()


def run_nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True)


@pytest.fixture
def course(tmp_path) -> Path:
    """A fresh copy of the course folder (source, config), as an instructor's clone."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copytree(REPO / "source", root / "source")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


@pytest.fixture
def released_course(course) -> Path:
    result = run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    return course
