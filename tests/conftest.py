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
    from graders.grading import sandbox

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


# --- a real PostgreSQL server (tests/postgres.py): Debian's postgresql, a throwaway cluster ----
@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session: ``.url``, ``.new_database(name) -> url``.

    Skipped only when PostgreSQL is not installed (make test installs it); under CI (the CI
    variable set) that is a failure instead, so CI cannot silently skip the PostgreSQL tests.
    """
    import postgres as pg

    if not pg.postgres_available():
        reason = f"PostgreSQL server binaries not available: {pg.INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: not skipping)", pytrace=False)
        pytest.skip(reason)
    with pg.running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres, request) -> str:
    """The SQLAlchemy URL of a fresh, empty database (its own per test) in the session's cluster."""
    import re
    import uuid

    stem = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40]
    return postgres.new_database(f"t_{stem}_{uuid.uuid4().hex[:12]}")
