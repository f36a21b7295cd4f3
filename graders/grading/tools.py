"""The package's own tools, found whatever PATH is.

nbgrader creates a gradebook by running ``alembic`` from PATH (``nbgrader.api.Gradebook``), and
``nbgrader`` itself is a console script of this interpreter. An instructor calling
``.venv/bin/rnn-course`` by its path, with the virtualenv not activated, has neither on PATH:
every verb therefore runs nbgrader, in this process or as a subprocess, with this interpreter's
scripts folder first on PATH (:func:`tools_env`, :func:`tools_on_path`, :func:`run_nbgrader`).
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def scripts_dir() -> str:
    """The folder holding this interpreter's console scripts (``alembic``, ``nbgrader``)."""
    try:
        folder = sysconfig.get_path("scripts")
    except KeyError:  # pragma: no cover - an unusual install scheme
        folder = None
    return folder if folder and os.path.isdir(folder) else os.path.dirname(sys.executable)


def with_scripts(path: str | None) -> str:
    """``path`` (a PATH value) with :func:`scripts_dir` first, once."""
    first = scripts_dir()
    rest = [p for p in (path or "").split(os.pathsep) if p and p != first]
    return os.pathsep.join([first, *rest])


def tools_env(base: dict | None = None) -> dict:
    """An environment for a subprocess of nbgrader (``base``: default ``os.environ``)."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = with_scripts(env.get("PATH"))
    return env


@contextlib.contextmanager
def tools_on_path():
    """This process's PATH with the scripts folder first, for nbgrader run in-process (and the
    processes it starts meanwhile: Dask's LocalCluster workers), then PATH as it was."""
    saved = os.environ.get("PATH")
    os.environ["PATH"] = with_scripts(saved)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


def run_nbgrader(course: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess:
    """Run one nbgrader app in ``course`` with this interpreter; its whole output goes to
    ``log`` when given."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                            env=tools_env(), capture_output=True, text=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"$ nbgrader {' '.join(args)}\n{result.stdout}{result.stderr}\n")
    return result
